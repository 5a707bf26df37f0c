/* alarm_rule.c - CloudWatch composite alarm rules: see alarm_rule.h.
 *
 * The tree is an array of nodes; AND and OR are n-ary (a chain of 500 ANDs
 * is one node with 500 children), so the tree is only as deep as the
 * nesting, which the parser limits to AR_MAX_DEPTH. */
#include "control/alarm_rule.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum ar_kind { N_STATE, N_CONST, N_NOT, N_AND, N_OR };

struct ar_node {
	enum ar_kind kind;
	int want;	   /* N_STATE: the state asked for; N_CONST: the value */
	size_t name;	   /* N_STATE: index into names */
	size_t first;	   /* N_NOT/N_AND/N_OR: first child, or SIZE_MAX */
	size_t next;	   /* the next sibling, or SIZE_MAX */
};

struct ar_rule {
	struct ar_node *nodes;
	size_t nnodes, capnodes;
	char **names;
	size_t nnames, capnames;
	size_t root;
};

struct ar_parser {
	const char *text, *p;
	struct ar_rule *r;
	char *err;
	size_t errlen;
	int failed;
	int depth;
};

static void ar_fail(struct ar_parser *ps, const char *at, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	if (ps->failed)
		return;
	ps->failed = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (ps->err && ps->errlen)
		snprintf(ps->err, ps->errlen, "%s at column %zu", msg, (size_t)(at - ps->text) + 1);
}

static size_t ar_node_new(struct ar_parser *ps, enum ar_kind kind)
{
	struct ar_rule *r = ps->r;
	if (r->nnodes == r->capnodes) {
		size_t cap = r->capnodes ? r->capnodes * 2 : 16;
		struct ar_node *n = realloc(r->nodes, cap * sizeof *n);
		if (!n) {
			ar_fail(ps, ps->p, "out of memory");
			return SIZE_MAX;
		}
		r->nodes = n;
		r->capnodes = cap;
	}
	r->nodes[r->nnodes] = (struct ar_node){ kind, 0, 0, SIZE_MAX, SIZE_MAX };
	return r->nnodes++;
}

/* The index of NAME (LEN bytes) in the rule's names, adding it if new. */
static size_t ar_name_add(struct ar_parser *ps, const char *name, size_t len)
{
	struct ar_rule *r = ps->r;
	char *s;
	for (size_t i = 0; i < r->nnames; i++)
		if (strlen(r->names[i]) == len && !memcmp(r->names[i], name, len))
			return i;
	if (r->nnames == AR_MAX_ALARMS) {
		ar_fail(ps, name, "more than %d alarms in the rule", AR_MAX_ALARMS);
		return SIZE_MAX;
	}
	if (r->nnames == r->capnames) {
		size_t cap = r->capnames ? r->capnames * 2 : 8;
		char **n = realloc(r->names, cap * sizeof *n);
		if (!n) {
			ar_fail(ps, ps->p, "out of memory");
			return SIZE_MAX;
		}
		r->names = n;
		r->capnames = cap;
	}
	s = malloc(len + 1);
	if (!s) {
		ar_fail(ps, ps->p, "out of memory");
		return SIZE_MAX;
	}
	memcpy(s, name, len);
	s[len] = '\0';
	r->names[r->nnames] = s;
	return r->nnames++;
}

static int ar_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void ar_skip(struct ar_parser *ps)
{
	while (ar_blank(*ps->p))
		ps->p++;
}

static int ar_wordch(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* The keyword at ps->p: its length (0 when none). */
static size_t ar_word(const char *p)
{
	size_t n = 0;
	while (ar_wordch(p[n]))
		n++;
	return n;
}

static int ar_is(const char *p, size_t n, const char *kw)
{
	return strlen(kw) == n && !memcmp(p, kw, n);
}

static size_t ar_or(struct ar_parser *ps);

/* The argument of ALARM(...), OK(...), INSUFFICIENT_DATA(...): ps->p is
 * past the '('. */
static size_t ar_state_arg(struct ar_parser *ps, int want)
{
	const char *start, *end;
	size_t n, name;
	ar_skip(ps);
	if (*ps->p == '"') {
		start = ++ps->p;
		while (*ps->p && *ps->p != '"')
			ps->p++;
		if (!*ps->p) {
			ar_fail(ps, start - 1, "unterminated quoted alarm name");
			return SIZE_MAX;
		}
		end = ps->p++;
		ar_skip(ps);
		if (*ps->p != ')') {
			ar_fail(ps, ps->p, "expected ')' after the alarm name");
			return SIZE_MAX;
		}
	} else {
		start = ps->p;
		while (*ps->p && *ps->p != ')' && *ps->p != '(' && *ps->p != '"')
			ps->p++;
		if (*ps->p != ')') {
			if (*ps->p)
				ar_fail(ps, ps->p, "unexpected '%c' in an alarm name", *ps->p);
			else
				ar_fail(ps, ps->p, "expected ')' after the alarm name");
			return SIZE_MAX;
		}
		end = ps->p;
		while (end > start && ar_blank(end[-1]))
			end--;
	}
	if (end == start) {
		ar_fail(ps, start, "empty alarm name");
		return SIZE_MAX;
	}
	ps->p++; /* ')' */
	name = ar_name_add(ps, start, (size_t)(end - start));
	if (name == SIZE_MAX)
		return SIZE_MAX;
	n = ar_node_new(ps, N_STATE);
	if (n == SIZE_MAX)
		return SIZE_MAX;
	ps->r->nodes[n].want = want;
	ps->r->nodes[n].name = name;
	return n;
}

/* unary: NOT unary | '(' or ')' | TRUE | FALSE | STATE '(' name ')' */
static size_t ar_unary(struct ar_parser *ps)
{
	const char *at;
	size_t len, n, c;
	ar_skip(ps);
	at = ps->p;
	if (!*at) {
		ar_fail(ps, at, "unexpected end of the rule");
		return SIZE_MAX;
	}
	if (*at == '(') {
		if (++ps->depth > AR_MAX_DEPTH) {
			ar_fail(ps, at, "nesting deeper than %d", AR_MAX_DEPTH);
			return SIZE_MAX;
		}
		ps->p++;
		n = ar_or(ps);
		if (n == SIZE_MAX)
			return SIZE_MAX;
		ar_skip(ps);
		if (*ps->p != ')') {
			ar_fail(ps, ps->p, *ps->p ? "expected ')'" : "missing ')' (end of the rule)");
			return SIZE_MAX;
		}
		ps->p++;
		ps->depth--;
		return n;
	}
	len = ar_word(at);
	if (!len) {
		ar_fail(ps, at, "unexpected '%c'", *at);
		return SIZE_MAX;
	}
	ps->p += len;
	if (ar_is(at, len, "NOT")) {
		if (++ps->depth > AR_MAX_DEPTH) {
			ar_fail(ps, at, "nesting deeper than %d", AR_MAX_DEPTH);
			return SIZE_MAX;
		}
		c = ar_unary(ps);
		if (c == SIZE_MAX)
			return SIZE_MAX;
		ps->depth--;
		n = ar_node_new(ps, N_NOT);
		if (n != SIZE_MAX)
			ps->r->nodes[n].first = c;
		return n;
	}
	if (ar_is(at, len, "TRUE") || ar_is(at, len, "FALSE")) {
		n = ar_node_new(ps, N_CONST);
		if (n != SIZE_MAX)
			ps->r->nodes[n].want = *at == 'T';
		return n;
	}
	{
		int want = ar_is(at, len, "ALARM") ? AR_ALARM
			   : ar_is(at, len, "OK") ? AR_OK
			   : ar_is(at, len, "INSUFFICIENT_DATA") ? AR_INSUFFICIENT_DATA
								 : AR_UNKNOWN;
		if (want == AR_UNKNOWN) {
			ar_fail(ps, at,
				"unknown function or keyword '%.*s' "
				"(expected ALARM, OK, INSUFFICIENT_DATA, NOT, TRUE, FALSE or '(')",
				(int)(len > 40 ? 40 : len), at);
			return SIZE_MAX;
		}
		ar_skip(ps);
		if (*ps->p != '(') {
			ar_fail(ps, ps->p, "expected '(' after %.*s", (int)len, at);
			return SIZE_MAX;
		}
		ps->p++;
		return ar_state_arg(ps, want);
	}
}

/* A chain of OPERAND (KW OPERAND)*: one n-ary node, or the operand alone. */
static size_t ar_chain(struct ar_parser *ps, const char *kw, enum ar_kind kind, size_t (*operand)(struct ar_parser *))
{
	size_t first = operand(ps), n = SIZE_MAX, last = first;
	size_t len;
	if (first == SIZE_MAX)
		return SIZE_MAX;
	for (;;) {
		ar_skip(ps);
		len = ar_word(ps->p);
		if (!ar_is(ps->p, len, kw))
			return n == SIZE_MAX ? first : n;
		ps->p += len;
		if (n == SIZE_MAX) {
			n = ar_node_new(ps, kind);
			if (n == SIZE_MAX)
				return SIZE_MAX;
			ps->r->nodes[n].first = first;
		}
		size_t c = operand(ps);
		if (c == SIZE_MAX)
			return SIZE_MAX;
		ps->r->nodes[last].next = c;
		last = c;
	}
}

static size_t ar_and(struct ar_parser *ps)
{
	return ar_chain(ps, "AND", N_AND, ar_unary);
}

static size_t ar_or(struct ar_parser *ps)
{
	return ar_chain(ps, "OR", N_OR, ar_and);
}

struct ar_rule *ar_parse(const char *text, char *err, size_t errlen)
{
	struct ar_parser ps = { .text = text, .p = text, .err = err, .errlen = errlen };
	size_t len;
	if (err && errlen)
		err[0] = '\0';
	if (!text) {
		if (err && errlen)
			snprintf(err, errlen, "no rule");
		return NULL;
	}
	len = strlen(text);
	if (len > AR_MAX_LEN) {
		if (err && errlen)
			snprintf(err, errlen, "the rule is %zu characters long; the maximum is %d", len, AR_MAX_LEN);
		return NULL;
	}
	ps.r = calloc(1, sizeof *ps.r);
	if (!ps.r) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ar_skip(&ps);
	if (!*ps.p)
		ar_fail(&ps, ps.p, "empty rule");
	else
		ps.r->root = ar_or(&ps);
	if (!ps.failed) {
		ar_skip(&ps);
		if (*ps.p) {
			size_t w = ar_word(ps.p);
			if (w)
				ar_fail(&ps, ps.p, "unexpected '%.*s' (expected AND, OR or the end)",
					(int)(w > 40 ? 40 : w), ps.p);
			else
				ar_fail(&ps, ps.p, "unexpected '%c' (expected AND, OR or the end)", *ps.p);
		}
	}
	if (ps.failed) {
		ar_free(ps.r);
		return NULL;
	}
	return ps.r;
}

void ar_free(struct ar_rule *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nnames; i++)
		free(r->names[i]);
	free(r->names);
	free(r->nodes);
	free(r);
}

size_t ar_names(const struct ar_rule *r, const char *const **names)
{
	*names = (const char *const *)r->names;
	return r->nnames;
}

struct ar_evalctx {
	const struct ar_rule *r;
	int (*state_of)(void *, const char *);
	void *arg;
	int unknown;
};

static int ar_ev(struct ar_evalctx *c, size_t i)
{
	const struct ar_node *n = &c->r->nodes[i];
	int v, s;
	switch (n->kind) {
	case N_STATE:
		s = c->state_of(c->arg, c->r->names[n->name]);
		if (s < AR_OK || s > AR_INSUFFICIENT_DATA) {
			c->unknown = 1;
			return 0;
		}
		return s == n->want;
	case N_CONST:
		return n->want;
	case N_NOT:
		return !ar_ev(c, n->first);
	case N_AND:
	case N_OR:
		v = n->kind == N_AND;
		for (size_t k = n->first; k != SIZE_MAX; k = c->r->nodes[k].next) {
			int x = ar_ev(c, k);
			v = n->kind == N_AND ? (v && x) : (v || x);
		}
		return v;
	}
	return 0;
}

int ar_eval(const struct ar_rule *r, int (*state_of)(void *arg, const char *name), void *arg)
{
	struct ar_evalctx c = { r, state_of, arg, 0 };
	int v = ar_ev(&c, r->root);
	return c.unknown ? -1 : v;
}
