/* fuzz_desync.c - libFuzzer target for the desync classifier
 * (src/net/desync.c), which reads every request head as received. Checks:
 * nothing crashes or reads out of bounds (the input is copied to a buffer
 * of its exact size), the verdict is a valid class with a reason that
 * belongs to it (none exactly when Compliant), the same head gives the
 * same verdict, and a header name's kind is one of the five.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *     tests/fuzz/fuzz_desync.c src/net/desync.c -o /tmp/fuzz_desync
 *   /tmp/fuzz_desync -max_total_time=120
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/desync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the class each reason comes with */
static enum desync_class reason_class(enum desync_reason r)
{
	switch (r) {
	case DESYNC_R_NONE:
		return DESYNC_COMPLIANT;
	case DESYNC_R_GET_HEAD_ZERO_CONTENT_LENGTH:
	case DESYNC_R_NON_COMPLIANT_HEADER:
	case DESYNC_R_NON_COMPLIANT_VERSION:
	case DESYNC_R_SPACE_IN_URI:
	case DESYNC_R_NON_CRLF_LINE_TERMINATION:
		return DESYNC_ACCEPTABLE;
	case DESYNC_R_BAD_CONTENT_LENGTH:
	case DESYNC_R_BAD_HEADER:
	case DESYNC_R_BAD_TRANSFER_ENCODING:
	case DESYNC_R_BAD_URI:
	case DESYNC_R_BAD_METHOD:
	case DESYNC_R_BAD_VERSION:
	case DESYNC_R_MULTIPLE_CONTENT_LENGTH:
	case DESYNC_R_MULTIPLE_TRANSFER_ENCODING_CHUNKED:
		return DESYNC_SEVERE;
	default:
		return DESYNC_AMBIGUOUS;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	if (size)
		memcpy(p, data, size);

	struct desync_verdict v, w;
	desync_classify(p, size, &v);
	if ((unsigned)v.cls > DESYNC_SEVERE || (unsigned)v.reason >= DESYNC_R_COUNT)
		abort();
	if (reason_class(v.reason) != v.cls)
		abort();
	if (!desync_class_name(v.cls) || !desync_reason_name(v.reason))
		abort();
	desync_classify(p, size, &w);
	if (w.cls != v.cls || w.reason != v.reason)
		abort();

	/* the first line's bytes up to a colon, as a header name */
	const char *colon = memchr(p, ':', size);
	size_t n = colon ? (size_t)(colon - p) : size;
	if ((unsigned)desync_name_kind(p, n) > DESYNC_NAME_LIKE_TE)
		abort();
	free(p);
	return 0;
}
