/* exchange.c - see exchange.h (exchange_end() itself is in proxy.c, where
 * the session it ends lives). */
#include "exchange.h"

#include <event2/buffer.h>

static const char *const outcome_names[] = {
#define X(e, s) [e] = s,
	EXCHANGE_OUTCOMES(X)
#undef X
};

const char *exchange_outcome_name(enum exchange_outcome outcome)
{
	if ((unsigned)outcome >= EXCH_NOUTCOMES)
		return "InternalError";
	return outcome_names[outcome];
}

const char *exchange_trace(const struct exchange *ex, size_t *len)
{
	struct evbuffer_ptr at;
	struct evbuffer_iovec v;

	*len = 0;
	if (!ex->trace_len || !ex->head_out ||
	    evbuffer_ptr_set(ex->head_out, &at, ex->trace_off, EVBUFFER_PTR_SET) < 0 ||
	    evbuffer_peek(ex->head_out, ex->trace_len, &at, &v, 1) < 1 || v.iov_len < ex->trace_len)
		return NULL;   /* the head is written in one piece: never split */
	*len = ex->trace_len;
	return v.iov_base;
}

int exchange_trace_len(const struct exchange *ex)
{
	size_t n;

	return exchange_trace(ex, &n) ? (int)n : 1;
}

const char *exchange_trace_text(const struct exchange *ex)
{
	size_t n;
	const char *t = exchange_trace(ex, &n);

	return t ? t : "-";
}
