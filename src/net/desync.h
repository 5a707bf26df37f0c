/* desync.h - HTTP desync (request smuggling) classification of a raw
 * HTTP/1.x request head, as AWS ALB's desync mitigation mode does it.
 *
 * ALB classifies requests with the open-source http_desync_guardian
 * library (https://github.com/aws/http-desync-guardian, Apache-2.0,
 * Copyright Amazon.com, Inc. or its affiliates); this is a C
 * reimplementation of its raw request analysis (analyze_raw_request):
 * the same tiers, reasons and precedence, checked against its test cases
 * (tests/unit/desync_cases.h). The reason names are those of ALB's access
 * log ("Classification reasons"), which renames three of the guardian's:
 * BothTeClPresent -> BothTePresent, UndefinedContentLengthSemantics ->
 * UndefinedContentLength, UndefinedTransferEncodingSemantics ->
 * UndefinedTransferEncoding.
 *
 * When several reasons apply, the request gets the highest tier, and the
 * reason first found at that tier in the guardian's order: line parsing
 * (request line, then header lines), each header's characters and name,
 * Transfer-Encoding values, Content-Length values, GET/HEAD and both
 * present, then method, version and URI.
 *
 * Like the guardian, a version that compares (bytewise) at or above
 * "HTTP/2" ends the analysis: the request is Compliant.
 *
 * One pass over the bytes with static character tables, no allocation,
 * a fixed-size state on the stack. Thread: any; pure.
 */
#ifndef ALBD_DESYNC_H
#define ALBD_DESYNC_H

#include <stddef.h>

enum desync_class { DESYNC_COMPLIANT = 0, DESYNC_ACCEPTABLE, DESYNC_AMBIGUOUS, DESYNC_SEVERE };

enum desync_reason {
	DESYNC_R_NONE = 0, /* Compliant */
	DESYNC_R_AMBIGUOUS_URI,
	DESYNC_R_BAD_CONTENT_LENGTH,
	DESYNC_R_BAD_HEADER,
	DESYNC_R_BAD_TRANSFER_ENCODING,
	DESYNC_R_BAD_URI,
	DESYNC_R_BAD_METHOD,
	DESYNC_R_BAD_VERSION,
	DESYNC_R_BOTH_TE_PRESENT,
	DESYNC_R_DUPLICATE_CONTENT_LENGTH,
	DESYNC_R_EMPTY_HEADER,
	DESYNC_R_GET_HEAD_ZERO_CONTENT_LENGTH,
	DESYNC_R_MULTIPLE_CONTENT_LENGTH,
	DESYNC_R_MULTIPLE_TRANSFER_ENCODING_CHUNKED,
	DESYNC_R_NON_COMPLIANT_HEADER,
	DESYNC_R_NON_COMPLIANT_VERSION,
	DESYNC_R_SPACE_IN_URI,
	DESYNC_R_SUSPICIOUS_HEADER,
	DESYNC_R_UNDEFINED_CONTENT_LENGTH,
	DESYNC_R_UNDEFINED_TRANSFER_ENCODING,
	/* the guardian's line parsing reasons (not in ALB's table) */
	DESYNC_R_MISSING_URI,               /* Ambiguous */
	DESYNC_R_MULTILINE_HEADER,          /* Ambiguous: obs-fold (but for Content-Type) */
	DESYNC_R_NON_CRLF_LINE_TERMINATION, /* Acceptable: a line ends in a bare LF */
	DESYNC_R_MISSING_HEADER_COLON,      /* Ambiguous */
	DESYNC_R_PARTIAL_HEADER_LINE,       /* Ambiguous: the last line has no LF */
	DESYNC_R_MISSING_LAST_EMPTY_LINE,   /* Ambiguous: no empty line at the end */
	DESYNC_R_COUNT
};

struct desync_verdict {
	enum desync_class cls;
	enum desync_reason reason;
};

/* Classify the request head of LEN bytes at P: request line, header lines
 * and the final empty line (CRLF CRLF) as received, possibly preceded by
 * empty lines (CRLF) which are skipped. Pure; thread: any. */
void desync_classify(const char *p, size_t len, struct desync_verdict *v);

/* "Compliant", "Acceptable", "Ambiguous", "Severe" ("-" if out of range) */
const char *desync_class_name(enum desync_class c);

/* "AmbiguousUri", ...; DESYNC_R_NONE (or out of range) -> "-" */
const char *desync_reason_name(enum desync_reason r);

/* How a header NAME (not NUL-terminated) relates to Content-Length /
 * Transfer-Encoding, as the guardian's determine_similarity sees it (case
 * insensitive; '_' or other separators for '-', surrounding whitespace or
 * control characters, the two Unicode look-alikes U+017F and U+0131):
 * DESYNC_NAME_CL / DESYNC_NAME_TE when identical ignoring case,
 * DESYNC_NAME_LIKE_CL / DESYNC_NAME_LIKE_TE when the same letters but not
 * identical (a SuspiciousHeader), else DESYNC_NAME_OTHER. */
enum desync_name { DESYNC_NAME_OTHER = 0, DESYNC_NAME_CL, DESYNC_NAME_TE, DESYNC_NAME_LIKE_CL, DESYNC_NAME_LIKE_TE };
enum desync_name desync_name_kind(const char *name, size_t len);

#endif
