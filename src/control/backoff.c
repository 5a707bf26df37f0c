/* backoff.c - see backoff.h */
#include "control/backoff.h"

#include <math.h>
#include <stdio.h>
#include <strings.h>

static const char *const backoff_names[] = {
	[BACKOFF_LINEAR] = "linear",
	[BACKOFF_ARITHMETIC] = "arithmetic",
	[BACKOFF_GEOMETRIC] = "geometric",
	[BACKOFF_EXPONENTIAL] = "exponential",
};

int backoff_fn_parse(const char *name)
{
	if (!name)
		return -1;
	for (int i = 0; i < (int)(sizeof backoff_names / sizeof backoff_names[0]); i++)
		if (!strcasecmp(name, backoff_names[i]))
			return i;
	return -1;
}

const char *backoff_fn_name(enum backoff_fn fn)
{
	if ((unsigned)fn < sizeof backoff_names / sizeof backoff_names[0])
		return backoff_names[fn];
	return "linear";
}

/* The delay of backoff retry I of N (0-based) without jitter. */
static double backoff_curve(const struct backoff_policy *p, unsigned i, unsigned n, double lo, double hi)
{
	if (n <= 1 || hi <= lo)
		return lo;
	double t = (double)i / (double)(n - 1), f;
	switch (p->fn) {
	case BACKOFF_ARITHMETIC:
		f = t * t;
		break;
	case BACKOFF_GEOMETRIC:
		if (lo > 0)
			return i == n - 1 ? hi : lo * pow(hi / lo, t);
		/* no ratio from 0: the same curve shifted by one second */
		return i == n - 1 ? hi : (lo + 1) * pow((hi + 1) / (lo + 1), t) - 1;
	case BACKOFF_EXPONENTIAL: {
		/* (2^i - 1) / (2^(n-1) - 1), as exp2 of the difference for big n */
		double k = (double)(n - 1);
		f = (exp2((double)i - k) - exp2(-k)) / (1 - exp2(-k));
		break;
	}
	case BACKOFF_LINEAR:
	default:
		f = t;
		break;
	}
	if (f < 0)
		f = 0;
	if (f > 1)
		f = 1;
	return lo + (hi - lo) * f;
}

/* P's delays with the nonsense taken out: finite, >= 0, lo <= hi. */
static void backoff_bounds(const struct backoff_policy *p, double *lo, double *hi)
{
	double a = isfinite(p->min_delay) && p->min_delay > 0 ? p->min_delay : 0;
	double b = isfinite(p->max_delay) && p->max_delay > 0 ? p->max_delay : 0;
	if (a > BACKOFF_MAX_DELAY)
		a = BACKOFF_MAX_DELAY;
	if (b > BACKOFF_MAX_DELAY)
		b = BACKOFF_MAX_DELAY;
	*lo = a < b ? a : b;
	*hi = a < b ? b : a;
}

/* The delay of retry K (1-based) without jitter; 0 in the immediate
 * phase. */
static double backoff_base(const struct backoff_policy *p, unsigned k, double lo, double hi)
{
	unsigned nd = p->no_delay_retries, mn = p->min_delay_retries, mx = p->max_delay_retries;
	unsigned long long fixed = (unsigned long long)nd + mn + mx;
	unsigned nb = fixed >= p->retries ? 0 : p->retries - (unsigned)fixed;
	if (k <= nd)
		return 0;
	k -= nd;
	if (k <= mn)
		return lo;
	k -= mn;
	if (k <= nb)
		return backoff_curve(p, k - 1, nb, lo, hi);
	return hi;
}

double backoff_delay(const struct backoff_policy *p, unsigned attempt, double rand01)
{
	if (attempt == 0)
		return 0;
	if (attempt > p->retries)
		return -1;
	double lo, hi;
	backoff_bounds(p, &lo, &hi);
	double d = backoff_base(p, attempt, lo, hi);
	if (d == 0)
		return 0;
	if (!(rand01 >= 0)) /* NaN too */
		rand01 = 0;
	if (rand01 > 1)
		rand01 = 1;
	d *= 0.9 + 0.2 * rand01;
	if (d < lo)
		d = lo;
	if (d > hi)
		d = hi;
	return d;
}

double backoff_total(const struct backoff_policy *p)
{
	double lo, hi, sum = 0;
	backoff_bounds(p, &lo, &hi);
	unsigned n = p->retries > BACKOFF_MAX_RETRIES * 10u ? BACKOFF_MAX_RETRIES * 10u : p->retries;
	for (unsigned k = 1; k <= n; k++)
		sum += backoff_base(p, k, lo, hi);
	return sum;
}

int backoff_policy_check(const struct backoff_policy *p, char *err, size_t errlen)
{
	const char *msg = NULL;
	char buf[160];
	if (p->retries > BACKOFF_MAX_RETRIES)
		msg = "numRetries must be between 0 and 100";
	else if ((unsigned long long)p->no_delay_retries + p->min_delay_retries + p->max_delay_retries > p->retries)
		msg = "numNoDelayRetries + numMinDelayRetries + numMaxDelayRetries must not exceed numRetries";
	else if (!isfinite(p->min_delay) || p->min_delay < 1 || p->min_delay != floor(p->min_delay))
		msg = "minDelayTarget must be a whole number of seconds, at least 1";
	else if (!isfinite(p->max_delay) || p->max_delay != floor(p->max_delay) || p->max_delay < p->min_delay ||
		 p->max_delay > BACKOFF_MAX_DELAY)
		msg = "maxDelayTarget must be a whole number of seconds from minDelayTarget to 3600";
	else if ((unsigned)p->fn >= sizeof backoff_names / sizeof backoff_names[0])
		msg = "backoffFunction must be one of arithmetic, exponential, geometric, linear";
	else if (backoff_total(p) > BACKOFF_MAX_TOTAL) {
		snprintf(buf, sizeof buf, "the total retry time of the policy (%.0f s) exceeds 3600 s",
			 backoff_total(p));
		msg = buf;
	}
	if (!msg)
		return 0;
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
	return -1;
}
