/* aws_wire.h - the pure half of aws.c: an awsQuery form into an input
 * tree, a result tree into AWS's XML, JSON or CBOR (the shapes are in
 * aws.h). No state, no I/O: unit-tested (tests/unit/test_aws_wire.c) and
 * fuzzed (tests/fuzz/fuzz_aws_wire.c). The aws_in_*, aws_out_*, aws_fail
 * and aws_page_* functions of aws.h live here too. Thread: any.
 */
#ifndef ALBD_AWS_WIRE_H
#define ALBD_AWS_WIRE_H

#include <stddef.h>

#include <jansson.h>

struct evbuffer;

/* Parse the form-encoded BODY (LEN bytes: awsQuery's "Action=...&..."):
 * *IN gets a new input tree of every parameter but Action and Version,
 * which go to *ACTION and *VERSION (new strings, NULL when absent). Lists
 * ("A.member.N...") must count from 1 without gaps; maps ("A.entry.N.key"
 * and ".value", or ".Name" and ".Value") must not repeat a key. Returns 0,
 * or -1 with the reason in WHY ("out of memory" when it was that) and
 * nothing to free. */
int aws_query_parse(const char *body, size_t len, json_t **in, char **action, char **version, char *why,
		    size_t whylen);

/* Is IN fit to be an input tree: no object key holds a control character
 * (the result trees' marks start with one, and AWS's names have none)?
 * Returns 0, or -1 with the offending key in WHY. */
int aws_in_check(const json_t *in, char *why, size_t whylen);

/* Append V (a result tree) to B as the inside of an awsQuery XML element:
 * structures as child elements, lists as <member>s, maps as
 * <entry><key/><value/></entry>, timestamps as ISO 8601 with milliseconds. */
void aws_xml_value(struct evbuffer *b, const json_t *v);
/* Append S[0..N) to B as XML character data (escaped; characters XML 1.0
 * cannot hold become U+FFFD). */
void aws_xml_text(struct evbuffer *b, const char *s, size_t n);
/* A new plain JSON copy of result tree V: timestamps as epoch seconds,
 * maps as objects, null members dropped. NULL when out of memory. */
json_t *aws_json_plain(const json_t *v);
/* Append V to B as CBOR (timestamps as tag 1). 0, or -1 when out of memory. */
int aws_cbor_value(struct evbuffer *b, const json_t *v);

#endif
