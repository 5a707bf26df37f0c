/* cbor.h - the part of CBOR (RFC 8949) that Smithy's RPC v2 CBOR protocol
 * uses, to and from jansson trees: the AWS SDKs' CloudWatch requests
 * (aws.c). Decoding takes any well-formed item (definite and indefinite
 * lengths, half/single/double floats, tags) within limits; encoding writes
 * definite lengths and the shortest heads, as the protocol asks.
 *
 * Pure: no state, no I/O. Thread: any.
 */
#ifndef ALBD_CBOR_H
#define ALBD_CBOR_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct evbuffer;

#define CBOR_MAX_DEPTH 64
#define CBOR_MAX_ITEMS 250000 /* data items in one body (PutMetricData's largest needs ~30,000) */
#define CBOR_MAX_ITEMS_TEXT "250000"

/* Decode the one CBOR item that fills P[0..N) into a new jansson value:
 * maps (text keys only) become objects, arrays arrays, text strings
 * strings (valid UTF-8 without NUL), byte strings base64 strings,
 * integers integers (beyond int64: an error), floats reals (NaN and the
 * infinities: an error), true/false/null/undefined as JSON's (undefined as
 * null). A tag is dropped and its content kept (tag 1, a timestamp, is
 * then seconds since the epoch). Returns NULL with the reason in ERR for
 * anything else: truncated or trailing bytes (a container with fewer
 * items than it declares too), nesting deeper than CBOR_MAX_DEPTH, more
 * than CBOR_MAX_ITEMS items, a duplicate map key, a reserved value. */
json_t *cbor_decode(const void *p, size_t n, char *err, size_t errlen);

/* The encoder's primitives, appending to OUT. They return 0, or -1 when
 * out of memory. */
int cbor_put_head(struct evbuffer *out, unsigned major, uint64_t v); /* major 0..7 */
int cbor_put_int(struct evbuffer *out, int64_t v);
int cbor_put_double(struct evbuffer *out, double v); /* as a float32 when exact, else float64 */
int cbor_put_text(struct evbuffer *out, const char *s, size_t len);
int cbor_put_simple(struct evbuffer *out, unsigned v); /* 20 false, 21 true, 22 null */

#endif
