/* store.c - see store.h
 *
 * Layout. Each resolution r has a head window [win[r], win[r] + blk_len[r])
 * (1 s: one minute; 60 s: one hour; 300 s: two hours; 3600 s: one day).
 * Per series and resolution the store keeps in memory:
 *   - the open points: periods that have not ended at `now` (usually one;
 *     more when a client puts points ahead of time), uncompressed;
 *   - the head chunk: the closed points of the head window, Gorilla-encoded
 *     (store_codec.h), a few bytes a point.
 * When `now` passes the end of the head window, the chunks of every series
 * become one immutable block: DIR/r<step>/<start>.blk (or a buffer in
 * memory when there is no DIR), written atomically (temporary file, fsync,
 * rename, fsync of the directory). A block is a header, an index sorted by
 * series id protected by its own CRC32C, then the chunks. Version 2 (see
 * group_read) indexes with varints (id differences, lengths) and a
 * CRC32C per chunk, a skip record every 64 entries for lookups, and
 * writes a chunk that several series share (a count that stayed 0) once;
 * version 3 has version 3 chunks (store_codec.h) and a CRC32C per group
 * of 64 series' chunks instead of one per chunk; version 4 (the one
 * written) is version 3 with version 4 chunks (range coded); versions 1
 * (24 bytes an entry: id, offset, length, CRC, points) to 3 are still
 * read, and a late point into an older block
 * rewrites it in the current version. Queries read blocks on demand
 * (mmap); a block's header and index are checked once when it is first
 * read, the chunks a lookup reads (its group's; version 1 and 2: its
 * chunk) on every opening.
 *
 * What is written is what the disk budget allows (README, "Budget"):
 * histograms collapsed per resolution (store_hist_shift, store.h has the
 * accuracy table), the sum of a latency point to 20 bits of mantissa
 * (HIST_SUM_BITS); points in memory (the open periods) are exact.
 *
 * Every put goes straight into the open point of the 1 s and the 60 s
 * resolution (n and sum add, min of mins, max of maxes, histograms
 * merge): a 60 s point is the aggregate of the 1 s points of its minute.
 * 300 s and 3600 s points are made the same way from 60 s and 300 s
 * points, by the roll-up of whole blocks as they leave the finer
 * resolution (below).
 * A late put (PutMetricData, up to 14 days old) lands in the 1 s (within
 * 3 hours) and 60 s resolutions: in the open point, in the head chunk
 * (decoded, merged, re-encoded) or, when its window is already a block,
 * in a list of late points that store_tick() writes into the blocks
 * concerned, rewriting each block once, LATE_BLOCKS_TICK blocks a tick
 * (all of them once the oldest has waited LATE_WAIT_MAX); queries read
 * the points still waiting from the list. 60 s blocks stay at least 15
 * days, so the roll-up takes it along.
 *
 * Series have ids in order of creation; DIR/series.cat is an append-only
 * catalog of them (records with CRC32C), so that a series whose data is
 * only in blocks is still known (store_find, store_foreach). The in-memory
 * state of a series (open points and chunks) is freed once all of it is
 * in blocks: an idle series costs its identity only.
 *
 * DIR/head.ckpt holds what is only in memory (head windows, open points,
 * the newest point of every series; its chunks are of its version, the
 * current one's when written, an older one's decoded and encoded again
 * when read), rewritten atomically once a minute and
 * by store_close(): a restart loses at most the last minute. A block, the
 * catalog or the checkpoint that is corrupt or truncated is logged and
 * renamed *.corrupt; the store goes on with everything else. A write that
 * fails keeps what it was writing (blocks: "unsaved blocks" below; the
 * catalog: cat_append) and tries again.
 *
 * Why not librrd (Debian's rrdtool): an RRD is one file per series with a
 * fixed-size ring per consolidation, preallocated for the whole retention:
 * about 11,000 series x 61,000 slots x 8 bytes x 4 consolidation functions
 * is 21 GB before histograms, which RRD cannot hold at all; a late update
 * older than the last one is refused (rrd_update needs increasing time);
 * and the API reads time from the caller only for updates. A log-structured
 * store with compressed blocks fits the ladder, the late points and the
 * budget better.
 *
 * All integers in files are little-endian.
 */
#include "store.h"
#include "core/atomic_file.h"
#include "core/state_lock.h"
#include "store_codec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

const unsigned store_res_step[STORE_NRES] = { 1, 60, 300, 3600 };
const int64_t store_res_keep[STORE_NRES] = { 3 * 3600, 15 * 86400, 63 * 86400, 455 * 86400 };
/* the window of one block, a multiple of the step (and of the finer
 * resolution's window: a block rolls up whole finer blocks) */
static const int64_t blk_len[STORE_NRES] = { 60, 3600, 7200, 86400 };
/* Puts land in the resolutions below this one (1 s and 60 s); 300 s and
 * 3600 s points are rolled up from blocks that leave the finer resolution
 * (roll-up, below), so no time is kept at two of 60 s, 300 s and 3600 s:
 * CloudWatch's ladder, where 1-minute data older than 15 days "is still
 * available, but is aggregated and is retrievable only with a resolution
 * of 5 minutes". */
#define RES_PUT 2
/* a roll-up decodes about this many points and histogram buckets a
 * tick, then goes on at the next: the control thread never stalls on it
 * (a few ms a tick: tests/bench/store_budget prints the longest) */
#define ROLLUP_POINTS 20000
#define BLK_ROLL_MAX 12  /* blk_len[r + 1] / blk_len[r], at most */

#define LATE_MAX (14 * 86400)   /* a put may be this old */
/* Late points go into their blocks a few blocks a tick (each a rewrite of
 * a whole block: a PutMetricData of 1000 points a few minutes apart over
 * two weeks touches some 300 of them), all at once when the oldest has
 * waited LATE_WAIT_MAX seconds (a restart loses at most the last minute);
 * queries read those still waiting from memory. */
#define LATE_BLOCKS_TICK 8
#define LATE_WAIT_MAX 30
#define AHEAD_MAX (2 * 3600)    /* or this far ahead */
#define CKPT_EVERY 60           /* seconds between checkpoints */
#define QUERY_MAX_POINTS 100800
#define DIMS_MAX 30   /* CloudWatch's dimensions per metric */

/* tests turn fsync off to write thousands of blocks quickly */
static int store_nosync;

#define BLK_MAGIC "ALBDBLK1"
#define BLK_HDR 48
#define BLK_ENT 24      /* version 1: fixed index entries */
#define BLK_SKIP 12     /* version 2: a skip record ... */
#define BLK_SKIP3 16    /* (version 3: with its group's CRC32C) ... */
#define BLK_GROUP 64    /* ... every this many entries */
#define BLK_VERSION 4   /* the one written (1 to 3 are read); its chunks' version */
#define CKPT_VERSION 4  /* the one written (1 to 3 are read); its chunks' version */
#define CKPT_MAGIC "ALBDCKP1"
#define CAT_MAGIC "ALBDCAT1"
/* after a checkpoint's resolutions: the blocks kept in memory (only when
 * there are some: a checkpoint without them reads as before) */
#define CKPT_UNSAVED_TAG 0x56534e55u  /* "UNSV" */

struct sres {
	struct store_chunk c;       /* closed points of the head window */
	struct store_point *open;   /* periods not ended yet, ascending t */
	uint32_t nopen, capopen;
};

struct store_series {
	struct store *st;
	uint32_t id;
	unsigned flags;
	const char *ns, *metric;    /* in key */
	char *unit;
	struct store_dim *dims;     /* sorted by name; strings in key */
	size_t ndims;
	char *key;                  /* ns \0 metric \0 (name \0 value \0)* */
	size_t keylen;
	uint64_t hash;
	int64_t last;               /* newest point's time, 0: none */
	struct sres *res;           /* [STORE_NRES], NULL when nothing is in memory */
	struct store_series *hnext;
};

struct blk {
	int64_t start;
	uint8_t *mem;               /* memory-only store: the block; else NULL */
	size_t len;
	int checked;                /* header and index CRC verified */
	int bad_chunk;              /* a query met a damaged chunk in it (logged once) */
	int unsaved;                /* a store with DIR: its file could not be written, MEM
				     * holds the block until a retry writes it (keep_unsaved) */
};

/* A block the checkpoint holds because it was unsaved when written;
 * entered after the blocks on disk are scanned (store_open). */
struct ckblk {
	int r;
	int64_t start;
	uint8_t *mem;
	size_t len;
};

struct late {
	struct store_series *s;
	int r;
	struct store_point p;
};

struct buf {
	uint8_t *p;
	size_t len, cap;
	int oom;
};

/* A block being assembled (write_head, the roll-up): chunks appended in
 * series id order (blkbuild_add), then stored (blkbuild_store). */
struct blkbuild {
	struct bentry *e;           /* p is set when stored: data moves as it grows */
	size_t *offs;               /* each chunk's offset in data */
	size_t n, cap;
	struct buf data;
};

/* A roll-up in progress: the blocks of resolution SRC in the window
 * [w, w + blk_len[src + 1]) become one block of src + 1, series by series,
 * a slice a tick (rollup_step). */
struct rollup {
	int src;                    /* 1 or 2; 0: none in progress */
	int64_t w;
	uint32_t *ids;              /* the series in the source blocks, ascending */
	size_t nids, next;
	struct blkbuild out;        /* the block made so far */
	uint32_t damaged;           /* bit k: source block w + k * blk_len[src] had a damaged chunk */
	int64_t retry;              /* after a failed write: no roll-up before this time */
};

struct store {
	char *dir;                  /* NULL: memory only */
	int64_t now;                /* the last time seen */
	int64_t win[STORE_NRES];    /* head windows */
	int64_t last_ckpt;
	struct store_series **all;  /* by id; NULL holes after a damaged catalog */
	size_t nall, capall, count;
	struct store_series **hash;
	size_t hcap;
	struct blk *blks[STORE_NRES];
	size_t nblk[STORE_NRES], capblk[STORE_NRES];
	struct late *late;
	size_t nlate, caplate;
	int64_t late_since;         /* when the oldest of them came (store time) */
	struct rollup ru;
	unsigned ckpt_version;      /* of the checkpoint loaded at open; 0: none */
	int catfd;
	/* a new series' id is at least this: above every id the catalog,
	 * the checkpoint or (when the catalog was lost or damaged) a block
	 * names, so that a new series never reads another one's history */
	size_t id_floor;
	int cat_lost;               /* series.cat was missing with data, damaged or unreadable */
	off_t catlen;               /* series.cat's length after its last whole record */
	int cat_dirty;              /* an append failed or the file went: rewrite it whole
				     * (2: and that failed too, logged) */
	/* blocks whose write failed, kept in memory (blk.unsaved): their
	 * number and bytes, when to try again, what the bound dropped */
	size_t nunsaved, unsaved_bytes;
	int64_t unsaved_retry;
	uint64_t dropped_blocks, dropped_bytes;
	int ckpt_failing;           /* the last checkpoint could not be written (logged once) */
	struct ckblk *ckblks;       /* load_checkpoint -> store_open */
	size_t nckblks;
};

/* ------------------------------------------------------------ helpers */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t align_down(int64_t t, int64_t step)
{
	return floor_div(t, step) * step;
}

static int res_hist(const struct store_series *s, int r)
{
	return (s->flags & STORE_HIST) && !(r == 0 && (s->flags & STORE_HIST_COARSE));
}

/* The shift (histogram.h) a series' histograms are kept at on disk, per
 * resolution: the accuracy that fits the disk budget (README, "Budget"). */
static const unsigned hist_shift_tab[2][STORE_NRES] = {
	{ 0, 0, 1, 1 },  /* STORE_HIST: load balancer, target groups, custom metrics */
	{ 0, 2, 4, 4 },  /* STORE_HIST | STORE_HIST_COARSE: per target (no histogram at 1 s) */
};

unsigned store_hist_shift(unsigned flags, int r)
{
	if (!(flags & STORE_HIST) || r < 0 || r >= STORE_NRES)
		return 0;
	return hist_shift_tab[(flags & STORE_HIST_COARSE) ? 1 : 0][r];
}

static unsigned res_shift(const struct store_series *s, int r)
{
	return store_hist_shift(s->flags, r);
}

/* The sum of a latency point (a series with histograms) that is not an
 * integer is written with this many bits of mantissa: within 2^-21 (5e-7)
 * of the sum put, relative, at 60 s; a roll-up rounds the sum of such sums
 * again, so 300 s points are within 2 x 2^-21 and 3600 s points 3 x 2^-21
 * (1.5e-6): far below what a latency's Average needs, and it saves 4
 * bytes a point (README, "Budget"). */
#define HIST_SUM_BITS 20

/* An empty chunk for series S at resolution R, window BASE, its
 * histograms at S's shift or SHIFT if coarser (points written before at a
 * coarser shift, as another albd chose, are kept as they are); for a
 * series the catalog lost (S NULL), with histograms when WITH_HIST. */
static void chunk_init(struct store_chunk *c, const struct store_series *s, int r, int64_t base, int with_hist,
		       unsigned shift)
{
	if (s && res_shift(s, r) > shift)
		shift = res_shift(s, r);
	store_chunk_init(c, base, store_res_step[r], s ? res_hist(s, r) : with_hist, shift);
	/* albd's latencies (AWS/...) keep 20 bits of their sum; a user's
	 * metric (PutMetricData) keeps its sum as given */
	c->sum_bits = s && (s->flags & STORE_HIST) && strncmp(s->ns, "AWS/", 4) == 0 ? HIST_SUM_BITS : 0;
}

static uint8_t *buf_room(struct buf *b, size_t n)
{
	if (b->oom)
		return NULL;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	uint8_t *r = b->p + b->len;
	b->len += n;
	return r;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static void buf_u32(struct buf *b, uint32_t v)
{
	uint8_t *p = buf_room(b, 4);
	if (p)
		put_le32(p, v);
}

static void buf_u64(struct buf *b, uint64_t v)
{
	uint8_t *p = buf_room(b, 8);
	if (p)
		put_le64(p, v);
}

static void buf_f64(struct buf *b, double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof(u));
	buf_u64(b, u);
}

static void buf_varint(struct buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = varint_put(tmp, v);
	uint8_t *p = buf_room(b, n);
	if (p)
		memcpy(p, tmp, n);
}

static void buf_bytes(struct buf *b, const void *src, size_t n)
{
	uint8_t *p = buf_room(b, n);
	if (p && n)
		memcpy(p, src, n);
}

/* a bounds-checked reader */
struct rd {
	const uint8_t *p, *end;
	int bad;
};

static const uint8_t *rd_take(struct rd *r, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = 1;
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += n;
	return p;
}

static uint32_t rd_u32(struct rd *r)
{
	const uint8_t *p = rd_take(r, 4);
	return p ? get_le32(p) : 0;
}

static uint64_t rd_u64(struct rd *r)
{
	const uint8_t *p = rd_take(r, 8);
	return p ? get_le64(p) : 0;
}

static double rd_f64(struct rd *r)
{
	uint64_t u = rd_u64(r);
	double d;
	memcpy(&d, &u, sizeof(d));
	return d;
}

static uint64_t rd_varint(struct rd *r)
{
	uint64_t v = 0;
	if (r->bad || varint_get(&r->p, r->end, &v) < 0)
		r->bad = 1;
	return v;
}

/* ------------------------------------------------------------ files */

static void set_aside(const char *path, const char *why);
static int store_mkdirs(struct store *st);

/* A file written atomically: PATH.tmp, written, fsync, rename to PATH,
 * fsync of the directory. QUIET: failures are not logged, only kept in
 * ERRNUM and OP for the caller to say once (a write retried every few
 * seconds while the disk is full). */
struct afile {
	struct store *st;           /* its directories are made again if missing; NULL: none */
	int fd;
	int err;
	int quiet;
	int errnum;                 /* the first failure's errno (0: "short write") */
	const char *op;             /* and what failed: "open", "writing", "fsync", "rename" */
	const char *path;
	char tmp[4096];
};

static void afile_fail(struct afile *af, const char *op, int errnum)
{
	if (!af->err) {
		af->op = op;
		af->errnum = errnum;
	}
	af->err = 1;
	if (!af->quiet)
		log_err("store: %s %s: %s", op, af->tmp, errnum ? strerror(errnum) : "short write");
}

/* What stands in the way of a file at PATH, a directory (a stale
 * temporary name, say), is removed if empty, else set aside. Returns 0
 * when PATH is free now. */
static int clear_dir_at(const char *path)
{
	struct stat sb;
	if (lstat(path, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return -1;
	if (rmdir(path) == 0) {
		log_warn("store: %s was a directory in the way of a file: removed", path);
		return 0;
	}
	set_aside(path, "a directory in the way of a file");
	return lstat(path, &sb) < 0 && errno == ENOENT ? 0 : -1;
}

static int afile_open(struct afile *af, struct store *st, const char *path, int quiet)
{
	memset(af, 0, sizeof(*af));
	af->st = st;
	af->path = path;
	af->quiet = quiet;
	snprintf(af->tmp, sizeof(af->tmp), "%s.tmp", path);
	for (int attempt = 0;; attempt++) {
		af->fd = open(af->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
		if (af->fd >= 0)
			return 0;
		int e = errno;
		/* state_dir or r<step>/ removed while running: made again;
		 * a directory at the temporary name: out of the way */
		if (attempt == 0 && e == ENOENT && st && store_mkdirs(st) == 0)
			continue;
		if (attempt == 0 && e == EISDIR && clear_dir_at(af->tmp) == 0)
			continue;
		afile_fail(af, "open", e);
		af->fd = -1;
		return -1;
	}
}

static void afile_write(struct afile *af, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len && !af->err) {
		ssize_t n = write(af->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			afile_fail(af, "writing", n < 0 ? errno : 0);
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

/* Finish (or, when FAILED or a write failed, drop) the file. Returns 0 or -1. */
static int afile_close(struct afile *af, int failed)
{
	if (!failed && !af->err && !store_nosync && fsync(af->fd) < 0)
		afile_fail(af, "fsync", errno);
	close(af->fd);
	if (failed || af->err) {
		unlink(af->tmp);
		return -1;
	}
	if (rename(af->tmp, af->path) < 0) {
		int e = errno;
		/* a directory where the file goes: out of the way, once */
		if ((e == EISDIR || e == ENOTEMPTY || e == EEXIST) && clear_dir_at(af->path) == 0 &&
		    rename(af->tmp, af->path) == 0)
			goto renamed;
		afile_fail(af, "rename", e);
		unlink(af->tmp);
		return -1;
	}
renamed:;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", af->path);
	char *slash = strrchr(dir, '/');
	if (slash && !store_nosync) {
		*slash = 0;
		atomic_fsync_dir(dir);
	}
	return 0;
}

/* What failed in AF, for a log line. */
static void afile_why(const struct afile *af, char *out, size_t len)
{
	snprintf(out, len, "%s %s: %s", af->op ? af->op : "writing", af->tmp,
		 af->errnum ? strerror(af->errnum) : "short write");
}

/* Write LEN bytes to PATH atomically (ST: whose directories to make again
 * if they are gone). Returns 0 or -1 (logged unless QUIET; WHY, if not
 * NULL, says what failed). */
static int write_atomic(struct store *st, const char *path, const void *data, size_t len, int quiet, char *why,
			size_t whylen)
{
	struct afile af;
	int rc = afile_open(&af, st, path, quiet);
	if (rc == 0) {
		afile_write(&af, data, len);
		rc = afile_close(&af, 0);
	}
	if (rc < 0 && why)
		afile_why(&af, why, whylen);
	return rc;
}

/* The most a checkpoint or catalog is read into memory (the fleet's
 * checkpoint is about 4 MB): a larger one is damaged. */
#define READ_FILE_MAX ((size_t)1 << 30)

/* Read a whole file into a malloc'd buffer. Returns 0, 1 (no such file)
 * or -1 with *WHY set (not a regular file, a dangling symbolic link,
 * unreadable, too large, out of memory): the caller sets it aside. Never
 * blocks on a FIFO. */
static int read_file(const char *path, uint8_t **out, size_t *len, const char **why)
{
	*out = NULL;
	*len = 0;
	*why = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		struct stat lsb;
		/* a dangling symbolic link is not "no file": what it named
		 * is gone, and a new file in its place would hide that */
		if (errno == ENOENT && lstat(path, &lsb) == 0 && S_ISLNK(lsb.st_mode)) {
			*why = "a dangling symbolic link";
			return -1;
		}
		if (errno == ENOENT)
			return 1;
		*why = strerror(errno);
		return -1;
	}
	struct stat sb;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		*why = "not a regular file";
		close(fd);
		return -1;
	}
	if ((uint64_t)sb.st_size > READ_FILE_MAX) {
		*why = "larger than 1 GiB";
		close(fd);
		return -1;
	}
	uint8_t *p = malloc((size_t)sb.st_size + 1);
	if (!p) {
		*why = "out of memory reading it";
		close(fd);
		return -1;
	}
	size_t got = 0;
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, p + got, (size_t)sb.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*why = strerror(errno);
			free(p);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*out = p;
	*len = got;
	return 0;
}

/* Rename a damaged file PATH to PATH.corrupt, saying why. */
static void set_aside(const char *path, const char *why)
{
	char dst[4096];
	snprintf(dst, sizeof(dst), "%s.corrupt", path);
	if (rename(path, dst) < 0)
		log_err("store: %s is damaged (%s) and cannot be set aside: %s", path, why, strerror(errno));
	else
		log_err("store: %s is damaged (%s): set aside as %s", path, why, dst);
}

static void blk_path(const struct store *st, int r, int64_t start, char *out, size_t len)
{
	snprintf(out, len, "%s/r%u/%lld.blk", st->dir, store_res_step[r], (long long)start);
}

/* ------------------------------------------------------------ series */

static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static int dim_cmp(const void *a, const void *b)
{
	return strcmp(((const struct store_dim *)a)->name, ((const struct store_dim *)b)->name);
}

/* The canonical key of (ns, metric, dims sorted by name) in a malloc'd
 * buffer; NULL when out of memory or the arguments are bad. */
static char *make_key(const char *ns, const char *metric, const struct store_dim *sorted, size_t ndims,
		      size_t *klen)
{
	size_t len = strlen(ns) + 1 + strlen(metric) + 1;
	for (size_t i = 0; i < ndims; i++)
		len += strlen(sorted[i].name) + 1 + strlen(sorted[i].value) + 1;
	char *k = malloc(len), *p = k;
	if (!k)
		return NULL;
	p = stpcpy(p, ns) + 1;
	p = stpcpy(p, metric) + 1;
	for (size_t i = 0; i < ndims; i++) {
		p = stpcpy(p, sorted[i].name) + 1;
		p = stpcpy(p, sorted[i].value) + 1;
	}
	*klen = len;
	return k;
}

/* Sort a copy of DIMS into OUT (DIMS_MAX entries). Returns 0 or -1 (too
 * many, a NULL string, or a name twice). */
static int sort_dims(const struct store_dim *dims, size_t ndims, struct store_dim *out)
{
	if (ndims > DIMS_MAX)
		return -1;
	for (size_t i = 0; i < ndims; i++) {
		if (!dims[i].name || !dims[i].value)
			return -1;
		out[i] = dims[i];
	}
	qsort(out, ndims, sizeof(out[0]), dim_cmp);
	for (size_t i = 1; i < ndims; i++)
		if (!strcmp(out[i - 1].name, out[i].name))
			return -1;
	return 0;
}

/* Is the unit part of the identity of a series of NS? A user's metric
 * (PutMetricData) has a series per unit, as CloudWatch keeps each datum's
 * unit; albd's own ("AWS/...") have one fixed unit each. */
static int unit_keyed(const char *ns)
{
	return strncmp(ns, "AWS/", 4) != 0;
}

/* The first MAX made of the series of KEY (hash H) with unit UNIT (NULL:
 * any) into OUT, ascending id (the order they were made). Returns how many
 * there are, even beyond MAX. */
static size_t lookup_all(const struct store *st, const char *key, size_t klen, uint64_t h, const char *unit,
			 struct store_series **out, size_t max)
{
	size_t n = 0;

	if (!st->hcap)
		return 0;
	for (struct store_series *s = st->hash[h & (st->hcap - 1)]; s; s = s->hnext) {
		if (s->hash != h || s->keylen != klen || memcmp(s->key, key, klen) != 0 ||
		    (unit && strcmp(s->unit, unit) != 0))
			continue;
		/* the MAX first made, in order */
		size_t i = n < max ? n : max;
		if (i == max && (!max || out[max - 1]->id < s->id)) {
			n++;
			continue;
		}
		if (i == max)
			i--;
		for (; i > 0 && out[i - 1]->id > s->id; i--)
			out[i] = out[i - 1];
		out[i] = s;
		n++;
	}
	return n;
}

/* The series of KEY with UNIT (NULL: the first made of any unit). */
static struct store_series *lookup(const struct store *st, const char *key, size_t klen, uint64_t h,
				   const char *unit)
{
	struct store_series *s;

	return lookup_all(st, key, klen, h, unit, &s, 1) ? s : NULL;
}

static int hash_insert(struct store *st, struct store_series *s)
{
	if (st->count + 1 > st->hcap / 2) {
		size_t cap = st->hcap ? st->hcap * 2 : 1024;
		struct store_series **h = calloc(cap, sizeof(*h));
		if (!h)
			return -1;
		for (size_t i = 0; i < st->hcap; i++) {
			for (struct store_series *x = st->hash[i], *nx; x; x = nx) {
				nx = x->hnext;
				x->hnext = h[x->hash & (cap - 1)];
				h[x->hash & (cap - 1)] = x;
			}
		}
		free(st->hash);
		st->hash = h;
		st->hcap = cap;
	}
	s->hnext = st->hash[s->hash & (st->hcap - 1)];
	st->hash[s->hash & (st->hcap - 1)] = s;
	return 0;
}

static void series_free_res(struct store_series *s)
{
	if (!s->res)
		return;
	for (int r = 0; r < STORE_NRES; r++) {
		store_chunk_reset(&s->res[r].c);
		store_points_free(s->res[r].open, s->res[r].nopen);
	}
	free(s->res);
	s->res = NULL;
}

static void series_free(struct store_series *s)
{
	series_free_res(s);
	free(s->unit);
	free(s->dims);
	free(s->key);
	free(s);
}

/* Make a series with id ID (sorted dims) and enter it. NULL: out of memory
 * or the id is taken. */
static struct store_series *series_new(struct store *st, uint32_t id, const char *ns, const char *metric,
				       const struct store_dim *sorted, size_t ndims, const char *unit,
				       unsigned flags)
{
	if (id < st->nall && st->all[id])
		return NULL;
	struct store_series *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->st = st;
	s->id = id;
	s->flags = flags & (STORE_HIST | STORE_HIST_COARSE);
	/* the identity's strings all point into the key: one allocation */
	s->unit = strdup(unit ? unit : "None");
	s->dims = ndims ? calloc(ndims, sizeof(*s->dims)) : NULL;
	s->key = make_key(ns, metric, sorted, ndims, &s->keylen);
	if (!s->unit || (ndims && !s->dims) || !s->key)
		goto fail;
	s->ns = s->key;
	s->metric = s->ns + strlen(s->ns) + 1;
	const char *k = s->metric + strlen(s->metric) + 1;
	for (size_t i = 0; i < ndims; i++) {
		s->dims[i].name = k;
		k += strlen(k) + 1;
		s->dims[i].value = k;
		k += strlen(k) + 1;
	}
	s->ndims = ndims;
	s->hash = fnv1a(s->key, s->keylen);
	if (id >= st->capall) {
		size_t cap = st->capall ? st->capall * 2 : 1024;
		while (cap <= id)
			cap *= 2;
		struct store_series **a = realloc(st->all, cap * sizeof(*a));
		if (!a)
			goto fail;
		memset(a + st->capall, 0, (cap - st->capall) * sizeof(*a));
		st->all = a;
		st->capall = cap;
	}
	if (hash_insert(st, s) < 0)
		goto fail;
	st->all[id] = s;
	if (id >= st->nall)
		st->nall = id + 1;
	st->count++;
	return s;
fail:
	series_free(s);
	return NULL;
}

/* The catalog record of S. */
static void cat_record(struct buf *b, const struct store_series *s)
{
	struct buf p = { 0 };
	buf_u32(&p, s->id);
	buf_u32(&p, s->flags);
	const char *strs[3] = { s->ns, s->metric, s->unit };
	for (int i = 0; i < 3; i++) {
		buf_varint(&p, strlen(strs[i]));
		buf_bytes(&p, strs[i], strlen(strs[i]));
	}
	buf_varint(&p, s->ndims);
	for (size_t i = 0; i < s->ndims; i++) {
		buf_varint(&p, strlen(s->dims[i].name));
		buf_bytes(&p, s->dims[i].name, strlen(s->dims[i].name));
		buf_varint(&p, strlen(s->dims[i].value));
		buf_bytes(&p, s->dims[i].value, strlen(s->dims[i].value));
	}
	if (p.oom) {
		b->oom = 1;
	} else {
		buf_u32(b, (uint32_t)p.len);
		buf_u32(b, store_crc32c(0, p.p, p.len));
		buf_bytes(b, p.p, p.len);
	}
	free(p.p);
}

static void cat_append(struct store *st, const struct store_series *s);

struct store_series *store_series(struct store *st, const char *ns, const char *metric,
				  const struct store_dim *dims, size_t ndims, const char *unit,
				  unsigned flags)
{
	struct store_dim sorted[DIMS_MAX];
	if (!ns || !metric || sort_dims(dims, ndims, sorted) < 0)
		return NULL;
	size_t klen;
	char *key = make_key(ns, metric, sorted, ndims, &klen);
	if (!key)
		return NULL;
	struct store_series *s = lookup(st, key, klen, fnv1a(key, klen),
					unit_keyed(ns) ? (unit ? unit : "None") : NULL);
	free(key);
	if (s)
		return s;
	s = series_new(st, (uint32_t)(st->nall > st->id_floor ? st->nall : st->id_floor), ns, metric, sorted, ndims,
		       unit, flags);
	if (s && st->dir)
		cat_append(st, s);
	return s;
}

struct store_series *store_find(struct store *st, const char *ns, const char *metric,
				const struct store_dim *dims, size_t ndims)
{
	struct store_dim sorted[DIMS_MAX];
	if (!ns || !metric || sort_dims(dims, ndims, sorted) < 0)
		return NULL;
	size_t klen;
	char *key = make_key(ns, metric, sorted, ndims, &klen);
	if (!key)
		return NULL;
	struct store_series *s = lookup(st, key, klen, fnv1a(key, klen), NULL);
	free(key);
	return s;
}

size_t store_find_units(struct store *st, const char *ns, const char *metric, const struct store_dim *dims,
			size_t ndims, const char *unit, struct store_series **out, size_t max)
{
	struct store_dim sorted[DIMS_MAX];
	if (!ns || !metric || sort_dims(dims, ndims, sorted) < 0)
		return 0;
	size_t klen;
	char *key = make_key(ns, metric, sorted, ndims, &klen);
	if (!key)
		return 0;
	size_t n = lookup_all(st, key, klen, fnv1a(key, klen), unit, out, max);
	free(key);
	return n < max ? n : max;
}

int store_series_listed(const struct store_series *s, int64_t since)
{
	struct store_series *u[STORE_MAX_UNITS];
	size_t n = lookup_all(s->st, s->key, s->keylen, s->hash, NULL, u, STORE_MAX_UNITS);

	for (size_t i = 0; i < n && i < STORE_MAX_UNITS && u[i] != s; i++)
		if (u[i]->last > since)
			return 0;
	return 1;
}

const char *store_series_ns(const struct store_series *s)
{
	return s->ns;
}

const char *store_series_metric(const struct store_series *s)
{
	return s->metric;
}

size_t store_series_dims(const struct store_series *s, const struct store_dim **dims)
{
	*dims = s->dims;
	return s->ndims;
}

const char *store_series_unit(const struct store_series *s)
{
	return s->unit;
}

unsigned store_series_flags(const struct store_series *s)
{
	return s->flags;
}

int64_t store_series_last(const struct store_series *s)
{
	return s->last;
}

size_t store_nseries(const struct store *st)
{
	return st->count;
}

void store_foreach(struct store *st, int64_t since, int (*fn)(struct store_series *s, void *arg), void *arg)
{
	for (size_t i = 0; i < st->nall; i++) {
		struct store_series *s = st->all[i];
		if (s && s->last > since && fn(s, arg))
			return;
	}
}

/* ------------------------------------------------------------ points */

/* DST += SRC (histograms only when WITH_HIST). Returns 0 or -1 (out of
 * memory: the histogram is not merged). */
static int point_merge(struct store_point *dst, const struct store_point *src, int with_hist)
{
	if (dst->n == 0) {
		dst->n = src->n;
		dst->sum = src->sum;
		dst->min = src->min;
		dst->max = src->max;
	} else {
		dst->n += src->n;
		dst->sum += src->sum;
		if (src->min < dst->min)
			dst->min = src->min;
		if (src->max > dst->max)
			dst->max = src->max;
	}
	if (with_hist && src->h.n) {
		/* a few buckets into many (a second into an open minute or
		 * hour): one by one, so that the array grows only for new ords */
		if (src->h.n <= 64 && dst->h.n > src->h.n && src->h.shift == dst->h.shift) {
			for (uint32_t i = 0; i < src->h.n; i++)
				if (hist_add_ord(&dst->h, src->h.b[i].ord, src->h.b[i].count) < 0)
					return -1;
			return 0;
		}
		return hist_merge(&dst->h, &src->h);
	}
	return 0;
}

/* Give back what an open point's histogram holds beyond its buckets and a
 * little room: a series with histograms keeps up to four of them open, of
 * a few hundred buckets each. */
static void hist_fit(struct hist *h)
{
	if (h->cap <= h->n + h->n / 8 + 8)
		return;
	uint32_t cap = h->n + h->n / 16 + 4;
	struct hist_bucket *b = realloc(h->b, (size_t)cap * sizeof(*b));
	if (b) {
		h->b = b;
		h->cap = cap;
	}
}

/* Merge P into the sorted array *PTS of *N points (insert or add). */
static int points_merge_one(struct store_point **pts, size_t *n, size_t *cap, const struct store_point *p,
			    int with_hist)
{
	size_t i = *n;
	while (i > 0 && (*pts)[i - 1].t > p->t)
		i--;
	if (i > 0 && (*pts)[i - 1].t == p->t)
		return point_merge(&(*pts)[i - 1], p, with_hist);
	if (*n + 1 > *cap) {
		size_t c = *cap + *cap / 2 + 1;  /* open points: usually one */
		struct store_point *np = realloc(*pts, c * sizeof(*np));
		if (!np)
			return -1;
		*pts = np;
		*cap = c;
	}
	memmove(&(*pts)[i + 1], &(*pts)[i], (*n - i) * sizeof(**pts));
	memset(&(*pts)[i], 0, sizeof(**pts));
	(*pts)[i].t = p->t;
	(*n)++;
	return point_merge(&(*pts)[i], p, with_hist);
}

static struct sres *series_res(struct store_series *s)
{
	if (s->res)
		return s->res;
	s->res = calloc(STORE_NRES, sizeof(*s->res));
	if (!s->res)
		return NULL;
	for (int r = 0; r < STORE_NRES; r++)
		chunk_init(&s->res[r].c, s, r, s->st->win[r], 0, 0);
	return s->res;
}

/* The coarsest shift of the histograms of P[0..n), and whether any has one. */
static unsigned points_shift(const struct store_point *p, size_t n, int *with_hist)
{
	unsigned shift = 0;
	*with_hist = 0;
	for (size_t i = 0; i < n; i++) {
		*with_hist |= p[i].h.n != 0;
		if (p[i].h.shift > shift)
			shift = p[i].h.shift;
	}
	return shift;
}

/* Serialize chunk C and decode it back into points. */
static int chunk_points(const struct store_chunk *c, struct store_point **pts, size_t *n)
{
	size_t len = store_chunk_size(c);
	uint8_t *b = malloc(len);
	if (!b)
		return -1;
	store_chunk_write(c, b);
	int rc = store_chunk_decode(b, len, STORE_CHUNK_V4, c->base, c->step, pts, n);
	free(b);
	return rc;
}

/* A late point P for the head chunk of resolution R. */
static int chunk_patch(struct store_series *s, int r, const struct store_point *p)
{
	struct store_chunk *c = &s->res[r].c;
	struct store_point *pts = NULL;
	size_t n = 0, cap;
	if (c->npts == 0) {
		store_chunk_reset(c);
		chunk_init(c, s, r, s->st->win[r], 0, 0);
	} else if (chunk_points(c, &pts, &n) < 0) {
		return -1;
	}
	cap = n;
	int rc = points_merge_one(&pts, &n, &cap, p, c->with_hist);
	if (rc == 0)
		rc = store_chunk_build(c, pts, n);
	store_points_free(pts, n);
	if (rc < 0)
		log_err("store: %s/%s: a late point at %lld is lost (out of memory)", s->ns, s->metric,
			(long long)p->t);
	return rc;
}

/* Put the aggregate P (at second P->t, histogram in P->h) into the 1 s
 * and 60 s resolutions where they keep its time (300 s and 3600 s get it
 * by roll-up); P60, when not NULL, is what goes into 60 s instead (at the
 * same time). */
static int put_point2(struct store_series *s, struct store_point *p, struct store_point *p60)
{
	struct store *st = s->st;
	int64_t t = p->t;
	if (t < st->now - LATE_MAX || t > st->now + AHEAD_MAX)
		return -1;
	if (!series_res(s))
		return -1;
	int rc = 0;
	for (int r = 0; r < RES_PUT; r++) {
		int64_t step = store_res_step[r];
		int64_t ps = align_down(t, step);
		if (ps < st->now - store_res_keep[r])
			continue;
		int wh = res_hist(s, r);
		struct sres *sr = &s->res[r];
		struct store_point *q = r > 0 && p60 ? p60 : p;
		q->t = ps;
		if (ps + step > st->now) {
			size_t n = sr->nopen, cap = sr->capopen;
			if (points_merge_one(&sr->open, &n, &cap, q, wh) < 0)
				rc = -1;
			sr->nopen = (uint32_t)n;
			sr->capopen = (uint32_t)cap;
			if (wh)
				for (uint32_t k = 0; k < sr->nopen; k++)
					hist_fit(&sr->open[k].h);
		} else if (ps >= st->win[r]) {
			if (chunk_patch(s, r, q) < 0)
				rc = -1;
		} else {
			if (st->nlate == st->caplate) {
				size_t cap = st->caplate ? st->caplate * 2 : 64;
				struct late *l = realloc(st->late, cap * sizeof(*l));
				if (!l) {
					rc = -1;
					continue;
				}
				st->late = l;
				st->caplate = cap;
			}
			if (!st->nlate)
				st->late_since = st->now;
			struct late *l = &st->late[st->nlate];
			memset(l, 0, sizeof(*l));
			l->s = s;
			l->r = r;
			if (point_merge(&l->p, q, wh) < 0) {
				hist_free(&l->p.h);
				rc = -1;
				continue;
			}
			l->p.t = ps;
			st->nlate++;
		}
	}
	p->t = t;
	if (p60)
		p60->t = t;
	if (t > s->last)
		s->last = t;
	return rc;
}

static int put_point(struct store_series *s, struct store_point *p)
{
	return put_point2(s, p, NULL);
}

int store_put(struct store_series *s, int64_t t, double v)
{
	return store_put_n(s, t, v, 1);
}

int store_put_n(struct store_series *s, int64_t t, double v, double count)
{
	if (!isfinite(v) || !isfinite(count) || count <= 0)
		return -1;
	struct hist_bucket b = { hist_ord(v), (uint64_t)llround(count) };
	if (b.count == 0)
		b.count = 1;
	struct store_point p = { t, count, v * count, v, v, { &b, 1, 1, 0 } };
	return put_point(s, &p);
}

int store_put_stats(struct store_series *s, int64_t t, double n, double sum, double min, double max)
{
	if (!isfinite(n) || !isfinite(sum) || !isfinite(min) || !isfinite(max) || n <= 0 || min > max)
		return -1;
	/* Minimum equal to Maximum: every sample's value is known, so the
	 * point has percentiles (CloudWatch: "the Min and the Max values of
	 * the statistic set are equal") */
	struct hist_bucket b = { hist_ord(min), (uint64_t)llround(n) };
	if (b.count == 0)
		b.count = 1;
	struct store_point p = { t, n, sum, min, max, HIST_INIT };
	if (min == max && (s->flags & STORE_HIST))
		p.h = (struct hist){ &b, 1, 1, 0 };
	return put_point(s, &p);
}

int store_put_events(struct store_series *s, int64_t t, double count)
{
	if (!isfinite(count) || count < 0)
		return -1;
	/* a second is one sample (n 1, min = max = sum: the codec's cheapest
	 * point); the minute it goes into has Minimum and Maximum 1 (0 if
	 * quiet), so that its only changing field is the Sum */
	double one = count > 0 ? 1 : 0;
	struct store_point p = { t, 1, count, count, count, HIST_INIT };
	struct store_point p60 = { t, 1, count, one, one, HIST_INIT };
	return put_point2(s, &p, &p60);
}

int store_put_hist(struct store_series *s, int64_t t, const struct hist *h, double sum)
{
	if (!isfinite(sum) || h->shift)
		return -1;
	uint64_t n = hist_count(h);
	if (n == 0)
		return 0;
	struct store_point p = { t, (double)n, sum, hist_min(h), hist_max(h), *h };
	return put_point(s, &p);
}

/* ------------------------------------------------------------ blocks */

static void unsaved_gone(struct store *st, const struct blk *b)
{
	if (b->unsaved) {
		st->nunsaved--;
		st->unsaved_bytes -= b->len;
	}
}

static void blk_forget(struct store *st, int r, size_t i)
{
	unsaved_gone(st, &st->blks[r][i]);
	free(st->blks[r][i].mem);
	memmove(&st->blks[r][i], &st->blks[r][i + 1], (st->nblk[r] - i - 1) * sizeof(struct blk));
	st->nblk[r]--;
}

/* The index of block START of resolution R, or of where it would go. */
static size_t blk_search(const struct store *st, int r, int64_t start)
{
	size_t lo = 0, hi = st->nblk[r];
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (st->blks[r][mid].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Enter block START (MEM: its bytes for a memory-only store, taken). */
static int blk_enter(struct store *st, int r, int64_t start, uint8_t *mem, size_t len, int checked)
{
	size_t i = blk_search(st, r, start);
	if (i < st->nblk[r] && st->blks[r][i].start == start) {
		unsaved_gone(st, &st->blks[r][i]);
		free(st->blks[r][i].mem);
	} else {
		if (st->nblk[r] == st->capblk[r]) {
			size_t cap = st->capblk[r] ? st->capblk[r] * 2 : 64;
			struct blk *b = realloc(st->blks[r], cap * sizeof(*b));
			if (!b)
				return -1;
			st->blks[r] = b;
			st->capblk[r] = cap;
		}
		memmove(&st->blks[r][i + 1], &st->blks[r][i], (st->nblk[r] - i) * sizeof(struct blk));
		st->nblk[r]++;
	}
	st->blks[r][i] = (struct blk){ start, mem, len, checked, 0, 0 };
	return 0;
}

/* ------------------------------------------------------------ unsaved blocks */

/* A block whose file cannot be written (disk full, state_dir read-only or
 * gone, a rename refused) stays in memory, in the block table like a
 * memory-only store's (queries, late points and the roll-up read it), and
 * in every checkpoint, so that neither the running process nor a restart
 * loses it; store_tick() tries again every UNSAVED_RETRY seconds, oldest
 * first. Their bytes are bounded by UNSAVED_MAX (about an hour of the
 * fleet's 1-second blocks, README "Budget", or some 20 hours of its
 * 1-minute ones): past it the oldest 1-second block goes first (its
 * minutes are still in the 1-minute data), then the oldest 1-minute
 * one, each dropped with an error that counts what was dropped. */
#define UNSAVED_RETRY 10
#define UNSAVED_MAX ((size_t)64 << 20)
static size_t unsaved_max = UNSAVED_MAX;  /* tests lower it */

/* Keep the block of R at START that could not be written (WHY) in
 * memory: MEM (LEN bytes) is taken. Returns 0, or -1 when out of memory
 * (MEM freed, logged). */
static int keep_unsaved(struct store *st, int r, int64_t start, uint8_t *mem, size_t len, const char *why)
{
	if (blk_enter(st, r, start, mem, len, 1) < 0) {
		free(mem);
		log_err("store: block r%u/%lld cannot be written (%s) nor kept (out of memory): its points are lost",
			store_res_step[r], (long long)start, why);
		return -1;
	}
	struct blk *b = &st->blks[r][blk_search(st, r, start)];
	b->unsaved = 1;
	st->nunsaved++;
	st->unsaved_bytes += len;
	if (st->nunsaved == 1 || st->unsaved_retry <= st->now)
		st->unsaved_retry = st->now + UNSAVED_RETRY;
	log_err("store: block r%u/%lld cannot be written (%s): kept in memory and retried every %d s"
		" (%zu blocks, %zu bytes unsaved)", store_res_step[r], (long long)start, why, UNSAVED_RETRY,
		st->nunsaved, st->unsaved_bytes);
	/* the bound: the oldest 1-second block first, then 1-minute ones */
	while (st->unsaved_bytes > unsaved_max) {
		int vr = -1;
		size_t vi = 0;
		for (int k = 0; k < STORE_NRES && vr < 0; k++)
			for (size_t i = 0; i < st->nblk[k] && vr < 0; i++)
				if (st->blks[k][i].unsaved) {
					vr = k;
					vi = i;
				}
		if (vr < 0)
			break;
		struct blk *v = &st->blks[vr][vi];
		uint32_t nseries = v->len >= BLK_HDR ? get_le32(v->mem + 28) : 0;
		st->dropped_blocks++;
		st->dropped_bytes += v->len;
		log_err("store: blocks kept in memory are over %zu KiB: block r%u/%lld (%u series, %zu bytes)"
			" dropped, the oldest; %llu blocks (%llu bytes) dropped so far", unsaved_max >> 10,
			store_res_step[vr], (long long)v->start, nseries, v->len,
			(unsigned long long)st->dropped_blocks, (unsigned long long)st->dropped_bytes);
		/* an older version on disk (a rewrite for late points
		 * failed) is what remains */
		char path[4096];
		struct stat sb;
		blk_path(st, vr, v->start, path, sizeof(path));
		if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
			unsaved_gone(st, v);
			free(v->mem);
			*v = (struct blk){ v->start, NULL, (size_t)sb.st_size, 0, 0, 0 };
		} else {
			blk_forget(st, vr, vi);
		}
	}
	return 0;
}

/* Try again to write the blocks kept in memory, oldest first, until one
 * fails. */
static void retry_unsaved(struct store *st)
{
	size_t written = 0;
	char why[4400];
	for (int r = 0; r < STORE_NRES; r++) {
		for (size_t i = 0; i < st->nblk[r]; i++) {
			struct blk *b = &st->blks[r][i];
			if (!b->unsaved)
				continue;
			char path[4096];
			blk_path(st, r, b->start, path, sizeof(path));
			if (write_atomic(st, path, b->mem, b->len, 1, why, sizeof(why)) < 0) {
				st->unsaved_retry = st->now + UNSAVED_RETRY;
				if (written)
					log_info("store: %zu blocks kept in memory written, %zu still not (%s)", written,
						 st->nunsaved, why);
				return;
			}
			unsaved_gone(st, b);
			free(b->mem);
			b->mem = NULL;
			b->unsaved = 0;
			written++;
		}
	}
	if (written)
		log_info("store: %zu blocks kept in memory written: none is left unsaved", written);
}

/* a mapped block */
struct bview {
	const uint8_t *p;
	size_t len;
	void *map;
	uint32_t nseries;
	unsigned version;           /* the block's, which is its chunks' */
	uint32_t ilen;              /* version 2 and 3: bytes of index after the header */
	uint8_t *gok;               /* version 3: per group, 0 not checked yet, 1 its chunks' CRC
				     * matches, 2 it does not (or malloc'd on first use) */
};

static void bview_close(struct bview *v)
{
	if (v->map)
		munmap(v->map, v->len);
	v->map = NULL;
	free(v->gok);
	v->gok = NULL;
}

/* Check a block header P (BLK_HDR bytes) against the file's length and
 * name. Returns NULL or what is wrong. */
static const char *hdr_check(const uint8_t *p, uint64_t len, int r, int64_t start)
{
	if (len < BLK_HDR)
		return "truncated header";
	if (memcmp(p, BLK_MAGIC, 8))
		return "bad magic";
	uint32_t version = get_le32(p + 8);
	if (version < 1 || version > BLK_VERSION)
		return "unknown version";
	if (get_le32(p + 12) != store_res_step[r] || (int64_t)get_le64(p + 16) != start)
		return "header does not match the file name";
	if (get_le64(p + 32) != len)
		return len < get_le64(p + 32) ? "truncated" : "trailing bytes";
	uint64_t nseries = get_le32(p + 28);
	if (version == 1 && BLK_HDR + nseries * BLK_ENT > len)
		return "index beyond the end";
	if (version >= 2) {
		uint64_t ilen = get_le32(p + 44);
		uint64_t nskip = (nseries + BLK_GROUP - 1) / BLK_GROUP;
		/* an entry takes at least 2 bytes */
		if (BLK_HDR + ilen > len || nskip * (version == 2 ? BLK_SKIP : BLK_SKIP3) + nseries * 2 > ilen)
			return "index beyond the end";
	}
	return NULL;
}

/* the bytes of the index of a block whose header checked */
static uint64_t index_len(const uint8_t *p)
{
	return get_le32(p + 8) == 1 ? (uint64_t)get_le32(p + 28) * BLK_ENT : get_le32(p + 44);
}

/* Check the header (and when FULL the index CRC) of block bytes. */
static const char *blk_check(const uint8_t *p, size_t len, int r, int64_t start, int full)
{
	const char *why = hdr_check(p, len, r, start);
	if (why)
		return why;
	if (full) {
		uint32_t crc = store_crc32c(0, p, 40);
		if (get_le32(p + 8) >= 2)
			crc = store_crc32c(crc, p + 44, 4);
		crc = store_crc32c(crc, p + BLK_HDR, index_len(p));
		if (crc != get_le32(p + 40))
			return "header or index checksum mismatch";
	}
	return NULL;
}

/* Drop block I of R as damaged: logged, file set aside. */
static void blk_damaged(struct store *st, int r, size_t i, const char *why)
{
	if (st->dir) {
		char path[4096];
		blk_path(st, r, st->blks[r][i].start, path, sizeof(path));
		set_aside(path, why);
	} else {
		log_err("store: block r%u/%lld is damaged (%s): dropped", store_res_step[r],
			(long long)st->blks[r][i].start, why);
	}
	blk_forget(st, r, i);
}

/* Open block I of R for reading. Returns 0, -1 (damaged or gone: set
 * aside and removed from the table) or -2 (cannot open or map it now:
 * left). */
static int bview_open(struct store *st, int r, size_t i, struct bview *v)
{
	struct blk *b = &st->blks[r][i];
	memset(v, 0, sizeof(*v));
	if (b->mem) {
		v->p = b->mem;
		v->len = b->len;
	} else {
		char path[4096];
		blk_path(st, r, b->start, path, sizeof(path));
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) {
			log_err("store: %s: %s", path, strerror(errno));
			blk_forget(st, r, i);
			return -1;
		}
		if (fd < 0) {
			/* out of descriptors, say: the block is there, later */
			log_err("store: %s: %s", path, strerror(errno));
			return -2;
		}
		struct stat sb;
		if (fstat(fd, &sb) < 0 || sb.st_size < BLK_HDR) {
			close(fd);
			blk_damaged(st, r, i, "truncated header");
			return -1;
		}
		v->len = (size_t)sb.st_size;
		v->map = mmap(NULL, v->len, PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (v->map == MAP_FAILED) {
			v->map = NULL;
			log_err("store: mmap %s: %s", path, strerror(errno));
			return -2;
		}
		v->p = v->map;
	}
	const char *why = blk_check(v->p, v->len, r, b->start, !b->checked);
	if (why) {
		bview_close(v);
		blk_damaged(st, r, i, why);
		return -1;
	}
	b->checked = 1;
	v->nseries = get_le32(v->p + 28);
	v->version = get_le32(v->p + 8);
	v->ilen = v->version >= 2 ? get_le32(v->p + 44) : 0;
	return 0;
}

struct bentry {
	uint32_t id;
	const uint8_t *p;
	size_t len;
	uint32_t crc;   /* versions 1 and 2: its chunk's CRC32C */
	size_t own;     /* bytes of chunk data this entry adds to the block (0: a copy) */
	uint32_t ref;   /* a copy: (read) the distance back to the entry it copies */
	uint32_t grp;   /* version 3: (read) the group whose chunks hold its bytes */
};

/* Version 2 index: after the header, one skip record per BLK_GROUP
 * entries (the group's first series id, the offset of its first entry
 * from the first entry, the file offset of its first chunk: 3 x u32),
 * then per series in id order: varint of the id's difference to the one
 * before (the group's first id for a group's first entry), then varint
 * 2 x the chunk's length and the chunk's CRC32C (u32), or varint 2 x D +
 * 1 when the chunk is byte for byte the one of the entry D places before
 * (many series that stay 0 or 1 have the same chunk: it is written once).
 * The chunks follow the index in the same order. A lookup is a binary
 * search of the skip records and at most BLK_GROUP entries read in
 * sequence (and the group of the entry copied).
 *
 * Version 3 index: the same, but the CRC32C is per group, not per chunk:
 * a skip record has a fourth u32, the CRC32C of the group's chunks (from
 * its first chunk to the next group's first, or to the end of the file),
 * and an entry is the varints alone. 4 bytes less a series and block
 * (65 MB for the budget's fleet over the ladder); a lookup checks the
 * group it reads, about 64 chunks, once per opening of the block. */

static size_t skip_size(const struct bview *v)
{
	return v->version == 2 ? BLK_SKIP : BLK_SKIP3;
}

static int group_read_raw(const struct bview *v, size_t g, struct bentry *e);

/* Read entries of group G of V (version 2 or 3) into E (room for BLK_GROUP),
 * copies resolved. Returns their number, or -1 (malformed). */
static int group_read(const struct bview *v, size_t g, struct bentry *e)
{
	int n = group_read_raw(v, g, e);
	for (int k = 0; k < n; k++) {
		if (!e[k].ref)
			continue;
		size_t j = g * BLK_GROUP + (size_t)k;
		if (e[k].ref > j)
			return -1;
		j -= e[k].ref;
		struct bentry src;
		if (j / BLK_GROUP == g) {
			src = e[j % BLK_GROUP];
		} else {
			struct bentry o[BLK_GROUP];
			if (group_read_raw(v, j / BLK_GROUP, o) <= (int)(j % BLK_GROUP))
				return -1;
			src = o[j % BLK_GROUP];
		}
		if (src.ref)
			return -1;  /* a copy of a copy is not written */
		e[k].p = src.p;
		e[k].len = src.len;
		e[k].crc = src.crc;
		e[k].grp = src.grp;
	}
	return n;
}

/* Group G's entries as they are written (copies not resolved). */
static int group_read_raw(const struct bview *v, size_t g, struct bentry *e)
{
	size_t nskip = (v->nseries + BLK_GROUP - 1) / BLK_GROUP;
	const uint8_t *sk = v->p + BLK_HDR + g * skip_size(v);
	const uint8_t *ents = v->p + BLK_HDR + nskip * skip_size(v), *iend = v->p + BLK_HDR + v->ilen;
	uint32_t id = get_le32(sk);
	uint64_t eoff = get_le32(sk + 4), off = get_le32(sk + 8);
	if (eoff > (uint64_t)(iend - ents) || off > v->len)
		return -1;
	const uint8_t *q = ents + eoff;
	size_t n = v->nseries - g * BLK_GROUP;
	if (n > BLK_GROUP)
		n = BLK_GROUP;
	for (size_t k = 0; k < n; k++) {
		uint64_t d, l;
		if (varint_get(&q, iend, &d) < 0 || varint_get(&q, iend, &l) < 0 || d > UINT32_MAX - id)
			return -1;
		id += (uint32_t)d;
		if (l & 1) {
			if ((l >> 1) == 0 || (l >> 1) > v->nseries)
				return -1;
			e[k] = (struct bentry){ id, NULL, 0, 0, 0, (uint32_t)(l >> 1), (uint32_t)g };
			continue;
		}
		l >>= 1;
		if (l > v->len - off)
			return -1;
		if (v->version == 2) {
			if (iend - q < 4)
				return -1;
			e[k] = (struct bentry){ id, v->p + off, (size_t)l, get_le32(q), (size_t)l, 0, (uint32_t)g };
			q += 4;
		} else {
			e[k] = (struct bentry){ id, v->p + off, (size_t)l, 0, (size_t)l, 0, (uint32_t)g };
		}
		off += l;
	}
	return (int)n;
}

/* Version 3: do the chunks of group G of V match the group's CRC32C? */
static int group_ok(struct bview *v, size_t g)
{
	size_t nskip = (v->nseries + BLK_GROUP - 1) / BLK_GROUP;
	if (g >= nskip)
		return 0;
	if (!v->gok)
		v->gok = calloc(nskip, 1);
	if (v->gok && v->gok[g])
		return v->gok[g] == 1;
	const uint8_t *sk = v->p + BLK_HDR + g * BLK_SKIP3;
	uint64_t from = get_le32(sk + 8), to = g + 1 < nskip ? get_le32(sk + BLK_SKIP3 + 8) : v->len;
	int ok = from <= to && to <= v->len && store_crc32c(0, v->p + from, (size_t)(to - from)) == get_le32(sk + 12);
	if (v->gok)
		v->gok[g] = ok ? 1 : 2;
	return ok;
}

/* Is the chunk of entry E (read from V, copies resolved) intact? */
static int bentry_ok(struct bview *v, const struct bentry *e)
{
	if (v->version <= 2)
		return store_crc32c(0, e->p, e->len) == e->crc;
	return group_ok(v, e->grp);
}

/* Every entry of V, in id order, into a malloc'd array *OUT. Returns
 * their number, or -1 (malformed or out of memory). */
static long bview_list(const struct bview *v, struct bentry **out)
{
	struct bentry *e = malloc((v->nseries + BLK_GROUP) * sizeof(*e));
	*out = e;
	if (!e)
		return -1;
	if (v->version == 1) {
		for (size_t i = 0; i < v->nseries; i++) {
			const uint8_t *x = v->p + BLK_HDR + i * BLK_ENT;
			uint64_t off = get_le64(x + 4), l = get_le32(x + 12);
			if (off > v->len || l > v->len - off)
				return -1;
			e[i] = (struct bentry){ get_le32(x), v->p + off, (size_t)l, get_le32(x + 16), (size_t)l, 0, 0 };
		}
		return (long)v->nseries;
	}
	size_t n = 0;
	for (size_t g = 0; n < v->nseries; g++) {
		int k = group_read(v, g, e + n);
		if (k <= 0)
			return -1;
		n += (size_t)k;
	}
	return (long)n;
}

/* Find series ID's chunk in V. Returns 1 (found: *CHUNK, *LEN), 0 (none) or
 * -1 (its checksum or bounds are wrong). */
static int bview_find(struct bview *v, uint32_t id, const uint8_t **chunk, size_t *len)
{
	struct bentry found = { 0 };
	int have = 0;
	if (v->version == 1) {
		size_t lo = 0, hi = v->nseries;
		while (lo < hi && !have) {
			size_t mid = (lo + hi) / 2;
			const uint8_t *e = v->p + BLK_HDR + mid * BLK_ENT;
			uint32_t eid = get_le32(e);
			if (eid < id) {
				lo = mid + 1;
			} else if (eid > id) {
				hi = mid;
			} else {
				uint64_t off = get_le64(e + 4), l = get_le32(e + 12);
				if (off > v->len || l > v->len - off)
					return -1;
				found = (struct bentry){ id, v->p + off, (size_t)l, get_le32(e + 16), (size_t)l, 0, 0 };
				have = 1;
			}
		}
	} else {
		/* the last group whose first id is <= ID */
		size_t lo = 0, hi = (v->nseries + BLK_GROUP - 1) / BLK_GROUP;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (get_le32(v->p + BLK_HDR + mid * skip_size(v)) <= id)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == 0)
			return 0;
		struct bentry e[BLK_GROUP];
		int n = group_read(v, lo - 1, e);
		if (n < 0)
			return -1;
		for (int k = 0; k < n && !have; k++) {
			if (e[k].id == id) {
				found = e[k];
				have = 1;
			}
		}
	}
	if (!have)
		return 0;
	if (!bentry_ok(v, &found))
		return -1;
	*chunk = found.p;
	*len = found.len;
	return 1;
}

/* Assemble a block (the current version) from entries sorted by id and store it
 * (file or memory). A file that cannot be written is kept in memory when
 * KEEP (keep_unsaved), else (a roll-up, whose sources stay) it is not.
 * Returns 0 (written or kept) or -1 (logged). */
static int blk_store(struct store *st, int r, int64_t start, const struct bentry *e, size_t n, int keep)
{
	struct buf b = { 0 };
	size_t nskip = (n + BLK_GROUP - 1) / BLK_GROUP;
	uint8_t *h = buf_room(&b, BLK_HDR + nskip * BLK_SKIP3);
	if (h)
		memset(h, 0, BLK_HDR + nskip * BLK_SKIP3);
	/* the entries, then the skip records that point into them; a chunk
	 * seen before (same CRC, length and bytes) is written as a copy */
	size_t ents = b.len;
	uint64_t doff = 0;
	uint32_t prev = 0;
	size_t hcap = 16;
	while (hcap < 2 * n)
		hcap *= 2;
	uint32_t *seen = calloc(hcap, sizeof(*seen));  /* entry index + 1 of new chunks */
	uint32_t *crcs = malloc((n + 1) * sizeof(*crcs));
	uint8_t *copy = calloc(n + 1, 1);
	if (!seen || !crcs || !copy)
		b.oom = 1;
	for (size_t i = 0; i < n && !b.oom; i++) {
		if (i % BLK_GROUP == 0) {
			uint8_t *sk = b.p + BLK_HDR + (i / BLK_GROUP) * BLK_SKIP3;
			put_le32(sk, e[i].id);
			put_le32(sk + 4, (uint32_t)(b.len - ents));
			put_le32(sk + 8, (uint32_t)doff);  /* relative for now */
			prev = e[i].id;
		}
		buf_varint(&b, e[i].id - prev);
		prev = e[i].id;
		uint32_t crc = crcs[i] = store_crc32c(0, e[i].p, e[i].len);
		size_t slot = (crc ^ e[i].len * 0x9e3779b1u) & (hcap - 1);
		for (; seen[slot]; slot = (slot + 1) & (hcap - 1)) {
			size_t j = seen[slot] - 1;
			if (crcs[j] == crc && e[j].len == e[i].len && !memcmp(e[j].p, e[i].p, e[i].len))
				break;
		}
		if (seen[slot]) {
			buf_varint(&b, 2 * (uint64_t)(i - (seen[slot] - 1)) + 1);
			copy[i] = 1;
			continue;
		}
		seen[slot] = (uint32_t)i + 1;
		buf_varint(&b, 2 * (uint64_t)e[i].len);
		doff += e[i].len;
	}
	size_t ilen = b.len - BLK_HDR;
	for (size_t i = 0; i < n && !b.oom; i++)
		if (!copy[i])
			buf_bytes(&b, e[i].p, e[i].len);
	free(seen);
	free(crcs);
	free(copy);
	if (b.oom || b.len > UINT32_MAX) {
		free(b.p);
		log_err("store: out of memory writing block r%u/%lld", store_res_step[r], (long long)start);
		return -1;
	}
	for (size_t g = 0; g < nskip; g++) {
		uint8_t *sk = b.p + BLK_HDR + g * BLK_SKIP3;
		put_le32(sk + 8, (uint32_t)(get_le32(sk + 8) + BLK_HDR + ilen));
	}
	/* each group's chunks: from its first to the next group's first */
	for (size_t g = 0; g < nskip; g++) {
		uint8_t *sk = b.p + BLK_HDR + g * BLK_SKIP3;
		size_t from = get_le32(sk + 8), to = g + 1 < nskip ? get_le32(sk + BLK_SKIP3 + 8) : b.len;
		put_le32(sk + 12, store_crc32c(0, b.p + from, to - from));
	}
	memcpy(b.p, BLK_MAGIC, 8);
	put_le32(b.p + 8, BLK_VERSION);
	put_le32(b.p + 12, store_res_step[r]);
	put_le64(b.p + 16, (uint64_t)start);
	put_le32(b.p + 24, (uint32_t)blk_len[r]);
	put_le32(b.p + 28, (uint32_t)n);
	put_le64(b.p + 32, b.len);
	put_le32(b.p + 44, (uint32_t)ilen);
	uint32_t crc = store_crc32c(0, b.p, 40);
	crc = store_crc32c(crc, b.p + 44, 4);
	put_le32(b.p + 40, store_crc32c(crc, b.p + BLK_HDR, ilen));
	int rc;
	if (st->dir) {
		char path[4096], why[4400];
		blk_path(st, r, start, path, sizeof(path));
		rc = write_atomic(st, path, b.p, b.len, 1, why, sizeof(why));
		if (rc == 0) {
			rc = blk_enter(st, r, start, NULL, b.len, 1);
			free(b.p);
		} else if (keep) {
			rc = keep_unsaved(st, r, start, b.p, b.len, why);
		} else {
			log_err("store: block r%u/%lld cannot be written (%s)", store_res_step[r], (long long)start, why);
			free(b.p);
		}
	} else {
		rc = blk_enter(st, r, start, b.p, b.len, 1);
		if (rc < 0)
			free(b.p);
	}
	return rc;
}

/* Append series ID's chunk C to B. Returns 0 or -1 (out of memory: B as
 * it was). */
static int blkbuild_add(struct blkbuild *b, uint32_t id, const struct store_chunk *c)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		struct bentry *ne = realloc(b->e, cap * sizeof(*ne));
		if (ne)
			b->e = ne;
		size_t *no = realloc(b->offs, cap * sizeof(*no));
		if (no)
			b->offs = no;
		if (!ne || !no)
			return -1;
		b->cap = cap;
	}
	size_t len = store_chunk_size(c);
	uint8_t *p = buf_room(&b->data, len);
	if (!p)
		return -1;
	store_chunk_write(c, p);
	b->offs[b->n] = (size_t)(p - b->data.p);
	b->e[b->n++] = (struct bentry){ id, NULL, len, 0, 0, 0, 0 };
	return 0;
}

/* Store B as block START of R (nothing when B is empty; KEEP: blk_store).
 * Returns 0 or -1. */
static int blkbuild_store(struct store *st, int r, int64_t start, struct blkbuild *b, int keep)
{
	for (size_t i = 0; i < b->n; i++)
		b->e[i].p = b->data.p + b->offs[i];
	return b->n ? blk_store(st, r, start, b->e, b->n, keep) : 0;
}

static void blkbuild_free(struct blkbuild *b)
{
	free(b->e);
	free(b->offs);
	free(b->data.p);
	memset(b, 0, sizeof(*b));
}

/* Points A[0..na) and B[0..nb) (ascending t) of one series in one window,
 * two snapshots of it, into *OUT (*N points): one point a time, the one
 * with more samples, A's when they have as many. A point only grows
 * (puts and late points add to it), so the one with more samples holds
 * the other's: nothing is lost, nothing counted twice. The points' memory
 * moves to *OUT (A and B are left empty points). Returns 0 or -1 (out of
 * memory). */
static int points_union(struct store_point *a, size_t na, struct store_point *b, size_t nb,
			struct store_point **out, size_t *n)
{
	struct store_point *o = malloc((na + nb + 1) * sizeof(*o));
	size_t i = 0, j = 0, k = 0;
	if (!o)
		return -1;
	while (i < na || j < nb) {
		if (j == nb || (i < na && a[i].t < b[j].t)) {
			o[k++] = a[i];
			a[i++] = (struct store_point){ 0 };
		} else if (i == na || b[j].t < a[i].t) {
			o[k++] = b[j];
			b[j++] = (struct store_point){ 0 };
		} else {
			int bw = b[j].n > a[i].n;
			o[k++] = bw ? b[j] : a[i];
			hist_free(bw ? &a[i].h : &b[j].h);
			a[i++] = (struct store_point){ 0 };
			b[j++] = (struct store_point){ 0 };
		}
	}
	*out = o;
	*n = k;
	return 0;
}

static int chunk_bytes(struct store *st, uint32_t id, int r, int64_t start, const struct store_point *p,
		       size_t n, uint8_t **out, size_t *len);

/* Store the chunks of NEW (entries sorted by id; their bytes are the
 * current version's) as block START of R when the table already has that
 * block: the union of the two, series by series and point by point
 * (points_union, the block's points first). That block was written from a
 * newer head than the one a restart read back from the checkpoint (albd
 * was killed between the block and the next checkpoint), or it is a
 * block the checkpoint held unsaved that a retry wrote after it: either
 * may hold points the other does not. NVER: the version of NEW's chunks.
 * Returns 0 or -1 as blk_store, or
 * -2: no such block, or it cannot be read (set aside when damaged): NEW
 * alone is for the caller to store. */
static int blk_union(struct store *st, int r, int64_t start, const struct bentry *new, size_t nnew, unsigned nver)
{
	size_t bi = blk_search(st, r, start);
	if (bi >= st->nblk[r] || st->blks[r][bi].start != start)
		return -2;
	struct bview v;
	int vr = bview_open(st, r, bi, &v);
	if (vr != 0) {
		/* -1: damaged, set aside (logged); -2: it cannot be opened or
		 * mapped now (descriptors, memory): what only it holds (a
		 * minute at most, past the checkpoint) is lost, and said */
		if (vr == -2)
			log_err("store: block r%u/%lld cannot be read to merge into it: written from the head alone, "
				"the points only it had are lost", store_res_step[r], (long long)start);
		return -2;
	}
	struct bentry *old = NULL;
	long nold = bview_list(&v, &old);
	if (nold < 0) {
		log_err("store: block r%u/%lld: its index cannot be read to merge into it: written from the head "
			"alone, the points only it had are lost", store_res_step[r], (long long)start);
		bview_close(&v);
		return -2;
	}
	struct bentry *e = calloc((size_t)nold + nnew + 1, sizeof(*e));
	uint8_t **owned = calloc((size_t)nold + nnew + 1, sizeof(*owned));
	size_t ne = 0, no = 0, in = 0;
	long io = 0;
	int rc = -1;
	if (!e || !owned) {
		log_err("store: out of memory merging into block r%u/%lld: its new points are lost", store_res_step[r],
			(long long)start);
		goto out;
	}
	while (in < nnew || io < nold) {
		int has_old = io < nold && (in == nnew || old[io].id <= new[in].id);
		int has_new = in < nnew && (io == nold || new[in].id <= old[io].id);
		uint32_t id = has_old ? old[io].id : new[in].id;
		struct store_point *pa = NULL, *pb = NULL, *pu = NULL;
		size_t na = 0, nb = 0, nu = 0;
		int old_ok = 0;
		if (has_old) {
			old_ok = bentry_ok(&v, &old[io]) && store_chunk_decode(old[io].p, old[io].len, v.version, start,
									       store_res_step[r], &pa, &na) == 0;
			if (!old_ok)
				log_err("store: block r%u/%lld: the chunk of series %u is damaged: %s",
					store_res_step[r], (long long)start, id,
					has_new ? "the checkpoint's points only" : "dropped");
		}
		if (!has_new && old_ok && v.version == BLK_VERSION) {
			e[ne++] = old[io];  /* as it is */
		} else if (has_new && (!has_old || !old_ok) && nver == BLK_VERSION) {
			e[ne++] = new[in];
		} else if (old_ok || has_new) {
			int ok = 1;
			if (has_new)
				ok = store_chunk_decode(new[in].p, new[in].len, nver, start, store_res_step[r], &pb, &nb) == 0;
			uint8_t *cb = NULL;
			size_t clen;
			if (ok && points_union(pa, na, pb, nb, &pu, &nu) == 0 &&
			    chunk_bytes(st, id, r, start, pu, nu, &cb, &clen) == 0) {
				owned[no++] = cb;
				e[ne++] = (struct bentry){ id, cb, clen, 0, 0, 0, 0 };
			} else if (has_new && nver == BLK_VERSION) {
				e[ne++] = new[in];  /* out of memory: the newer head */
			} else if (old_ok && v.version == BLK_VERSION) {
				e[ne++] = old[io];
			} else {
				log_err("store: block r%u/%lld: the points of series %u are lost (out of memory or damaged)",
					store_res_step[r], (long long)start, id);
			}
		}
		store_points_free(pa, na);
		store_points_free(pb, nb);
		store_points_free(pu, nu);
		io += has_old;
		in += has_new;
	}
	rc = blk_store(st, r, start, e, ne, 1);
out:
	bview_close(&v);
	for (size_t k = 0; k < no; k++)
		free(owned[k]);
	free(owned);
	free(old);
	free(e);
	return rc;
}

/* The head window of R ends: every series' chunk into block win[r]
 * (kept in memory when it cannot be written: keep_unsaved), merged with
 * the block of that window already written, if any (blk_union). */
static void write_head(struct store *st, int r)
{
	struct blkbuild b = { 0 };
	for (size_t i = 0; i < st->nall; i++) {
		struct store_series *s = st->all[i];
		if (s && s->res && s->res[r].c.npts && blkbuild_add(&b, s->id, &s->res[r].c) < 0) {
			log_err("store: out of memory: block r%u/%lld is lost", store_res_step[r],
				(long long)st->win[r]);
			b.n = 0;
			break;
		}
	}
	for (size_t i = 0; i < b.n; i++)
		b.e[i].p = b.data.p + b.offs[i];
	if (b.n && blk_union(st, r, st->win[r], b.e, b.n, BLK_VERSION) == -2)
		blkbuild_store(st, r, st->win[r], &b, 1);
	blkbuild_free(&b);
	for (size_t i = 0; i < st->nall; i++) {
		struct store_series *s = st->all[i];
		if (s && s->res)
			store_chunk_reset(&s->res[r].c);
	}
}

/* Move the open points of R that ended by LIMIT into the head chunks. */
static void close_open(struct store *st, int r, int64_t limit)
{
	int64_t step = store_res_step[r];
	for (size_t i = 0; i < st->nall; i++) {
		struct store_series *s = st->all[i];
		if (!s || !s->res)
			continue;
		struct sres *sr = &s->res[r];
		uint32_t k = 0;
		while (k < sr->nopen && sr->open[k].t + step <= limit) {
			struct store_point *p = &sr->open[k];
			if (sr->c.npts == 0) {
				store_chunk_reset(&sr->c);
				chunk_init(&sr->c, s, r, st->win[r], 0, 0);
			}
			if (p->t < st->win[r] || store_chunk_append(&sr->c, p) < 0) {
				/* a closed point before the head window cannot be
				 * (see put_point); out of memory can */
				if (chunk_patch(s, r, p) < 0)
					log_err("store: %s/%s: point at %lld lost", s->ns, s->metric, (long long)p->t);
			}
			hist_free(&p->h);
			k++;
		}
		if (k) {
			memmove(sr->open, sr->open + k, (sr->nopen - k) * sizeof(*sr->open));
			sr->nopen -= k;
		}
	}
}

/* Time moves to NOW for resolution R. */
static void advance(struct store *st, int r, int64_t now)
{
	int64_t B = blk_len[r];
	for (;;) {
		int64_t wend = st->win[r] + B;
		close_open(st, r, now < wend ? now : wend);
		if (now < wend)
			break;
		write_head(st, r);
		int64_t next = align_down(now, B);
		for (size_t i = 0; i < st->nall; i++) {
			struct store_series *s = st->all[i];
			if (s && s->res && s->res[r].nopen && s->res[r].open[0].t < next)
				next = align_down(s->res[r].open[0].t, B);
		}
		st->win[r] = next > wend ? next : wend;
	}
}

static int late_cmp(const void *a, const void *b)
{
	const struct late *x = a, *y = b;
	if (x->r != y->r)
		return x->r - y->r;
	int64_t bx = align_down(x->p.t, blk_len[x->r]), by = align_down(y->p.t, blk_len[y->r]);
	if (bx != by)
		return bx < by ? -1 : 1;
	if (x->s->id != y->s->id)
		return x->s->id < y->s->id ? -1 : 1;
	return x->p.t < y->p.t ? -1 : x->p.t > y->p.t;
}

/* A chunk of points P[0..n) of series ID at resolution R, block START, in
 * a malloc'd buffer (*OUT, *LEN). Returns 0 or -1. */
static int chunk_bytes(struct store *st, uint32_t id, int r, int64_t start, const struct store_point *p,
		       size_t n, uint8_t **out, size_t *len)
{
	const struct store_series *s = id < st->nall ? st->all[id] : NULL;
	struct store_chunk c;
	int wh;
	unsigned shift = points_shift(p, n, &wh);
	chunk_init(&c, s, r, start, wh, shift);
	int rc = store_chunk_build(&c, p, n);
	*out = NULL;
	if (rc == 0) {
		*len = store_chunk_size(&c);
		*out = malloc(*len);
		if (*out)
			store_chunk_write(&c, *out);
		else
			rc = -1;
	}
	store_chunk_reset(&c);
	return rc;
}

/* Rewrite block START of R with the late points L[0..n) (sorted by
 * series). An older version's block is rewritten in the current version
 * whole: its other chunks are decoded and encoded again. */
static void late_apply(struct store *st, int r, int64_t start, struct late *l, size_t n)
{
	struct bview v = { 0 };
	int have = 0;
	size_t i = blk_search(st, r, start);
	if (i < st->nblk[r] && st->blks[r][i].start == start) {
		int orc = bview_open(st, r, i, &v);
		if (orc == -2) {
			log_err("store: late points for block r%u/%lld are lost", store_res_step[r], (long long)start);
			return;
		}
		have = orc == 0;
	}
	struct bentry *old = NULL;
	long nold = 0;
	if (have) {
		nold = bview_list(&v, &old);
		if (nold < 0) {
			log_err("store: block r%u/%lld: its index is damaged: rewritten with its late points only",
				store_res_step[r], (long long)start);
			nold = 0;
		}
	}
	/* entries: the old ones, with the patched series replaced or added */
	struct bentry *e = calloc((size_t)nold + n + 1, sizeof(*e));
	uint8_t **owned = calloc((size_t)nold + n + 1, sizeof(*owned));
	size_t ne = 0, no = 0;
	if (!e || !owned)
		goto out;
	long oi = 0;
	for (size_t k = 0; k <= n;) {
		struct store_series *s = k < n ? l[k].s : NULL;
		size_t kend = k;
		while (kend < n && l[kend].s == s)
			kend++;
		/* old entries before this series are kept as they are (an
		 * older version's: encoded again) */
		for (; oi < nold && (!s || old[oi].id < s->id); oi++) {
			if (v.version != BLK_VERSION) {
				struct store_point *pts = NULL;
				size_t np = 0;
				uint8_t *b;
				size_t len;
				if (!bentry_ok(&v, &old[oi]) ||
				    store_chunk_decode(old[oi].p, old[oi].len, v.version, start, store_res_step[r], &pts, &np) < 0) {
					log_err("store: block r%u/%lld: the chunk of series %u is damaged: dropped",
						store_res_step[r], (long long)start, old[oi].id);
					continue;
				}
				if (chunk_bytes(st, old[oi].id, r, start, pts, np, &b, &len) == 0) {
					owned[no++] = b;
					e[ne++] = (struct bentry){ old[oi].id, b, len, 0, 0, 0, 0 };
				}
				store_points_free(pts, np);
			} else if (!bentry_ok(&v, &old[oi])) {
				log_err("store: block r%u/%lld: the chunk of series %u is damaged: dropped",
					store_res_step[r], (long long)start, old[oi].id);
			} else {
				e[ne++] = old[oi];
			}
		}
		if (!s)
			break;
		struct store_point *pts = NULL;
		size_t np = 0, cap = 0;
		if (oi < nold && old[oi].id == s->id) {
			if (!bentry_ok(&v, &old[oi]) ||
			    store_chunk_decode(old[oi].p, old[oi].len, v.version, start, store_res_step[r], &pts, &np) < 0)
				log_err("store: block r%u/%lld: the chunk of %s/%s is damaged: replaced by its late points",
					store_res_step[r], (long long)start, s->ns, s->metric);
			cap = np;
			oi++;
		}
		for (size_t j = k; j < kend; j++)
			points_merge_one(&pts, &np, &cap, &l[j].p, res_hist(s, r));
		uint8_t *b;
		size_t len;
		if (chunk_bytes(st, s->id, r, start, pts, np, &b, &len) == 0) {
			owned[no++] = b;
			e[ne++] = (struct bentry){ s->id, b, len, 0, 0, 0, 0 };
		}
		store_points_free(pts, np);
		k = kend;
	}
	if (blk_store(st, r, start, e, ne, 1) < 0)
		log_err("store: late points for block r%u/%lld are lost", store_res_step[r], (long long)start);
out:
	if (have)
		bview_close(&v);
	for (size_t k = 0; k < no; k++)
		free(owned[k]);
	free(owned);
	free(old);
	free(e);
}

/* Write the late points of at most MAX blocks (oldest resolution and time
 * first) into them; the others wait. */
static void flush_late(struct store *st, size_t max)
{
	if (!st->nlate)
		return;
	qsort(st->late, st->nlate, sizeof(*st->late), late_cmp);
	size_t i = 0;
	for (size_t blocks = 0; i < st->nlate && blocks < max; blocks++) {
		int r = st->late[i].r;
		int64_t start = align_down(st->late[i].p.t, blk_len[r]);
		size_t j = i;
		while (j < st->nlate && st->late[j].r == r && align_down(st->late[j].p.t, blk_len[r]) == start)
			j++;
		if (start + blk_len[r] > st->now - store_res_keep[r])
			late_apply(st, r, start, &st->late[i], j - i);
		i = j;
	}
	for (size_t k = 0; k < i; k++)
		hist_free(&st->late[k].p.h);
	memmove(st->late, st->late + i, (st->nlate - i) * sizeof(*st->late));
	st->nlate -= i;
}

/* ------------------------------------------------------------ roll-up */

/* The ladder without overlap. A block of resolution SRC (60 s or 300 s)
 * stays until the window of the coarser resolution that holds it,
 * [w, w + blk_len[src + 1]), has left SRC's retention: then the blocks of
 * that window become one block of src + 1 (its points merged per coarser
 * period, histograms collapsed to the coarser resolution's shift) and are
 * deleted. 60 s data thus stays 15 days (and up to 2 hours more), 300 s
 * data from then to 63 days (and up to a day more), 3600 s data from
 * then to 455 days. A query for a coarse period reads the coarse blocks
 * and then the finer data after them (store_query).
 *
 * One roll-up at a time, about ROLLUP_POINTS points and buckets decoded
 * a tick. A roll-up in progress is not written anywhere: after a restart
 * it starts again (the sources are deleted only after the new block is
 * written; a destination block that already exists, from a roll-up cut
 * short or a store from before the roll-up, means the sources are already
 * in it: scan_blocks removed an old store's blocks where they were not). */

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void rollup_free(struct rollup *ru)
{
	free(ru->ids);
	blkbuild_free(&ru->out);
	int64_t retry = ru->retry;
	memset(ru, 0, sizeof(*ru));
	ru->retry = retry;
}

/* Open the source blocks of the roll-up in progress into V (room for
 * blk_len[src + 1] / blk_len[src] views), their starts into START.
 * Returns their number, or -1 when one cannot be mapped now (the roll-up
 * waits; nothing is open). */
static int rollup_views(struct store *st, struct bview *v, int64_t *start)
{
	const struct rollup *ru = &st->ru;
	int r = ru->src;
	int64_t wend = ru->w + blk_len[r + 1];
	int n = 0;
	for (size_t i = blk_search(st, r, ru->w); i < st->nblk[r] && st->blks[r][i].start < wend;) {
		int64_t bs = st->blks[r][i].start;
		int orc = bview_open(st, r, i, &v[n]);
		if (orc == -1)
			continue;  /* set aside: the table moved up */
		if (orc < 0) {
			for (int k = 0; k < n; k++)
				bview_close(&v[k]);
			return -1;
		}
		start[n++] = bs;
		i++;
	}
	return n;
}

/* Start the roll-up that is due, if any. Returns 1 when one is in progress. */
static int rollup_start(struct store *st)
{
	struct rollup *ru = &st->ru;
	if (ru->src)
		return 1;
	if (st->now < ru->retry)
		return 0;
	for (int r = 1; r < STORE_NRES - 1; r++) {
		if (!st->nblk[r])
			continue;
		int64_t L = blk_len[r + 1];
		int64_t w = align_down(st->blks[r][0].start, L);
		if (w + L > st->now - store_res_keep[r])
			continue;
		ru->src = r;
		ru->w = w;
		/* already rolled up (a roll-up cut short after writing it, or
		 * an old store's block that the finer data no longer holds
		 * whole: see scan_blocks), or too old for the coarsest
		 * resolution (after a long stop: older than the next one's
		 * retention, it rolls up all the same, and on at once): the
		 * sources only go */
		size_t d = blk_search(st, r + 1, w);
		const int last = STORE_NRES - 1;
		int64_t wl = align_down(w, blk_len[last]) + blk_len[last];
		if ((d < st->nblk[r + 1] && st->blks[r + 1][d].start == w) ||
		    wl <= st->now - store_res_keep[last])
			return 1;
		struct bview v[BLK_ROLL_MAX];
		int64_t bs[BLK_ROLL_MAX];
		int nv = rollup_views(st, v, bs);
		if (nv < 0) {
			ru->src = 0;
			return 0;
		}
		for (int k = 0; k < nv; k++) {
			struct bentry *e;
			long ne = bview_list(&v[k], &e);
			if (ne < 0) {
				/* a damaged index: this block gives nothing */
				ru->damaged |= 1u << ((bs[k] - w) / blk_len[r]);
				ne = 0;
			}
			uint32_t *ids = realloc(ru->ids, (ru->nids + (size_t)ne + 1) * sizeof(*ids));
			if (!ids) {
				free(e);
				for (int j = 0; j < nv; j++)
					bview_close(&v[j]);
				log_err("store: out of memory rolling up r%u/%lld: retried in a minute", store_res_step[r],
					(long long)w);
				rollup_free(ru);
				ru->retry = st->now + 60;
				return 0;
			}
			ru->ids = ids;
			for (long j = 0; j < ne; j++)
				ids[ru->nids++] = e[j].id;
			free(e);
		}
		for (int k = 0; k < nv; k++)
			bview_close(&v[k]);
		/* sorted, each once */
		qsort(ru->ids, ru->nids, sizeof(*ru->ids), u32_cmp);
		size_t u = 0;
		for (size_t j = 0; j < ru->nids; j++)
			if (!u || ru->ids[u - 1] != ru->ids[j])
				ru->ids[u++] = ru->ids[j];
		ru->nids = u;
		return 1;
	}
	return 0;
}

/* Roll up the next series of the roll-up in progress, until about BUDGET
 * points and buckets are decoded; *BUDGET is what is left. */
static void rollup_step(struct store *st, long *budget)
{
	struct rollup *ru = &st->ru;
	int r = ru->src, d = r + 1;
	struct bview v[BLK_ROLL_MAX];
	int64_t bs[BLK_ROLL_MAX];
	int nv = ru->next < ru->nids ? rollup_views(st, v, bs) : 0;
	if (nv < 0) {
		*budget = 0;  /* a block cannot be mapped now: later */
		return;
	}
	while (ru->next < ru->nids && *budget > 0) {
		uint32_t id = ru->ids[ru->next];
		const struct store_series *s = id < st->nall ? st->all[id] : NULL;
		struct store_point *acc = NULL;
		size_t n = 0, cap = 0;
		int oom = 0;
		for (int k = 0; k < nv; k++) {
			const uint8_t *cp;
			size_t clen;
			struct store_point *pts = NULL;
			size_t np = 0;
			int f = bview_find(&v[k], id, &cp, &clen);
			if (f == 1 && store_chunk_decode(cp, clen, v[k].version, bs[k], store_res_step[r], &pts, &np) < 0)
				f = -1;
			if (f < 0) {
				log_err("store: block r%u/%lld: the chunk of series %u is damaged: rolled up without it",
					store_res_step[r], (long long)bs[k], id);
				ru->damaged |= 1u << ((bs[k] - ru->w) / blk_len[r]);
				continue;
			}
			*budget -= (long)np + 1;
			for (size_t j = 0; j < np && !oom; j++) {
				*budget -= (long)pts[j].h.n;
				pts[j].t = align_down(pts[j].t, store_res_step[d]);
				int wh = s ? res_hist(s, d) : pts[j].h.n != 0;
				if (points_merge_one(&acc, &n, &cap, &pts[j], wh) < 0)
					oom = 1;
			}
			store_points_free(pts, np);
		}
		if (!oom && n) {
			/* the coarser chunk, straight into the block being made */
			struct store_chunk c;
			int wh;
			unsigned shift = points_shift(acc, n, &wh);
			chunk_init(&c, s, d, ru->w, wh, shift);
			if (store_chunk_build(&c, acc, n) < 0 || blkbuild_add(&ru->out, id, &c) < 0)
				oom = 1;
			store_chunk_reset(&c);
		}
		store_points_free(acc, n);
		if (oom) {
			for (int k = 0; k < nv; k++)
				bview_close(&v[k]);
			log_err("store: out of memory rolling up r%u/%lld: retried in a minute", store_res_step[r],
				(long long)ru->w);
			rollup_free(ru);
			ru->retry = st->now + 60;
			*budget = 0;
			return;
		}
		ru->next++;
	}
	for (int k = 0; k < nv; k++)
		bview_close(&v[k]);
}

/* Every series is rolled up: write the block, then remove the sources
 * (a source with a damaged chunk is set aside instead). */
static void rollup_finish(struct store *st)
{
	struct rollup *ru = &st->ru;
	int r = ru->src;
	if (blkbuild_store(st, r + 1, ru->w, &ru->out, 0) < 0) {
		log_err("store: rolling r%u/%lld up into r%u failed: retried in a minute", store_res_step[r],
			(long long)ru->w, store_res_step[r + 1]);
		rollup_free(ru);
		ru->retry = st->now + 60;
		return;
	}
	int64_t wend = ru->w + blk_len[r + 1];
	for (size_t i = blk_search(st, r, ru->w); i < st->nblk[r] && st->blks[r][i].start < wend;) {
		int64_t bs = st->blks[r][i].start;
		if ((ru->damaged & (1u << ((bs - ru->w) / blk_len[r]))) || st->blks[r][i].bad_chunk) {
			blk_damaged(st, r, i, "a damaged chunk (rolled up without it)");
			continue;
		}
		if (st->dir) {
			char path[4096];
			blk_path(st, r, bs, path, sizeof(path));
			if (unlink(path) < 0 && errno != ENOENT)
				log_warn("store: removing %s: %s", path, strerror(errno));
		}
		blk_forget(st, r, i);
	}
	rollup_free(ru);
	ru->retry = 0;
}

/* Go on with the roll-ups that are due, about ROLLUP_POINTS points and
 * buckets a tick. */
static void rollup(struct store *st)
{
	long budget = ROLLUP_POINTS;
	while (budget > 0 && rollup_start(st)) {
		rollup_step(st, &budget);
		if (st->ru.src && st->ru.next == st->ru.nids)
			rollup_finish(st);
		else
			break;
	}
}

/* Delete blocks past retention (60 s and 300 s blocks leave by roll-up). */
static void expire(struct store *st)
{
	static const int gone[] = { 0, STORE_NRES - 1 };
	for (size_t k = 0; k < sizeof(gone) / sizeof(gone[0]); k++) {
		int r = gone[k];
		while (st->nblk[r] && st->blks[r][0].start + blk_len[r] <= st->now - store_res_keep[r]) {
			if (st->dir) {
				char path[4096];
				blk_path(st, r, st->blks[r][0].start, path, sizeof(path));
				if (unlink(path) < 0 && errno != ENOENT)
					log_warn("store: removing %s: %s", path, strerror(errno));
			}
			blk_forget(st, r, 0);
		}
	}
}

/* Free the in-memory state of series that have none left. */
static void free_idle(struct store *st)
{
	for (size_t i = 0; i < st->nall; i++) {
		struct store_series *s = st->all[i];
		if (!s || !s->res)
			continue;
		int empty = 1;
		for (int r = 0; r < STORE_NRES && empty; r++)
			empty = !s->res[r].nopen && !s->res[r].c.npts;
		if (empty)
			series_free_res(s);
	}
}

/* ------------------------------------------------------------ checkpoint */

/* Write DIR/head.ckpt: streamed through a buffer of about a megabyte, so
 * that it costs no memory of its own size (the CRC32C at its end covers
 * everything before); the blocks kept in memory (keep_unsaved) go after
 * the resolutions. Returns 0 or -1 (logged once while it keeps failing;
 * the old one stays). */
static int checkpoint(struct store *st)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/head.ckpt", st->dir);
	struct afile af;
	st->last_ckpt = st->now;
	if (afile_open(&af, st, path, st->ckpt_failing) < 0)
		goto failed;
	struct buf b = { 0 };
	uint32_t crc = 0;
	buf_bytes(&b, CKPT_MAGIC, 8);
	buf_u32(&b, CKPT_VERSION);
	buf_u32(&b, 0);
	buf_u64(&b, (uint64_t)st->now);
	for (int r = 0; r < STORE_NRES; r++)
		buf_u64(&b, (uint64_t)st->win[r]);
	uint32_t nlast = 0;
	for (size_t i = 0; i < st->nall; i++)
		nlast += st->all[i] && st->all[i]->last;
	/* the id floor above every series: an entry for an id no series has
	 * (the loader raises the floor past it; an older albd ignores it),
	 * so that the ids of series a damaged catalog lost stay taken */
	int floor_entry = st->id_floor > st->nall;
	buf_u32(&b, nlast + (uint32_t)floor_entry);
	for (size_t i = 0; i < st->nall; i++) {
		if (st->all[i] && st->all[i]->last) {
			buf_u32(&b, st->all[i]->id);
			buf_u64(&b, (uint64_t)st->all[i]->last);
		}
	}
	if (floor_entry) {
		buf_u32(&b, (uint32_t)(st->id_floor - 1));
		buf_u64(&b, 0);
	}
	for (int r = 0; r < STORE_NRES; r++) {
		uint32_t n = 0;
		for (size_t i = 0; i < st->nall; i++)
			n += st->all[i] && st->all[i]->res;
		buf_u32(&b, n);
		for (size_t i = 0; i < st->nall; i++) {
			struct store_series *s = st->all[i];
			if (!s || !s->res)
				continue;
			struct sres *sr = &s->res[r];
			buf_u32(&b, s->id);
			size_t len = store_chunk_size(&sr->c);
			buf_u32(&b, (uint32_t)len);
			uint8_t *p = buf_room(&b, len);
			if (p)
				store_chunk_write(&sr->c, p);
			buf_u32(&b, sr->nopen);
			for (uint32_t k = 0; k < sr->nopen; k++) {
				struct store_point *q = &sr->open[k];
				buf_u64(&b, (uint64_t)q->t);
				buf_f64(&b, q->n);
				buf_f64(&b, q->sum);
				buf_f64(&b, q->min);
				buf_f64(&b, q->max);
				size_t hl = hist_encoded_max(&q->h);
				buf_u32(&b, (uint32_t)hl);
				uint8_t *hp = buf_room(&b, hl);
				if (hp) {
					size_t used = hist_encode(&q->h, hp);
					/* the length written is the real one */
					put_le32(hp - 4, (uint32_t)used);
					b.len -= hl - used;
				}
			}
			if (b.len >= (1 << 20) && !b.oom) {
				crc = store_crc32c(crc, b.p, b.len);
				afile_write(&af, b.p, b.len);
				b.len = 0;
			}
		}
	}
	if (st->nunsaved) {
		buf_u32(&b, CKPT_UNSAVED_TAG);
		buf_u32(&b, (uint32_t)st->nunsaved);
		for (int r = 0; r < STORE_NRES; r++) {
			for (size_t i = 0; i < st->nblk[r] && !b.oom; i++) {
				const struct blk *k = &st->blks[r][i];
				if (!k->unsaved)
					continue;
				buf_u32(&b, store_res_step[r]);
				buf_u64(&b, (uint64_t)k->start);
				buf_u32(&b, (uint32_t)k->len);
				if (!b.oom) {
					crc = store_crc32c(crc, b.p, b.len);
					afile_write(&af, b.p, b.len);
					b.len = 0;
					crc = store_crc32c(crc, k->mem, k->len);
					afile_write(&af, k->mem, k->len);
				}
			}
		}
	}
	if (!b.oom) {
		crc = store_crc32c(crc, b.p, b.len);
		buf_u32(&b, crc);
		afile_write(&af, b.p, b.len);
	}
	if (b.oom)
		log_err("store: out of memory writing the checkpoint");
	int rc = afile_close(&af, b.oom);
	free(b.p);
	if (st->catfd >= 0)
		fdatasync(st->catfd);
	if (rc == 0) {
		if (st->ckpt_failing)
			log_info("store: %s written again", path);
		st->ckpt_failing = 0;
		return 0;
	}
failed:
	if (!st->ckpt_failing) {
		char why[4400];
		afile_why(&af, why, sizeof(why));
		log_err("store: the checkpoint cannot be written (%s): retried every minute; until it is, a restart"
			" loses what came after the last one", why);
	}
	st->ckpt_failing = 1;
	return -1;
}

/* Load DIR/head.ckpt. Returns 0 (loaded or none) or -1 (damaged: set
 * aside, nothing of it kept). */
static int load_checkpoint(struct store *st)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/head.ckpt", st->dir);
	uint8_t *data;
	size_t len;
	const char *why = NULL;
	int rc = read_file(path, &data, &len, &why);
	if (rc > 0)
		return 0;
	if (rc < 0) {
		set_aside(path, why);
		return -1;
	}
	if (len < 8 + 8 + 8 + 8 * STORE_NRES + 4 + 4 || memcmp(data, CKPT_MAGIC, 8)) {
		why = "truncated or not a checkpoint";
		goto bad;
	}
	if (store_crc32c(0, data, len - 4) != get_le32(data + len - 4)) {
		why = "checksum mismatch (truncated or damaged)";
		goto bad;
	}
	struct rd r = { data + 8, data + len - 4, 0 };
	/* version 1 holds version 1 chunks: decoded, they are encoded again */
	uint32_t version = rd_u32(&r);
	if (version < 1 || version > CKPT_VERSION) {
		why = "unknown version";
		goto bad;
	}
	rd_u32(&r);
	st->now = (int64_t)rd_u64(&r);
	for (int k = 0; k < STORE_NRES; k++)
		st->win[k] = (int64_t)rd_u64(&r);
	uint32_t nlast = rd_u32(&r);
	for (uint32_t k = 0; k < nlast && !r.bad; k++) {
		uint32_t id = rd_u32(&r);
		int64_t last = (int64_t)rd_u64(&r);
		if (id < st->nall && st->all[id])
			st->all[id]->last = last;
		else if (!r.bad && id < (1u << 30) && id >= st->id_floor)
			st->id_floor = (size_t)id + 1;   /* a series the catalog lost */
	}
	for (int res = 0; res < STORE_NRES && !r.bad; res++) {
		uint32_t n = rd_u32(&r);
		for (uint32_t k = 0; k < n && !r.bad; k++) {
			uint32_t id = rd_u32(&r);
			uint32_t clen = rd_u32(&r);
			const uint8_t *cp = rd_take(&r, clen);
			uint32_t nopen = rd_u32(&r);
			/* a series missing from the catalog (its record was
			 * damaged): its points are read and dropped; so are
			 * the 300 s and 3600 s points of a store from before
			 * the roll-up (the 60 s data has them, and rolls up) */
			struct store_series *s = id < st->nall && res < RES_PUT ? st->all[id] : NULL;
			if (r.bad) {
				why = "truncated";
				goto bad_reset;
			}
			struct sres *sr = s ? series_res(s) : NULL;
			if (sr)
				sr += res;
			if (s && !sr) {
				why = "out of memory";
				goto bad_reset;
			}
			if (sr) {
				struct store_point *pts;
				size_t np;
				if (store_chunk_decode(cp, clen, version, st->win[res], store_res_step[res], &pts, &np) <
				    0) {
					why = "a damaged chunk";
					goto bad_reset;
				}
				int wh;
				unsigned shift = points_shift(pts, np, &wh);
				chunk_init(&sr->c, s, res, st->win[res], wh, shift);
				rc = store_chunk_build(&sr->c, pts, np);
				store_points_free(pts, np);
				if (rc < 0) {
					why = "out of memory";
					goto bad_reset;
				}
			}
			for (uint32_t o = 0; o < nopen && !r.bad; o++) {
				struct store_point q = { 0 };
				q.t = (int64_t)rd_u64(&r);
				q.n = rd_f64(&r);
				q.sum = rd_f64(&r);
				q.min = rd_f64(&r);
				q.max = rd_f64(&r);
				uint32_t hl = rd_u32(&r);
				const uint8_t *hp = rd_take(&r, hl);
				if (r.bad || hist_decode(&q.h, hp, hl) != (long)hl) {
					hist_free(&q.h);
					why = "a damaged open point";
					goto bad_reset;
				}
				if (sr) {
					size_t nn = sr->nopen, cap = sr->capopen;
					points_merge_one(&sr->open, &nn, &cap, &q, res_hist(s, res));
					sr->nopen = (uint32_t)nn;
					sr->capopen = (uint32_t)cap;
				}
				hist_free(&q.h);
			}
		}
	}
	/* the blocks that were kept in memory (keep_unsaved), entered by
	 * store_open() once the blocks on disk are known */
	if (!r.bad && r.end - r.p >= 8 && get_le32(r.p) == CKPT_UNSAVED_TAG) {
		rd_u32(&r);
		uint32_t nb = rd_u32(&r);
		for (uint32_t k = 0; k < nb && !r.bad; k++) {
			uint32_t step = rd_u32(&r);
			int64_t start = (int64_t)rd_u64(&r);
			uint32_t blen = rd_u32(&r);
			const uint8_t *bp = rd_take(&r, blen);
			int res = 0;
			while (res < STORE_NRES && store_res_step[res] != step)
				res++;
			if (r.bad || res == STORE_NRES || blk_check(bp, blen, res, start, 1)) {
				why = "a damaged unsaved block";
				goto bad_reset;
			}
			struct ckblk *cb = realloc(st->ckblks, (st->nckblks + 1) * sizeof(*cb));
			uint8_t *mem = malloc(blen);
			if (cb)
				st->ckblks = cb;
			if (!cb || !mem) {
				free(mem);
				why = "out of memory";
				goto bad_reset;
			}
			memcpy(mem, bp, blen);
			st->ckblks[st->nckblks++] = (struct ckblk){ res, start, mem, blen };
		}
	}
	if (r.bad || r.p != r.end) {
		why = "malformed";
		goto bad_reset;
	}
	free(data);
	st->ckpt_version = version;
	return 0;
bad_reset:
	for (size_t i = 0; i < st->nall; i++)
		if (st->all[i])
			series_free_res(st->all[i]);
	for (size_t k = 0; k < st->nckblks; k++)
		free(st->ckblks[k].mem);
	st->nckblks = 0;
bad:
	free(data);
	set_aside(path, why);
	return -1;
}

/* ------------------------------------------------------------ catalog */

/* The smallest and largest record payload: an id, flags, three string
 * lengths and a count of dimensions; 31 strings of at most 64 KiB. */
#define CAT_REC_MIN 12
#define CAT_REC_MAX ((size_t)31 << 16)

/* Parse the catalog record at P (END: the file's end) and enter its
 * series. Returns the bytes it takes, 0 when P is not a whole record
 * whose length and CRC32C agree (*WHY: what), or -(bytes) when it is
 * one whose series cannot be entered (*WHY: what). */
static long cat_parse(struct store *st, const uint8_t *p, const uint8_t *end, const char **why)
{
	if (end - p < 8 + CAT_REC_MIN) {
		*why = "truncated record";
		return 0;
	}
	uint32_t rlen = get_le32(p), crc = get_le32(p + 4);
	if (rlen < CAT_REC_MIN || rlen > CAT_REC_MAX) {
		*why = "bad record length";
		return 0;
	}
	if ((size_t)(end - p - 8) < rlen) {
		*why = "truncated record";
		return 0;
	}
	const uint8_t *rec = p + 8;
	if (store_crc32c(0, rec, rlen) != crc) {
		*why = "record checksum mismatch";
		return 0;
	}
	long used = 8 + (long)rlen;
	struct rd q = { rec, rec + rlen, 0 };
	uint32_t id = rd_u32(&q), flags = rd_u32(&q);
	char *strs[3 + 2 * DIMS_MAX] = { 0 };
	uint64_t nd = 0;
	int ns = 0;
	for (; ns < 3 && !q.bad; ns++) {
		uint64_t l = rd_varint(&q);
		const uint8_t *sp = rd_take(&q, l);
		strs[ns] = sp ? strndup((const char *)sp, l) : NULL;
	}
	nd = rd_varint(&q);
	if (nd > DIMS_MAX)
		q.bad = 1;
	for (uint64_t d = 0; d < 2 * nd && !q.bad; d++, ns++) {
		uint64_t l = rd_varint(&q);
		const uint8_t *sp = rd_take(&q, l);
		strs[ns] = sp ? strndup((const char *)sp, l) : NULL;
	}
	struct store_dim dims[DIMS_MAX];
	for (uint64_t d = 0; d < nd && !q.bad; d++)
		dims[d] = (struct store_dim){ strs[3 + 2 * d], strs[4 + 2 * d] };
	if (q.bad || q.p != q.end || !strs[0] || !strs[1] || !strs[2] || id >= (1u << 30)) {
		*why = "malformed record";
		used = -used;
	} else {
		struct store_dim sorted[DIMS_MAX];
		if (id >= st->id_floor)
			st->id_floor = id + 1;
		if (sort_dims(dims, nd, sorted) < 0 ||
		    !series_new(st, id, strs[0], strs[1], sorted, nd, strs[2], flags)) {
			*why = "bad or duplicate series";
			used = -used;
		}
	}
	for (int k = 0; k < ns; k++)
		free(strs[k]);
	return used;
}

/* Write DIR/series.cat again, whole, with every series (atomically), and
 * open it for appending. Returns 0 or -1 (logged unless QUIET). */
static int cat_write(struct store *st, int quiet)
{
	char path[4096], why[4400];
	snprintf(path, sizeof(path), "%s/series.cat", st->dir);
	struct buf b = { 0 };
	buf_bytes(&b, CAT_MAGIC, 8);
	for (size_t i = 0; i < st->nall; i++)
		if (st->all[i])
			cat_record(&b, st->all[i]);
	int rc = b.oom ? -1 : write_atomic(st, path, b.p, b.len, quiet, why, sizeof(why));
	if (b.oom && !quiet)
		log_err("store: out of memory writing %s", path);
	size_t len = b.len;
	free(b.p);
	if (rc < 0)
		return -1;
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		if (!quiet)
			log_err("store: %s: %s", path, strerror(errno));
		return -1;
	}
	if (st->catfd >= 0)
		close(st->catfd);
	st->catfd = fd;
	st->catlen = (off_t)len;
	st->cat_dirty = 0;
	return 0;
}

/* Append S's record to the catalog. One that fails (a torn append: the
 * disk full) is cut off again, so that what is appended later stays
 * readable, and the catalog is written whole at the next checkpoint
 * (store_tick), with S and the series made until then. */
static void cat_append(struct store *st, const struct store_series *s)
{
	if (st->cat_dirty || st->catfd < 0) {
		if (!st->cat_dirty)
			st->cat_dirty = 1;
		return;
	}
	struct buf b = { 0 };
	cat_record(&b, s);
	ssize_t n = b.oom ? -1 : write(st->catfd, b.p, b.len);
	int e = n < 0 ? errno : 0;
	if (n == (ssize_t)b.len) {
		st->catlen += (off_t)n;
	} else {
		if (n != 0 && ftruncate(st->catfd, st->catlen) < 0)
			log_err("store: %s/series.cat: cutting off a torn record: %s", st->dir, strerror(errno));
		log_err("store: appending to %s/series.cat failed (%s): series %s/%s is saved with the next"
			" checkpoint, the catalog written again", st->dir,
			b.oom ? "out of memory" : e ? strerror(e) : "short write", s->ns, s->metric);
		st->cat_dirty = 1;
	}
	free(b.p);
}

/* Load DIR/series.cat. A damaged record is skipped: the next one is
 * found by its length and CRC32C, byte by byte from the damaged one's
 * second byte (a record's 12 bytes or more, its CRC32C and what it parses
 * to must all agree: a false start is one in 2^32 tries and more), so
 * that a bit flip or a torn append costs its own series only; the file is
 * then set aside and written again with the good records. Returns 0 or
 * -1 (cannot write it). */
static int load_catalog(struct store *st)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/series.cat", st->dir);
	uint8_t *data;
	size_t len;
	const char *why = NULL;
	int rc = read_file(path, &data, &len, &why);
	st->cat_lost = rc != 0;
	if (rc < 0) {
		set_aside(path, why);
	} else if (rc == 0) {
		if (len < 8 || memcmp(data, CAT_MAGIC, 8)) {
			why = "not a series catalog";
		} else {
			const uint8_t *p = data + 8, *end = data + len;
			size_t skipped = 0, lost = 0;
			while (p < end) {
				const char *w = NULL;
				long used = cat_parse(st, p, end, &w);
				if (used > 0) {
					p += used;
					continue;
				}
				why = w;
				if (used < 0) {
					/* a whole record, its series refused */
					lost++;
					p += -used;
					continue;
				}
				/* resynchronise */
				const uint8_t *q = p + 1;
				for (; q < end; q++) {
					const char *w2;
					long u = cat_parse(st, q, end, &w2);
					if (u > 0) {
						q += u;
						break;
					}
					if (u < 0) {
						q += -u;
						break;
					}
				}
				skipped += (size_t)(q - p);
				lost++;
				p = q;
			}
			if (why)
				log_err("store: %s: %zu damaged records (%zu bytes skipped, first: %s); %zu series read",
					path, lost, skipped, why, st->count);
		}
		free(data);
		if (!why) {
			st->catfd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
			if (st->catfd < 0) {
				log_err("store: %s: %s", path, strerror(errno));
				return -1;
			}
			st->catlen = (off_t)len;
			return 0;
		}
		set_aside(path, why);
		st->cat_lost = 1;
	}
	/* a new catalog, with what was read */
	return cat_write(st, 0);
}

/* Enter the blocks under DIR/r<step>/, setting aside those whose header
 * says they are truncated or not blocks; remove leftover temporary files. */
/* Does resolution R - 1 (scanned already) hold the window of R's block
 * at START whole: a block for each of its parts (60 s: its two hours;
 * 300 s: each 2-hour part as a 300 s block or as two 60 s blocks)? */
static int finer_whole(const struct store *st, int r, int64_t start)
{
	for (int64_t t = start; t < start + blk_len[r]; t += blk_len[r - 1]) {
		size_t i = blk_search(st, r - 1, t);
		if (i < st->nblk[r - 1] && st->blks[r - 1][i].start == t)
			continue;
		if (r - 1 < RES_PUT || !finer_whole(st, r - 1, t))
			return 0;
	}
	return 1;
}

/* Enter the blocks of R found in DIR. LEGACY: the checkpoint is of a
 * version before 3 (or missing): the store may be one from before the
 * roll-up, whose 300 s and 3600 s blocks are checked against the finer
 * ones (below) as of time REF, the later of the checkpoint's and the
 * caller's. */
static void scan_blocks(struct store *st, int r, int legacy, int64_t ref)
{
	char dpath[4096];
	snprintf(dpath, sizeof(dpath), "%s/r%u", st->dir, store_res_step[r]);
	DIR *d = opendir(dpath);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		char path[4096 + 512];
		snprintf(path, sizeof(path), "%s/%s", dpath, de->d_name);
		size_t nl = strlen(de->d_name);
		if (nl > 4 && !strcmp(de->d_name + nl - 4, ".tmp")) {
			unlink(path);
			continue;
		}
		char *endp;
		long long start = strtoll(de->d_name, &endp, 10);
		if (endp == de->d_name || strcmp(endp, ".blk"))
			continue;
		uint8_t hdr[BLK_HDR];
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		struct stat lsb;
		if (fd < 0) {
			if (errno == ENOENT && lstat(path, &lsb) == 0 && S_ISLNK(lsb.st_mode))
				set_aside(path, "a dangling symbolic link");
			else if (errno == EACCES || errno == ELOOP || errno == ENXIO)
				set_aside(path, strerror(errno));
			else
				log_err("store: %s: %s: its points are left out", path, strerror(errno));
			continue;
		}
		struct stat sb;
		int reg = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
		ssize_t got = reg ? pread(fd, hdr, sizeof(hdr), 0) : -1;
		close(fd);
		const char *why;
		if (!reg)
			why = "not a regular file";
		else if (got != (ssize_t)sizeof(hdr))
			why = "truncated header";
		else if (start % blk_len[r])
			why = "not aligned to its window";
		else
			why = hdr_check(hdr, (uint64_t)sb.st_size, r, start);
		if (why) {
			set_aside(path, why);
		} else if (legacy && r >= RES_PUT && get_le32(hdr + 8) <= 2 &&
			   start + blk_len[r - 1] > ref - store_res_keep[r - 1] && finer_whole(st, r, start)) {
			/* A store from before the roll-up (version 2 and
			 * older) made its 300 s and 3600 s blocks from the
			 * puts. Where the finer resolution still holds this
			 * window whole (its first finer block within the
			 * finer retention at REF, and every part there: a
			 * finer block set aside or lost leaves this one the
			 * only copy), and only the finer data gets late points
			 * now, the block goes, and the roll-up makes it again
			 * when it is due. An older one is the only copy of its
			 * window's start and stays; no late point can reach it
			 * (LATE_MAX is less than 15 days). So does one whose
			 * window had an hour without a finer block (albd was
			 * stopped): a late point into its other hour would
			 * not show at 300 s. */
			if (unlink(path) < 0)
				log_warn("store: removing %s: %s", path, strerror(errno));
			else
				log_info("store: %s: made before the roll-up, its window still in the r%u data:"
					 " removed", path, store_res_step[r - 1]);
		} else {
			blk_enter(st, r, start, NULL, (size_t)sb.st_size, 0);
		}
	}
	closedir(d);
}

/* ------------------------------------------------------------ open, tick, close */

static void tick(struct store *st, int64_t now)
{
	if (now > st->now)
		st->now = now;
	for (int r = 0; r < RES_PUT; r++)
		advance(st, r, st->now);
	/* no puts go to the coarser ones: their head windows only move on */
	for (int r = RES_PUT; r < STORE_NRES; r++)
		if (align_down(st->now, blk_len[r]) > st->win[r])
			st->win[r] = align_down(st->now, blk_len[r]);
	flush_late(st, st->now - st->late_since >= LATE_WAIT_MAX ? SIZE_MAX : LATE_BLOCKS_TICK);
	rollup(st);
	expire(st);
}

/* Series the checkpoint did not date (it was lost, damaged or older than
 * them) but that blocks hold: their newest point is taken as the end of
 * the newest block that indexes them, so that ListMetrics and the name
 * look-ups (store_foreach) still find them. Reads block indexes, newest
 * first, only while such series remain. */
static void restore_last(struct store *st)
{
	size_t left = 0;
	uint8_t *undated = calloc(st->nall ? st->nall : 1, 1);
	if (!undated)
		return;
	for (size_t i = 0; i < st->nall; i++)
		if (st->all[i] && st->all[i]->last == 0) {
			undated[i] = 1;
			left++;
		}
	/* finest first, newest first: the first block that holds a series
	 * is its newest */
	for (int r = 0; r < STORE_NRES && left; r++) {
		for (size_t i = st->nblk[r]; i-- > 0 && left;) {
			struct bview v;
			int64_t end = st->blks[r][i].start + blk_len[r] - (int64_t)store_res_step[r];
			if (bview_open(st, r, i, &v) != 0)
				continue;
			struct bentry *e = NULL;
			long n = bview_list(&v, &e);
			for (long k = 0; k < n; k++) {
				uint32_t id = e[k].id;
				if (id < st->nall && undated[id]) {
					undated[id] = 0;
					left--;
					st->all[id]->last = end;
				}
			}
			free(e);
			bview_close(&v);
		}
	}
	free(undated);
}

/* After the catalog was lost or damaged: raise the id floor above every
 * id a block indexes, so that a new series does not take the id, and so
 * the history, of a series the catalog no longer names. */
static void id_floor_from_blocks(struct store *st)
{
	for (int r = 0; r < STORE_NRES; r++) {
		for (size_t i = 0; i < st->nblk[r]; i++) {
			struct bview v;
			if (bview_open(st, r, i, &v) != 0)
				continue;
			struct bentry *e = NULL;
			long n = bview_list(&v, &e);
			for (long k = 0; k < n; k++)
				if (e[k].id < (1u << 30) && e[k].id >= st->id_floor)
					st->id_floor = (size_t)e[k].id + 1;
			free(e);
			bview_close(&v);
		}
	}
}

/* Make DIR/r<step> a directory: something else there (a file) is set
 * aside first. Returns 0 or -1 (errno). */
static int res_dir(const char *p)
{
	struct stat sb;
	if (mkdir(p, 0750) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
		return 0;
	set_aside(p, "not a directory");
	return mkdir(p, 0750);
}

/* A write found state_dir or one of its r<step>/ gone (removed while
 * albd runs): make them again (logged), and the catalog if it went with
 * them. Returns 0 when one was made (try again), -1 when none was or
 * none can be. */
static int store_mkdirs(struct store *st)
{
	int made = 0;
	if (mkdir(st->dir, 0750) == 0) {
		log_err("store: %s was gone: made again", st->dir);
		made = 1;
	} else if (errno != EEXIST) {
		return -1;
	}
	for (int r = 0; r < STORE_NRES; r++) {
		char p[4096];
		snprintf(p, sizeof(p), "%s/r%u", st->dir, store_res_step[r]);
		if (mkdir(p, 0750) == 0) {
			log_err("store: %s was gone: made again", p);
			made = 1;
		} else if (errno != EEXIST) {
			return -1;
		}
	}
	if (made)
		state_lock_recheck();  /* albd.lock went with state_dir */
	struct stat sb;
	if (st->catfd >= 0 && fstat(st->catfd, &sb) == 0 && sb.st_nlink == 0 && !st->cat_dirty)
		st->cat_dirty = 1;  /* written again at the next checkpoint */
	return made ? 0 : -1;
}

/* Enter the blocks the checkpoint held unsaved: written now, or merged
 * into the block on disk of the same window (a retry wrote it after the
 * checkpoint, or an older version is there), or kept unsaved again. */
static void enter_ckblks(struct store *st)
{
	for (size_t k = 0; k < st->nckblks; k++) {
		struct ckblk *c = &st->ckblks[k];
		size_t i = blk_search(st, c->r, c->start);
		if (i < st->nblk[c->r] && st->blks[c->r][i].start == c->start) {
			struct bview v = { 0 };
			v.p = c->mem;
			v.len = c->len;
			v.nseries = get_le32(c->mem + 28);
			v.version = get_le32(c->mem + 8);
			v.ilen = v.version >= 2 ? get_le32(c->mem + 44) : 0;
			struct bentry *e = NULL;
			long n = bview_list(&v, &e);
			int rc = n >= 0 ? blk_union(st, c->r, c->start, e, (size_t)n, v.version) : -2;
			free(e);
			bview_close(&v);
			if (rc != -2) {
				free(c->mem);
				continue;
			}
		}
		char path[4096], why[4400];
		blk_path(st, c->r, c->start, path, sizeof(path));
		if (write_atomic(st, path, c->mem, c->len, 1, why, sizeof(why)) == 0) {
			blk_enter(st, c->r, c->start, NULL, c->len, 1);
			free(c->mem);
			log_info("store: block r%u/%lld, unsaved in the checkpoint, written", store_res_step[c->r],
				 (long long)c->start);
		} else {
			keep_unsaved(st, c->r, c->start, c->mem, c->len, why);
		}
	}
	free(st->ckblks);
	st->ckblks = NULL;
	st->nckblks = 0;
}

struct store *store_open(const char *dir, int64_t now, char *err, size_t errlen)
{
	struct store *st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st->catfd = -1;
	st->now = now;
	for (int r = 0; r < STORE_NRES; r++)
		st->win[r] = align_down(now, blk_len[r]);
	if (dir) {
		st->dir = strdup(dir);
		if (!st->dir) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		struct stat sb;
		if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			goto fail;
		}
		if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
			snprintf(err, errlen, "%s: not a directory", dir);
			goto fail;
		}
		for (int r = 0; r < STORE_NRES; r++) {
			char p[4096];
			snprintf(p, sizeof(p), "%s/r%u", dir, store_res_step[r]);
			if (res_dir(p) < 0) {
				snprintf(err, errlen, "%s: %s", p, strerror(errno));
				goto fail;
			}
		}
		if (load_catalog(st) < 0) {
			snprintf(err, errlen, "%s/series.cat: cannot be written: %s", dir, strerror(errno));
			goto fail;
		}
		if (load_checkpoint(st) < 0) {
			st->now = now;
			for (int r = 0; r < STORE_NRES; r++)
				st->win[r] = align_down(now, blk_len[r]);
		}
		/* finest first: finer_whole() looks at the finer tables */
		for (int r = 0; r < STORE_NRES; r++)
			scan_blocks(st, r, st->ckpt_version < 3, now > st->now ? now : st->now);
		enter_ckblks(st);
		restore_last(st);
		/* the floor is in the catalog and the checkpoint: without
		 * either, the blocks say which ids were ever used */
		if (st->cat_lost || st->ckpt_version == 0)
			id_floor_from_blocks(st);
		log_info("store: %s: %zu series, %zu/%zu/%zu/%zu blocks", dir, st->count, st->nblk[0], st->nblk[1],
			 st->nblk[2], st->nblk[3]);
	}
	tick(st, now);
	st->last_ckpt = st->now;
	return st;
fail:
	store_close(st);
	return NULL;
}

/* Write out what is in memory: the blocks kept unsaved, the catalog if
 * an append failed or it went, the checkpoint. */
static void write_out(struct store *st)
{
	struct stat sb;
	if (st->nunsaved)
		retry_unsaved(st);
	if (st->catfd >= 0 && fstat(st->catfd, &sb) == 0 && sb.st_nlink == 0 && !st->cat_dirty)
		st->cat_dirty = 1;  /* removed while open: appends would go nowhere */
	if (st->cat_dirty) {
		int was = st->cat_dirty;
		if (cat_write(st, was == 2) == 0)
			log_info("store: %s/series.cat written again (%zu series)", st->dir, st->count);
		else
			st->cat_dirty = 2;  /* logged */
	}
	checkpoint(st);
}

void store_tick(struct store *st, int64_t now)
{
	int64_t before = st->win[0];
	tick(st, now);
	if (st->win[0] != before)
		free_idle(st);
	if (st->dir && st->nunsaved && st->now >= st->unsaved_retry)
		retry_unsaved(st);
	if (st->dir && st->now - st->last_ckpt >= CKPT_EVERY)
		write_out(st);
}

void store_close(struct store *st)
{
	if (!st)
		return;
	if (st->dir && st->catfd >= 0) {
		flush_late(st, SIZE_MAX);
		write_out(st);
	}
	for (size_t k = 0; k < st->nckblks; k++)
		free(st->ckblks[k].mem);
	free(st->ckblks);
	for (size_t i = 0; i < st->nlate; i++)
		hist_free(&st->late[i].p.h);
	free(st->late);
	rollup_free(&st->ru);
	for (size_t i = 0; i < st->nall; i++)
		if (st->all[i])
			series_free(st->all[i]);
	free(st->all);
	free(st->hash);
	for (int r = 0; r < STORE_NRES; r++) {
		for (size_t i = 0; i < st->nblk[r]; i++)
			free(st->blks[r][i].mem);
		free(st->blks[r]);
	}
	if (st->catfd >= 0)
		close(st->catfd);
	free(st->dir);
	free(st);
}

/* ------------------------------------------------------------ queries */

struct agg {
	struct store_result *out;
	size_t cap;
	int64_t start, end;         /* the points taken: [start, end) */
	unsigned period;
	int with_hist;
	int oom;
	int64_t origin;             /* the periods: origin + k period (<= start) */
};

/* Add P to the result. When P's period is new and P is OWNED (decoded for
 * this query), its histogram moves into the result instead of being copied. */
static void agg_add(struct agg *a, struct store_point *p, int owned)
{
	if (p->t < a->start || p->t >= a->end || p->n <= 0)
		return;
	int64_t pt = a->origin + align_down(p->t - a->origin, a->period);
	struct store_result *o = a->out;
	if (owned && (!o->n || o->p[o->n - 1].t < pt)) {
		if (o->n == a->cap) {
			size_t cap = a->cap + a->cap / 2 + 16;
			struct store_point *np = realloc(o->p, cap * sizeof(*np));
			if (!np) {
				a->oom = 1;
				return;
			}
			o->p = np;
			a->cap = cap;
		}
		o->p[o->n] = *p;
		o->p[o->n].t = pt;
		if (!a->with_hist)
			hist_free(&o->p[o->n].h);
		o->n++;
		*p = (struct store_point){ 0 };
		return;
	}
	struct store_point q = *p;
	q.t = pt;
	/* sources come in time order, so this is nearly always the last one */
	size_t n = o->n, cap = a->cap;
	if (points_merge_one(&o->p, &n, &cap, &q, a->with_hist) < 0)
		a->oom = 1;
	o->n = n;
	a->cap = cap;
}

static void agg_points(struct agg *a, struct store_point *p, size_t n, int owned)
{
	for (size_t i = 0; i < n; i++)
		agg_add(a, &p[i], owned);
}

/* Add the points of S at resolution R from A->start on (blocks, head
 * chunk, open points) to A. Returns the end of the last block read, or
 * A->start: finer data before it is in these blocks. */
static int64_t query_res(struct store *st, const struct store_series *s, int r, struct agg *a)
{
	int64_t B = blk_len[r], covered = a->start;
	/* blocks, oldest first */
	for (size_t i = blk_search(st, r, align_down(a->start, B)); i < st->nblk[r] && st->blks[r][i].start < a->end;) {
		struct bview v;
		int64_t bstart = st->blks[r][i].start;
		if (bstart >= st->win[r])
			break;  /* a block of the head window, written before a restart: the head has it */
		int orc = bview_open(st, r, i, &v);
		if (orc == -1)
			continue;  /* set aside: the table moved up */
		if (orc < 0) {
			i++;
			continue;
		}
		const uint8_t *cp;
		size_t clen;
		int f = bview_find(&v, s->id, &cp, &clen);
		struct store_point *pts = NULL;
		size_t np = 0;
		if (f == 1 && store_chunk_decode(cp, clen, v.version, bstart, store_res_step[r], &pts, &np) < 0)
			f = -1;
		bview_close(&v);
		if (f < 0) {
			/* this series' points in the block are lost; the other
			 * series' stay readable (a version 3 CRC covers 64
			 * series' chunks), and the roll-up sets the block aside
			 * when it leaves; the finer data, if any, still answers */
			if (!st->blks[r][i].bad_chunk)
				log_err("store: block r%u/%lld: a damaged chunk (checksum mismatch or malformed):"
					" its points are left out", store_res_step[r], (long long)bstart);
			st->blks[r][i].bad_chunk = 1;
			i++;
			continue;
		}
		agg_points(a, pts, np, 1);
		store_points_free(pts, np);
		if (bstart + B > covered)
			covered = bstart + B;
		i++;
	}
	/* the head window and the open points */
	if (s->res) {
		const struct sres *sr = &s->res[r];
		if (sr->c.npts && st->win[r] < a->end) {
			struct store_point *pts;
			size_t np;
			if (chunk_points(&sr->c, &pts, &np) == 0) {
				agg_points(a, pts, np, 1);
				store_points_free(pts, np);
			} else {
				a->oom = 1;
			}
		}
		agg_points(a, sr->open, sr->nopen, 0);
	}
	return covered;
}

int store_check_period(int64_t start, unsigned period, int64_t now, char *err, size_t errlen)
{
	static const char *const ago[] = { "within 3 hours", "within 15 days", "within 63 days",
					   "older than 63 days" };
	int r = 0;

	while (r < STORE_NRES - 1 && start < now - store_res_keep[r])
		r++;
	if (period % store_res_step[r]) {
		snprintf(err, errlen, "period: must be a multiple of %u for a start %s (got %u)", store_res_step[r],
			 ago[r], period);
		return -1;
	}
	return r;
}

int64_t store_period_origin(int64_t start, unsigned period, int64_t now)
{
	int r = 0;

	if (period == 0)
		return start;
	while (r < STORE_NRES - 1 && start < now - store_res_keep[r])
		r++;
	int64_t round = period < 60 ? (int64_t)period : store_res_step[r] > 60 ? store_res_step[r] : 60;
	return align_down(start, round);
}

int64_t store_query_origin(const struct store *st, int64_t start, unsigned period, int64_t now)
{
	return store_period_origin(start, period, st && st->now > now ? st->now : now);
}

int store_query(struct store *st, const struct store_series *s, int64_t start, int64_t end,
		unsigned period, int64_t now, struct store_result *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (period == 0) {
		snprintf(err, errlen, "period: must be a positive number of seconds");
		return -1;
	}
	if (end <= start) {
		snprintf(err, errlen, "end: must be later than start");
		return -1;
	}
	if (start < 0 || start >= now + AHEAD_MAX) {
		snprintf(err, errlen, "start: must be between the epoch and 2 hours from now");
		return -1;
	}
	/* the store's time when the caller's is behind it (a clock set
	 * back): the resolution must be one that still holds START */
	if (st->now > now)
		now = st->now;
	int r = store_check_period(start, period, now, err, errlen);
	if (r < 0) {
		/* CloudWatch: "you must specify the period as follows or no
		 * data points in that time range is returned" */
		err[0] = '\0';
		return 0;
	}
	/* a target's latency has no histogram at 1 s: periods of whole
	 * minutes read its 1-minute points (the same samples, to the
	 * minute), so that every statistic of a period, its percentiles
	 * too, comes from the same points */
	if (r == 0 && period % 60 == 0 && !res_hist(s, 0) && res_hist(s, 1))
		r = 1;
	int64_t as = store_query_origin(st, start, period, now);
	if (((uint64_t)end - (uint64_t)as + period - 1) / period > QUERY_MAX_POINTS) {
		snprintf(err, errlen, "period: %u gives more than %d datapoints between start and end", period,
			 QUERY_MAX_POINTS);
		return -1;
	}
	struct agg a = { out, 0, as, end, period, res_hist(s, r), 0, as };
	out->res_step = store_res_step[r];
	/* the coarse blocks, then the finer data after them (roll-up: no
	 * time is in two of 60 s, 300 s and 3600 s) */
	for (int rr = r; rr >= (r ? 1 : 0) && !a.oom; rr--)
		a.start = query_res(st, s, rr, &a);
	/* late points still waiting for their blocks (flush_late): those of
	 * the 1 s resolution for a 1 s query, of 60 s for the others (no late
	 * point is old enough to be in a 300 s block's time) */
	a.start = as;
	for (size_t i = 0; i < st->nlate && !a.oom; i++)
		if (st->late[i].s == s && st->late[i].r == (r ? 1 : 0))
			agg_add(&a, &st->late[i].p, 0);
	if (a.oom) {
		store_result_free(out);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* DST += SRC, both ascending: a period in both is one point of all their
 * samples (histograms merged). SRC is emptied. Returns 0 or -1 (out of
 * memory: a histogram may be short). */
static int result_merge(struct store_result *dst, struct store_result *src)
{
	struct store_point *p = calloc(dst->n + src->n + 1, sizeof(*p));
	size_t i = 0, j = 0, n = 0;
	int rc = 0;

	if (!p) {
		store_result_free(src);
		return -1;
	}
	while (i < dst->n || j < src->n) {
		if (j == src->n || (i < dst->n && dst->p[i].t < src->p[j].t)) {
			p[n++] = dst->p[i++];
		} else if (i == dst->n || src->p[j].t < dst->p[i].t) {
			p[n++] = src->p[j++];
		} else {
			p[n] = dst->p[i++];
			if (point_merge(&p[n], &src->p[j], 1) < 0)
				rc = -1;
			hist_free(&src->p[j++].h);
			n++;
		}
	}
	free(dst->p);
	free(src->p);
	src->p = NULL;
	src->n = 0;
	dst->p = p;
	dst->n = n;
	return rc;
}

int store_query_all(struct store *st, struct store_series *const *s, size_t n, int64_t start, int64_t end,
		    unsigned period, int64_t now, struct store_result *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	for (size_t k = 0; k < n; k++) {
		struct store_result r;
		if (store_query(st, s[k], start, end, period, now, k ? &r : out, err, errlen) < 0) {
			store_result_free(out);
			return -1;
		}
		if (k && result_merge(out, &r) < 0) {
			store_result_free(out);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

void store_result_free(struct store_result *r)
{
	store_points_free(r->p, r->n);
	r->p = NULL;
	r->n = 0;
}

/* "p" then a number in [0, 100] with at most two decimals (CloudWatch's
 * "p0.0 to p100"); *Q in [0, 1]. */
static int parse_pct(const char *stat, double *q)
{
	if (stat[0] != 'p' || !stat[1])
		return -1;
	const char *p = stat + 1;
	int digits = 0, decimals = -1;
	for (; *p; p++) {
		if (*p == '.') {
			if (decimals >= 0 || !digits)
				return -1;
			decimals = 0;
		} else if (*p >= '0' && *p <= '9') {
			if (decimals >= 0)
				decimals++;
			else
				digits++;
		} else {
			return -1;
		}
	}
	if (digits > 3 || decimals == 0 || decimals > 2)
		return -1;
	double v = strtod(stat + 1, NULL);
	if (!(v >= 0 && v <= 100))
		return -1;
	*q = v / 100;
	return 0;
}

int store_stat_valid(const char *stat)
{
	double q;
	return stat && (!strcmp(stat, "SampleCount") || !strcmp(stat, "Sum") || !strcmp(stat, "Average") ||
			!strcmp(stat, "Minimum") || !strcmp(stat, "Maximum") || parse_pct(stat, &q) == 0);
}

void store_result_events(struct store_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct store_point *p = &r->p[i];
		int busy = p->sum > 0;
		p->n = busy ? p->sum : 1;
		p->min = p->max = busy ? 1 : 0;
	}
}

/* The Average, Minimum and Maximum of P as they are answered, consistent
 * with its SampleCount and Sum (CloudWatch: "Average is the value of
 * Sum/SampleCount"). A latency's Minimum and Maximum are bucket values
 * (within the histogram's accuracy of the samples), its Sum exact to
 * HIST_SUM_BITS, so the estimates are moved only toward what the true
 * values must satisfy: one sample is its Sum; the Minimum is at most the
 * Average and the Maximum at least it; a series of no negative value has
 * its Maximum at most its Sum. An Average outside [Minimum, Maximum] by no
 * more than the rounding of Sum/SampleCount (a user's equal values, 0.1
 * three times) is put on the bound instead, so that exact Minimum and
 * Maximum stay as they were put. */
static void point_view(const struct store_point *p, double *avg, double *lo, double *hi)
{
	const double tol = 1e-12; /* relative: far above a division's rounding, far below 2^-21 */

	*lo = p->min;
	*hi = p->max;
	if (!(p->n > 0)) {
		*avg = NAN;
		return;
	}
	*avg = p->sum / p->n;
	if (p->n == 1) {
		*avg = *lo = *hi = p->sum;
		return;
	}
	if (*avg < *lo) {
		if (*lo - *avg <= tol * fabs(*lo))
			*avg = *lo;
		else
			*lo = *avg;
	}
	if (*avg > *hi) {
		if (*avg - *hi <= tol * fabs(*hi))
			*avg = *hi;
		else
			*hi = *avg;
	}
	if (!(p->min < 0) && p->n >= 1 && *hi > p->sum && *avg <= p->sum)
		*hi = p->sum;
}

int store_stat(const struct store_point *p, const char *stat, double *out)
{
	double q, avg, lo, hi;
	if (!stat)
		return -1;
	point_view(p, &avg, &lo, &hi);
	if (!strcmp(stat, "SampleCount"))
		*out = p->n;
	else if (!strcmp(stat, "Sum"))
		*out = p->sum;
	else if (!strcmp(stat, "Average"))
		*out = avg;
	else if (!strcmp(stat, "Minimum"))
		*out = lo;
	else if (!strcmp(stat, "Maximum"))
		*out = hi;
	else if (parse_pct(stat, &q) == 0 && p->h.n && (double)hist_count(&p->h) == p->n && !(p->min < 0)) {
		/* as CloudWatch: percentiles need every sample (none from a
		 * statistic set of several different values) and no negative
		 * value. A bucket's value is within the accuracy of the
		 * samples in it, so the top (bottom) bucket's may pass the
		 * Maximum (Minimum): no sample does. p100 is the Maximum and
		 * p0 the Minimum, as CloudWatch defines them */
		*out = q >= 1 ? hi : q <= 0 ? lo : hist_quantile(&p->h, q);
		if (lo <= hi) {
			if (*out > hi)
				*out = hi;
			if (*out < lo)
				*out = lo;
		}
	} else
		return -1;
	return 0;
}
