"""CloudWatch's alarm operations through the aws CLI (Debian's awscli 2.9,
awsQuery; the aws-cli 1.x of the machine's Python, Smithy RPC v2 CBOR, where
there is one) against albd's admin listener (issue 14):

put-metric-alarm makes a run-time alarm that describe-alarms shows field by
field, that the engine evaluates (a custom metric put through the JSON API)
and whose state changes publish to a topic (a webhook receiver); it survives
a restart (state_dir/alarms_runtime.json); delete-alarms removes it and
refuses the file's alarms; disable-alarm-actions stops its notifications
and enable-alarm-actions brings them back (kept across a restart);
describe-alarm-history lists its updates; describe-alarms-for-metric;
set-alarm-state; errors with CloudWatch's codes.

Alarms whose state a test sets use period 3600 and TreatMissingData
"ignore" on a metric that has no data: evaluation never moves them, so
set-alarm-state alone decides their state. The evaluating test uses a
10-second period.
"""
import datetime
import json
import os
import re
import time

import pytest

from awsclients import aws1_cli, aws1_path, aws_admin, aws_cli
from conftest import HOST, free_port, listener, make_config, target_group, wait_until
from test_52_topics import receivers  # noqa: F401  (a fixture)

# each aws CLI run is a Python start-up (1 to 3 s on a busy machine)
pytestmark = pytest.mark.timeout_s(300)

REGION = "local"
ACCOUNT = "000000000000"
OPS = "arn:aws:sns:%s:%s:ops" % (REGION, ACCOUNT)
FAST = {"retries": 3, "min_delay": 1, "max_delay": 1, "timeout": 2}


def arn(name):
    return "arn:aws:cloudwatch:%s:%s:alarm:%s" % (REGION, ACCOUNT, name)


def start(albd, backends, receivers, tmp_path):
    """albd with a target group "web", a topic "ops" whose one subscriber
    is a receiver, a file alarm "file-5xx" and a file composite alarm."""
    b = backends.start("b1")
    rec = receivers("ops")
    port, aport = free_port(), free_port()
    topics = ({"name": "ops", "delivery": FAST, "subscriptions": ({"endpoint": rec.url, "format": "raw"},)},)
    alarms = ({"name": "file-5xx", "metric": "HTTPCode_Target_5XX_Count", "dimensions": {"TargetGroup": "web"},
               "statistic": "Sum", "period": 60, "evaluation_periods": 1, "threshold": 5.0,
               "comparison": "GreaterThanOrEqualToThreshold", "treat_missing_data": "ignore"},)
    comps = ({"name": "file-any", "rule": 'ALARM("file-5xx")', "description": "any file alarm"},)
    cfg = make_config([listener("web", port, "web")], [target_group("web", [b])], topics=topics, alarms=alarms,
                      composite_alarms=comps, admin=aws_admin(tmp_path, aport))
    a = albd.start(cfg, port=port)
    return a, rec


def cw(a, *args, **kw):
    return aws_cli(a, "cloudwatch", *args, **kw)


def cw_err(a, *args):
    """Run a call that must fail: (AWS's error code, message)."""
    p = cw(a, *args, check=False)
    assert not isinstance(p, dict), "expected an error, got %r" % p
    m = re.search(r"An error occurred \((\w+)\) when calling the \w+ operation(?: \(reached max retries: \d+\))?: (.*)", p.stderr)
    assert m, p.stderr
    return m.group(1), m.group(2).strip()


def describe(a, *args):
    return cw(a, "describe-alarms", *args)


def one(a, name, types=("MetricAlarm",)):
    j = describe(a, "--alarm-names", name, "--alarm-types", *types)
    found = j["MetricAlarms"] + j["CompositeAlarms"]
    assert len(found) == 1, j
    return found[0]


def ts(s):
    """A timestamp as the CLI prints it (ISO 8601; the aws-cli 1.x: epoch
    seconds), as seconds since the epoch."""
    if isinstance(s, (int, float)):
        return float(s)
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def put_quiet(a, name, *extra, actions=(OPS,)):
    """A run-time alarm that evaluation leaves alone (see the docstring)."""
    cw(a, "put-metric-alarm", "--alarm-name", name, "--metric-name", "Never", "--namespace", "Quiet",
       "--statistic", "Maximum", "--period", "3600", "--evaluation-periods", "1", "--threshold", "1",
       "--comparison-operator", "GreaterThanThreshold", "--treat-missing-data", "ignore",
       "--alarm-actions", *actions, "--ok-actions", OPS, *extra)


def messages(rec):
    return [json.loads(g["body"]) for g in rec.ok()]


def test_put_metric_alarm_describe_every_field(albd, backends, receivers, tmp_path):
    a, rec = start(albd, backends, receivers, tmp_path)
    t0 = time.time()
    out = cw(a, "put-metric-alarm", "--alarm-name", "api-latency", "--alarm-description", "p99 of web",
             "--actions-enabled", "--ok-actions", OPS, "--alarm-actions", OPS, "--insufficient-data-actions", OPS,
             "--metric-name", "TargetResponseTime", "--namespace", "AWS/ApplicationELB",
             "--extended-statistic", "p99", "--dimensions", "Name=TargetGroup,Value=web",
             "--period", "60", "--unit", "Seconds", "--evaluation-periods", "3", "--datapoints-to-alarm", "2",
             "--threshold", "0.5", "--comparison-operator", "GreaterThanThreshold",
             "--treat-missing-data", "missing", "--evaluate-low-sample-count-percentile", "ignore",
             "--tags", "Key=team,Value=web")
    assert out == {}
    x = one(a, "api-latency")
    assert x["AlarmName"] == "api-latency"
    assert x["AlarmArn"] == arn("api-latency")
    assert x["AlarmDescription"] == "p99 of web"
    assert abs(ts(x["AlarmConfigurationUpdatedTimestamp"]) - t0) < 30
    assert x["ActionsEnabled"] is True
    assert x["OKActions"] == [OPS] and x["AlarmActions"] == [OPS] and x["InsufficientDataActions"] == [OPS]
    assert x["StateValue"] == "INSUFFICIENT_DATA"          # no TargetResponseTime yet, "missing"
    assert isinstance(x["StateReason"], str) and x["StateReason"]
    assert abs(ts(x["StateUpdatedTimestamp"]) - t0) < 30
    assert abs(ts(x["StateTransitionedTimestamp"]) - t0) < 30
    assert x["MetricName"] == "TargetResponseTime" and x["Namespace"] == "AWS/ApplicationELB"
    assert x["ExtendedStatistic"] == "p99" and "Statistic" not in x
    assert x["Dimensions"] == [{"Name": "TargetGroup", "Value": "web"}]
    assert x["Period"] == 60 and x["Unit"] == "Seconds"
    assert x["EvaluationPeriods"] == 3 and x["DatapointsToAlarm"] == 2
    assert x["Threshold"] == 0.5 and x["ComparisonOperator"] == "GreaterThanThreshold"
    assert x["TreatMissingData"] == "missing"
    assert x["EvaluateLowSampleCountPercentile"] == "ignore"
    assert "Metrics" not in x and "ThresholdMetricId" not in x
    # the creation is a ConfigurationUpdate
    h = cw(a, "describe-alarm-history", "--alarm-name", "api-latency")["AlarmHistoryItems"]
    assert [i["HistoryItemType"] for i in h] == ["ConfigurationUpdate"], h
    assert h[0]["HistorySummary"] == 'Alarm "api-latency" created' and h[0]["AlarmType"] == "MetricAlarm"
    assert json.loads(h[0]["HistoryData"])["createdAlarm"]["AlarmName"] == "api-latency"

    # metric math
    metrics = [{"Id": "rate", "Expression": "100 * errors / requests", "Label": "5XX %", "ReturnData": True},
               {"Id": "errors", "ReturnData": False,
                "MetricStat": {"Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": "HTTPCode_Target_5XX_Count",
                                          "Dimensions": [{"Name": "TargetGroup", "Value": "web"}]},
                               "Period": 60, "Stat": "Sum"}},
               {"Id": "requests", "ReturnData": False,
                "MetricStat": {"Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount",
                                          "Dimensions": [{"Name": "TargetGroup", "Value": "web"}]},
                               "Period": 60, "Stat": "Sum"}}]
    mf = tmp_path / "metrics.json"
    mf.write_text(json.dumps(metrics))
    cw(a, "put-metric-alarm", "--alarm-name", "web-5xx-rate", "--metrics", "file://%s" % mf,
       "--evaluation-periods", "2", "--threshold", "10", "--comparison-operator", "GreaterThanThreshold",
       "--no-actions-enabled")
    x = one(a, "web-5xx-rate")
    assert x["Metrics"] == metrics
    assert x["ActionsEnabled"] is False
    assert x["EvaluationPeriods"] == 2 and x["DatapointsToAlarm"] == 2 and x["Threshold"] == 10.0
    assert "MetricName" not in x and "Period" not in x
    assert x["OKActions"] == [] and x["AlarmActions"] == [] and x["InsufficientDataActions"] == []

    # DescribeAlarms: only metric alarms without AlarmTypes; the file's with them
    j = describe(a)
    assert sorted(m["AlarmName"] for m in j["MetricAlarms"]) == ["api-latency", "file-5xx", "web-5xx-rate"]
    assert j["CompositeAlarms"] == []
    j = describe(a, "--alarm-types", "CompositeAlarm")
    assert j["MetricAlarms"] == []
    c = j["CompositeAlarms"][0]
    assert c["AlarmName"] == "file-any" and c["AlarmArn"] == arn("file-any")
    assert c["AlarmRule"] == 'ALARM("file-5xx")' and c["AlarmDescription"] == "any file alarm"
    assert c["ActionsEnabled"] is True and c["StateValue"] in ("OK", "INSUFFICIENT_DATA")
    j = describe(a, "--children-of-alarm-name", "file-any")
    assert [m["AlarmName"] for m in j["MetricAlarms"]] == ["file-5xx"] and j["CompositeAlarms"] == []
    j = describe(a, "--parents-of-alarm-name", "file-5xx")
    assert [c["AlarmName"] for c in j["CompositeAlarms"]] == ["file-any"] and j["MetricAlarms"] == []
    assert [m["AlarmName"] for m in describe(a, "--alarm-name-prefix", "api-")["MetricAlarms"]] == ["api-latency"]
    assert [m["AlarmName"] for m in describe(a, "--action-prefix", OPS)["MetricAlarms"]] == ["api-latency"]
    assert [m["AlarmName"] for m in
            describe(a, "--state-value", "INSUFFICIENT_DATA", "--alarm-names", "api-latency",
                     "web-5xx-rate")["MetricAlarms"]] == ["api-latency", "web-5xx-rate"]
    # pages of one (the CLI follows NextToken), and one page alone
    j = describe(a, "--page-size", "1")
    assert sorted(m["AlarmName"] for m in j["MetricAlarms"]) == ["api-latency", "file-5xx", "web-5xx-rate"]
    j = describe(a, "--no-paginate", "--max-records", "2")
    assert len(j["MetricAlarms"]) == 2 and j["NextToken"]
    j2 = describe(a, "--no-paginate", "--max-records", "2", "--next-token", j["NextToken"])
    assert len(j2["MetricAlarms"]) == 1 and "NextToken" not in j2

    # DescribeAlarmsForMetric
    def for_metric(*args):
        return sorted(m["AlarmName"] for m in cw(a, "describe-alarms-for-metric", *args)["MetricAlarms"])
    cw(a, "put-metric-alarm", "--alarm-name", "lat-avg", "--metric-name", "TargetResponseTime",
       "--namespace", "AWS/ApplicationELB", "--statistic", "Average", "--dimensions", "Name=TargetGroup,Value=web",
       "--period", "10", "--evaluation-periods", "1", "--threshold", "1",
       "--comparison-operator", "GreaterThanThreshold", "--treat-missing-data", "ignore")
    base = ("--metric-name", "TargetResponseTime", "--namespace", "AWS/ApplicationELB")
    assert for_metric(*base) == ["api-latency", "lat-avg"]
    assert for_metric(*base, "--statistic", "Average") == ["lat-avg"]
    assert for_metric(*base, "--extended-statistic", "p99") == ["api-latency"]
    assert for_metric(*base, "--period", "60") == ["api-latency"]
    assert for_metric(*base, "--unit", "Seconds") == ["api-latency"]
    assert for_metric(*base, "--dimensions", "Name=TargetGroup,Value=web") == ["api-latency", "lat-avg"]
    assert for_metric(*base, "--dimensions", "Name=TargetGroup,Value=other") == []
    assert for_metric("--metric-name", "HTTPCode_Target_5XX_Count", "--namespace", "AWS/ApplicationELB") == \
        ["file-5xx"]
    d = cw(a, "describe-alarms-for-metric", *base, "--statistic", "Average")["MetricAlarms"][0]
    assert d["AlarmArn"] == arn("lat-avg") and d["Period"] == 10 and d["Statistic"] == "Average"

    # PutMetricAlarm again replaces the definition, the state stays
    cw(a, "set-alarm-state", "--alarm-name", "lat-avg", "--state-value", "ALARM", "--state-reason", "by hand")
    cw(a, "put-metric-alarm", "--alarm-name", "lat-avg", "--metric-name", "TargetResponseTime",
       "--namespace", "AWS/ApplicationELB", "--statistic", "Maximum", "--period", "3600",
       "--evaluation-periods", "1", "--threshold", "2", "--comparison-operator", "GreaterThanThreshold",
       "--treat-missing-data", "ignore")
    x = one(a, "lat-avg")
    assert x["Statistic"] == "Maximum" and x["Threshold"] == 2.0 and x["Period"] == 3600
    assert x["StateValue"] == "ALARM" and x["StateReason"] == "by hand"
    h = cw(a, "describe-alarm-history", "--alarm-name", "lat-avg", "--history-item-type",
           "ConfigurationUpdate")["AlarmHistoryItems"]
    assert [i["HistorySummary"] for i in h] == ['Alarm "lat-avg" updated', 'Alarm "lat-avg" created']
    assert json.loads(h[0]["HistoryData"])["updatedAlarm"]["Statistic"] == "Maximum"
    assert rec.got == []   # api-latency has data for no period: no state change, nothing published


def test_runtime_alarm_evaluates_notifies_and_survives_a_restart(albd, backends, receivers, tmp_path):
    a, rec = start(albd, backends, receivers, tmp_path)
    cw(a, "put-metric-alarm", "--alarm-name", "queue-deep", "--alarm-description", "jobs pile up",
       "--metric-name", "QueueDepth", "--namespace", "MyApp", "--dimensions", "Name=Queue,Value=jobs",
       "--statistic", "Maximum", "--period", "10", "--evaluation-periods", "1", "--threshold", "10",
       "--comparison-operator", "GreaterThanThreshold", "--treat-missing-data", "notBreaching",
       "--alarm-actions", OPS, "--ok-actions", OPS)
    # no data, notBreaching: OK at the first evaluation, and its ok action runs
    wait_until(lambda: one(a, "queue-deep")["StateValue"] == "OK", 20, interval=0.25, what="OK")
    rec.wait(1, timeout=15)
    m = messages(rec)[0]
    assert m["AlarmName"] == "queue-deep" and m["AlarmArn"] == arn("queue-deep")
    assert m["OldStateValue"] == "INSUFFICIENT_DATA" and m["NewStateValue"] == "OK"
    # a custom metric above the threshold: ALARM, published with CloudWatch's Trigger
    r = a.admin_request("POST", "/api/v1/metrics/data", body=json.dumps(
        {"Namespace": "MyApp", "MetricData": [{"MetricName": "QueueDepth", "Value": 42,
                                                "Dimensions": [{"Name": "Queue", "Value": "jobs"}]}]}).encode())
    assert r.status == 200, r.body
    wait_until(lambda: one(a, "queue-deep")["StateValue"] == "ALARM", 30, interval=0.25, what="ALARM")
    rec.wait(2, timeout=15)
    m = messages(rec)[1]
    assert m["NewStateValue"] == "ALARM" and m["OldStateValue"] == "OK"
    assert m["AlarmDescription"] == "jobs pile up" and m["AlarmActions"] == [OPS] and m["OKActions"] == [OPS]
    assert re.fullmatch(r"Threshold Crossed: 1 datapoint \[42\.0 \(.*\)\] was greater than the threshold "
                        r"\(10\.0\)\.", m["NewStateReason"]), m["NewStateReason"]
    t = m["Trigger"]
    assert t["MetricName"] == "QueueDepth" and t["Namespace"] == "MyApp" and t["Statistic"] == "MAXIMUM"
    assert t["Dimensions"] == [{"value": "jobs", "name": "Queue"}] and t["Period"] == 10
    assert t["Threshold"] == 10.0 and t["ComparisonOperator"] == "GreaterThanThreshold"
    x = one(a, "queue-deep")
    assert x["StateReason"] == m["NewStateReason"]
    assert json.loads(x["StateReasonData"])["recentDatapoints"] == [42.0]
    # the next period has no point: back to OK
    wait_until(lambda: one(a, "queue-deep")["StateValue"] == "OK", 30, interval=0.25, what="OK again")
    rec.wait(3, timeout=15)
    # the history: StateUpdates and Actions
    h = cw(a, "describe-alarm-history", "--alarm-name", "queue-deep", "--history-item-type",
           "StateUpdate")["AlarmHistoryItems"]
    assert [i["HistorySummary"] for i in h] == ["Alarm updated from ALARM to OK", "Alarm updated from OK to ALARM",
                                                "Alarm updated from INSUFFICIENT_DATA to OK"]
    assert all(i["AlarmName"] == "queue-deep" and i["HistoryItemType"] == "StateUpdate" for i in h)
    acts = cw(a, "describe-alarm-history", "--alarm-name", "queue-deep", "--history-item-type",
              "Action")["AlarmHistoryItems"]
    assert len(acts) == 3 and all(i["HistorySummary"] == "Successfully executed action " + OPS for i in acts)
    saved = json.loads((a.state_dir / "alarms_runtime.json").read_text())
    assert [d["AlarmName"] for d in saved["MetricAlarms"]] == ["queue-deep"]

    # a restart keeps the alarm, its state and history, and evaluates it
    before = one(a, "queue-deep")
    a.stop()
    a.start()
    after = one(a, "queue-deep")
    for k in ("AlarmArn", "AlarmDescription", "MetricName", "Namespace", "Statistic", "Dimensions", "Period",
              "Threshold", "ComparisonOperator", "TreatMissingData", "AlarmActions", "OKActions",
              "AlarmConfigurationUpdatedTimestamp", "StateTransitionedTimestamp"):
        assert after[k] == before[k], k
    assert after["StateValue"] in ("OK", "ALARM") and before["StateValue"] == "OK"
    n = len(rec.got)
    cw(a, "set-alarm-state", "--alarm-name", "queue-deep", "--state-value", "ALARM", "--state-reason", "after restart")
    rec.wait(n + 1, timeout=15)
    assert messages(rec)[n]["NewStateReason"] == "after restart"
    h = cw(a, "describe-alarm-history", "--alarm-name", "queue-deep", "--scan-by", "TimestampAscending",
           "--history-item-type", "StateUpdate")["AlarmHistoryItems"]
    assert [i["HistorySummary"] for i in h][:3] == ["Alarm updated from INSUFFICIENT_DATA to OK",
                                                    "Alarm updated from OK to ALARM", "Alarm updated from ALARM to OK"]
    # (the next period may have put it back to OK already)
    mine = [i for i in h if json.loads(i["HistoryData"])["newState"]["stateReason"] == "after restart"]
    assert len(mine) == 1 and mine[0]["HistorySummary"] == "Alarm updated from OK to ALARM", h
    wait_until(lambda: one(a, "queue-deep")["StateValue"] == "OK", 30, interval=0.25, what="evaluated again")


def test_set_alarm_state_history_and_actions_enabled(albd, backends, receivers, tmp_path):
    a, rec = start(albd, backends, receivers, tmp_path)
    put_quiet(a, "pager")
    assert one(a, "pager")["StateValue"] == "INSUFFICIENT_DATA"
    t0 = time.time()
    cw(a, "set-alarm-state", "--alarm-name", "pager", "--state-value", "ALARM", "--state-reason", "testing the pager",
       "--state-reason-data", json.dumps({"by": "e2e"}))
    x = one(a, "pager")
    assert x["StateValue"] == "ALARM" and x["StateReason"] == "testing the pager"
    assert json.loads(x["StateReasonData"]) == {"by": "e2e"}
    assert abs(ts(x["StateUpdatedTimestamp"]) - t0) < 10
    rec.wait(1, timeout=15)
    m = messages(rec)[0]
    assert m["AlarmName"] == "pager" and m["NewStateValue"] == "ALARM" and m["NewStateReason"] == "testing the pager"
    # history: newest first; types; dates; ScanBy; a page of one
    h = cw(a, "describe-alarm-history", "--alarm-name", "pager")["AlarmHistoryItems"]
    assert [i["HistoryItemType"] for i in h] == ["Action", "StateUpdate", "ConfigurationUpdate"], h
    assert h[1]["HistorySummary"] == "Alarm updated from INSUFFICIENT_DATA to ALARM"
    hd = json.loads(h[1]["HistoryData"])
    assert hd["newState"] == {"stateValue": "ALARM", "stateReason": "testing the pager",
                              "stateReasonData": {"by": "e2e"}}
    assert json.loads(h[0]["HistoryData"])["actionState"] == "Succeeded"
    assert [ts(i["Timestamp"]) for i in h] == sorted((ts(i["Timestamp"]) for i in h), reverse=True)
    asc = cw(a, "describe-alarm-history", "--alarm-name", "pager", "--scan-by", "TimestampAscending")
    assert [i["HistoryItemType"] for i in asc["AlarmHistoryItems"]] == ["ConfigurationUpdate", "StateUpdate", "Action"]
    assert cw(a, "describe-alarm-history", "--alarm-name", "pager", "--end-date",
              "2001-01-01T00:00:00Z")["AlarmHistoryItems"] == []
    assert len(cw(a, "describe-alarm-history", "--alarm-name", "pager", "--start-date",
                  "2001-01-01T00:00:00Z")["AlarmHistoryItems"]) == 3
    j = cw(a, "describe-alarm-history", "--alarm-name", "pager", "--no-paginate", "--max-records", "1")
    assert len(j["AlarmHistoryItems"]) == 1 and j["NextToken"]
    assert len(cw(a, "describe-alarm-history", "--alarm-name", "pager", "--page-size", "1")["AlarmHistoryItems"]) == 3
    # without AlarmName: every metric alarm's; with AlarmTypes CompositeAlarm: the composites'
    allh = cw(a, "describe-alarm-history")["AlarmHistoryItems"]
    assert {i["AlarmName"] for i in allh} == {"pager", "file-5xx"}
    comp = cw(a, "describe-alarm-history", "--alarm-types", "CompositeAlarm")["AlarmHistoryItems"]
    assert comp and {(i["AlarmName"], i["AlarmType"]) for i in comp} == {("file-any", "CompositeAlarm")}
    # the same state again: only the reason changes, nothing is published
    cw(a, "set-alarm-state", "--alarm-name", "pager", "--state-value", "ALARM", "--state-reason", "still")
    assert one(a, "pager")["StateReason"] == "still"

    # DisableAlarmActions: ActionsEnabled false, no notification, no Action item
    cw(a, "disable-alarm-actions", "--alarm-names", "pager", "file-5xx", "no-such-alarm")
    x = one(a, "pager")
    assert x["ActionsEnabled"] is False and one(a, "file-5xx")["ActionsEnabled"] is False
    cw(a, "set-alarm-state", "--alarm-name", "pager", "--state-value", "OK", "--state-reason", "quiet")
    assert one(a, "pager")["StateValue"] == "OK"
    time.sleep(2)
    assert len(rec.got) == 1
    acts = cw(a, "describe-alarm-history", "--alarm-name", "pager", "--history-item-type", "Action")
    assert len(acts["AlarmHistoryItems"]) == 1
    # kept across a restart (the run-time alarm's and the file's)
    a.stop()
    a.start()
    assert one(a, "pager")["ActionsEnabled"] is False and one(a, "file-5xx")["ActionsEnabled"] is False
    cw(a, "set-alarm-state", "--alarm-name", "pager", "--state-value", "ALARM", "--state-reason", "still quiet")
    time.sleep(2)
    assert len(rec.got) == 1
    # EnableAlarmActions: notifications again
    cw(a, "enable-alarm-actions", "--alarm-names", "pager", "file-5xx")
    assert one(a, "pager")["ActionsEnabled"] is True and one(a, "file-5xx")["ActionsEnabled"] is True
    cw(a, "set-alarm-state", "--alarm-name", "pager", "--state-value", "OK", "--state-reason", "loud again")
    rec.wait(2, timeout=15)
    m = messages(rec)[1]
    assert m["NewStateValue"] == "OK" and m["OldStateValue"] == "ALARM" and m["NewStateReason"] == "loud again"
    # a file alarm takes SetAlarmState too (by ARN as well)
    # (its next evaluation, at a minute's end, may set it back to OK at
    # once, as CloudWatch's would: the history tells what happened)
    cw(a, "set-alarm-state", "--alarm-name", "file-5xx", "--state-value", "ALARM", "--state-reason", "by ARN")
    h = cw(a, "describe-alarm-history", "--alarm-name", "file-5xx", "--history-item-type", "StateUpdate")
    assert any(json.loads(i["HistoryData"])["newState"]["stateValue"] == "ALARM" and
               json.loads(i["HistoryData"])["newState"]["stateReason"] == "by ARN"
               for i in h["AlarmHistoryItems"]), h
    # and its composite follows
    def composite_went_to_alarm():
        h = cw(a, "describe-alarm-history", "--alarm-name", "file-any", "--alarm-types", "CompositeAlarm",
               "--history-item-type", "StateUpdate")
        return any(json.loads(i["HistoryData"])["newState"]["stateValue"] == "ALARM" for i in h["AlarmHistoryItems"])
    wait_until(composite_went_to_alarm, 15, interval=0.5, what="composite in ALARM")


def test_delete_alarms(albd, backends, receivers, tmp_path):
    a, rec = start(albd, backends, receivers, tmp_path)
    put_quiet(a, "tmp-1")
    put_quiet(a, "tmp-2")
    put_quiet(a, "tmp-3")
    # the file's alarm: refused, and nothing is deleted
    code, msg = cw_err(a, "delete-alarms", "--alarm-names", "tmp-1", "file-5xx")
    assert code == "ValidationError" and "file-5xx" in msg and "configuration file" in msg, msg
    code, msg = cw_err(a, "delete-alarms", "--alarm-names", "tmp-1", "file-any")
    assert code == "ValidationError" and "configuration file" in msg, msg
    code, msg = cw_err(a, "delete-alarms", "--alarm-names", "tmp-1", "nope")
    assert code == "ResourceNotFound" and "nope" in msg, msg
    assert [m["AlarmName"] for m in describe(a, "--alarm-name-prefix", "tmp-")["MetricAlarms"]] == \
        ["tmp-1", "tmp-2", "tmp-3"]
    assert cw(a, "delete-alarms", "--alarm-names", "tmp-1", arn("tmp-3")) == {}
    assert [m["AlarmName"] for m in describe(a, "--alarm-name-prefix", "tmp-")["MetricAlarms"]] == ["tmp-2"]
    saved = json.loads((a.state_dir / "alarms_runtime.json").read_text())
    assert [d["AlarmName"] for d in saved["MetricAlarms"]] == ["tmp-2"]
    # gone after a restart too; the file's alarms stay
    a.stop()
    a.start()
    assert [m["AlarmName"] for m in describe(a)["MetricAlarms"]] == ["file-5xx", "tmp-2"]
    code, _ = cw_err(a, "delete-alarms", "--alarm-names", "tmp-1")
    assert code == "ResourceNotFound"
    # a reload keeps the run-time alarm
    a.reload()
    wait_until(lambda: "generation 2 is live" in a.log(), 10, what="reload")
    assert [m["AlarmName"] for m in describe(a)["MetricAlarms"]] == ["file-5xx", "tmp-2"]
    cw(a, "delete-alarms", "--alarm-names", "tmp-2")
    assert [m["AlarmName"] for m in describe(a)["MetricAlarms"]] == ["file-5xx"]


def test_errors(albd, backends, receivers, tmp_path):
    a, rec = start(albd, backends, receivers, tmp_path)
    base = ["put-metric-alarm", "--alarm-name", "bad", "--metric-name", "RequestCount", "--namespace",
            "AWS/ApplicationELB", "--evaluation-periods", "1", "--threshold", "1",
            "--comparison-operator", "GreaterThanThreshold"]
    code, msg = cw_err(a, *base, "--statistic", "Sum", "--period", "15")
    assert code == "ValidationError" and msg == "Period: 15 is not 10, 20, 30 or a multiple of 60", msg
    code, msg = cw_err(a, *base, "--statistic", "Median", "--period", "60")
    assert code == "ValidationError" and msg.startswith('Statistic: "Median" is not'), msg
    code, msg = cw_err(a, *base, "--statistic", "Sum", "--extended-statistic", "p99", "--period", "60")
    assert code == "InvalidParameterCombination", msg
    code, msg = cw_err(a, *base, "--statistic", "Sum", "--period", "60", "--datapoints-to-alarm", "3")
    assert code == "ValidationError" and msg.startswith("DatapointsToAlarm: 3 is more than"), msg
    code, msg = cw_err(a, *base, "--statistic", "Sum", "--period", "60", "--evaluation-periods", "2000")
    assert code == "ValidationError" and msg.startswith("EvaluationPeriods:"), msg
    code, msg = cw_err(a, "put-metric-alarm", "--alarm-name", "bad", "--metric-name", "RequestCount",
                       "--namespace", "AWS/ApplicationELB", "--statistic", "Sum", "--period", "60",
                       "--evaluation-periods", "1", "--threshold", "1", "--comparison-operator", "Bigger")
    assert code == "ValidationError" and msg.startswith('ComparisonOperator: "Bigger" is not'), msg
    code, msg = cw_err(a, *base, "--statistic", "Sum", "--period", "60", "--treat-missing-data", "sometimes")
    assert code == "ValidationError" and msg.startswith("TreatMissingData:"), msg
    code, msg = cw_err(a, *base, "--statistic", "Sum", "--period", "60",
                       "--alarm-actions", "arn:aws:sns:us-east-1:111111111111:ops")
    assert code == "ValidationError" and "not a topic of this albd" in msg, msg
    code, msg = cw_err(a, *base, "--statistic", "Sum", "--period", "60",
                       "--alarm-actions", "arn:aws:automate:local:ec2:stop")
    assert code == "ValidationError" and "not an SNS topic ARN" in msg, msg
    code, msg = cw_err(a, *base, "--statistic", "Sum")
    assert code == "ValidationError" and msg.startswith("Period"), msg
    mf = tmp_path / "m.json"
    mf.write_text(json.dumps([{"Id": "e", "Expression": "m1 * 2", "ReturnData": True},
                              {"Id": "m2", "ReturnData": False,
                               "MetricStat": {"Metric": {"Namespace": "X", "MetricName": "Y"}, "Period": 60,
                                              "Stat": "Sum"}}]))
    code, msg = cw_err(a, "put-metric-alarm", "--alarm-name", "bad", "--metrics", "file://%s" % mf,
                       "--evaluation-periods", "1", "--threshold", "1", "--comparison-operator", "GreaterThanThreshold")
    assert code == "ValidationError" and msg == "Metrics.e.expression: no query has the id m1", msg
    # "Any expression used in a PutMetricAlarm operation must return a single time series"
    for expr, what in (("METRICS()", "an array of time series"), ("MAX(m2)", "a single number")):
        mf.write_text(json.dumps([{"Id": "e", "Expression": expr, "ReturnData": True},
                                  {"Id": "m2", "ReturnData": False,
                                   "MetricStat": {"Metric": {"Namespace": "X", "MetricName": "Y"}, "Period": 60,
                                                  "Stat": "Sum"}}]))
        code, msg = cw_err(a, "put-metric-alarm", "--alarm-name", "bad", "--metrics", "file://%s" % mf,
                           "--evaluation-periods", "1", "--threshold", "1", "--comparison-operator",
                           "GreaterThanThreshold")
        assert code == "ValidationError" and "Metrics.e.expression" in msg and what in msg, (expr, msg)
    # the file's alarm cannot be replaced
    code, msg = cw_err(a, "put-metric-alarm", "--alarm-name", "file-5xx", "--metric-name", "RequestCount",
                       "--namespace", "AWS/ApplicationELB", "--statistic", "Sum", "--period", "60",
                       "--evaluation-periods", "1", "--threshold", "1", "--comparison-operator", "GreaterThanThreshold")
    assert code == "ValidationError" and "configuration file" in msg, msg
    assert "bad" not in [m["AlarmName"] for m in describe(a)["MetricAlarms"]]
    assert not os.path.exists(a.state_dir / "alarms_runtime.json")
    # SetAlarmState
    code, msg = cw_err(a, "set-alarm-state", "--alarm-name", "nope", "--state-value", "OK", "--state-reason", "x")
    assert code == "ResourceNotFound", msg
    code, msg = cw_err(a, "set-alarm-state", "--alarm-name", "file-5xx", "--state-value", "OK", "--state-reason", "x",
                       "--state-reason-data", "{not json")
    assert code == "InvalidFormat", msg
    code, msg = cw_err(a, "set-alarm-state", "--alarm-name", "file-5xx", "--state-value", "BROKEN",
                       "--state-reason", "x")
    assert code == "InvalidParameterValue" and "StateValue" in msg, msg
    # DescribeAlarms / DescribeAlarmHistory
    code, _ = cw_err(a, "describe-alarms", "--next-token", "garbage")
    assert code == "InvalidNextToken"
    code, msg = cw_err(a, "describe-alarms", "--alarm-names", "file-5xx", "--alarm-name-prefix", "f")
    assert code == "InvalidParameterCombination", msg
    code, msg = cw_err(a, "describe-alarms", "--children-of-alarm-name", "file-any", "--alarm-names", "file-5xx")
    assert code == "InvalidParameterCombination", msg
    code, msg = cw_err(a, "describe-alarms", "--state-value", "MAYBE")
    assert code == "InvalidParameterValue" and "StateValue" in msg, msg
    code, msg = cw_err(a, "describe-alarm-history", "--history-item-type", "Other")
    assert code == "InvalidParameterValue" and "HistoryItemType" in msg, msg
    code, msg = cw_err(a, "describe-alarms", "--alarm-types", "Other")
    assert code == "InvalidParameterValue" and "AlarmTypes" in msg, msg
    assert rec.got == []
    assert a.alive()


def test_cbor_client(albd, backends, receivers, tmp_path):
    """The aws-cli 1.x (Smithy RPC v2 CBOR): numbers and booleans typed,
    timestamps as CBOR's."""
    if not aws1_path():
        pytest.skip("no aws-cli 1.x besides Debian's awscli on this machine")
    a, rec = start(albd, backends, receivers, tmp_path)
    aws1_cli(a, "cloudwatch", "put-metric-alarm", "--alarm-name", "v1", "--metric-name", "RequestCount",
             "--namespace", "AWS/ApplicationELB", "--statistic", "Sum", "--dimensions", "Name=TargetGroup,Value=web",
             "--period", "3600", "--evaluation-periods", "1", "--threshold", "100.5",
             "--comparison-operator", "GreaterThanThreshold", "--treat-missing-data", "ignore",
             "--alarm-actions", OPS, "--no-actions-enabled")
    j = aws1_cli(a, "cloudwatch", "describe-alarms", "--alarm-names", "v1")
    x = j["MetricAlarms"][0]
    assert x["AlarmArn"] == arn("v1") and x["Threshold"] == 100.5 and x["Period"] == 3600
    assert x["ActionsEnabled"] is False and x["AlarmActions"] == [OPS]
    assert x["Dimensions"] == [{"Name": "TargetGroup", "Value": "web"}]
    aws1_cli(a, "cloudwatch", "set-alarm-state", "--alarm-name", "v1", "--state-value", "ALARM",
             "--state-reason", "cbor")
    h = aws1_cli(a, "cloudwatch", "describe-alarm-history", "--alarm-name", "v1",
                 "--history-item-type", "StateUpdate")["AlarmHistoryItems"]
    assert h[0]["HistorySummary"] == "Alarm updated from INSUFFICIENT_DATA to ALARM"
    assert abs(ts(h[0]["Timestamp"]) - time.time()) < 30
    aws1_cli(a, "cloudwatch", "delete-alarms", "--alarm-names", "v1")
    assert aws1_cli(a, "cloudwatch", "describe-alarms", "--alarm-names", "v1")["MetricAlarms"] == []
    p = aws1_cli(a, "cloudwatch", "delete-alarms", "--alarm-names", "file-5xx", check=False)
    assert "ValidationError" in p.stderr


def test_action_on_a_topic_made_by_create_topic(albd, backends, receivers, tmp_path):
    """An alarm's action may name a run-time topic (SNS's CreateTopic)."""
    a, _ = start(albd, backends, receivers, tmp_path)
    rec = receivers("rt")
    topic = aws_cli(a, "sns", "create-topic", "--name", "rt-ops")["TopicArn"]
    assert topic == "arn:aws:sns:%s:%s:rt-ops" % (REGION, ACCOUNT)
    aws_cli(a, "sns", "subscribe", "--topic-arn", topic, "--protocol", "http", "--notification-endpoint", rec.url)
    rec.wait(1, timeout=15)
    conf = json.loads(rec.ok()[0]["body"])
    assert conf["Type"] == "SubscriptionConfirmation"
    aws_cli(a, "sns", "confirm-subscription", "--topic-arn", topic, "--token", conf["Token"])
    put_quiet(a, "on-rt", actions=(OPS, topic))
    assert one(a, "on-rt")["AlarmActions"] == [OPS, topic]
    cw(a, "set-alarm-state", "--alarm-name", "on-rt", "--state-value", "ALARM", "--state-reason", "to rt-ops")
    rec.wait(2, timeout=15)
    body = json.loads(rec.ok()[1]["body"])
    assert body["Type"] == "Notification" and body["TopicArn"] == topic
    assert body["Subject"] == 'ALARM: "on-rt" in local'
    m = json.loads(body["Message"])
    assert m["AlarmName"] == "on-rt" and m["NewStateReason"] == "to rt-ops" and m["AlarmActions"] == [OPS, topic]
    acts = cw(a, "describe-alarm-history", "--alarm-name", "on-rt", "--history-item-type",
              "Action")["AlarmHistoryItems"]
    assert sorted(i["HistorySummary"] for i in acts) == ["Successfully executed action " + OPS,
                                                         "Successfully executed action " + topic]


def test_metric_math_alarm_reads_its_metric_stats_unit(albd, backends, receivers, tmp_path):
    """A MetricStat's Unit in an alarm's Metrics reads that unit's data only
    (the same metric put in Seconds too is not mixed in), and DescribeAlarms
    gives it back."""
    a, rec = start(albd, backends, receivers, tmp_path)
    metrics = [{"Id": "e1", "Expression": "m1 * 1", "ReturnData": True},
               {"Id": "m1", "ReturnData": False,
                "MetricStat": {"Metric": {"Namespace": "MyApp", "MetricName": "Lat", "Dimensions": []},
                               "Period": 10, "Stat": "Maximum", "Unit": "Milliseconds"}}]
    mf = tmp_path / "unit-metrics.json"
    mf.write_text(json.dumps(metrics))
    cw(a, "put-metric-alarm", "--alarm-name", "lat-ms", "--metrics", "file://%s" % mf,
       "--evaluation-periods", "1", "--threshold", "10", "--comparison-operator", "GreaterThanThreshold",
       "--treat-missing-data", "notBreaching", "--no-actions-enabled")
    assert one(a, "lat-ms")["Metrics"][1]["MetricStat"]["Unit"] == "Milliseconds"
    wait_until(lambda: one(a, "lat-ms")["StateValue"] == "OK", 20, interval=0.25, what="OK")
    # the Maximum of the Milliseconds data is 42; with the Seconds data mixed in it would be 5000
    r = a.admin_request("POST", "/api/v1/metrics/data", body=json.dumps(
        {"Namespace": "MyApp", "MetricData": [{"MetricName": "Lat", "Value": 5000, "Unit": "Seconds"},
                                              {"MetricName": "Lat", "Value": 42, "Unit": "Milliseconds"}]}).encode())
    assert r.status == 200, r.body
    wait_until(lambda: one(a, "lat-ms")["StateValue"] == "ALARM", 30, interval=0.25, what="ALARM")
    assert json.loads(one(a, "lat-ms")["StateReasonData"])["recentDatapoints"] == [42.0]
    bad = [dict(metrics[0]), {"Id": "m1", "ReturnData": False, "MetricStat": dict(metrics[1]["MetricStat"],
                                                                                   Unit="Parsecs")}]
    mf.write_text(json.dumps(bad))
    code, msg = cw_err(a, "put-metric-alarm", "--alarm-name", "lat-bad", "--metrics", "file://%s" % mf,
                       "--evaluation-periods", "1", "--threshold", "100", "--comparison-operator",
                       "GreaterThanThreshold")
    assert code == "ValidationError" and "Unit" in msg, (code, msg)
