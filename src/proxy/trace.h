/* trace.h - request ids in ALB's X-Amzn-Trace-Id format.
 *
 * An id is "1-<8 hex digits: epoch seconds>-<24 hex digits: random>"
 * (TRACE_ID_LEN characters). albd forwards exactly one X-Amzn-Trace-Id per
 * request:
 *   - none came, or the one that came is malformed, or the request head is
 *     over TRACE_HEAD_MAX bytes (ALB rewrites the header past 7 KB):
 *     "Root=<albd's id>";
 *   - a valid one came (";"-separated Name=value fields, at most one Root
 *     field, which holds a valid id, at most one Self field): its fields
 *     are kept in their order, a Self field's value becomes albd's id
 *     (ALB: "updates the value of the Self field"), and
 *       - with a Root: without a Self field "Self=<albd's id>;" goes in
 *         front (as ALB);
 *       - without a Root: "Root=<albd's id>;" goes in front (ALB generates
 *         a Root when there is none) and no Self is added: the Root is
 *         albd's id already.
 *     Malformed: a field that is not Name=value, a Root that is not a
 *     valid id, two Roots or two Selfs.
 * With several incoming X-Amzn-Trace-Id fields, the first one is the
 * candidate and the others are dropped.
 *
 * Thread: any; a struct trace_rng belongs to one thread (one per worker).
 */
#ifndef ALBD_TRACE_H
#define ALBD_TRACE_H

#include <stddef.h>
#include <stdint.h>

struct wbuf;

#define TRACE_ID_LEN 35     /* "1-" 8 "-" 24 */
#define TRACE_HEAD_MAX 7168 /* a longer request head gets a new header (ALB: 7 KB) */

/* A fast pseudo-random generator (splitmix64): seeded once, no system call
 * afterwards. Not for secrets: an id only has to be unique. */
struct trace_rng {
	uint64_t s;
};

/* Seed R: from getrandom(2) when it answers, else from the clock and SALT. */
void trace_rng_seed(struct trace_rng *r, uint64_t salt);

/* Write a new id for EPOCH (seconds) into OUT: TRACE_ID_LEN characters and
 * a NUL. No allocation. */
void trace_make_id(struct trace_rng *r, uint32_t epoch, char out[TRACE_ID_LEN + 1]);

/* Is V[0..N) an id (version 1, 8 and 24 hex digits of either case)? */
int trace_id_valid(const char *v, size_t n);

/* Is the header value V[0..N) one albd keeps (see above)? When it is, ROOT
 * (if not NULL) gets its Root id and a NUL, or "" when it has no Root. */
int trace_header_valid(const char *v, size_t n, char root[TRACE_ID_LEN + 1]);

/* Append the whole forwarded field, "X-Amzn-Trace-Id: ...\r\n", to B
 * (net/wbuf.h): the incoming value IN[0..INLEN) with albd's ID as Self
 * (or, when IN has no Root, as Root) when KEEP (IN checked by
 * trace_header_valid()), else "Root=ID". At most INLEN + TRACE_FIELD_EXTRA
 * bytes. */
#define TRACE_FIELD_EXTRA (22 + 2 * TRACE_ID_LEN + 3) /* a Root of albd's before IN, and its Self in it */
#define TRACE_FIELD_NAME_LEN 17 /* "X-Amzn-Trace-Id: ", before the value (and "\r\n" after it) */
void trace_write_header(struct wbuf *b, const char *in, size_t inlen, int keep,
			const char id[TRACE_ID_LEN + 1]);

#endif
