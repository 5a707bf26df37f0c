/* aws.c - AWS's wire protocols on the admin listener (see aws.h). */
#include "control/aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <openssl/rand.h>
#include <zlib.h>

#include "control/admin.h"
#include "control/aws_wire.h"
#include "control/cbor.h"
#include "control/sigv4.h"
#include "core/config.h"
#include "core/log.h"
#include "proxy/gen.h"

/* The JSON and CBOR protocols' service id (CloudWatch's Smithy shape). */
#define CW_SHAPE "GraniteServiceVersion20100801"

struct service {
	const char *name;      /* the credential scope's service */
	const char *version;   /* awsQuery's Version */
	const char *xmlns;
	const char *shape;     /* JSON/CBOR service shape, NULL: awsQuery only */
	const char *error_ns;  /* JSON/CBOR __type namespace */
	const struct aws_op *tables[3];
};

static const struct service services[] = {
	{ "elasticloadbalancing", "2015-12-01", "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/", NULL,
	  NULL, { aws_elb_ops, NULL, NULL } },
	{ "monitoring", "2010-08-01", "http://monitoring.amazonaws.com/doc/2010-08-01/", CW_SHAPE,
	  "com.amazonaws.cloudwatch", { aws_cw_metric_ops, aws_cw_alarm_ops, NULL } },
	{ "sns", "2010-03-31", "http://sns.amazonaws.com/doc/2010-03-31/", NULL, NULL, { aws_sns_ops, NULL, NULL } },
};

/* ------------------------------------------------------------ ARNs */

const char *aws_arn(char *buf, size_t len, const char *service, const char *resource)
{
	const struct albd_gen *g = admin_gen();
	const struct albd_config *cfg = g ? g->cfg : NULL;

	snprintf(buf, len, "arn:aws:%s:%s:%s:%s", service, cfg && cfg->region ? cfg->region : "local",
		 cfg && cfg->account_id ? cfg->account_id : "000000000000", resource);
	return buf;
}

/* ------------------------------------------------------------ answers */

static void request_id(char out[37])
{
	unsigned char r[16];

	if (RAND_bytes(r, sizeof r) != 1)
		for (size_t i = 0; i < sizeof r; i++)
			r[i] = (unsigned char)random();
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
		 r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

static void send_buf(struct admin_req *r, int status, const char *ctype, const char *extra, struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	const char *p = n ? (const char *)evbuffer_pullup(b, -1) : "";

	if (!p) {
		admin_reply_error(r, 500, "InternalFailure", "Out of memory");
		return;
	}
	admin_reply_hdrs(r, status, ctype, extra, p, n);
}

/* CloudWatch's error shapes in its Smithy model, by their awsQuery codes:
 * the __type of a JSON or CBOR error names the shape, and clients that
 * read __type (the JS SDK) make their exception class of it; the query
 * code goes in x-amzn-query-error for those that read that (botocore). */
static const char *const cw_shapes[][2] = {
	{ "InternalServiceError", "InternalServiceFault" },
	{ "InvalidFormat", "InvalidFormatFault" },
	{ "InvalidParameterCombination", "InvalidParameterCombinationException" },
	{ "InvalidParameterValue", "InvalidParameterValueException" },
	{ "LimitExceeded", "LimitExceededFault" },
	{ "MissingParameter", "MissingRequiredParameterException" },
};

static const char *error_shape(const struct service *svc, const char *code)
{
	if (svc && svc->shape && strcmp(svc->shape, CW_SHAPE) == 0)
		for (size_t i = 0; i < sizeof cw_shapes / sizeof cw_shapes[0]; i++)
			if (strcmp(cw_shapes[i][0], code) == 0)
				return cw_shapes[i][1];
	return code;
}

/* Answer R with call C's error in C's protocol; SVC may be NULL (not
 * known yet: the signature failed). */
static void reply_fail(struct admin_req *r, const struct service *svc, const struct aws_call *c)
{
	struct evbuffer *b = evbuffer_new();
	char extra[256];
	const char *type = c->status >= 500 ? "Receiver" : "Sender";

	if (!b) {
		admin_reply_error(r, 500, "InternalFailure", "Out of memory");
		return;
	}
	if (c->proto == AWS_QUERY)
		snprintf(extra, sizeof extra, "x-amzn-RequestId: %s\r\n", c->request_id);
	else /* AWS's JSON and CBOR protocols for a service that also speaks awsQuery */
		snprintf(extra, sizeof extra, "x-amzn-RequestId: %s\r\n%sx-amzn-query-error: %s;%s\r\n",
			 c->request_id, c->proto == AWS_CBOR ? "smithy-protocol: rpc-v2-cbor\r\n" : "", c->code, type);
	if (c->proto == AWS_QUERY) {
		evbuffer_add_printf(b, "<ErrorResponse xmlns=\"%s\"><Error><Type>%s</Type><Code>",
				    svc ? svc->xmlns : "http://webservices.amazon.com/AWSFault/2005-15-09", type);
		aws_xml_text(b, c->code, strlen(c->code));
		evbuffer_add_printf(b, "</Code><Message>");
		aws_xml_text(b, c->message, strlen(c->message));
		evbuffer_add_printf(b, "</Message></Error><RequestId>%s</RequestId></ErrorResponse>\n", c->request_id);
		send_buf(r, c->status, "text/xml", extra, b);
	} else {
		char t[128];
		json_t *j;

		snprintf(t, sizeof t, "%s#%s", svc && svc->error_ns ? svc->error_ns : "com.amazonaws",
			 error_shape(svc, c->code));
		j = json_pack("{ssss}", "__type", t, "message", c->message);
		if (!j || (c->proto == AWS_CBOR ? aws_cbor_value(b, j) : 0) < 0) {
			json_decref(j);
			evbuffer_free(b);
			admin_reply_error(r, 500, "InternalFailure", "Out of memory");
			return;
		}
		if (c->proto == AWS_JSON) {
			char *s = json_dumps(j, JSON_COMPACT);

			if (s)
				evbuffer_add(b, s, strlen(s));
			free(s);
		}
		json_decref(j);
		send_buf(r, c->status, c->proto == AWS_CBOR ? "application/cbor" : "application/x-amz-json-1.0",
			 extra, b);
	}
	evbuffer_free(b);
}

static void reply_ok(struct admin_req *r, const struct service *svc, const struct aws_call *c, const json_t *res)
{
	struct evbuffer *b = evbuffer_new();
	char extra[128];
	int rc = 0;

	if (!b) {
		admin_reply_error(r, 500, "InternalFailure", "Out of memory");
		return;
	}
	snprintf(extra, sizeof extra, "x-amzn-RequestId: %s\r\n%s", c->request_id,
		 c->proto == AWS_CBOR ? "smithy-protocol: rpc-v2-cbor\r\n" : "");
	if (c->proto == AWS_QUERY) {
		/* the Result element even when empty: botocore looks it up for
		 * every operation whose output has a shape (RegisterTargets) */
		evbuffer_add_printf(b, "<%sResponse xmlns=\"%s\"><%sResult>", c->action, svc->xmlns, c->action);
		aws_xml_value(b, res);
		evbuffer_add_printf(b, "</%sResult>", c->action);
		evbuffer_add_printf(b, "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>\n",
				    c->request_id, c->action);
		send_buf(r, 200, "text/xml", extra, b);
	} else if (c->proto == AWS_JSON) {
		json_t *j = aws_json_plain(res);
		char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

		json_decref(j);
		if (s)
			evbuffer_add(b, s, strlen(s));
		else
			rc = -1;
		free(s);
		if (!rc)
			send_buf(r, 200, "application/x-amz-json-1.0", extra, b);
	} else {
		if (aws_cbor_value(b, res) < 0)
			rc = -1;
		else
			send_buf(r, 200, "application/cbor", extra, b);
	}
	if (rc < 0)
		admin_reply_error(r, 500, "InternalFailure", "Out of memory");
	evbuffer_free(b);
}

/* ------------------------------------------------------------ the endpoint */

#define AWS_MAX_INFLATED (2u << 20) /* a gzip body inflates to at most this: the admin listener's
				      * limit of a body as sent */

/* BODY (LEN bytes, gzip) inflated into a new NUL-terminated buffer (*OUT,
 * *OUTLEN). Returns 0, or -1 with WHY: not gzip, truncated, more than
 * AWS_MAX_INFLATED, out of memory. */
static int gunzip(const char *body, size_t len, char **out, size_t *outlen, char *why, size_t whylen)
{
	z_stream z;
	size_t cap = len * 4 + 1024, n = 0;
	char *buf = NULL;
	int rc;

	*out = NULL;
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	z.next_in = (Bytef *)(uintptr_t)body;
	z.avail_in = (uInt)len;
	do {
		if (cap > AWS_MAX_INFLATED + 1)
			cap = AWS_MAX_INFLATED + 1;
		char *nb = realloc(buf, cap + 1);

		if (!nb) {
			snprintf(why, whylen, "out of memory");
			goto fail;
		}
		buf = nb;
		z.next_out = (Bytef *)buf + n;
		z.avail_out = (uInt)(cap - n);
		rc = inflate(&z, Z_NO_FLUSH);
		n = cap - z.avail_out;
		if (rc == Z_STREAM_END)
			break;
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			snprintf(why, whylen, "the gzip body is malformed (%s)", z.msg ? z.msg : "inflate failed");
			goto fail;
		}
		if (n > AWS_MAX_INFLATED) {
			snprintf(why, whylen, "the gzip body inflates to more than %u bytes", AWS_MAX_INFLATED);
			goto fail;
		}
		if (z.avail_out == 0) {
			cap *= 2;
		} else if (z.avail_in == 0) {
			snprintf(why, whylen, "the gzip body is truncated");
			goto fail;
		}
	} while (1);
	if (n > AWS_MAX_INFLATED || z.avail_in != 0) {
		snprintf(why, whylen, n > AWS_MAX_INFLATED ? "the gzip body inflates to more than the limit"
							    : "bytes after the gzip body");
		goto fail;
	}
	inflateEnd(&z);
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return 0;
fail:
	inflateEnd(&z);
	free(buf);
	return -1;
}

static const char *lookup_secret(const char *akid, void *arg)
{
	const struct cfg_admin *a = arg;

	for (size_t i = 0; i < a->naws_creds; i++)
		if (strcmp(a->aws_creds[i].access_key_id, akid) == 0)
			return a->aws_creds[i].secret;
	return NULL;
}

static int sigv4_status(enum sigv4_result v)
{
	switch (v) {
	case SIGV4_INCOMPLETE_SIGNATURE:
		return 400;
	case SIGV4_INTERNAL:
		return 500;
	default:
		return 403;
	}
}

static const char *sigv4_message(enum sigv4_result v)
{
	switch (v) {
	case SIGV4_INCOMPLETE_SIGNATURE:
		return "Authorization header requires a Credential, SignedHeaders and Signature (AWS4-HMAC-SHA256) "
		       "signing host and x-amz-date, and an X-Amz-Date";
	case SIGV4_INVALID_CLIENT_TOKEN_ID:
		return "The security token included in the request is invalid.";
	case SIGV4_SIGNATURE_DOES_NOT_MATCH:
		return "The request signature we calculated does not match the signature you provided. Check your "
		       "AWS Secret Access Key and signing method. Consult the service documentation for details.";
	case SIGV4_REQUEST_TIME_TOO_SKEWED:
		return "Signature not yet current or expired: the request time differs from the server time by "
		       "more than 5 minutes";
	default:
		return "Internal failure";
	}
}

static const struct service *service_of(const char *name)
{
	for (size_t i = 0; i < sizeof services / sizeof services[0]; i++)
		if (strcmp(services[i].name, name) == 0)
			return &services[i];
	return NULL;
}

static aws_op_fn op_of(const struct service *svc, const char *action)
{
	for (size_t t = 0; t < 3 && svc->tables[t]; t++)
		for (const struct aws_op *op = svc->tables[t]; op->action; op++)
			if (strcmp(op->action, action) == 0)
				return op->fn;
	return NULL;
}

/* The protocol of R (by its path and headers) and, for JSON and CBOR, the
 * operation it names (into OP). Returns -1 for a request no protocol
 * takes, with WHY. */
static int protocol_of(struct admin_req *r, enum aws_proto *proto, char *op, size_t oplen, char *why,
		       size_t whylen)
{
	const char *path = admin_req_path(r), *target = admin_req_header(r, "X-Amz-Target");
	const char *ctype = admin_req_header(r, "Content-Type");

	op[0] = '\0';
	if (strncmp(path, "/service/", 9) == 0) {
		const char *s = path + 9, *slash = strchr(s, '/');

		*proto = AWS_CBOR;
		if (!slash || strncmp(slash, "/operation/", 11) != 0 || strchr(slash + 11, '/') || !slash[11]) {
			snprintf(why, whylen, "expected /service/SERVICE/operation/OPERATION");
			return -1;
		}
		if ((size_t)(slash - s) != strlen(CW_SHAPE) || strncmp(s, CW_SHAPE, strlen(CW_SHAPE)) != 0) {
			snprintf(why, whylen, "unknown service %.*s", (int)(slash - s), s);
			return -1;
		}
		snprintf(op, oplen, "%s", slash + 11);
		return 0;
	}
	if (target) {
		const char *dot = strrchr(target, '.');

		*proto = AWS_JSON;
		if (!dot || (size_t)(dot - target) != strlen(CW_SHAPE) ||
		    strncmp(target, CW_SHAPE, strlen(CW_SHAPE)) != 0 || !dot[1]) {
			snprintf(why, whylen, "unknown X-Amz-Target \"%s\"", target);
			return -1;
		}
		snprintf(op, oplen, "%s", dot + 1);
		return 0;
	}
	*proto = AWS_QUERY;
	if (ctype && strncasecmp(ctype, "application/x-www-form-urlencoded", 33) != 0) {
		snprintf(why, whylen, "expected a form (application/x-www-form-urlencoded), X-Amz-Target, or "
				      "/service/.../operation/...");
		return -1;
	}
	return 0;
}

static void aws_endpoint(struct admin_req *r, void *arg)
{
	const struct albd_gen *g = admin_gen();
	const struct cfg_admin *adm = g ? &g->cfg->admin : NULL;
	struct aws_call c;
	char rid[37], opname[128], why[256];
	const struct service *svc = NULL;
	struct sigv4_identity id;
	json_t *in = NULL, *res = NULL;
	char *action = NULL, *version = NULL, *inflated = NULL;
	size_t blen, nh;
	const char *body = admin_req_body(r, &blen);

	(void)arg;
	if (!adm || !adm->naws_creds) {
		admin_reply_error(r, 404, "NotFound",
				  "No such endpoint: %s (AWS's APIs are off: admin.aws_credentials is not set)",
				  admin_req_path(r));
		return;
	}
	memset(&c, 0, sizeof c);
	request_id(rid);
	c.request_id = rid;
	c.now = (int64_t)time(NULL);
	if (protocol_of(r, &c.proto, opname, sizeof opname, why, sizeof why) < 0) {
		aws_fail(&c, c.proto == AWS_QUERY ? 400 : 404, c.proto == AWS_QUERY ? "InvalidAction" : "UnknownOperationException", "%s", why);
		reply_fail(r, NULL, &c);
		return;
	}

	uint64_t wait = admin_auth_locked(r);

	if (wait) {
		aws_fail(&c, 400, "Throttling", "Rate exceeded: too many requests with wrong credentials from this "
						"address; try again in %llu s", (unsigned long long)wait);
		reply_fail(r, NULL, &c);
		return;
	}

	/* the signature, over the request as received */
	const char *t = admin_req_target(r), *q = strchr(t, '?');
	char *rawpath = strndup(t, q ? (size_t)(q - t) : strlen(t));
	const char *hn = NULL, *hv = NULL;

	nh = admin_req_header_at(r, 0, &hn, &hv);
	struct sigv4_header *hs = calloc(nh ? nh : 1, sizeof *hs);

	if (!rawpath || !hs) {
		free(rawpath);
		free(hs);
		admin_reply_error(r, 500, "InternalFailure", "Out of memory");
		return;
	}
	for (size_t i = 0; i < nh; i++)
		admin_req_header_at(r, i, &hs[i].name, &hs[i].value);

	struct sigv4_request sr = { admin_req_method(r), rawpath, q ? q + 1 : NULL, hs, nh, body, blen };
	enum sigv4_result v = sigv4_verify(&sr, (time_t)c.now, lookup_secret, (void *)adm, &id);

	free(rawpath);
	free(hs);
	if (v != SIGV4_OK) {
		log_warn("admin: AWS call refused (%s) for key \"%s\" service \"%s\"", sigv4_error_code(v),
			 id.access_key_id, id.service);
		if (v == SIGV4_SIGNATURE_DOES_NOT_MATCH || v == SIGV4_INVALID_CLIENT_TOKEN_ID)
			admin_auth_failed(r, "AWS signature");
		aws_fail(&c, sigv4_status(v), sigv4_error_code(v), "%s", sigv4_message(v));
		reply_fail(r, service_of(id.service), &c);
		return;
	}
	c.access_key_id = id.access_key_id;
	if (!(svc = service_of(id.service)) || (c.proto != AWS_QUERY && !svc->shape)) {
		aws_fail(&c, 400, "InvalidAction", "albd serves elasticloadbalancing, monitoring and sns over "
						  "this protocol, not \"%s\"", id.service);
		reply_fail(r, svc, &c);
		return;
	}
	c.service = svc->name;

	/* the signature covered the body as sent; the operation reads it
	 * inflated (the SDKs gzip PutMetricData's larger bodies) */
	const char *enc = admin_req_header(r, "Content-Encoding");

	c.body_len = blen;

	if (enc && *enc && strcasecmp(enc, "identity") != 0) {
		if (strcasecmp(enc, "gzip") != 0) {
			aws_fail(&c, 415, "UnsupportedMediaType", "Content-Encoding %.60s is not supported (gzip is)", enc);
			goto done;
		}
		if (gunzip(body, blen, &inflated, &blen, why, sizeof why) < 0) {
			aws_fail(&c, strstr(why, "memory") ? 500 : 400,
				 strstr(why, "memory") ? "InternalFailure"
				 : c.proto == AWS_QUERY ? "MalformedQueryString" : "SerializationException", "%s", why);
			goto done;
		}
		body = inflated;
	}

	/* the input */
	if (c.proto == AWS_QUERY) {
		if (aws_query_parse(body, blen, &in, &action, &version, why, sizeof why) < 0) {
			aws_fail(&c, 400, strcmp(why, "out of memory") ? "MalformedQueryString" : "InternalFailure",
				 "%s", why);
			goto done;
		}
		if (!action) {
			aws_fail(&c, 400, "MissingAction", "The request must contain the parameter Action");
			goto done;
		}
		if (!version || strcmp(version, svc->version) != 0) {
			aws_fail(&c, 400, version ? "InvalidParameterValue" : "MissingParameter",
				 "Version: expected %s for %s%s%s", svc->version, svc->name,
				 version ? ", not " : "", version ? version : "");
			goto done;
		}
		snprintf(opname, sizeof opname, "%s", action);
	} else {
		char err[256];

		if (blen == 0) {
			in = json_object();
		} else if (c.proto == AWS_JSON) {
			json_error_t je;

			if (!(in = json_loadb(body, blen, JSON_REJECT_DUPLICATES, &je)))
				snprintf(err, sizeof err, "%s", je.text);
		} else {
			in = cbor_decode(body, blen, err, sizeof err);
		}
		if (!in || !json_is_object(in)) {
			aws_fail(&c, 400, "SerializationException", "The request body is not a %s object%s%s",
				 c.proto == AWS_JSON ? "JSON" : "CBOR map", in ? "" : ": ", in ? "" : err);
			goto done;
		}
	}
	if (aws_in_check(in, why, sizeof why) < 0) {
		aws_fail(&c, 400, c.proto == AWS_QUERY ? "MalformedQueryString" : "SerializationException", "%s", why);
		goto done;
	}
	c.action = opname;
	c.in = in;

	aws_op_fn fn = op_of(svc, opname);

	if (!fn) {
		if (c.proto == AWS_QUERY)
			aws_fail(&c, 400, "InvalidAction", "Could not find operation %s for version %s", opname,
				 svc->version);
		else
			aws_fail(&c, 404, "UnknownOperationException", "Unknown operation %s", opname);
		goto done;
	}
	res = fn(&c);
	if (!res && !c.status)
		aws_fail(&c, 500, "InternalFailure", "The operation gave no answer");
done:
	if (res)
		reply_ok(r, svc, &c, res);
	else
		reply_fail(r, svc, &c);
	json_decref(res);
	json_decref(in);
	free(action);
	free(version);
	free(inflated);
}

void aws_init(void)
{
	admin_route("POST", "/", ADMIN_SIGNED, aws_endpoint, NULL);
	admin_route("POST", "/service/", ADMIN_SIGNED | ADMIN_PREFIX, aws_endpoint, NULL);
}
