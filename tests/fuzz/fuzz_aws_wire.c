/* fuzz_aws_wire.c - libFuzzer target for the AWS APIs' wire parsing
 * (src/control/aws_wire.c, src/control/cbor.c): the first byte picks the
 * input, an awsQuery form (even) or a Smithy RPC v2 CBOR body (odd); what
 * parses is written back as XML, JSON and CBOR, and that CBOR must decode
 * again to the same tree (in the plain JSON form: null members dropped). Checks: nothing crashes, leaks or runs away, and
 * the round trip holds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "control/api_metrics.h"
#include "control/aws_wire.h"
#include "control/cbor.h"

/* aws_wire.c's aws_in_time() calls it; this target never reads times, and
 * api_metrics.c would bring the whole store in. */
int api_parse_time(const char *s, int64_t *out)
{
	(void)s;
	(void)out;
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *in = NULL;
	char why[256];

	if (size < 1)
		return 0;
	if (data[0] % 2 == 0) {
		char *action, *version;

		if (aws_query_parse((const char *)data + 1, size - 1, &in, &action, &version, why, sizeof why) < 0)
			return 0;
		free(action);
		free(version);
	} else if (!(in = cbor_decode(data + 1, size - 1, why, sizeof why))) {
		return 0;
	}

	if (aws_in_check(in, why, sizeof why) < 0) {
		json_decref(in);
		return 0;
	}

	struct evbuffer *b = evbuffer_new();
	json_t *plain, *back, *plain_back;
	char *s;

	if (!b)
		abort();
	aws_xml_value(b, in);
	evbuffer_drain(b, evbuffer_get_length(b));
	if (!(plain = aws_json_plain(in)))
		abort();
	if ((s = json_dumps(plain, JSON_COMPACT)))
		free(s);
	/* CBOR drops null members as JSON does: compare the plain forms */
	if (aws_cbor_value(b, in) == 0) {
		back = cbor_decode(evbuffer_pullup(b, -1), evbuffer_get_length(b), why, sizeof why);
		if (!back || !(plain_back = aws_json_plain(back)) || !json_equal(plain_back, plain))
			abort();
		json_decref(plain_back);
		json_decref(back);
	}
	json_decref(plain);
	evbuffer_free(b);
	json_decref(in);
	return 0;
}
