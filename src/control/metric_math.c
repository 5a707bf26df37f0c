/* metric_math.c - see metric_math.h.
 *
 * The semantics follow the CloudWatch user guide, "Metric math syntax and
 * functions" and "Using IF expressions" (docs.aws.amazon.com/AmazonCloudWatch/
 * latest/monitoring/using-metric-math.html):
 *
 *  - "Missing values in a time series are treated as 0. If the value of a
 *    data point causes a function to attempt to divide by zero, the data
 *    point is dropped." So an operation on two series covers the timestamps
 *    of either, the one without a value there counting as 0 (m1 + m2 where
 *    only m1 has a point gives m1's value; 100 * m2 / m1 where no 5XX was
 *    stored gives 0). Any other result that is not a finite number (an
 *    overflow, a negative number to a fractional power) is dropped as well:
 *    NaN and infinity never reach the output.
 *  - Comparisons (== != <= >= < >) give 1 or 0, "the function treats the
 *    missing value in the other time series as 0"; the logical operators are
 *    "AND or &&, OR or ||" (the guide lists no NOT).
 *  - "All functions must be written in uppercase letters"; ids "must start
 *    with a lowercase letter".
 *  - SUM/AVG/MIN/MAX "of a single time series returns a scalar", "of an
 *    array of time series returns a single time series"; for AVG "missing
 *    values are treated as 0". The guide says nothing of missing values in
 *    MIN and MAX of an array: here they look at the values present only.
 *  - METRICS() is every metric of the request, METRICS("s") those whose id
 *    contains s.
 *  - FILL(x, S | TS | REPEAT | LINEAR) fills the missing values: with a
 *    number, with the value of another series at that timestamp, with the
 *    most recent value before the gap (REPEAT), or by linear interpolation
 *    between the values on either side of the gap (LINEAR). A gap before the
 *    first or (LINEAR) after the last value stays empty.
 *  - IF(cond, a, b): see eval_if().
 *  - ABS(x) is the absolute value of a number, a series or an array;
 *    TIME_SERIES(x) makes a time series of the number x: x at every period
 *    of the query's grid (the one FILL fills), nothing when x has no value.
 *  - The arithmetic operators include ^ (power); - is also unary.
 *  - "The final result of any math expression must be a single time series
 *    or an array of time series"; "taking the AVG of a single time series
 *    produces a scalar number, so it can't be the final expression result":
 *    mm_eval() refuses a number. An array comes out as it is, each series
 *    with the label of the one query it comes from (struct mm_value): a
 *    series and a number or an element and a series keep the series' or the
 *    element's label (METRICS() / 100), FILL keeps x's, unary minus and ABS
 *    the operand's; an operation on two series, an aggregate of an array and
 *    IF keep a label only when every series that went in has that one.
 *
 * Precedence, loosest first: OR ||, AND &&, comparisons, + -, * /, unary -,
 * ^ (right-associative, so -2^2 is -4 and 2^3^2 is 512). Every other binary
 * operator is left-associative.
 */
#include "metric_math.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TEXT 2048         /* CloudWatch's limit on MetricDataQuery.Expression (API reference) */
#define MAX_DEPTH 100         /* nested parentheses, brackets, calls, unary minus and ^ */
#define MAX_GRID 1000000      /* periods FILL or TIME_SERIES may fill */

/* the lexer --------------------------------------------------------------- */

enum tok {
	T_END = 0,
	T_NUM,
	T_ID,         /* lowercase first: a series */
	T_NAME,       /* uppercase first: a function or a keyword */
	T_STR,        /* "..." */
	T_LP,
	T_RP,
	T_LB,
	T_RB,
	T_COMMA,
	T_PLUS,
	T_MINUS,
	T_STAR,
	T_SLASH,
	T_CARET,
	T_LT,
	T_LE,
	T_GT,
	T_GE,
	T_EQ,
	T_NE,
	T_AND,        /* AND && */
	T_OR,         /* OR || */
};

struct token {
	enum tok k;
	size_t pos, len;  /* in the text */
	double num;       /* T_NUM */
};

struct parser {
	const char *s;
	size_t slen;
	struct token cur;
	int depth;
	struct mm_expr *e;
	char *err;
	size_t errlen;
	int failed;
};

enum nkind {
	N_NUM = 0,
	N_ID,
	N_NEG,
	N_BIN,
	N_FN,
	N_ARRAY,
	N_METRICS,
	N_REPEAT,
	N_LINEAR,
};

enum fn {
	F_SUM = 0,
	F_AVG,
	F_MIN,
	F_MAX,
	F_FILL,
	F_IF,
	F_METRICS,
	F_ABS,
	F_TIME_SERIES,
};

static const char *const fn_names[] = { "SUM", "AVG", "MIN", "MAX", "FILL", "IF", "METRICS", "ABS", "TIME_SERIES" };
#define NFN (sizeof fn_names / sizeof fn_names[0])

struct node {
	enum nkind kind;
	int op;              /* N_BIN: an enum tok; N_FN: an enum fn */
	size_t col;          /* 1-based column of its first character (of the operator for N_BIN) */
	double num;          /* N_NUM */
	size_t id;           /* N_ID: index into mm_expr.ids */
	char *filter;        /* N_METRICS: the string, NULL: every id */
	struct node **kid;   /* operands, arguments, elements */
	size_t nkid;
};

struct mm_expr {
	struct node *root;
	char **ids;          /* each id once, in order of appearance */
	size_t nids;
	int all;             /* METRICS() appears */
};

static void perr(struct parser *p, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record the first error, with the column of POS (a byte offset). */
static void perr(struct parser *p, size_t pos, const char *fmt, ...)
{
	if (p->failed)
		return;
	p->failed = 1;
	if (!p->err || !p->errlen)
		return;
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s at column %zu", msg, pos + 1);
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static int is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static int is_word(char c)
{
	return is_lower(c) || is_upper(c) || is_digit(c) || c == '_';
}

/* The token at or after byte AT into *T. Returns 0, or -1 after perr(). */
static int lex(struct parser *p, size_t at, struct token *t)
{
	const char *s = p->s;
	size_t i = at;

	while (i < p->slen && is_space(s[i]))
		i++;
	memset(t, 0, sizeof *t);
	t->pos = i;
	if (i >= p->slen) {
		t->k = T_END;
		return 0;
	}
	char c = s[i];
	if (is_digit(c) || (c == '.' && i + 1 < p->slen && is_digit(s[i + 1]))) {
		size_t j = i;
		while (j < p->slen && is_digit(s[j]))
			j++;
		if (j < p->slen && s[j] == '.') {
			j++;
			while (j < p->slen && is_digit(s[j]))
				j++;
		}
		if (j < p->slen && (s[j] == 'e' || s[j] == 'E')) {
			size_t k = j + 1;
			if (k < p->slen && (s[k] == '+' || s[k] == '-'))
				k++;
			if (k >= p->slen || !is_digit(s[k])) {
				perr(p, i, "malformed number");
				return -1;
			}
			while (k < p->slen && is_digit(s[k]))
				k++;
			j = k;
		}
		if (j < p->slen && (is_word(s[j]) || s[j] == '.')) {
			perr(p, i, "malformed number");
			return -1;
		}
		char buf[MAX_TEXT + 1];
		memcpy(buf, s + i, j - i);
		buf[j - i] = 0;
		t->num = strtod(buf, NULL);
		if (!isfinite(t->num)) {
			perr(p, i, "number out of range");
			return -1;
		}
		t->k = T_NUM;
		t->len = j - i;
		return 0;
	}
	if (is_lower(c) || is_upper(c)) {
		size_t j = i;
		while (j < p->slen && is_word(s[j]))
			j++;
		t->len = j - i;
		if (is_lower(c))
			t->k = T_ID;
		else if (t->len == 3 && !memcmp(s + i, "AND", 3))
			t->k = T_AND;
		else if (t->len == 2 && !memcmp(s + i, "OR", 2))
			t->k = T_OR;
		else
			t->k = T_NAME;
		return 0;
	}
	if (c == '"') {
		const char *q = memchr(s + i + 1, '"', p->slen - i - 1);
		if (!q) {
			perr(p, i, "unterminated string");
			return -1;
		}
		t->k = T_STR;
		t->len = (size_t)(q - (s + i)) + 1;
		return 0;
	}
	char d = i + 1 < p->slen ? s[i + 1] : 0;
	t->len = 1;
	switch (c) {
	case '(': t->k = T_LP; return 0;
	case ')': t->k = T_RP; return 0;
	case '[': t->k = T_LB; return 0;
	case ']': t->k = T_RB; return 0;
	case ',': t->k = T_COMMA; return 0;
	case '+': t->k = T_PLUS; return 0;
	case '-': t->k = T_MINUS; return 0;
	case '*': t->k = T_STAR; return 0;
	case '/': t->k = T_SLASH; return 0;
	case '^': t->k = T_CARET; return 0;
	case '<':
		t->k = d == '=' ? T_LE : T_LT;
		t->len = d == '=' ? 2 : 1;
		return 0;
	case '>':
		t->k = d == '=' ? T_GE : T_GT;
		t->len = d == '=' ? 2 : 1;
		return 0;
	case '=':
		if (d == '=') {
			t->k = T_EQ;
			t->len = 2;
			return 0;
		}
		perr(p, i, "unexpected '=' (comparison is '==')");
		return -1;
	case '!':
		if (d == '=') {
			t->k = T_NE;
			t->len = 2;
			return 0;
		}
		break;
	case '&':
		if (d == '&') {
			t->k = T_AND;
			t->len = 2;
			return 0;
		}
		break;
	case '|':
		if (d == '|') {
			t->k = T_OR;
			t->len = 2;
			return 0;
		}
		break;
	default:
		break;
	}
	if (c > ' ' && c < 0x7f)
		perr(p, i, "unexpected character '%c'", c);
	else
		perr(p, i, "unexpected byte 0x%02x", (unsigned char)c);
	return -1;
}

static int advance(struct parser *p)
{
	return lex(p, p->cur.pos + p->cur.len, &p->cur);
}

/* "unexpected ..." for the current token. */
static void unexpected(struct parser *p)
{
	const struct token *t = &p->cur;
	if (t->k == T_END)
		perr(p, t->pos, "unexpected end of expression");
	else if (t->k == T_STR)
		perr(p, t->pos, "unexpected string");
	else
		perr(p, t->pos, "unexpected '%.*s'", (int)(t->len > 32 ? 32 : t->len), p->s + t->pos);
}

/* the parser -------------------------------------------------------------- */

static void node_free(struct node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkid; i++)
		node_free(n->kid[i]);
	free(n->kid);
	free(n->filter);
	free(n);
}

static struct node *node_new(struct parser *p, enum nkind kind, size_t pos)
{
	struct node *n = calloc(1, sizeof *n);
	if (!n) {
		perr(p, pos, "out of memory");
		return NULL;
	}
	n->kind = kind;
	n->col = pos + 1;
	return n;
}

/* Append KID to N; on failure KID is freed. Returns 0 or -1. */
static int node_add(struct parser *p, struct node *n, struct node *kid)
{
	struct node **k = realloc(n->kid, (n->nkid + 1) * sizeof *k);
	if (!k) {
		node_free(kid);
		perr(p, n->col - 1, "out of memory");
		return -1;
	}
	n->kid = k;
	n->kid[n->nkid++] = kid;
	return 0;
}

static struct node *binary(struct parser *p, int op, size_t pos, struct node *l, struct node *r)
{
	struct node *n = node_new(p, N_BIN, pos);
	if (!n) {
		node_free(l);
		node_free(r);
		return NULL;
	}
	n->op = op;
	if (node_add(p, n, l) < 0) {
		node_free(r);
		node_free(n);
		return NULL;
	}
	if (node_add(p, n, r) < 0) {
		node_free(n);
		return NULL;
	}
	return n;
}

static int enter(struct parser *p)
{
	if (++p->depth > MAX_DEPTH) {
		perr(p, p->cur.pos, "expression nests deeper than %d levels", MAX_DEPTH);
		return -1;
	}
	return 0;
}

static struct node *parse_or(struct parser *p);
static struct node *parse_unary(struct parser *p);

/* The id at the current token, interned in the expression. */
static struct node *parse_id(struct parser *p)
{
	const struct token *t = &p->cur;
	struct mm_expr *e = p->e;
	size_t i;

	for (i = 0; i < e->nids; i++)
		if (strlen(e->ids[i]) == t->len && !memcmp(e->ids[i], p->s + t->pos, t->len))
			break;
	if (i == e->nids) {
		char **ids = realloc(e->ids, (e->nids + 1) * sizeof *ids);
		if (!ids) {
			perr(p, t->pos, "out of memory");
			return NULL;
		}
		e->ids = ids;
		if (!(e->ids[e->nids] = strndup(p->s + t->pos, t->len))) {
			perr(p, t->pos, "out of memory");
			return NULL;
		}
		e->nids++;
	}
	struct node *n = node_new(p, N_ID, t->pos);
	if (!n)
		return NULL;
	n->id = i;
	if (advance(p) < 0) {
		node_free(n);
		return NULL;
	}
	return n;
}

static int find_fn(const char *s, size_t len)
{
	for (size_t i = 0; i < NFN; i++)
		if (strlen(fn_names[i]) == len && !memcmp(fn_names[i], s, len))
			return (int)i;
	return -1;
}

/* Is T REPEAT or LINEAR (FILL's second argument)? */
static int fill_keyword(const struct parser *p, const struct token *t)
{
	return t->k == T_NAME && t->len == 6 &&
	       (!memcmp(p->s + t->pos, "REPEAT", 6) || !memcmp(p->s + t->pos, "LINEAR", 6));
}

/* METRICS ( [ "string" ] ): the current token is the '('. */
static struct node *parse_metrics(struct parser *p, size_t pos)
{
	struct node *n = node_new(p, N_METRICS, pos);
	if (!n)
		return NULL;
	p->e->all = 1;
	if (advance(p) < 0)
		goto err;
	if (p->cur.k == T_STR) {
		if (!(n->filter = strndup(p->s + p->cur.pos + 1, p->cur.len - 2))) {
			perr(p, p->cur.pos, "out of memory");
			goto err;
		}
		if (advance(p) < 0)
			goto err;
	}
	if (p->cur.k != T_RP) {
		if (p->cur.k == T_END)
			perr(p, p->cur.pos, "missing ')'");
		else
			perr(p, p->cur.pos, "METRICS takes no argument or one string, unexpected '%.*s'",
			     (int)(p->cur.len > 32 ? 32 : p->cur.len), p->s + p->cur.pos);
		goto err;
	}
	if (advance(p) < 0)
		goto err;
	return n;
err:
	node_free(n);
	return NULL;
}

/* The items of a call or an array, up to and past the closing token CLOSE
 * (T_RP or T_RB), into N's kids; the current token is the first item (or
 * CLOSE, for a call without arguments). FILL_ARGS: the second item may be
 * REPEAT or LINEAR. Returns 0 or -1 (an error is reported). */
static int parse_items(struct parser *p, struct node *n, enum tok close, int fill_args)
{
	if (close == T_RP && p->cur.k == T_RP)
		return advance(p);
	for (;;) {
		struct node *a;
		if (fill_args && n->nkid == 1 && fill_keyword(p, &p->cur)) {
			a = node_new(p, p->s[p->cur.pos] == 'R' ? N_REPEAT : N_LINEAR, p->cur.pos);
			if (a && advance(p) < 0) {
				node_free(a);
				a = NULL;
			}
		} else {
			a = parse_or(p);
		}
		if (!a || node_add(p, n, a) < 0)
			return -1;
		if (p->cur.k == close)
			return advance(p);
		if (p->cur.k == T_END) {
			perr(p, p->cur.pos, close == T_RP ? "missing ')'" : "missing ']'");
			return -1;
		}
		if (p->cur.k != T_COMMA) {
			unexpected(p);
			return -1;
		}
		if (advance(p) < 0)
			return -1;
	}
}

/* NAME ( args ): the current token is the '('. */
static struct node *parse_call(struct parser *p, int fn, size_t pos)
{
	if (fn == F_METRICS)
		return parse_metrics(p, pos);
	struct node *n = node_new(p, N_FN, pos);
	if (!n)
		return NULL;
	n->op = fn;
	if (advance(p) < 0)
		goto err;
	if (parse_items(p, n, T_RP, fn == F_FILL) < 0)
		goto err;
	size_t min = 1, max = 1;
	if (fn == F_FILL)
		min = max = 2;
	else if (fn == F_IF)
		min = 2, max = 3;
	if (n->nkid < min || n->nkid > max) {
		if (min == max)
			perr(p, pos, "%s takes %zu argument%s, not %zu", fn_names[fn], min,
			     min == 1 ? "" : "s", n->nkid);
		else
			perr(p, pos, "%s takes %zu or %zu arguments, not %zu", fn_names[fn], min, max,
			     n->nkid);
		goto err;
	}
	return n;
err:
	node_free(n);
	return NULL;
}

/* [ expr, ... ]: the current token is the '['. */
static struct node *parse_array(struct parser *p)
{
	struct node *n = node_new(p, N_ARRAY, p->cur.pos);
	if (!n)
		return NULL;
	if (advance(p) < 0 || parse_items(p, n, T_RB, 0) < 0)
		goto err;
	return n;
err:
	node_free(n);
	return NULL;
}

static struct node *parse_primary(struct parser *p)
{
	struct token t = p->cur;
	struct node *n;

	switch (t.k) {
	case T_NUM:
		if (!(n = node_new(p, N_NUM, t.pos)))
			return NULL;
		n->num = t.num;
		if (advance(p) < 0) {
			node_free(n);
			return NULL;
		}
		return n;
	case T_ID: {
		struct token nx;
		if (lex(p, t.pos + t.len, &nx) < 0)
			return NULL;
		if (nx.k == T_LP) {
			char up[16];
			for (size_t k = 0; k < t.len && k < sizeof up - 1; k++) {
				char c = p->s[t.pos + k];
				up[k] = is_lower(c) ? (char)(c - 'a' + 'A') : c;
			}
			if (t.len < sizeof up && find_fn(up, t.len) >= 0)
				perr(p, t.pos, "unknown function %.*s (function names are uppercase: %.*s)",
				     (int)t.len, p->s + t.pos, (int)t.len, up);
			else
				perr(p, t.pos, "unknown function %.*s", (int)(t.len > 32 ? 32 : t.len),
				     p->s + t.pos);
			return NULL;
		}
		return parse_id(p);
	}
	case T_NAME: {
		struct token nx;
		if (lex(p, t.pos + t.len, &nx) < 0)
			return NULL;
		int fn = find_fn(p->s + t.pos, t.len);
		if (nx.k == T_LP) {
			if (fn < 0) {
				perr(p, t.pos, "unknown function %.*s", (int)(t.len > 32 ? 32 : t.len),
				     p->s + t.pos);
				return NULL;
			}
			if (enter(p) < 0)
				return NULL;
			p->cur = nx;
			n = parse_call(p, fn, t.pos);
			p->depth--;
			return n;
		}
		if (fn >= 0)
			perr(p, nx.pos, "expected '(' after %s", fn_names[fn]);
		else if (fill_keyword(p, &t))
			perr(p, t.pos, "%.*s is only valid as FILL's second argument", (int)t.len,
			     p->s + t.pos);
		else
			perr(p, t.pos, "unknown name %.*s (ids start with a lowercase letter)",
			     (int)(t.len > 32 ? 32 : t.len), p->s + t.pos);
		return NULL;
	}
	case T_LP:
		if (enter(p) < 0)
			return NULL;
		if (advance(p) < 0)
			return NULL;
		n = parse_or(p);
		p->depth--;
		if (!n)
			return NULL;
		if (p->cur.k != T_RP) {
			if (p->cur.k == T_END)
				perr(p, t.pos, "missing ')' for the '('");
			else
				unexpected(p);
			node_free(n);
			return NULL;
		}
		if (advance(p) < 0) {
			node_free(n);
			return NULL;
		}
		return n;
	case T_LB:
		if (enter(p) < 0)
			return NULL;
		n = parse_array(p);
		p->depth--;
		return n;
	default:
		unexpected(p);
		return NULL;
	}
}

/* primary [ ^ unary ]: right-associative, binds tighter than unary minus */
static struct node *parse_pow(struct parser *p)
{
	struct node *l = parse_primary(p);
	if (!l || p->cur.k != T_CARET)
		return l;
	size_t pos = p->cur.pos;
	if (advance(p) < 0 || enter(p) < 0) {
		node_free(l);
		return NULL;
	}
	struct node *r = parse_unary(p);
	p->depth--;
	if (!r) {
		node_free(l);
		return NULL;
	}
	return binary(p, T_CARET, pos, l, r);
}

static struct node *parse_unary(struct parser *p)
{
	if (p->cur.k != T_MINUS)
		return parse_pow(p);
	size_t pos = p->cur.pos;
	if (enter(p) < 0 || advance(p) < 0)
		return NULL;
	struct node *k = parse_unary(p);
	p->depth--;
	if (!k)
		return NULL;
	struct node *n = node_new(p, N_NEG, pos);
	if (!n || node_add(p, n, k) < 0) {
		if (!n)
			node_free(k);
		node_free(n);
		return NULL;
	}
	return n;
}

/* One left-associative level: operands from SUB joined by the operators in OPS. */
static struct node *parse_level(struct parser *p, struct node *(*sub)(struct parser *), const enum tok *ops,
				size_t nops)
{
	struct node *l = sub(p);
	while (l) {
		size_t i;
		for (i = 0; i < nops; i++)
			if (p->cur.k == ops[i])
				break;
		if (i == nops)
			return l;
		int op = p->cur.k;
		size_t pos = p->cur.pos;
		if (advance(p) < 0) {
			node_free(l);
			return NULL;
		}
		struct node *r = sub(p);
		if (!r) {
			node_free(l);
			return NULL;
		}
		l = binary(p, op, pos, l, r);
	}
	return NULL;
}

static struct node *parse_mul(struct parser *p)
{
	static const enum tok ops[] = { T_STAR, T_SLASH };
	return parse_level(p, parse_unary, ops, 2);
}

static struct node *parse_add(struct parser *p)
{
	static const enum tok ops[] = { T_PLUS, T_MINUS };
	return parse_level(p, parse_mul, ops, 2);
}

static struct node *parse_cmp(struct parser *p)
{
	static const enum tok ops[] = { T_LT, T_LE, T_GT, T_GE, T_EQ, T_NE };
	return parse_level(p, parse_add, ops, 6);
}

static struct node *parse_and(struct parser *p)
{
	static const enum tok ops[] = { T_AND };
	return parse_level(p, parse_cmp, ops, 1);
}

static struct node *parse_or(struct parser *p)
{
	static const enum tok ops[] = { T_OR };
	return parse_level(p, parse_and, ops, 1);
}

void mm_free(struct mm_expr *e)
{
	if (!e)
		return;
	node_free(e->root);
	for (size_t i = 0; i < e->nids; i++)
		free(e->ids[i]);
	free(e->ids);
	free(e);
}

struct mm_expr *mm_parse(const char *text, char *err, size_t errlen)
{
	struct parser p = { .s = text, .err = err, .errlen = errlen };

	if (err && errlen)
		err[0] = 0;
	if (!text)
		text = p.s = "";
	p.slen = strlen(text);
	if (p.slen > MAX_TEXT) {
		if (err && errlen)
			snprintf(err, errlen, "expression longer than %d bytes", MAX_TEXT);
		return NULL;
	}
	if (!(p.e = calloc(1, sizeof *p.e))) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (lex(&p, 0, &p.cur) < 0)
		goto err;
	if (p.cur.k == T_END) {
		if (err && errlen)
			snprintf(err, errlen, "empty expression");
		goto err;
	}
	if (!(p.e->root = parse_or(&p)))
		goto err;
	if (p.cur.k != T_END) {
		unexpected(&p);
		goto err;
	}
	return p.e;
err:
	mm_free(p.e);
	return NULL;
}

size_t mm_ids(const struct mm_expr *e, const char *const **ids, int *all)
{
	if (!e) {
		if (ids)
			*ids = NULL;
		if (all)
			*all = 0;
		return 0;
	}
	if (ids)
		*ids = (const char *const *)e->ids;
	if (all)
		*all = e->all;
	return e->nids;
}

/* values ------------------------------------------------------------------ */

void mm_series_free(struct mm_series *s)
{
	if (!s)
		return;
	free(s->t);
	free(s->v);
	s->t = NULL;
	s->v = NULL;
	s->n = 0;
}

void mm_value_free(struct mm_value *v)
{
	if (!v)
		return;
	for (size_t i = 0; v->ser && i < v->n; i++)
		mm_series_free(&v->ser[i]);
	free(v->ser);
	free(v->label);
	memset(v, 0, sizeof *v);
}

/* Room for N points in S (empty). Returns 0 or -1. */
static int series_alloc(struct mm_series *s, size_t n)
{
	s->n = 0;
	s->t = malloc((n ? n : 1) * sizeof *s->t);
	s->v = malloc((n ? n : 1) * sizeof *s->v);
	if (!s->t || !s->v) {
		mm_series_free(s);
		return -1;
	}
	return 0;
}

/* Append (T, V) unless V is NaN or infinite. */
static void push(struct mm_series *s, int64_t t, double v)
{
	if (isfinite(v)) {
		s->t[s->n] = t;
		s->v[s->n] = v;
		s->n++;
	}
}

enum vkind {
	V_SCALAR = 0,
	V_SERIES,
	V_ARRAY,
};

struct val {
	enum vkind kind;
	double s;               /* V_SCALAR; NaN: no value (AVG of nothing, a division by zero) */
	struct mm_series ts;    /* V_SERIES, owned */
	const char *lab;        /* V_SERIES: its label (struct mm_value), NULL: none */
	struct mm_series *arr;  /* V_ARRAY: NARR owned series */
	const char **labs;      /* V_ARRAY: their labels (room for NARR, allocated with ARR) */
	size_t narr;
};

static void val_free(struct val *v)
{
	mm_series_free(&v->ts);
	for (size_t i = 0; i < v->narr; i++)
		mm_series_free(&v->arr[i]);
	free(v->arr);
	free(v->labs);
	memset(v, 0, sizeof *v);
}

/* Make V an array with room for N series. Returns 0 or -1. */
static int arr_alloc(struct val *v, size_t n)
{
	v->kind = V_ARRAY;
	v->narr = 0;
	v->arr = calloc(n ? n : 1, sizeof *v->arr);
	v->labs = calloc(n ? n : 1, sizeof *v->labs);
	if (!v->arr || !v->labs) {
		free(v->arr);
		free(v->labs);
		v->arr = NULL;
		v->labs = NULL;
		return -1;
	}
	return 0;
}

/* The label of a value made of series labelled A and B: theirs when it is
 * the same (one query's), none otherwise. */
static const char *lab2(const char *a, const char *b)
{
	return a == b ? a : NULL;
}

struct ev {
	const struct mm_expr *e;
	mm_lookup_fn lookup;
	void *arg;
	const char *const *all_ids;
	size_t nall;
	int64_t start, end;
	unsigned period;
	char *err;
	size_t errlen;
	int failed;
};

static void everr(struct ev *ev, size_t col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void everr(struct ev *ev, size_t col, const char *fmt, ...)
{
	if (ev->failed)
		return;
	ev->failed = 1;
	if (!ev->err || !ev->errlen)
		return;
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (col)
		snprintf(ev->err, ev->errlen, "%s at column %zu", msg, col);
	else
		snprintf(ev->err, ev->errlen, "%s", msg);
}

static double apply(int op, double x, double y)
{
	switch (op) {
	case T_PLUS: return x + y;
	case T_MINUS: return x - y;
	case T_STAR: return x * y;
	case T_SLASH: return y == 0 ? NAN : x / y;
	case T_CARET: return pow(x, y);
	case T_LT: return x < y;
	case T_LE: return x <= y;
	case T_GT: return x > y;
	case T_GE: return x >= y;
	case T_EQ: return x == y;
	case T_NE: return x != y;
	case T_AND: return x != 0 && y != 0;
	case T_OR: return x != 0 || y != 0;
	default: return NAN;
	}
}

/* A op B point by point over the timestamps of either, a missing value
 * counting as 0. Returns 0 or -1 (out of memory). */
static int op_ss(int op, const struct mm_series *a, const struct mm_series *b, struct mm_series *o)
{
	if (series_alloc(o, a->n + b->n) < 0)
		return -1;
	size_t i = 0, j = 0;
	while (i < a->n || j < b->n) {
		if (j == b->n || (i < a->n && a->t[i] < b->t[j])) {
			push(o, a->t[i], apply(op, a->v[i], 0));
			i++;
		} else if (i == a->n || b->t[j] < a->t[i]) {
			push(o, b->t[j], apply(op, 0, b->v[j]));
			j++;
		} else {
			push(o, a->t[i], apply(op, a->v[i], b->v[j]));
			i++;
			j++;
		}
	}
	return 0;
}

/* A op K (K op A when K_LEFT) at every point of A; K NaN: nothing. */
static int op_sk(int op, const struct mm_series *a, double k, int k_left, struct mm_series *o)
{
	if (series_alloc(o, a->n) < 0)
		return -1;
	if (isnan(k))
		return 0;
	for (size_t i = 0; i < a->n; i++)
		push(o, a->t[i], k_left ? apply(op, k, a->v[i]) : apply(op, a->v[i], k));
	return 0;
}

/* Merge the timestamps of B into the sorted set *U. Returns 0 or -1. */
static int merge_t(struct mm_series *u, const struct mm_series *b)
{
	struct mm_series m;
	if (series_alloc(&m, u->n + b->n) < 0)
		return -1;
	size_t i = 0, j = 0;
	while (i < u->n || j < b->n) {
		int64_t t;
		if (j == b->n || (i < u->n && u->t[i] < b->t[j]))
			t = u->t[i++];
		else if (i == u->n || b->t[j] < u->t[i])
			t = b->t[j++];
		else
			t = u->t[i++], j++;
		m.t[m.n] = t;
		m.v[m.n] = 0;
		m.n++;
	}
	mm_series_free(u);
	*u = m;
	return 0;
}

struct pt {
	int64_t t;
	double v;
};

static int pt_cmp(const void *a, const void *b)
{
	const struct pt *x = a, *y = b;
	return x->t < y->t ? -1 : x->t > y->t;
}

/* A copy of S into O without NaN or infinite values, sorted, one point per
 * timestamp. Returns 0 or -1 (out of memory). */
static int clean_copy(const struct mm_series *s, struct mm_series *o)
{
	if (series_alloc(o, s->n) < 0)
		return -1;
	int sorted = 1;
	for (size_t i = 0; i < s->n; i++) {
		if (!isfinite(s->v[i]))
			continue;
		if (o->n && o->t[o->n - 1] >= s->t[i])
			sorted = 0;
		push(o, s->t[i], s->v[i]);
	}
	if (!sorted) {
		struct pt *p = malloc((o->n ? o->n : 1) * sizeof *p);
		if (!p) {
			mm_series_free(o);
			return -1;
		}
		for (size_t i = 0; i < o->n; i++)
			p[i] = (struct pt){ o->t[i], o->v[i] };
		qsort(p, o->n, sizeof *p, pt_cmp);
		size_t n = 0;
		for (size_t i = 0; i < o->n; i++) {
			if (n && o->t[n - 1] == p[i].t)
				continue;
			o->t[n] = p[i].t;
			o->v[n] = p[i].v;
			n++;
		}
		o->n = n;
		free(p);
	}
	return 0;
}

/* Read id NAME into O: a series, or an array when NAME is an array-valued
 * expression, copied clean (clean_copy()), with the labels. Returns 0 or
 * -1 after everr(). */
static int load(struct ev *ev, const char *name, size_t col, struct val *o)
{
	const struct mm_value *v = ev->lookup ? ev->lookup(ev->arg, name) : NULL;
	static const struct mm_series none = { 0, NULL, NULL };

	memset(o, 0, sizeof *o);
	if (!v) {
		everr(ev, col, "unknown id %s", name);
		return -1;
	}
	if (!v->array) {
		o->kind = V_SERIES;
		o->lab = v->n && v->label ? v->label[0] : NULL;
		if (clean_copy(v->n ? &v->ser[0] : &none, &o->ts) < 0)
			goto oom;
		return 0;
	}
	if (arr_alloc(o, v->n) < 0)
		goto oom;
	for (size_t i = 0; i < v->n; i++) {
		if (clean_copy(&v->ser[i], &o->arr[i]) < 0)
			goto oom;
		o->labs[i] = v->label ? v->label[i] : NULL;
		o->narr++;
	}
	return 0;
oom:
	val_free(o);
	everr(ev, col, "out of memory");
	return -1;
}

/* The periods start + k period within [start, end) (START is where the
 * queries' periods begin: store_period_origin()), into O, each with value
 * K (NaN: O is empty). Returns 0 or -1 after everr(). */
static int grid(struct ev *ev, size_t col, double k, struct mm_series *o)
{
	int64_t p = ev->period;
	memset(o, 0, sizeof *o);
	if (!p) {
		everr(ev, col, "the period must be positive");
		return -1;
	}
	if (ev->start >= ev->end || ev->start > INT64_MAX - p) {
		if (series_alloc(o, 0) < 0)
			goto oom;
		return 0;
	}
	int64_t first = ev->start;
	uint64_t n = 0;
	if (first < ev->end)
		n = ((uint64_t)(ev->end - 1) - (uint64_t)first) / (uint64_t)p + 1;
	if (n > MAX_GRID) {
		everr(ev, col, "the range holds more than %d periods", MAX_GRID);
		return -1;
	}
	if (series_alloc(o, isnan(k) ? 0 : n) < 0)
		goto oom;
	if (isnan(k))
		return 0;
	for (uint64_t i = 0; i < n; i++)
		push(o, first + (int64_t)i * p, k);
	return 0;
oom:
	everr(ev, col, "out of memory");
	return -1;
}

/* evaluation -------------------------------------------------------------- */

static int eval(struct ev *ev, const struct node *n, struct val *out);

static const char *kind_name(enum vkind k)
{
	return k == V_SCALAR ? "a number" : k == V_SERIES ? "a time series" : "an array of time series";
}

/* A op B for scalars and series (not arrays). OUT takes a scalar or a
 * series: a series keeps the label of its one series, or of both when it
 * is the same. */
static int combine1(int op, const struct val *a, const struct val *b, struct val *out)
{
	memset(out, 0, sizeof *out);
	if (a->kind == V_SCALAR && b->kind == V_SCALAR) {
		out->kind = V_SCALAR;
		out->s = isnan(a->s) || isnan(b->s) ? NAN : apply(op, a->s, b->s);
		if (!isfinite(out->s))
			out->s = NAN;
		return 0;
	}
	out->kind = V_SERIES;
	if (a->kind == V_SERIES && b->kind == V_SERIES) {
		out->lab = lab2(a->lab, b->lab);
		return op_ss(op, &a->ts, &b->ts, &out->ts);
	}
	if (a->kind == V_SERIES) {
		out->lab = a->lab;
		return op_sk(op, &a->ts, b->s, 0, &out->ts);
	}
	out->lab = b->lab;
	return op_sk(op, &b->ts, a->s, 1, &out->ts);
}

static const char *op_name(int op)
{
	switch (op) {
	case T_PLUS: return "+";
	case T_MINUS: return "-";
	case T_STAR: return "*";
	case T_SLASH: return "/";
	case T_CARET: return "^";
	case T_LT: return "<";
	case T_LE: return "<=";
	case T_GT: return ">";
	case T_GE: return ">=";
	case T_EQ: return "==";
	case T_NE: return "!=";
	case T_AND: return "AND";
	case T_OR: return "OR";
	default: return "?";
	}
}

/* A op B where either may be an array (not both): point by point for each
 * series of the array, which keeps its label. */
static int combine(struct ev *ev, int op, size_t col, const struct val *a, const struct val *b,
		   struct val *out)
{
	memset(out, 0, sizeof *out);
	if (a->kind != V_ARRAY && b->kind != V_ARRAY) {
		if (combine1(op, a, b, out) < 0)
			goto oom;
		return 0;
	}
	if (a->kind == V_ARRAY && b->kind == V_ARRAY) {
		everr(ev, col, "'%s' between two arrays of time series is not supported", op_name(op));
		return -1;
	}
	const struct val *arr = a->kind == V_ARRAY ? a : b;
	if (arr_alloc(out, arr->narr) < 0)
		goto oom;
	for (size_t k = 0; k < arr->narr; k++) {
		struct val el = { .kind = V_SERIES, .ts = arr->arr[k] }, r;
		if (combine1(op, a == arr ? &el : a, b == arr ? &el : b, &r) < 0)
			goto oom;
		out->labs[out->narr] = arr->labs[k];
		out->arr[out->narr++] = r.ts;
	}
	return 0;
oom:
	val_free(out);
	everr(ev, col, "out of memory");
	return -1;
}

/* SUM, AVG, MIN or MAX of the values of S; NaN when there is none (SUM: 0). */
static double agg1(int fn, const struct mm_series *s)
{
	if (!s->n)
		return fn == F_SUM ? 0 : NAN;
	double r = s->v[0];
	for (size_t i = 1; i < s->n; i++) {
		double x = s->v[i];
		if (fn == F_SUM || fn == F_AVG)
			r += x;
		else if (fn == F_MIN ? x < r : x > r)
			r = x;
	}
	if (fn == F_AVG)
		r /= (double)s->n;
	return isfinite(r) ? r : NAN;
}

/* SUM, AVG, MIN or MAX across the N series of ARR at each timestamp any of
 * them has: AVG counts a missing value as 0, MIN and MAX skip it. */
static int aggn(int fn, const struct mm_series *arr, size_t n, struct mm_series *o)
{
	struct mm_series u = { 0 };
	size_t *at = calloc(n ? n : 1, sizeof *at);
	if (!at || series_alloc(&u, 0) < 0)
		goto oom;
	for (size_t k = 0; k < n; k++)
		if (merge_t(&u, &arr[k]) < 0)
			goto oom;
	if (series_alloc(o, u.n) < 0)
		goto oom;
	for (size_t i = 0; i < u.n; i++) {
		double r = NAN;
		for (size_t k = 0; k < n; k++) {
			if (at[k] >= arr[k].n || arr[k].t[at[k]] != u.t[i])
				continue;
			double x = arr[k].v[at[k]++];
			if (isnan(r))
				r = x;
			else if (fn == F_SUM || fn == F_AVG)
				r += x;
			else if (fn == F_MIN ? x < r : x > r)
				r = x;
		}
		if (fn == F_AVG)
			r /= (double)n;
		push(o, u.t[i], r);
	}
	free(at);
	mm_series_free(&u);
	return 0;
oom:
	free(at);
	mm_series_free(&u);
	return -1;
}

static int eval_agg(struct ev *ev, const struct node *n, struct val *out)
{
	struct val a;
	if (eval(ev, n->kid[0], &a) < 0)
		return -1;
	int rc = 0;
	if (a.kind == V_SCALAR) {
		everr(ev, n->col, "%s takes a time series or an array of time series, not %s",
		      fn_names[n->op], kind_name(a.kind));
		rc = -1;
	} else if (a.kind == V_SERIES) {
		out->kind = V_SCALAR;
		out->s = agg1(n->op, &a.ts);
	} else {
		out->kind = V_SERIES;
		out->lab = a.narr ? a.labs[0] : NULL;
		for (size_t k = 1; k < a.narr; k++)
			out->lab = lab2(out->lab, a.labs[k]);
		if (aggn(n->op, a.arr, a.narr, &out->ts) < 0) {
			everr(ev, n->col, "out of memory");
			rc = -1;
		}
	}
	val_free(&a);
	return rc;
}

/* ABS(x): the absolute value of a number, of each point of a series, of
 * each point of each series of an array. */
static int eval_abs(struct ev *ev, const struct node *n, struct val *out)
{
	if (eval(ev, n->kid[0], out) < 0)
		return -1;
	if (out->kind == V_SCALAR) {
		out->s = fabs(out->s);
		return 0;
	}
	struct mm_series *s = out->kind == V_SERIES ? &out->ts : out->arr;
	size_t ns = out->kind == V_SERIES ? 1 : out->narr;
	for (size_t k = 0; k < ns; k++)
		for (size_t i = 0; i < s[k].n; i++)
			s[k].v[i] = fabs(s[k].v[i]);
	return 0;
}

/* TIME_SERIES(x): the number x at every period of the query's grid (the
 * one FILL fills); no datapoint when x has no value (AVG of nothing). */
static int eval_time_series(struct ev *ev, const struct node *n, struct val *out)
{
	struct val a;
	if (eval(ev, n->kid[0], &a) < 0)
		return -1;
	if (a.kind != V_SCALAR) {
		everr(ev, n->col, "TIME_SERIES takes a number, not %s", kind_name(a.kind));
		val_free(&a);
		return -1;
	}
	out->kind = V_SERIES;
	if (grid(ev, n->col, a.s, &out->ts) < 0) {
		val_free(out);
		return -1;
	}
	return 0;
}

enum fillmode {
	FILL_VALUE = 0,
	FILL_SERIES,
	FILL_REPEAT,
	FILL_LINEAR,
};

/* X with every period of G that X has no value at filled as MODE says
 * (K the number, F the series). X's own points are all kept. */
static int fill1(const struct mm_series *x, const struct mm_series *g, enum fillmode mode, double k,
		 const struct mm_series *f, struct mm_series *o)
{
	if (series_alloc(o, x->n + g->n) < 0)
		return -1;
	size_t i = 0, j = 0, fi = 0;
	while (i < x->n || j < g->n) {
		if (j == g->n || (i < x->n && x->t[i] <= g->t[j])) {
			if (j < g->n && x->t[i] == g->t[j])
				j++;
			push(o, x->t[i], x->v[i]);
			i++;
			continue;
		}
		int64_t t = g->t[j++];
		double v = NAN;
		switch (mode) {
		case FILL_VALUE:
			v = k;
			break;
		case FILL_SERIES:
			while (fi < f->n && f->t[fi] < t)
				fi++;
			if (fi < f->n && f->t[fi] == t)
				v = f->v[fi];
			break;
		case FILL_REPEAT:
			if (i > 0)
				v = x->v[i - 1];
			break;
		case FILL_LINEAR:
			if (i > 0 && i < x->n) {
				double t0 = (double)x->t[i - 1], t1 = (double)x->t[i];
				v = x->v[i - 1] + (x->v[i] - x->v[i - 1]) * ((double)t - t0) / (t1 - t0);
			}
			break;
		}
		push(o, t, v);
	}
	return 0;
}

/* FILL(x, ...): the result keeps x's labels (the filling series' do not
 * count). */
static int eval_fill(struct ev *ev, const struct node *n, struct val *out)
{
	struct val x = { 0 }, f = { 0 };
	struct mm_series g = { 0 };
	enum fillmode mode = FILL_VALUE;
	const struct node *fk = n->kid[1];

	if (eval(ev, n->kid[0], &x) < 0)
		return -1;
	if (x.kind == V_SCALAR) {
		everr(ev, n->col, "FILL takes a time series or an array of time series, not %s",
		      kind_name(x.kind));
		goto err;
	}
	if (fk->kind == N_REPEAT) {
		mode = FILL_REPEAT;
	} else if (fk->kind == N_LINEAR) {
		mode = FILL_LINEAR;
	} else {
		if (eval(ev, fk, &f) < 0)
			goto err;
		if (f.kind == V_ARRAY) {
			everr(ev, fk->col, "FILL's value cannot be an array of time series");
			goto err;
		}
		mode = f.kind == V_SERIES ? FILL_SERIES : FILL_VALUE;
	}
	if (grid(ev, n->col, 0, &g) < 0)
		goto err;
	if (mode == FILL_VALUE && isnan(f.s))
		mode = FILL_SERIES; /* a number without a value fills nothing: F's series is empty */
	if (x.kind == V_SERIES) {
		out->kind = V_SERIES;
		out->lab = x.lab;
		if (fill1(&x.ts, &g, mode, f.s, &f.ts, &out->ts) < 0)
			goto oom;
	} else {
		if (arr_alloc(out, x.narr) < 0)
			goto oom;
		for (size_t k = 0; k < x.narr; k++) {
			if (fill1(&x.arr[k], &g, mode, f.s, &f.ts, &out->arr[k]) < 0)
				goto oom;
			out->labs[k] = x.labs[k];
			out->narr++;
		}
	}
	val_free(&x);
	val_free(&f);
	mm_series_free(&g);
	return 0;
oom:
	everr(ev, n->col, "out of memory");
err:
	val_free(out);
	val_free(&x);
	val_free(&f);
	mm_series_free(&g);
	return -1;
}

/* The value of S at T into *V; 0: there is none. *AT walks S forward. */
static int value_at(const struct mm_series *s, size_t *at, int64_t t, double *v)
{
	while (*at < s->n && s->t[*at] < t)
		(*at)++;
	if (*at < s->n && s->t[*at] == t) {
		*v = s->v[*at];
		return 1;
	}
	return 0;
}

/* IF(cond, a[, b]), per "Using IF expressions":
 *  - a condition is false when 0, true otherwise;
 *  - a scalar condition picks a or b whole (b omitted: an empty series);
 *  - a series condition gives a point at each of its own timestamps: when
 *    true, a's value (a series without a point there gives 0), when false,
 *    b's value (no point when b is omitted or, a series, has none there).
 * Arrays are not allowed. The result has the label its series arguments
 * share (IF(m1 > 5, m1, 0) is m1's), none when they differ. */
static int eval_if(struct ev *ev, const struct node *n, struct val *out)
{
	struct val v[3] = { { 0 } };
	size_t nv = n->nkid;
	int rc = -1;

	for (size_t i = 0; i < nv; i++) {
		if (eval(ev, n->kid[i], &v[i]) < 0)
			goto out;
		if (v[i].kind == V_ARRAY) {
			everr(ev, n->kid[i]->col, "IF does not take an array of time series");
			goto out;
		}
	}
	if (v[0].kind == V_SCALAR) {
		double c = v[0].s;
		size_t pick = c != 0 ? 1 : 2;
		if (isnan(c) || pick >= nv) {
			out->kind = V_SERIES;
			if (series_alloc(&out->ts, 0) < 0)
				goto oom;
		} else {
			*out = v[pick];
			memset(&v[pick], 0, sizeof v[pick]);
		}
		rc = 0;
		goto out;
	}
	const struct mm_series *c = &v[0].ts;
	size_t at1 = 0, at2 = 0;
	out->kind = V_SERIES;
	out->lab = v[0].lab;
	for (size_t i = 1; i < nv; i++)
		if (v[i].kind == V_SERIES)
			out->lab = lab2(out->lab, v[i].lab);
	if (series_alloc(&out->ts, c->n) < 0)
		goto oom;
	for (size_t i = 0; i < c->n; i++) {
		int64_t t = c->t[i];
		double r = NAN;
		if (c->v[i] != 0) {
			if (v[1].kind == V_SCALAR)
				r = v[1].s;
			else if (!value_at(&v[1].ts, &at1, t, &r))
				r = 0;
		} else if (nv == 3) {
			if (v[2].kind == V_SCALAR)
				r = v[2].s;
			else if (!value_at(&v[2].ts, &at2, t, &r))
				r = NAN;
		}
		push(&out->ts, t, r);
	}
	rc = 0;
	goto out;
oom:
	everr(ev, n->col, "out of memory");
out:
	for (size_t i = 0; i < 3; i++)
		val_free(&v[i]);
	if (rc < 0)
		val_free(out);
	return rc;
}

/* Append EL (a series or an array, taken: EL is left empty) to the array
 * OUT. Returns 0 or -1 (out of memory). */
static int arr_take(struct val *out, struct val *el)
{
	size_t add = el->kind == V_SERIES ? 1 : el->narr;
	struct mm_series *a = realloc(out->arr, (out->narr + add + 1) * sizeof *a);
	if (!a)
		return -1;
	out->arr = a;
	const char **l = realloc(out->labs, (out->narr + add + 1) * sizeof *l);
	if (!l)
		return -1;
	out->labs = l;
	if (el->kind == V_SERIES) {
		out->labs[out->narr] = el->lab;
		out->arr[out->narr++] = el->ts;
		memset(&el->ts, 0, sizeof el->ts);
	} else if (el->narr) {
		memcpy(out->arr + out->narr, el->arr, el->narr * sizeof *el->arr);
		memcpy(out->labs + out->narr, el->labs, el->narr * sizeof *el->labs);
		out->narr += el->narr;
		el->narr = 0;
	}
	val_free(el);
	return 0;
}

static int eval_metrics(struct ev *ev, const struct node *n, struct val *out)
{
	out->kind = V_ARRAY;
	for (size_t i = 0; i < ev->nall; i++) {
		const char *id = ev->all_ids[i];
		struct val el;
		if (!id || (n->filter && !strstr(id, n->filter)))
			continue;
		if (load(ev, id, n->col, &el) < 0)
			goto err;
		if (arr_take(out, &el) < 0) {
			val_free(&el);
			everr(ev, n->col, "out of memory");
			goto err;
		}
	}
	return 0;
err:
	val_free(out);
	return -1;
}

/* Flatten the elements of an array literal: series, or arrays (METRICS()). */
static int eval_array(struct ev *ev, const struct node *n, struct val *out)
{
	out->kind = V_ARRAY;
	for (size_t i = 0; i < n->nkid; i++) {
		struct val el;
		if (eval(ev, n->kid[i], &el) < 0)
			goto err;
		if (el.kind == V_SCALAR) {
			everr(ev, n->kid[i]->col, "an array holds time series, not numbers");
			val_free(&el);
			goto err;
		}
		if (arr_take(out, &el) < 0) {
			val_free(&el);
			everr(ev, n->col, "out of memory");
			goto err;
		}
	}
	return 0;
err:
	val_free(out);
	return -1;
}

/* Evaluate N into OUT (zeroed first). Returns 0 or -1 after everr(). */
static int eval(struct ev *ev, const struct node *n, struct val *out)
{
	memset(out, 0, sizeof *out);
	switch (n->kind) {
	case N_NUM:
		out->kind = V_SCALAR;
		out->s = n->num;
		return 0;
	case N_ID:
		return load(ev, ev->e->ids[n->id], n->col, out);
	case N_NEG: {
		struct val a, zero = { .kind = V_SCALAR, .s = 0 };
		if (eval(ev, n->kid[0], &a) < 0)
			return -1;
		int rc = combine(ev, T_MINUS, n->col, &zero, &a, out);
		val_free(&a);
		return rc;
	}
	case N_BIN: {
		struct val a, b;
		if (eval(ev, n->kid[0], &a) < 0)
			return -1;
		if (eval(ev, n->kid[1], &b) < 0) {
			val_free(&a);
			return -1;
		}
		int rc = combine(ev, n->op, n->col, &a, &b, out);
		val_free(&a);
		val_free(&b);
		return rc;
	}
	case N_FN:
		switch (n->op) {
		case F_SUM:
		case F_AVG:
		case F_MIN:
		case F_MAX:
			return eval_agg(ev, n, out);
		case F_ABS:
			return eval_abs(ev, n, out);
		case F_FILL:
			return eval_fill(ev, n, out);
		case F_IF:
			return eval_if(ev, n, out);
		case F_TIME_SERIES:
			return eval_time_series(ev, n, out);
		default:
			break;
		}
		break;
	case N_ARRAY:
		return eval_array(ev, n, out);
	case N_METRICS:
		return eval_metrics(ev, n, out);
	case N_REPEAT:
	case N_LINEAR:
		everr(ev, n->col, "REPEAT and LINEAR are only valid as FILL's second argument");
		return -1;
	}
	everr(ev, n->col, "cannot evaluate this");
	return -1;
}

int mm_eval(const struct mm_expr *e, mm_lookup_fn lookup, void *arg, const char *const *all_ids,
	    size_t nall, int64_t start, int64_t end, unsigned period, struct mm_value *out, char *err,
	    size_t errlen)
{
	struct ev ev = {
		.e = e, .lookup = lookup, .arg = arg, .all_ids = all_ids, .nall = all_ids ? nall : 0,
		.start = start, .end = end, .period = period, .err = err, .errlen = errlen,
	};
	struct val r;

	memset(out, 0, sizeof *out);
	if (err && errlen)
		err[0] = 0;
	if (!e || !e->root) {
		everr(&ev, 0, "no expression");
		return -1;
	}
	if (eval(&ev, e->root, &r) < 0)
		return -1;
	switch (r.kind) {
	case V_SERIES:
		out->ser = malloc(sizeof *out->ser);
		out->label = malloc(sizeof *out->label);
		if (!out->ser || !out->label)
			goto oom;
		out->n = 1;
		out->ser[0] = r.ts;
		out->label[0] = r.lab;
		memset(&r.ts, 0, sizeof r.ts);
		break;
	case V_ARRAY:
		out->array = 1;
		out->n = r.narr;
		out->ser = r.arr;
		out->label = r.labs;
		memset(&r, 0, sizeof r);
		break;
	case V_SCALAR:
		/* the user guide: "taking the AVG of a single time series
		 * produces a scalar number, so it can't be the final
		 * expression result" */
		everr(&ev, 0, "the result is a single number, not a time series; the final result of an "
			      "expression must be a time series or an array of time series (TIME_SERIES(x) "
			      "makes a time series of the number x)");
		val_free(&r);
		return -1;
	}
	val_free(&r);
	return 0;
oom:
	val_free(&r);
	mm_value_free(out);
	everr(&ev, 0, "out of memory");
	return -1;
}

/* the kind of a result, without the data ---------------------------------- */

struct kctx {
	const struct mm_expr *e;
	enum mm_kind (*id_kind)(void *arg, const char *id);
	void *arg;
};

static enum mm_kind kind_of(const struct kctx *k, const struct node *n)
{
	enum mm_kind a, b, c;

	switch (n->kind) {
	case N_NUM:
		return MM_SCALAR;
	case N_ID:
		return k->id_kind ? k->id_kind(k->arg, k->e->ids[n->id]) : MM_SERIES;
	case N_NEG:
		return kind_of(k, n->kid[0]);
	case N_BIN:
		a = kind_of(k, n->kid[0]);
		b = kind_of(k, n->kid[1]);
		if (a == MM_UNKNOWN || b == MM_UNKNOWN || (a == MM_ARRAY && b == MM_ARRAY))
			return MM_UNKNOWN;
		if (a == MM_ARRAY || b == MM_ARRAY)
			return MM_ARRAY;
		return a == MM_SERIES || b == MM_SERIES ? MM_SERIES : MM_SCALAR;
	case N_FN:
		a = kind_of(k, n->kid[0]);
		switch (n->op) {
		case F_SUM:
		case F_AVG:
		case F_MIN:
		case F_MAX:
			return a == MM_SERIES ? MM_SCALAR : a == MM_ARRAY ? MM_SERIES : MM_UNKNOWN;
		case F_ABS:
			return a;
		case F_FILL:
			return a == MM_SCALAR ? MM_UNKNOWN : a;
		case F_TIME_SERIES:
			return a == MM_SCALAR ? MM_SERIES : MM_UNKNOWN;
		case F_IF:
			b = kind_of(k, n->kid[1]);
			c = n->nkid > 2 ? kind_of(k, n->kid[2]) : MM_SERIES; /* omitted: an empty series */
			if (a == MM_ARRAY || b == MM_ARRAY || c == MM_ARRAY || a == MM_UNKNOWN ||
			    b == MM_UNKNOWN || c == MM_UNKNOWN)
				return MM_UNKNOWN;
			if (a == MM_SERIES)
				return MM_SERIES;
			return b == c ? b : MM_UNKNOWN; /* a number picks one of them */
		default:
			return MM_UNKNOWN;
		}
	case N_ARRAY:
		for (size_t i = 0; i < n->nkid; i++) {
			a = kind_of(k, n->kid[i]);
			if (a == MM_SCALAR || a == MM_UNKNOWN)
				return MM_UNKNOWN;
		}
		return MM_ARRAY;
	case N_METRICS:
		return MM_ARRAY;
	case N_REPEAT:
	case N_LINEAR:
		break;
	}
	return MM_UNKNOWN;
}

enum mm_kind mm_kind(const struct mm_expr *e, enum mm_kind (*id_kind)(void *arg, const char *id), void *arg)
{
	if (!e || !e->root)
		return MM_UNKNOWN;
	struct kctx k = { e, id_kind, arg };
	return kind_of(&k, e->root);
}
