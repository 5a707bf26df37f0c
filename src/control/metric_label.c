/* metric_label.c - see metric_label.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metric_label.h"

int mlabel_dynamic(const char *label)
{
	return label && strstr(label, "${") != NULL;
}

/* X as the shortest decimal that reads back as X. */
static void put_num(FILE *f, double x)
{
	char b[40];

	for (int prec = 1; prec <= 17; prec++) {
		snprintf(b, sizeof(b), "%.*g", prec, x);
		if (strtod(b, NULL) == x)
			break;
	}
	fputs(b, f);
}

static void put_time(FILE *f, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char b[32];

	if (gmtime_r(&tt, &tm) && strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%SZ", &tm))
		fputs(b, f);
}

/* The summary of the datapoints of C. */
struct summary {
	size_t n;
	double sum, min, max, first, last;
	int64_t tmin, tmax, tfirst, tlast;
};

static void summarize(const struct mlabel_ctx *c, struct summary *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < c->n; i++) {
		double v = c->v[i];
		if (!isfinite(v))
			continue;
		if (!s->n || v < s->min) {
			s->min = v;
			s->tmin = c->t[i];
		}
		if (!s->n || v > s->max) {
			s->max = v;
			s->tmax = c->t[i];
		}
		if (!s->n) {
			s->first = v;
			s->tfirst = c->t[i];
		}
		s->last = v;
		s->tlast = c->t[i];
		s->sum += v;
		s->n++;
	}
}

/* Write the value of NAME (LEN bytes: what is between "${" and "}") to F.
 * Returns 0, or -1 when it is not one to expand. */
static int put_value(FILE *f, const char *name, size_t len, const struct mlabel_ctx *c, const struct summary *s)
{
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(name, lit, len) == 0)
	if (IS("LABEL")) {
		if (!c->deflabel)
			return -1;
		fputs(c->deflabel, f);
		return 0;
	}
	if (IS("DATAPOINT_COUNT")) {
		fprintf(f, "%zu", s->n);
		return 0;
	}
	if (len > 8 && memcmp(name, "PROP('", 6) == 0 && memcmp(name + len - 2, "')", 2) == 0) {
		const char *p = name + 6;
		size_t plen = len - 8;
#define PIS(lit) (plen == sizeof(lit) - 1 && memcmp(p, lit, plen) == 0)
		const char *out = NULL;
		if (PIS("MetricName"))
			out = c->name;
		else if (PIS("Namespace"))
			out = c->ns;
		else if (PIS("Stat"))
			out = c->stat;
		else if (PIS("Region"))
			out = c->region;
		else if (PIS("AccountId"))
			out = c->account_id;
		else if (PIS("Period") && c->period) {
			fprintf(f, "%u", c->period);
			return 0;
		} else if (plen > 4 && memcmp(p, "Dim.", 4) == 0) {
			for (size_t i = 0; i < c->ndims; i++)
				if (strlen(c->dims[i].name) == plen - 4 && memcmp(c->dims[i].name, p + 4, plen - 4) == 0)
					out = c->dims[i].value;
		}
#undef PIS
		if (!out)
			return -1;
		fputs(out, f);
		return 0;
	}
	if (!s->n)
		return -1; /* a value of the data, and there is none */
	if (IS("AVG"))
		put_num(f, s->sum / (double)s->n);
	else if (IS("SUM"))
		put_num(f, s->sum);
	else if (IS("MIN"))
		put_num(f, s->min);
	else if (IS("MAX"))
		put_num(f, s->max);
	else if (IS("FIRST"))
		put_num(f, s->first);
	else if (IS("LAST"))
		put_num(f, s->last);
	else if (IS("MIN_MAX_RANGE"))
		put_num(f, s->max - s->min);
	else if (IS("FIRST_LAST_RANGE"))
		put_num(f, s->last - s->first);
	else if (IS("FIRST_TIME"))
		put_time(f, s->tfirst);
	else if (IS("LAST_TIME"))
		put_time(f, s->tlast);
	else if (IS("MIN_TIME"))
		put_time(f, s->tmin);
	else if (IS("MAX_TIME"))
		put_time(f, s->tmax);
	else
		return -1;
	return 0;
#undef IS
}

char *mlabel_expand(const char *label, const struct mlabel_ctx *ctx)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct summary s;

	if (!f)
		return NULL;
	summarize(ctx, &s);
	for (const char *p = label; *p;) {
		const char *open = strstr(p, "${"), *close = open ? strchr(open + 2, '}') : NULL;
		if (!close) {
			fputs(p, f);
			break;
		}
		fwrite(p, 1, (size_t)(open - p), f);
		/* put_value() writes nothing when it fails: the text stays */
		if (put_value(f, open + 2, (size_t)(close - open - 2), ctx, &s) < 0)
			fwrite(open, 1, (size_t)(close + 1 - open), f);
		p = close + 1;
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
