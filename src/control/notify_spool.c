/* notify_spool.c - see notify_spool.h */
#include "control/notify_spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "control/notify_format.h"
#include "core/atomic_file.h"
#include "core/log.h"

int ns_mkdirs(const char *path)
{
	if (atomic_mkdirs(path) < 0)
		return -1;
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

int ns_mkdir_aside(const char *path)
{
	struct stat lst, st;
	char aside[4096 + 32];

	if (ns_mkdirs(path) == 0)
		return 0;
	int e = errno;
	if (lstat(path, &lst) < 0 || (stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
		errno = e;   /* not in the way: a parent, or another reason */
		return -1;
	}
	snprintf(aside, sizeof aside, "%s.corrupt", path);
	if (rename(path, aside) < 0) {
		snprintf(aside, sizeof aside, "%s.corrupt-%lld", path, (long long)time(NULL));
		if (rename(path, aside) < 0) {
			e = errno;
			log_err("notify: %s is damaged (not a directory) and cannot be set aside: %s", path,
				strerror(e));
			errno = e;
			return -1;
		}
	}
	log_err("notify: %s is damaged (not a directory): set aside as %s", path, aside);
	return ns_mkdirs(path);
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int ns_write_atomic(const char *dir, const char *name, const char *data, size_t len, char *err, size_t errlen)
{
	return atomic_write_mkdir(dir, name, data, len, 0600, err, errlen);
}

int ns_spool_put(const char *dir, const json_t *rec, char *name, size_t namelen, char *err, size_t errlen)
{
	static uint64_t last;
	struct timespec ts;
	char *text;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t seq = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	if (seq <= last)
		seq = last + 1;
	last = seq;
	const char *id = json_string_value(json_object_get(rec, "MessageId"));
	snprintf(name, namelen, "%016" PRIx64 "-%s.json", seq, id ? id : "x");
	text = json_dumps(rec, JSON_PRESERVE_ORDER | JSON_COMPACT);
	if (!text) {
		if (err && errlen)
			snprintf(err, errlen, "cannot encode the message");
		return -1;
	}
	size_t n = strlen(text);
	text[n] = '\n'; /* replaces the NUL: written with its length */
	rc = ns_write_atomic(dir, name, text, n + 1, err, errlen);
	free(text);
	return rc;
}

int ns_spool_remove(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	atomic_fsync_dir(dir);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ns_spool_load(const char *dir, void (*fn)(const char *name, json_t *rec, void *arg), void *arg)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int count = 0;

	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d))) {
		const char *nm = de->d_name;
		size_t l = strlen(nm);
		char path[4096];
		if (nm[0] == '.' && (!strcmp(nm, ".") || !strcmp(nm, "..")))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, nm);
		if ((l > 4 && !strcmp(nm + l - 4, ".tmp")) || !strncmp(nm, ".tmp-", 5)) {
			/* atomic_write()'s temporary file (".tmp-*" before it), a
			 * write a crash interrupted: never published */
			unlink(path);
			continue;
		}
		if (l < 6 || strcmp(nm + l - 5, ".json") != 0)
			continue;   /* *.corrupt, anything else: left alone */
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			char **nn = realloc(names, nc * sizeof *nn);
			if (!nn)
				break;
			names = nn;
			cap = nc;
		}
		if (!(names[n] = strdup(nm)))
			break;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 0; i < n; i++) {
		char path[4096], why[200];
		json_error_t je;
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		json_t *rec = json_load_file(path, 0, &je);
		if (!rec)
			snprintf(why, sizeof why, "line %d: %s", je.line, je.text);
		if (!rec || nf_record_check(rec, why, sizeof why) < 0) {
			char bad[4200];
			snprintf(bad, sizeof bad, "%s.corrupt", path);
			log_err("notify: spool file %s is not a message (%s): set aside as %s", path, why, bad);
			if (rename(path, bad) < 0)
				unlink(path);
			json_decref(rec);
		} else {
			fn(names[i], rec, arg);
			count++;
		}
		free(names[i]);
	}
	free(names);
	return count;
}

int ns_jsonl_append(const char *path, const json_t *line, char *err, size_t errlen)
{
	char *text = json_dumps(line, JSON_PRESERVE_ORDER | JSON_COMPACT);
	int fd = -1, rc = -1;
	struct stat st;

	if (!text) {
		if (err && errlen)
			snprintf(err, errlen, "cannot encode the dead letter");
		return -1;
	}
	size_t n = strlen(text);
	text[n] = '\n';
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 && fstat(fd, &st) == 0) {
		/* a crash in the middle of an append leaves a torn last line:
		 * end it, so that this record starts a line of its own */
		char last = '\n';
		if (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1)
			last = '\n';
		if ((last == '\n' || write_all(fd, "\n", 1) == 0) && write_all(fd, text, n + 1) == 0 &&
		    fsync(fd) == 0)
			rc = 0;
	}
	if (rc < 0 && err && errlen)
		snprintf(err, errlen, "cannot append to %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(text);
	return rc;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			size_t nc = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, nc + 1);
			if (!nb) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
			cap = nc;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		errno = EIO;
		return NULL;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

json_t *ns_jsonl_read(const char *path)
{
	size_t len;
	char *buf = read_all(path, &len);
	json_t *arr;

	if (!buf)
		return errno == ENOENT ? json_array() : NULL;
	arr = json_array();
	char *p = buf, *end = buf + len;
	unsigned lineno = 0;
	while (arr && p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		lineno++;
		if (l) {
			json_error_t je;
			json_t *o = json_loadb(p, l, 0, &je);
			if (json_is_object(o))
				json_array_append_new(arr, o);
			else {
				json_decref(o);
				log_warn("notify: %s line %u is not a JSON object: skipped", path, lineno);
			}
		}
		p += l + 1;
	}
	free(buf);
	return arr;
}

size_t ns_jsonl_count(const char *path, uint64_t *bytes)
{
	FILE *f = fopen(path, "re");
	char buf[65536];
	size_t n = 0, r;
	uint64_t total = 0;
	char prev = '\n';

	if (bytes)
		*bytes = 0;
	if (!f)
		return 0;
	while ((r = fread(buf, 1, sizeof buf, f)) > 0) {
		for (size_t i = 0; i < r; i++) {
			if (buf[i] == '\n' && prev != '\n')
				n++;
			prev = buf[i];
		}
		total += r;
	}
	fclose(f);
	if (prev != '\n')
		n++;
	if (bytes)
		*bytes = total;
	return n;
}

int ns_jsonl_page(const char *path, uint64_t offset, size_t max, json_t *arr, uint64_t *next)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0, got = 0;
	ssize_t l;
	uint64_t pos = offset;

	*next = 0;
	if (!f)
		return errno == ENOENT ? 0 : -1;
	if (offset && fseeko(f, (off_t)offset, SEEK_SET) < 0) {
		fclose(f);
		return -1;
	}
	while (got < max && (l = getline(&line, &cap, f)) > 0) {
		pos += (uint64_t)l;
		size_t len = (size_t)l;
		if (line[len - 1] == '\n')
			len--;
		if (!len)
			continue;
		json_error_t je;
		char why[200];
		json_t *o = json_loadb(line, len, 0, &je);
		if (!o || nf_record_check(o, why, sizeof why) < 0) {
			log_warn("notify: %s at byte %" PRIu64 ": not a dead letter (%s): skipped", path,
				 pos - (uint64_t)l, o ? why : je.text);
			json_decref(o);
			continue;
		}
		json_array_append_new(arr, o);
		got++;
	}
	/* more after this page? (one more byte that is not a lone newline) */
	if (got == max) {
		int c;
		while ((c = fgetc(f)) == '\n')
			pos++;
		if (c != EOF)
			*next = pos;
	}
	free(line);
	fclose(f);
	return (int)got;
}

int ns_jsonl_filter(const char *path, int (*fn)(json_t *line, void *arg), void *arg, char *err, size_t errlen)
{
	FILE *in = fopen(path, "re"), *out = NULL, *bad = NULL;
	char tmp[4096], corrupt[4096], *line = NULL;
	size_t cap = 0, kept = 0;
	ssize_t l;
	int rc = -1;

	if (!in) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	snprintf(corrupt, sizeof corrupt, "%s.corrupt", path);
	out = fopen(tmp, "we");
	if (!out) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		fclose(in);
		return -1;
	}
	while ((l = getline(&line, &cap, in)) > 0) {
		size_t len = (size_t)l;
		if (line[len - 1] == '\n')
			len--;
		if (!len)
			continue;
		json_error_t je;
		char why[200];
		json_t *o = json_loadb(line, len, 0, &je);
		int verdict = 2;
		if (o && nf_record_check(o, why, sizeof why) == 0)
			verdict = fn(o, arg);
		else
			log_err("notify: %s: a line that is not a dead letter (%s): set aside in %s", path,
				o ? why : je.text, corrupt);
		json_decref(o);
		if (verdict == 1) {
			fwrite(line, 1, len, out);
			fputc('\n', out);
			kept++;
		} else if (verdict == 2) {
			if (!bad)
				bad = fopen(corrupt, "ae");
			if (bad) {
				fwrite(line, 1, len, bad);
				fputc('\n', bad);
			}
		}
	}
	if (bad) {
		fflush(bad);
		(void)fsync(fileno(bad));
		fclose(bad);
	}
	int werr = ferror(in) || fflush(out) != 0 || ferror(out) || fsync(fileno(out)) != 0;
	fclose(out);
	fclose(in);
	free(line);
	if (werr) {
		snprintf(err, errlen, "cannot rewrite %s: %s", path, strerror(errno ? errno : EIO));
		unlink(tmp);
		return -1;
	}
	if (!kept) {
		unlink(tmp);
		rc = unlink(path) < 0 && errno != ENOENT ? -1 : 0;
	} else {
		rc = rename(tmp, path);
	}
	if (rc < 0) {
		snprintf(err, errlen, "cannot replace %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		atomic_fsync_dir(dir);
	}
	return (int)kept;
}

json_t *ns_json_read(const char *path)
{
	json_error_t je;
	if (access(path, F_OK) < 0)
		return NULL;
	json_t *o = json_load_file(path, 0, &je);
	if (!json_is_object(o)) {
		json_decref(o);
		errno = EINVAL;
		return NULL;
	}
	return o;
}
