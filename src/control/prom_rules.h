/* prom_rules.h - the configuration's alarms as a Prometheus alerting-rules
 * file (albd --export-prometheus-rules), for fleets that evaluate the same
 * alarms with Prometheus and Alertmanager over albd's own /metrics series.
 *
 * Output: one group "albd"; one alerting rule per alarm and composite alarm
 * that can be expressed in PromQL (alert: the alarm's name, expr, for: 0s,
 * labels {alarm_name}, annotations {summary, description}), and a YAML
 * comment with the reason for each one that cannot. Every alert is labelled
 * load_balancer: it fires once per load balancer (albd's "name"; instances
 * that share a name are one load balancer, as an ALB's nodes are).
 *
 * The mapping (P: the period, N: evaluation_periods, M: datapoints_to_alarm,
 * SEL: the series of the alarm's dimensions, e.g.
 * {target_group="web",target=""}: a dimension the alarm leaves out is
 * matched empty, so that only the series of exactly its dimensions count;
 * LoadBalancer, when given, is matched too):
 *
 *   counts of events        Sum      sum by (load_balancer) (increase(SEL[P]))
 *   (albd_X_total, unit     SampleCount  clamp_min(that, 1) (every event a sample
 *   Count)                           of 1; a quiet period one sample of 0)
 *                           Average, Maximum, Minimum  (that > bool 0): 1, or 0
 *                                    in a quiet period
 *   ProcessedBytes          Sum      as above
 *   (one sample a second)   Average  avg by (load_balancer) (rate(SEL[P]))
 *                           Maximum  max by (load_balancer) (max_over_time(
 *                           Minimum  irate(SEL[5m])[P:])): the per-second
 *                                    rate between two scrapes, not within
 *                                    one second (approximate)
 *   levels and gauges       Average  avg by (load_balancer) (avg_over_time(SEL[P]))
 *   (HealthyHostCount, ..)  Maximum  max by .. max_over_time, Minimum: min
 *                           Sum      P * sum by (load_balancer) (avg_over_time(SEL[P]))
 *                                    (one datapoint a second: approximate)
 *   TargetResponseTime      pNN      histogram_quantile(0.NN, sum by (load_balancer, le)
 *                                    (rate(albd_target_response_time_seconds_bucket SEL[P])))
 *                                    (interpolated within /metrics' le buckets, where
 *                                    albd's own percentiles are within 1%)
 *                           Average  rate(_sum) / rate(_count), summed by load_balancer
 *                           SampleCount  increase(_count); Sum: increase(_sum)
 *                           Maximum  histogram_quantile(1, ...): the upper bound of
 *                                    the highest bucket that has samples (approximate)
 *   RequestCountPerTarget   Sum      increase(albd_requests_total) of the group over
 *                                    clamp_min(avg_over_time(albd_healthy_hosts), 1)
 *
 *   Not exported (a YAML comment and a note say why): SampleCount of
 *   ProcessedBytes and gauges (it counts albd's one-second datapoints, which
 *   Prometheus never sees), Minimum of TargetResponseTime, percentiles of other
 *   metrics, extended statistics other than pNN, RequestCountPerTarget but
 *   its Sum, custom namespaces (PutMetricData metrics are not on
 *   /metrics), metrics or dimension sets albd does not publish.
 *
 * M out of N, exactly: the value V is compared in a subquery whose points
 * are the ends of the last N periods, aligned to multiples of P since the
 * epoch as CloudWatch's periods are (Prometheus aligns a subquery's steps
 * to multiples of its step), and the alert fires while at least M of them
 * breach:
 *     count_over_time((V > T)[N*P - 1ms:P]) >= M
 * (the range is 1 ms short of N periods so that an evaluation at the very
 * end of a period does not see N + 1 points: Prometheus 2's ranges include
 * their start). It resolves when fewer than M of the last N breach, which
 * is CloudWatch's ALARM -> OK rule (N - M + 1 points not breaching). So
 * "for" is 0s. Rule evaluation is continuous: the alert changes at the
 * first evaluation after a period ends, and increase()/rate() extrapolate
 * to the period's edges from the scrapes inside it (a period must hold at
 * least two scrapes).
 *
 * treat_missing_data: a period with no value never breaches, which is
 * "notBreaching" exactly; "missing" and "ignore" are exported the same way
 * (Prometheus has no INSUFFICIENT_DATA, nor a state to keep). "breaching"
 * counts the periods that do not breach instead:
 *     (count_over_time((V <= T)[..]) or (U * 0)) <= N - M
 * with U = group by (load_balancer) (albd_requests_total), so that a load
 * balancer with no value at all fires too.
 *
 * Metric math ("metrics"): the expression is translated when it uses only
 * numbers, ids, + - * / ^, unary minus and parentheses: each id becomes its
 * query's PromQL (a query of another expression, recursively); a vector
 * divisor D becomes (D != 0), since CloudWatch's division by zero gives no
 * datapoint; constant subexpressions are folded. Anything else (functions,
 * comparisons, AND/OR, arrays) is not exported. CloudWatch counts a missing
 * value as 0 in m1 + m2; PromQL drops the load balancer then (approximate).
 *
 * Composite alarms: ALARM(x) is
 *     group by (load_balancer) (ALERTS{alertname="x",alertstate="firing"})
 * AND, OR and NOT become and, or and unless (NOT alone: U unless ..), TRUE
 * and FALSE are folded; OK(x) is NOT ALARM(x) (Prometheus has no
 * INSUFFICIENT_DATA: OK covers it too); a rule that uses
 * INSUFFICIENT_DATA(x), or names an alarm that is not exported, is not
 * exported. Composite alarms come after the alarms they name, so that one
 * evaluation of the group sees their states.
 *
 * Strings: alert names and label and annotation values are YAML
 * double-quoted; "{{" is written {{ "{{" }} in label and annotation values,
 * which Prometheus expands as templates; expr is YAML single-quoted PromQL
 * whose strings escape every control character. Bytes that are not UTF-8
 * become U+FFFD.
 */
#ifndef ALBD_PROM_RULES_H
#define ALBD_PROM_RULES_H

#include <stdio.h>

#include "core/config.h"

/* Translate CFG's alarms and composite alarms. Returns 0 with *TEXT (the
 * YAML file) and *NOTES (one line per alarm that is not exported: "FILE:LINE:
 * alarm "NAME" not exported: why", or ""), both the caller's to free; or -1
 * with a message "FILE:LINE: alarm "NAME": what is wrong" in ERR when an
 * alarm is invalid (an unknown comparison, statistic or treat_missing_data,
 * metric math that does not parse, ...) or memory runs out. Thread: any;
 * pure. */
int prom_rules_export(const struct albd_config *cfg, char **text, char **notes, char *err, size_t errlen);

/* albd --export-prometheus-rules: the rules to OUT, the notes and errors
 * to ERRF. Returns the exit status: 0, or 1 on an error (nothing is
 * written to OUT then). */
int prom_rules_print(const struct albd_config *cfg, FILE *out, FILE *errf);

#endif
