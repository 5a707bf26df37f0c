/* exchange.c - see exchange.h (exchange_end() itself is in proxy.c, where
 * the session it ends lives). */
#include "exchange.h"

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
