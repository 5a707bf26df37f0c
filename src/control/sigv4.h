/* sigv4.h - verifying AWS Signature Version 4 on a request (the
 * Authorization header form, AWS4-HMAC-SHA256), as AWS documents it for
 * every service but S3: the canonical request (path normalized, then
 * URI-encoded once more; query decoded, re-encoded and sorted; the signed
 * headers' values trimmed and joined), the string to sign, the key chain
 * HMAC("AWS4" + secret, date) -> region -> service -> "aws4_request", and a
 * constant-time comparison. Pure: no state, no I/O, no clock (the caller
 * passes the time). The AWS API front ends use it before acting on a
 * request; the credential scope's service tells them which API it is for.
 * Thread: any. */
#ifndef ALBD_SIGV4_H
#define ALBD_SIGV4_H

#include <stddef.h>
#include <time.h>

/* Allowed difference between the request's X-Amz-Date (or Date) and now. */
#define SIGV4_MAX_SKEW 300

enum sigv4_result {
	SIGV4_OK = 0,
	SIGV4_INCOMPLETE_SIGNATURE,    /* no or a malformed Authorization, a missing date, host or
					* x-amz-date not signed */
	SIGV4_INVALID_CLIENT_TOKEN_ID, /* the lookup does not know the access key id */
	SIGV4_SIGNATURE_DOES_NOT_MATCH,
	SIGV4_REQUEST_TIME_TOO_SKEWED, /* more than SIGV4_MAX_SKEW seconds off */
	SIGV4_INTERNAL,                /* out of memory */
};

/* One header as received: NUL-terminated name (any case) and value (not
 * yet trimmed). A name may occur more than once. */
struct sigv4_header {
	const char *name;
	const char *value;
};

/* The request. PATH is the raw path of the request line (still
 * percent-encoded, without the query); QUERY the raw query without the '?'
 * (NULL or "" for none). BODY may be NULL when BODY_LEN is 0. Nothing is
 * copied or kept past sigv4_verify(). */
struct sigv4_request {
	const char *method;
	const char *path;
	const char *query;
	const struct sigv4_header *headers;
	size_t nheaders;
	const void *body;
	size_t body_len;
};

/* What the Authorization's credential scope names, filled as far as it was
 * parsed (empty strings otherwise), whatever the result: for the caller to
 * pick the API (service) and to log (access key id). */
struct sigv4_identity {
	char access_key_id[129];
	char date[9];     /* YYYYMMDD */
	char region[64];
	char service[64];
};

/* The secret access key of ACCESS_KEY_ID, or NULL when it is unknown. The
 * string stays the callee's and need only stay valid until sigv4_verify()
 * returns. Called at most once per sigv4_verify(), on the caller's thread. */
typedef const char *(*sigv4_lookup_fn)(const char *access_key_id, void *arg);

/* Verify REQ's SigV4 Authorization header at time NOW (seconds since the
 * epoch), looking the secret up with LOOKUP(…, ARG). ID (may be NULL) gets
 * the credential scope. The payload hash is the x-amz-content-sha256
 * header when present (which then has to be the body's SHA-256: anything
 * else, UNSIGNED-PAYLOAD included, does not match), else the body's.
 * Borrows everything; allocates only for its own duration. Thread: any. */
enum sigv4_result sigv4_verify(const struct sigv4_request *req, time_t now, sigv4_lookup_fn lookup, void *arg,
			       struct sigv4_identity *id);

/* AWS's error code for R ("IncompleteSignature", …; "InternalFailure" for
 * SIGV4_INTERNAL, "" for SIGV4_OK): a static string. Thread: any. */
const char *sigv4_error_code(enum sigv4_result r);

/* The canonical request sigv4_verify() builds for REQ with the header
 * names SIGNED_HEADERS ("host;x-amz-date", lowercase, sorted) and payload
 * hash PAYLOAD_HASH (64 hex digits), as a new string the caller free()s;
 * NULL when out of memory. For tests and for logging a mismatch.
 * Thread: any. */
char *sigv4_canonical_request(const struct sigv4_request *req, const char *signed_headers,
			      const char *payload_hash);

#endif
