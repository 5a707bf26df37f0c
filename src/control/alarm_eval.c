/* alarm_eval.c - CloudWatch metric alarm evaluation; see alarm_eval.h for the
 * rules and where they come from. */
#include "control/alarm_eval.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ALARM_EXTRA_PERIODS 2 /* evaluation range = N + 2, as in the user guide's tables */

/* names ---------------------------------------------------------------------- */

static const char *const cmp_names[] = { "GreaterThanThreshold", "GreaterThanOrEqualToThreshold",
					 "LessThanThreshold", "LessThanOrEqualToThreshold" };
static const char *const cmp_words[] = { "greater than", "greater than or equal to", "less than",
					 "less than or equal to" };
static const char *const missing_names[] = { "missing", "ignore", "breaching", "notBreaching" };

const char *alarm_state_name(enum alarm_state s)
{
	switch (s) {
	case ALARM_OK:
		return "OK";
	case ALARM_ALARM:
		return "ALARM";
	case ALARM_INSUFFICIENT_DATA:
		return "INSUFFICIENT_DATA";
	}
	return "?";
}

int alarm_cmp_parse(const char *s, enum alarm_cmp *out)
{
	for (unsigned i = 0; s && i < 4; i++)
		if (!strcmp(s, cmp_names[i])) {
			*out = (enum alarm_cmp)i;
			return 0;
		}
	return -1;
}

const char *alarm_cmp_name(enum alarm_cmp c)
{
	return (unsigned)c < 4 ? cmp_names[c] : "?";
}

int alarm_missing_parse(const char *s, enum alarm_missing *out)
{
	for (unsigned i = 0; s && i < 4; i++)
		if (!strcmp(s, missing_names[i])) {
			*out = (enum alarm_missing)i;
			return 0;
		}
	return -1;
}

const char *alarm_missing_name(enum alarm_missing m)
{
	return (unsigned)m < 4 ? missing_names[m] : "?";
}

/* formatting ------------------------------------------------------------------ */

void alarm_format_value(double v, char *buf, size_t size)
{
	char tmp[40], digits[24];
	int p, e, nd = 0;
	const char *neg = signbit(v) ? "-" : "";

	if (!size)
		return;
	if (isnan(v)) {
		snprintf(buf, size, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, size, "%sInfinity", neg);
		return;
	}
	if (v == 0) {
		snprintf(buf, size, "%s0.0", neg);
		return;
	}
	/* the shortest digits that read back as V */
	for (p = 1; p <= 17; p++) {
		snprintf(tmp, sizeof tmp, "%.*e", p - 1, fabs(v));
		if (strtod(tmp, NULL) == fabs(v))
			break;
	}
	for (const char *c = tmp; *c && *c != 'e'; c++)
		if (*c >= '0' && *c <= '9')
			digits[nd++] = *c;
	digits[nd] = 0;
	e = atoi(strchr(tmp, 'e') + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		digits[--nd] = 0;
	if (e >= -3 && e < 7) {
		char out[40];
		size_t o = 0;
		if (e < 0) {
			out[o++] = '0';
			out[o++] = '.';
			for (int i = -1; i > e; i--)
				out[o++] = '0';
			for (int i = 0; i < nd; i++)
				out[o++] = digits[i];
		} else {
			for (int i = 0; i <= e; i++)
				out[o++] = i < nd ? digits[i] : '0';
			out[o++] = '.';
			if (nd > e + 1)
				for (int i = e + 1; i < nd; i++)
					out[o++] = digits[i];
			else
				out[o++] = '0';
		}
		out[o] = 0;
		snprintf(buf, size, "%s%s", neg, out);
	} else {
		snprintf(buf, size, "%s%c.%sE%d", neg, digits[0], nd > 1 ? digits + 1 : "0", e);
	}
}

/* "15/05/25 15:29:00" */
static void fmt_reason_time(int64_t t, char *buf, size_t size)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, &tm))
		memset(&tm, 0, sizeof tm);
	snprintf(buf, size, "%02d/%02d/%02d %02d:%02d:%02d", tm.tm_mday, tm.tm_mon + 1,
		 ((tm.tm_year + 1900) % 100 + 100) % 100, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* "2021-04-13T16:04:00.000+0000" */
static void fmt_json_time(int64_t t, char *buf, size_t size)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, &tm))
		memset(&tm, 0, sizeof tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%S.000+0000", &tm);
}

/* A growing string; on allocation failure it is marked failed and stays so. */
struct sbuf {
	char *s;
	size_t len, cap;
	int failed;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if (!b->s || b->len + (size_t)n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *s = realloc(b->s, cap);
		if (!s) {
			b->failed = 1;
			return;
		}
		b->s = s;
		b->cap = cap;
		va_start(ap, fmt);
		vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* STR as a JSON string's contents (quotes, backslashes, control bytes). */
static void sb_json_str(struct sbuf *b, const char *str)
{
	for (const unsigned char *c = (const unsigned char *)str; *c; c++) {
		if (*c == '"' || *c == '\\')
			sb_printf(b, "\\%c", *c);
		else if (*c < 0x20)
			sb_printf(b, "\\u%04x", *c);
		else
			sb_printf(b, "%c", *c);
	}
}

/* evaluation ------------------------------------------------------------------ */

static int breaches(const struct alarm_def *def, double v)
{
	switch (def->cmp) {
	case ALARM_CMP_GT:
		return v > def->threshold;
	case ALARM_CMP_GE:
		return v >= def->threshold;
	case ALARM_CMP_LT:
		return v < def->threshold;
	case ALARM_CMP_LE:
		return v <= def->threshold;
	}
	return 0;
}

static int def_valid(const struct alarm_def *def)
{
	return def && def->period > 0 && def->evaluation_periods > 0 &&
	       def->datapoints_to_alarm <= def->evaluation_periods && isfinite(def->threshold) &&
	       (unsigned)def->cmp < 4 && (unsigned)def->missing < 4 &&
	       def->evaluation_periods <= 100000;
}

unsigned alarm_eval_range(const struct alarm_def *def)
{
	return def_valid(def) ? def->evaluation_periods + ALARM_EXTRA_PERIODS : 0;
}

static int real(const struct alarm_point *p)
{
	return p->present && isfinite(p->v);
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* Append to R (of RSIZE) without overflowing; cut at a UTF-8 boundary. */
static void reason_cat(char *r, size_t rsize, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void reason_cat(char *r, size_t rsize, const char *fmt, ...)
{
	size_t len = strlen(r);
	va_list ap;
	int n;
	if (len + 1 >= rsize)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r + len, rsize - len, fmt, ap);
	va_end(ap);
	/* cut: r[rsize - 1] is the NUL, the character cut in half before it */
	if (n >= 0 && len + (size_t)n >= rsize)
		r[len + alarm_utf8_cut(r + len, rsize - 1 - len)] = 0;
}

size_t alarm_utf8_cut(const char *s, size_t n)
{
	size_t i = n, k = 0;

	/* back over up to 3 continuation bytes to the lead byte */
	while (i > 0 && k < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) {
		i--;
		k++;
	}
	if (i == 0)
		return n;
	unsigned char c = (unsigned char)s[i - 1];
	size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
	if (need == 1)
		return n; /* ASCII (or stray continuation bytes: not ours to judge) */
	return k + 1 < need ? i - 1 : n;
}

int alarm_evaluate(const struct alarm_def *def, enum alarm_state current, const struct alarm_point *pts,
		   size_t n, int64_t now, struct alarm_result *out)
{
	const size_t N = def ? def->evaluation_periods : 0;
	/* DatapointsToAlarm unset: M = N, and CloudWatch's short reason form */
	const int short_form = def && !def->datapoints_to_alarm;
	const size_t M = short_form ? N : def ? def->datapoints_to_alarm
					      : 0;
	size_t k, P = 0, realb = 0, realnb = 0, fills = 0, i;
	const struct alarm_point *w;
	unsigned char *use = NULL;
	enum alarm_state st;
	int insufficient_form = 0, fill_breach = 0;
	struct sbuf jb = { 0 };
	char num[40], tbuf[40];

	if (!out)
		return -1;
	memset(out, 0, sizeof *out);
	if (!def_valid(def) || !pts || !n)
		return -1;
	k = n < N + ALARM_EXTRA_PERIODS ? n : N + ALARM_EXTRA_PERIODS;
	w = pts + (n - k);
	for (i = 0; i < k; i++) {
		if (w[i].t % (int64_t)def->period)
			return -1;
		if (i && w[i].t - w[i - 1].t != (int64_t)def->period)
			return -1;
	}
	use = calloc(k, 1);
	if (!use)
		goto fail;
	for (i = 0; i < k; i++)
		P += real(&w[i]);

	if (P >= N) {
		/* enough real points: the N most recent, the treatment is not needed */
		size_t got = 0;
		for (i = k; i-- > 0 && got < N;)
			if (real(&w[i])) {
				use[i] = 1;
				got++;
			}
	} else if (def->missing == ALARM_MISSING_BREACHING || def->missing == ALARM_MISSING_NOT_BREACHING) {
		/* every real point, and the most recent missing periods filled in */
		size_t need = N - P;
		fill_breach = def->missing == ALARM_MISSING_BREACHING;
		for (i = k; i-- > 0;) {
			if (real(&w[i]))
				use[i] = 1;
			else if (fills < need) {
				use[i] = 1;
				fills++;
			}
		}
	} else {
		/* missing, ignore: the real points alone; report every period of the range */
		for (i = 0; i < k; i++)
			use[i] = 1;
	}
	for (i = 0; i < k; i++)
		if (use[i] && real(&w[i])) {
			if (breaches(def, w[i].v))
				realb++;
			else
				realnb++;
		}

	if (P >= N || fills > 0 || def->missing == ALARM_MISSING_BREACHING ||
	    def->missing == ALARM_MISSING_NOT_BREACHING) {
		size_t b = realb + (fill_breach ? fills : 0);
		st = b >= M ? ALARM_ALARM : ALARM_OK;
	} else if (P == 0) {
		st = def->missing == ALARM_MISSING_MISSING ? ALARM_INSUFFICIENT_DATA : current;
		insufficient_form = 1;
	} else if (realb >= M) {
		st = ALARM_ALARM;
	} else if (realnb > 0) {
		st = ALARM_OK;
	} else {
		/* every real point breaches, fewer than M: premature-alarm rule */
		size_t oldest_age = 0;
		for (i = 0; i < k; i++)
			if (real(&w[i])) {
				oldest_age = k - i;
				break;
			}
		if (oldest_age >= M && def->missing == ALARM_MISSING_MISSING)
			st = ALARM_ALARM;
		else if (oldest_age >= M) {
			st = current;
			insufficient_form = 1;
		} else {
			st = def->missing == ALARM_MISSING_MISSING ? ALARM_INSUFFICIENT_DATA : current;
			insufficient_form = 1;
		}
	}
	out->state = st;
	out->changed = st != current;

	/* StateReason */
#define RCAT(...) reason_cat(out->reason, sizeof out->reason, __VA_ARGS__)
	if (insufficient_form || st == ALARM_INSUFFICIENT_DATA) {
		size_t unknown = k - P;
		snprintf(out->reason, sizeof out->reason, "Insufficient Data: %zu %s %s unknown.", unknown,
			 plural(unknown, "datapoint", "datapoints"), plural(unknown, "was", "were"));
	} else {
		int alarm = st == ALARM_ALARM;
		size_t listed = alarm ? realb : realnb, nlisted = 0;
		const char *treated = fill_breach ? "Breaching" : "NonBreaching";
		size_t min = alarm ? M : N - M + 1;

		snprintf(out->reason, sizeof out->reason, "Threshold Crossed: ");
		if (P == 0 && fills > 0) {
			RCAT("no datapoints were received for %zu %s and %zu missing %s %s treated as [%s].",
			     fills, plural(fills, "period", "periods"), fills,
			     plural(fills, "datapoint", "datapoints"), plural(fills, "was", "were"), treated);
		} else {
			if (listed > 0) {
				if (short_form)
					RCAT("%zu %s [", listed,
					     plural(listed, "datapoint", "datapoints"));
				else
					RCAT("%zu out of the last %zu datapoints [", listed, N);
				for (i = k; i-- > 0;) {
					if (!use[i] || !real(&w[i]) || breaches(def, w[i].v) != alarm)
						continue;
					alarm_format_value(w[i].v, num, sizeof num);
					fmt_reason_time(w[i].t, tbuf, sizeof tbuf);
					RCAT("%s%s (%s)", nlisted ? ", " : "",
					     num, tbuf);
					nlisted++;
				}
				RCAT("] %s %s%s the threshold (",
				     plural(listed, "was", "were"), alarm ? "" : "not ", cmp_words[def->cmp]);
				alarm_format_value(def->threshold, num, sizeof num);
				RCAT("%s)%s", num, fills ? " and " : "");
			}
			if (fills)
				RCAT("%zu missing %s %s treated as [%s]", fills,
				     plural(fills, "datapoint", "datapoints"), plural(fills, "was", "were"),
				     treated);
			if (!short_form)
				RCAT(" (minimum %zu %s for %s transition)", min,
				     plural(min, "datapoint", "datapoints"), alarm ? "OK -> ALARM" : "ALARM -> OK");
			RCAT(".");
		}
	}
#undef RCAT

	/* StateReasonData */
	fmt_json_time(now, tbuf, sizeof tbuf);
	sb_printf(&jb, "{\"version\":\"1.0\",\"queryDate\":\"%s\"", tbuf);
	if (!insufficient_form && st != ALARM_INSUFFICIENT_DATA)
		for (i = 0; i < k; i++)
			if (use[i]) {
				fmt_json_time(w[i].t, tbuf, sizeof tbuf);
				sb_printf(&jb, ",\"startDate\":\"%s\"", tbuf);
				break;
			}
	if (def->statistic) {
		sb_printf(&jb, ",\"statistic\":\"");
		sb_json_str(&jb, def->statistic);
		sb_printf(&jb, "\"");
	}
	sb_printf(&jb, ",\"period\":%u,\"recentDatapoints\":[", def->period);
	{
		int first = 1;
		for (i = 0; i < k; i++)
			if (use[i] && real(&w[i])) {
				alarm_format_value(w[i].v, num, sizeof num);
				sb_printf(&jb, "%s%s", first ? "" : ",", num);
				first = 0;
			}
		alarm_format_value(def->threshold, num, sizeof num);
		sb_printf(&jb, "],\"threshold\":%s,\"evaluatedDatapoints\":[", num);
		first = 1;
		for (i = k; i-- > 0;) {
			if (!use[i])
				continue;
			fmt_json_time(w[i].t, tbuf, sizeof tbuf);
			sb_printf(&jb, "%s{\"timestamp\":\"%s\"", first ? "" : ",", tbuf);
			if (real(&w[i])) {
				if (w[i].samples > 0 && isfinite(w[i].samples)) {
					alarm_format_value(w[i].samples, num, sizeof num);
					sb_printf(&jb, ",\"sampleCount\":%s", num);
				}
				alarm_format_value(w[i].v, num, sizeof num);
				sb_printf(&jb, ",\"value\":%s", num);
			}
			sb_printf(&jb, "}");
			first = 0;
		}
		sb_printf(&jb, "]}");
	}
	if (jb.failed || !jb.s)
		goto fail;
	out->reason_data = jb.s;
	free(use);
	return 0;
fail:
	free(jb.s);
	free(use);
	memset(out, 0, sizeof *out);
	return -1;
}

void alarm_result_free(struct alarm_result *r)
{
	if (!r)
		return;
	free(r->reason_data);
	r->reason_data = NULL;
}
