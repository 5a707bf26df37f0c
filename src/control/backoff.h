/* backoff.h - the retry schedule of an SNS HTTP/S delivery policy
 * (healthyRetryPolicy): the delay before each retry of a delivery.
 *
 * From the Amazon SNS Developer Guide, "Amazon SNS message delivery retries"
 * (docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html) and
 * its section "Creating an HTTP/S delivery policy", and the CDK's
 * HealthyRetryPolicy (aws-cdk-lib aws_sns): a policy has four phases, in
 * order, that together hold numRetries retries after the first attempt:
 *   1. immediate retry phase: numNoDelayRetries retries "immediately after
 *      the initial delivery attempt. There is no delay between retries";
 *   2. pre-backoff phase: numMinDelayRetries retries, minDelayTarget apart;
 *   3. backoff phase: the retries left, their delays going from
 *      minDelayTarget to maxDelayTarget following backoffFunction
 *      (arithmetic, exponential, geometric or linear);
 *   4. post-backoff phase: numMaxDelayRetries retries, maxDelayTarget apart.
 * numNoDelayRetries + numMinDelayRetries + numMaxDelayRetries <= numRetries
 * <= 100; 1 <= minDelayTarget <= maxDelayTarget <= 3600 seconds; and "The
 * total policy retry time for an HTTP/S endpoint cannot be greater than
 * 3,600 seconds". The default policy: 3 retries, 20 seconds apart (min =
 * max = 20, linear).
 *
 * The backoff functions. AWS shows their shapes only as a graph, so albd
 * defines them, for the n retries of the backoff phase, i = 0 .. n-1,
 * t = i / (n - 1), as delay = min + (max - min) * f(t), where f(0) = 0 (the
 * first backoff retry waits minDelayTarget), f(1) = 1 (the last waits
 * maxDelayTarget), and f rises:
 *   linear      f = t                      (equal steps)
 *   arithmetic  f = t^2                    (the step grows by a constant
 *                                           amount: an arithmetic series)
 *   geometric   delay = min * (max/min)^t  (a constant ratio between
 *                                           successive delays)
 *   exponential f = (2^((n-1)t) - 1) / (2^(n-1) - 1)  (the excess over
 *                                           min doubles at every retry)
 * With one backoff retry (n = 1) it waits minDelayTarget. Exponential
 * stays close to min longest, then rises steeply (with 20 backoff retries,
 * the 10th waits min + 0.1% of the range); linear is the upper bound of
 * them all (the others are convex).
 *
 * Jitter. SNS "applies jittering to delivery retries" (the guide, citing
 * the AWS Architecture Blog's "Exponential Backoff and Jitter"). albd uses
 * +-10%: delay * (0.9 + 0.2 * rand01), then bounded to [minDelayTarget,
 * maxDelayTarget]; immediate retries stay 0. Not the blog's full jitter
 * (uniform in [0, delay]): that would break the policy's documented
 * meaning of minDelayTarget ("the minimum delay for a retry") and make the
 * schedule a subscriber configured unrecognisable; +-10% is enough to keep
 * the retries of many deliveries that failed together from hitting the
 * endpoint in the same instant.
 *
 * Thread: any; pure functions.
 */
#ifndef ALBD_BACKOFF_H
#define ALBD_BACKOFF_H

#include <stddef.h>

enum backoff_fn {
	BACKOFF_LINEAR,
	BACKOFF_ARITHMETIC,
	BACKOFF_GEOMETRIC,
	BACKOFF_EXPONENTIAL,
};

#define BACKOFF_MAX_RETRIES 100
#define BACKOFF_MAX_DELAY 3600.0
#define BACKOFF_MAX_TOTAL 3600.0

/* An HTTP/S delivery policy's healthyRetryPolicy; delays in seconds. */
struct backoff_policy {
	unsigned retries;           /* numRetries: all retries, every phase */
	unsigned no_delay_retries;  /* numNoDelayRetries */
	unsigned min_delay_retries; /* numMinDelayRetries (absent: 0) */
	unsigned max_delay_retries; /* numMaxDelayRetries (absent: 0) */
	double min_delay;           /* minDelayTarget */
	double max_delay;           /* maxDelayTarget */
	enum backoff_fn fn;         /* backoffFunction */
};

/* SNS's default: 3 retries, 20 seconds apart. */
#define BACKOFF_POLICY_DEFAULT \
	((struct backoff_policy){ .retries = 3, .min_delay = 20, .max_delay = 20, .fn = BACKOFF_LINEAR })

/* The function named NAME ("linear", "arithmetic", "geometric",
 * "exponential", any case), or -1. */
int backoff_fn_parse(const char *name);

/* The name of FN, lower case, static. */
const char *backoff_fn_name(enum backoff_fn fn);

/* 0 when P is a policy SNS accepts (see above, the total of the delays
 * without jitter included), else -1 with a message in ERR. */
int backoff_policy_check(const struct backoff_policy *p, char *err, size_t errlen);

/* The delay in seconds before attempt ATTEMPT of a delivery under P:
 * attempt 0 is the first delivery (0), attempt k (1 <= k <= retries) the
 * k-th retry, and -1 when k > retries (the policy is exhausted). RAND01 in
 * [0, 1] is the caller's random value for the jitter (0.5: none); outside
 * it, it is clamped. P should have passed backoff_policy_check; if not, the
 * result is still finite, >= 0 and <= max(min_delay, max_delay). */
double backoff_delay(const struct backoff_policy *p, unsigned attempt, double rand01);

/* The sum of the delays of all P's retries without jitter (rand01 = 0.5). */
double backoff_total(const struct backoff_policy *p);

#endif
