/* aws.h - AWS's wire protocols on the admin listener: the aws CLI, boto3
 * and the AWS SDKs call albd as ELBv2 (elasticloadbalancing 2015-12-01),
 * CloudWatch (monitoring 2010-08-01) and SNS (sns 2010-03-31).
 *
 * aws.c owns the wire: it takes POST / (and POST /service/..., Smithy RPC
 * v2 CBOR's path) on the admin listener, verifies the SigV4 signature
 * against admin.aws_credentials (no credentials: the endpoint is off), tells
 * the service by the credential scope, reads the operation and its input
 * from whichever protocol the client spoke:
 *
 *   awsQuery  form-encoded Action=...&Version=...&A.member.1.B=...
 *   awsJson   X-Amz-Target: GraniteServiceVersion20100801.Operation, JSON
 *   rpcv2Cbor /service/GraniteServiceVersion20100801/operation/Operation, CBOR
 *
 * and turns every one into the same input tree (below), calls the
 * operation, and writes its result back in the client's protocol (XML in
 * AWS's shapes with ResponseMetadata/RequestId, JSON or CBOR), or AWS's
 * error shape for that protocol (ErrorResponse XML; __type plus the
 * x-amzn-query-error header for JSON and CBOR).
 *
 * The operations live in one file per service (aws_elb.c, aws_cw_metrics.c,
 * aws_cw_alarms.c, aws_sns.c) as tables of struct aws_op; they know nothing
 * of the wire.
 *
 * Input tree (a jansson object): the operation's input as AWS's JSON
 * protocol shapes it. From awsQuery, "A.member.N.B" becomes A[N-1].B,
 * "A.entry.N.key"/".value" (or ".Name"/".Value") become the map A {key:
 * value}; every scalar stays a string ("5", "true"), so operations read
 * values with the aws_in_* getters below, which take both spellings. A
 * timestamp is an ISO 8601 string (awsQuery) or seconds since the epoch
 * (JSON, CBOR). An empty list in awsQuery is "A=" (an empty string), which
 * aws_in_list() reads as an empty list.
 *
 * Result tree: a jansson object whose members are the output's members in
 * AWS's order (jansson keeps insertion order): strings, integers, reals,
 * booleans, arrays (lists: XML <member> elements), objects (structures),
 * and two marked kinds made with aws_out_time() (a timestamp: ISO 8601 in
 * XML, epoch seconds in JSON, CBOR tag 1) and aws_out_map() (a map: XML
 * <entry><key/><value/></entry>, a plain object in JSON and CBOR).
 *
 * Thread: control, every function and every operation.
 */
#ifndef ALBD_AWS_H
#define ALBD_AWS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct albd_config;

enum aws_proto {
	AWS_QUERY,
	AWS_JSON,
	AWS_CBOR,
};

/* One call being answered. */
struct aws_call {
	const char *service;     /* "elasticloadbalancing", "monitoring", "sns" */
	const char *action;      /* "DescribeTargetHealth" */
	enum aws_proto proto;
	const json_t *in;        /* the input tree (borrowed) */
	const char *request_id;  /* a UUID, also in the answer */
	const char *access_key_id;
	int64_t now;             /* seconds since the epoch */
	size_t body_len;         /* the body's bytes as received (before a gzip body is inflated) */
	/* the error, when the operation fails (aws_fail()) */
	int status;
	char code[64];
	char message[512];
};

/* An operation: returns its result tree (new reference; an empty object
 * for an operation without output), or NULL after aws_fail(C, ...).
 * Borrows C for the call only. */
typedef json_t *(*aws_op_fn)(struct aws_call *c);

struct aws_op {
	const char *action; /* "DescribeTargetHealth" */
	aws_op_fn fn;
};

/* The operation tables, one per file, each ended by an entry with
 * action == NULL. aws.c looks an action up in its service's tables. */
extern const struct aws_op aws_elb_ops[];        /* elasticloadbalancing */
extern const struct aws_op aws_cw_metric_ops[];  /* monitoring: metrics */
extern const struct aws_op aws_cw_alarm_ops[];   /* monitoring: alarms */
extern const struct aws_op aws_sns_ops[];        /* sns */

/* Fail call C with HTTP STATUS and AWS error CODE ("ValidationError",
 * "TargetGroupNotFound", ...) and a message; returns NULL for
 * "return aws_fail(...)". The Type (Sender/Receiver) follows the status:
 * 5xx is Receiver. */
json_t *aws_fail(struct aws_call *c, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ------------------------------------------------------------ input getters
 * Each looks KEY up in object O (NULL O: absent). */

/* The string, or NULL when absent or not a string. */
const char *aws_in_str(const json_t *o, const char *key);
/* 0 absent (*OUT untouched), 1 read, -1 present but not an integer
 * (a JSON integer, or a string of decimal digits with an optional sign). */
int aws_in_int(const json_t *o, const char *key, long long *out);
/* As aws_in_int() for a finite number (an integer, a real, or a string
 * strtod() reads whole). */
int aws_in_num(const json_t *o, const char *key, double *out);
/* As aws_in_int() for true/false (JSON booleans or "true"/"false"). */
int aws_in_bool(const json_t *o, const char *key, int *out);
/* As aws_in_int() for a timestamp: ISO 8601 or seconds since the epoch
 * (number or digits). *OUT gets whole seconds, rounded down. */
int aws_in_time(const json_t *o, const char *key, int64_t *out);
/* The list under KEY: an array, or NULL when absent. An empty string (an
 * empty list in awsQuery) is taken as absent too: callers treat NULL as []. */
const json_t *aws_in_list(const json_t *o, const char *key);
/* 1 when KEY is present but neither a list nor awsQuery's empty list ""
 * (a JSON or CBOR caller sent a string or a structure): the caller fails
 * with its ValidationError; else 0. */
int aws_in_list_bad(const json_t *o, const char *key);
/* The structure or map under KEY: an object, or NULL. */
const json_t *aws_in_obj(const json_t *o, const char *key);

/* ------------------------------------------------------------ output marks */

/* A timestamp of T_MS milliseconds since the epoch, for a result tree. */
json_t *aws_out_time(int64_t t_ms);
/* Mark object M (consumed) as a map rather than a structure. */
json_t *aws_out_map(json_t *m);

/* ------------------------------------------------------------ pagination */

/* Read a NextToken/Marker that aws_page_token() made: 1 with *OFF, 0 when
 * absent (start at 0), -1 when it is not one of ours (the caller fails with
 * InvalidNextToken / ValidationError as its API does). */
int aws_page_read(const json_t *in, const char *key, size_t *off);
/* The token that resumes at offset OFF, as a new string for the result. */
json_t *aws_page_token(size_t off);

/* ------------------------------------------------------------ ARNs */

/* "arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE" with the live config's region
 * and account_id, into BUF. Returns BUF. */
const char *aws_arn(char *buf, size_t len, const char *service, const char *resource);

/* ------------------------------------------------------------ the module */

/* Route POST / and POST /service/ on the admin listener (after admin_init()). */
void aws_init(void);

#endif
