/* alloc_count.c - an LD_PRELOAD library that counts heap allocations.
 *
 * Built and preloaded by tests/bench/counts.py and test_82: every call of
 * malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign, valloc
 * and free in the process (albd and the libraries it links: libevent,
 * OpenSSL, glibc's own callers) is counted, then forwarded to glibc.
 *
 * The counters live in a file named by ALBD_ALLOC_COUNT_FILE (created
 * here, mapped shared), so the measuring script reads them from outside
 * before and after a batch of requests: (after - before) / requests is the
 * allocations per request. Without the variable nothing is counted.
 *
 * Two sets of counters: the whole process, and the threads other than the
 * main one (albd's workers: the main thread is its control thread, whose
 * once-a-second work allocates whatever the request rate).
 *
 * Build: cc -shared -fPIC -O2 -o alloc_count.so alloc_count.c
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <unistd.h>

/* glibc's own entry points: forwarding to them needs no dlsym(), which
 * would itself allocate. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

/* The file's layout: what counts.py reads (little-endian uint64 each). */
struct set {
	uint64_t allocs;   /* malloc, calloc, the aligned ones, realloc(NULL, n) */
	uint64_t reallocs; /* realloc of a live block */
	uint64_t frees;    /* free of a live block */
	uint64_t bytes;    /* bytes asked for by all of the above */
};

struct counts {
	struct set all;
	struct set threads; /* all but the main thread */
};

static struct counts *counts;
static int state; /* 0 not yet, 1 counting, -1 off */
static __thread int in_thread = -1; /* not the main thread; -1 unknown yet */

static void setup(void)
{
	state = -1;
	const char *path = getenv("ALBD_ALLOC_COUNT_FILE");
	if (!path || !*path)
		return;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (ftruncate(fd, sizeof(struct counts)) == 0) {
		void *p = mmap(NULL, sizeof(struct counts), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p != MAP_FAILED) {
			counts = p;
			state = 1;
		}
	}
	close(fd);
}

enum { ALLOC, REALLOC, FREE };

static void add(struct set *c, int what, size_t bytes)
{
	uint64_t *f = what == ALLOC ? &c->allocs : what == REALLOC ? &c->reallocs : &c->frees;
	__atomic_fetch_add(f, 1, __ATOMIC_RELAXED);
	if (bytes)
		__atomic_fetch_add(&c->bytes, bytes, __ATOMIC_RELAXED);
}

static void count(int what, size_t bytes)
{
	if (state == 0)
		setup();
	if (state <= 0)
		return;
	if (in_thread < 0)
		in_thread = syscall(SYS_gettid) != getpid();
	add(&counts->all, what, bytes);
	if (in_thread)
		add(&counts->threads, what, bytes);
}

void *malloc(size_t n)
{
	count(ALLOC, n);
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	count(ALLOC, n * size);
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	count(p ? REALLOC : ALLOC, n);
	return __libc_realloc(p, n);
}

void free(void *p)
{
	if (p)
		count(FREE, 0);
	__libc_free(p);
}

void *memalign(size_t align, size_t n)
{
	count(ALLOC, n);
	return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
	count(ALLOC, n);
	return __libc_memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	count(ALLOC, n);
	void *p = __libc_memalign(align, n);
	if (!p)
		return 12; /* ENOMEM */
	*out = p;
	return 0;
}

void *valloc(size_t n)
{
	count(ALLOC, n);
	return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), n);
}
