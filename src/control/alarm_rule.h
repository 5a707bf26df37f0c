/* alarm_rule.h - CloudWatch composite alarm rules (PutCompositeAlarm's
 * AlarmRule), parsed once into a tree and evaluated against the states of
 * the alarms they name.
 *
 * Syntax, as the CloudWatch API reference (PutCompositeAlarm, AlarmRule)
 * and the user guide ("Creating a composite alarm") describe it:
 *   ALARM(name)              true if the alarm is in ALARM state
 *   OK(name)                 true if the alarm is in OK state
 *   INSUFFICIENT_DATA(name)  true if the alarm is in INSUFFICIENT_DATA state
 *   TRUE, FALSE              constants ("useful for testing a complex
 *                            AlarmRule structure")
 *   AND, OR, NOT, ( )        "operators (AND, OR and NOT) to combine multiple
 *                            functions", "parenthesis to logically group"
 * "Alarm names specified in AlarmRule can be surrounded with double-quotes
 * ("), but do not have to be": ALARM("my alarm") and ALARM(my-alarm) are
 * the same; an unquoted name runs to the ')' (surrounding blanks dropped).
 * A name may be an alarm name or an ARN. Keywords are upper case.
 * "The maximum length is 10240 characters" (AlarmRule's constraint), and
 * "The rule expression of a composite alarm can include as many as 100
 * underlying alarms" (PutCompositeAlarm): at most AR_MAX_ALARMS distinct
 * names.
 *
 * Precedence: the documentation does not state one (its examples put
 * parentheses around every mix of AND and OR, e.g.
 * "(ALARM(CPUUtilizationTooHigh) OR ALARM(DiskReadOpsTooHigh)) AND
 * OK(NetworkOutTooHigh)"), so albd uses the usual boolean one: NOT binds
 * tightest, then AND, then OR; AND and OR are associative, so a chain needs
 * no grouping. Nesting (parentheses and NOTs) is limited to AR_MAX_DEPTH,
 * so neither parsing nor evaluation can exhaust the stack.
 *
 * Sources: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html
 *          https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Composite_Alarm.html
 *
 * Thread: any; a parsed rule is immutable and may be shared by readers.
 */
#ifndef ALBD_ALARM_RULE_H
#define ALBD_ALARM_RULE_H

#include <stddef.h>

#define AR_MAX_LEN 10240
#define AR_MAX_DEPTH 100
#define AR_MAX_ALARMS 100

/* The states state_of reports. */
enum ar_state { AR_UNKNOWN = -1, AR_OK = 0, AR_ALARM = 1, AR_INSUFFICIENT_DATA = 2 };

struct ar_rule;

/* Parse TEXT (NUL-terminated). Returns the rule (the caller's: ar_free) or
 * NULL with a message in ERR that names the problem and its 1-based column
 * ("expected ')' at column 14"). ERR may be NULL when ERRLEN is 0.
 * Thread: any; pure. */
struct ar_rule *ar_parse(const char *text, char *err, size_t errlen);

/* Free R. NULL is ignored. Thread: any, but not while another thread uses R. */
void ar_free(struct ar_rule *r);

/* The alarm names R refers to, each once, in order of first appearance.
 * *NAMES is set to an array owned by R, valid while R lives. Returns the
 * count. Thread: any; pure. */
size_t ar_names(const struct ar_rule *r, const char *const **names);

/* Evaluate R: STATE_OF(ARG, name) gives each named alarm's state (an enum
 * ar_state). Returns 1 (the rule holds: the composite alarm is in ALARM),
 * 0 (it does not), or -1 when a named alarm's state is unknown (every name
 * is looked up, whatever the operators would short-circuit). Thread: any;
 * pure (as pure as STATE_OF). */
int ar_eval(const struct ar_rule *r, int (*state_of)(void *arg, const char *name), void *arg);

#endif
