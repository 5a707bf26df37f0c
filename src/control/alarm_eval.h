/* alarm_eval.h - CloudWatch metric alarm evaluation, as a pure function: the
 * caller passes the alarm's definition, its current state, the datapoints of
 * the evaluation range and the time; out come the new state, CloudWatch's
 * StateReason text and its StateReasonData JSON. No I/O, no clock, no store.
 *
 * What AWS documents, and this follows (the CloudWatch user guide, "Using
 * Amazon CloudWatch alarms", AlarmThatSendsEmail.md in
 * github.com/awsdocs/amazon-cloudwatch-user-guide, sections "Evaluating an
 * alarm" and "Configuring how CloudWatch alarms treat missing data"):
 *
 *  - "Evaluation Periods is the number of the most recent periods, or data
 *    points, to evaluate"; "Datapoints to Alarm is the number of data points
 *    within the evaluation period that must be breaching to cause the alarm
 *    to go to the ALARM state. The breaching data points do not have to be
 *    consecutive" (M out of N).
 *  - "CloudWatch attempts to retrieve a higher number of data points than
 *    specified by Evaluation Periods ... the evaluation range"; its tables
 *    use N = 3 and "CloudWatch retrieves the 5 most recent data points". The
 *    exact number "depends on the length of the alarm period" and is not
 *    published: alarm_eval_range() gives N + 2, the tables' number.
 *  - "If some data points in the evaluation range are missing, but the
 *    number of existing data points retrieved is equal to or more than the
 *    alarm's Evaluation Periods, CloudWatch evaluates the alarm state based
 *    on the most recent existing data points" - the treatment is ignored.
 *  - Otherwise "CloudWatch fills in the missing data points with the result
 *    you specified for how to treat missing data ... all real data points in
 *    the evaluation range are included ... CloudWatch uses missing data
 *    points only as few times as possible", and "the two most recent missing
 *    data points are both treated as breaching": breaching/notBreaching fill
 *    the N - P most recent missing periods (P real points), and the alarm is
 *    ALARM when at least M of the N are breaching, else OK.
 *  - missing: "The alarm does not consider missing data points"; ignore:
 *    "The current alarm state is maintained". With no real point at all in
 *    the range: missing -> INSUFFICIENT_DATA, ignore -> keep the state,
 *    breaching -> ALARM, notBreaching -> OK (the tables' "- - - - -" row).
 *    With some real points but fewer than N, the tables give (3 of 3:
 *    "0 - - - -" OK, "- - - - X" INSUFFICIENT_DATA/retain, "- - X - -"
 *    ALARM/retain, older edition "X - - - -" ALARM/retain; 2 of 3: "- - - - 0"
 *    OK, "0 - X - -" OK, "- - - X -" ALARM/retain), which this reads as: the
 *    real points alone reaching M breaching -> ALARM; else any real
 *    non-breaching point -> OK; else (all real points breaching) "alarms are
 *    designed to always go into ALARM state when the oldest available
 *    breaching datapoint ... is at least as old as the value of Datapoints
 *    to Alarm, and all other more recent data points are breaching or
 *    missing" (section "Avoiding premature transitions to alarm state") ->
 *    ALARM for missing, the current state kept for ignore; else
 *    INSUFFICIENT_DATA for missing, the current state kept for ignore. The
 *    older edition says of "X - - - -": "the oldest evaluated data point is
 *    breaching and there aren't any non-breaching data points". (The prose
 *    alone would make 2-of-3 "0 - X - -" ALARM; the table says OK, see
 *    awsdocs/amazon-cloudwatch-user-guide issue #129; the table wins here.)
 *
 * StateReason wording, from alarm reasons CloudWatch wrote, quoted in public
 * repositories and in the user guide's EventBridge example:
 *   "Threshold Crossed: 3 out of the last 3 datapoints [20000.0 (08/11/22
 *   11:25:00), 20000.0 (08/11/22 11:24:00), 20000.0 (08/11/22 11:23:00)] were
 *   greater than the threshold (0.0) (minimum 1 datapoint for OK -> ALARM
 *   transition)." (user guide); "Threshold Crossed: 2 out of the last 2
 *   datapoints [0.0175... (13/04/21 16:04:00), 0.0157... (13/04/21 16:03:00)]
 *   were not greater than the threshold (40.0) (minimum 1 datapoint for ALARM
 *   -> OK transition)."; "Threshold Crossed: 1 out of the last 1 datapoints
 *   [6.046241709654764 (15/08/18 21:15:00)] was less than or equal to the
 *   threshold (70.0) (minimum 1 datapoint for OK -> ALARM transition)."
 *   (aws/aws-sdk-java issue #1723); "Insufficient Data: 5 datapoints were
 *   unknown.". So: the listed points are newest first, with the time as
 *   dd/mm/yy HH:MM:SS UTC; for ALARM the breaching ones, for OK the
 *   non-breaching ones; ALARM -> OK needs N - M + 1 non-breaching points;
 *   values print like Java's Double.toString ("40.0", "0.01758096118768056",
 *   "1.0E-4"). Alarms without DatapointsToAlarm (datapoints_to_alarm 0
 *   here, M = N) get CloudWatch's short form, with no "out of the last" and
 *   no minimum: "Threshold Crossed: 1 datapoint [1.0 (15/05/25 15:29:00)]
 *   was greater than the threshold (0.0)." (an SQS alarm with
 *   EvaluationPeriods 1 and no DatapointsToAlarm, quoted in a public test
 *   fixture). Filled-in points, from real reasons quoted in public
 *   repositories: "Threshold Crossed: no datapoints were received for 2
 *   periods and 2 missing datapoints were treated as [Breaching]." (and
 *   [NonBreaching] for notBreaching); mixed: "Threshold Crossed: 1 datapoint
 *   [2.0 (19/08/26 09:36:00)] was not less than or equal to the threshold
 *   (0.0) and 7 missing datapoints were treated as [Breaching]." (an OK
 *   alarm: the fills are named whichever way the state went). For the "M out
 *   of N" form with fills no real example was found; this writes "... the
 *   threshold (10.0) and 2 missing datapoints were treated as [Breaching]
 *   (minimum 2 datapoints for OK -> ALARM transition).".
 *
 * StateReasonData, likewise: {"version":"1.0","queryDate":
 * "2021-04-13T16:06:38.066+0000","startDate":"2021-04-13T16:03:00.000+0000",
 * "statistic":"Average","period":60,"recentDatapoints":[0.0157...,0.0175...],
 * "threshold":40.0,"evaluatedDatapoints":[{"timestamp":
 * "2021-04-13T16:04:00.000+0000","sampleCount":1.0,"value":0.0175...}]};
 * for INSUFFICIENT_DATA no startDate, "recentDatapoints":[] and timestamps
 * only. recentDatapoints are oldest first, evaluatedDatapoints newest first;
 * this lists every evaluated point (CloudWatch often lists only the newest).
 *
 * Decisions: a NaN or infinite value is a missing datapoint (JSON cannot
 * carry it, and CloudWatch refuses such values at PutMetricData).
 */
#ifndef ALBD_ALARM_EVAL_H
#define ALBD_ALARM_EVAL_H

#include <stddef.h>
#include <stdint.h>

enum alarm_state { ALARM_OK,
		   ALARM_ALARM,
		   ALARM_INSUFFICIENT_DATA };

/* GreaterThanThreshold, GreaterThanOrEqualToThreshold, LessThanThreshold,
 * LessThanOrEqualToThreshold. */
enum alarm_cmp { ALARM_CMP_GT,
		 ALARM_CMP_GE,
		 ALARM_CMP_LT,
		 ALARM_CMP_LE };

/* TreatMissingData: missing (the default), ignore, breaching, notBreaching. */
enum alarm_missing { ALARM_MISSING_MISSING,
		     ALARM_MISSING_IGNORE,
		     ALARM_MISSING_BREACHING,
		     ALARM_MISSING_NOT_BREACHING };

struct alarm_def {
	unsigned period;              /* seconds, > 0 */
	unsigned evaluation_periods;  /* N, >= 1 */
	unsigned datapoints_to_alarm; /* M, 1 <= M <= N; 0 = not set: M = N, short reasons */
	enum alarm_cmp cmp;
	double threshold; /* finite */
	enum alarm_missing missing;
	const char *statistic; /* for StateReasonData; NULL leaves it out */
};

/* One period's datapoint: T is the period's start (a multiple of the period
 * since the epoch). PRESENT 0 means no datapoint; SAMPLES > 0 is written as
 * sampleCount in the reason data, 0 leaves it out. */
struct alarm_point {
	int64_t t;
	int present;
	double v;
	double samples;
};

struct alarm_result {
	enum alarm_state state;
	int changed;       /* state != the current state passed in */
	char reason[1024]; /* StateReason; cut at a character boundary if long */
	char *reason_data; /* StateReasonData JSON, malloc'd: alarm_result_free() */
};

/* The evaluation range of DEF: how many periods, ending with the newest, the
 * caller should pass to alarm_evaluate() (N + 2; 0 when DEF is invalid).
 * Thread: any; pure. */
unsigned alarm_eval_range(const struct alarm_def *def);

/* Evaluate DEF, currently in state CURRENT, over PTS[0..N): one point per
 * period, OLDEST FIRST, consecutive (each t one period after the last) and
 * aligned; the newest is the last complete period. Only the newest
 * alarm_eval_range(DEF) points are looked at. NOW (seconds since the epoch)
 * is the queryDate. Fills OUT; OUT->reason_data is the caller's to free with
 * alarm_result_free(). Returns 0, or -1 (OUT zeroed, no allocation) when DEF
 * is invalid (period 0, N 0, M > N, threshold not finite, an
 * unknown enum), N is 0 or the points are not aligned and consecutive, or
 * memory runs out. Thread: any; pure (reads only its arguments). */
int alarm_evaluate(const struct alarm_def *def, enum alarm_state current, const struct alarm_point *pts,
		   size_t n, int64_t now, struct alarm_result *out);

/* Free R's reason data (not R). NULL is ignored. Thread: any. */
void alarm_result_free(struct alarm_result *r);

/* "OK", "ALARM", "INSUFFICIENT_DATA"; "?" for anything else. Static
 * strings. Thread: any; pure. */
const char *alarm_state_name(enum alarm_state s);

/* Parse CloudWatch's ComparisonOperator name ("GreaterThanThreshold", ...)
 * into *OUT. Returns 0, or -1 for anything else. Thread: any; pure. */
int alarm_cmp_parse(const char *s, enum alarm_cmp *out);

/* The ComparisonOperator name of C (a static string; "?" if unknown).
 * Thread: any; pure. */
const char *alarm_cmp_name(enum alarm_cmp c);

/* Parse TreatMissingData ("missing", "ignore", "breaching", "notBreaching")
 * into *OUT. Returns 0, or -1 for anything else. Thread: any; pure. */
int alarm_missing_parse(const char *s, enum alarm_missing *out);

/* The TreatMissingData name of M (a static string; "?" if unknown).
 * Thread: any; pure. */
const char *alarm_missing_name(enum alarm_missing m);

/* The length of S's first N bytes without a multibyte UTF-8 character
 * that they cut in half: N, or less when S[0..N) ends in an incomplete
 * sequence (its lead byte and continuation bytes are dropped). S has at
 * least N bytes. Thread: any; pure. */
size_t alarm_utf8_cut(const char *s, size_t n);

/* Format V as Java's Double.toString does, as CloudWatch prints values
 * ("12.0", "0.5", "1.0E-4", "2.5E7") into BUF of SIZE (>= 32 is enough).
 * Thread: any; pure. */
void alarm_format_value(double v, char *buf, size_t size);

#endif
