"""Alarms end to end: CloudWatch metric alarms and composite alarms through the
real binary, with period = 10 (CloudWatch's high-resolution periods are 10,
20 and 30 s; albd keeps 1-second points for 3 hours), so that a period closes
every 10 s and an alarm is evaluated ~2 s later.

Covered: a 5xx burst through albd raises an alarm whose reason is in
CloudWatch's words, and recovery brings it back to OK; an alarm on metric
math (the 5XX rate, 100 * errors / requests); TreatMissingData (missing,
ignore, breaching, notBreaching) with no data at all; an alarm on a custom
metric (PutMetricData); DescribeAlarms and its filters; DescribeAlarmHistory
(StateUpdate, ConfigurationUpdate, Action; filters); SetAlarmState, and the
next evaluation changing it back; composite alarms; state across a restart
and a reload (no second transition), a changed alarm restarting from
INSUFFICIENT_DATA, a removed one forgotten; bad alarm configs refused by
`albd -t` with file:line, and by a reload that keeps the running config.
"""
import json
import re
import subprocess
import time
import urllib.parse

import pytest

from conftest import ALBD_BIN, free_port, get, listener, make_config, target_group, wait_until

pytestmark = pytest.mark.timeout_s(90)

REGION = "eu-west-1"
ACCOUNT = "123456789012"


def q(params):
    return urllib.parse.urlencode(params, doseq=True)


def alarm_config(port, backend, alarms=(), composites=(), **extra):
    topics = ({"name": "ops", "subscriptions": ({"endpoint": "http://127.0.0.1:9/hook", "format": "raw"},)},)
    return make_config([listener("web", port, "web")], [target_group("web", [backend])],
                       region=REGION, account_id=ACCOUNT, topics=topics,
                       alarms=tuple(alarms) or None, composite_alarms=tuple(composites) or None, **extra)


def metric_alarm(name, metric="HTTPCode_Target_5XX_Count", dims=None, stat="Sum", threshold=5.0,
                 comparison="GreaterThanOrEqualToThreshold", missing="notBreaching", period=10, n=1, **kw):
    a = {"name": name, "metric": metric, "statistic": stat, "period": period, "evaluation_periods": n,
         "comparison": comparison, "threshold": threshold, "treat_missing_data": missing,
         "alarm_actions": ["ops"], "ok_actions": ["ops"]}
    if dims is not None:
        a["dimensions"] = dims
    a.update(kw)
    return a


def describe(a, **params):
    r = a.admin_request("GET", "/api/v1/alarms" + ("?" + q(params) if params else ""))
    assert r.status == 200, r.body
    return r.json()


def alarm(a, name):
    j = describe(a, AlarmNames=[name])
    found = j["MetricAlarms"] + j["CompositeAlarms"]
    assert len(found) == 1, j
    return found[0]


def history(a, name, **params):
    r = a.admin_request("GET", "/api/v1/alarms/%s/history%s" % (urllib.parse.quote(name),
                                                                  "?" + q(params) if params else ""))
    assert r.status == 200, r.body
    return r.json()["AlarmHistoryItems"]


def wait_state(a, name, state, timeout=20):
    got = [None]

    def ok():
        got[0] = alarm(a, name)
        return got[0]["StateValue"] == state
    try:
        wait_until(ok, timeout, interval=0.25, what="%s in %s" % (name, state))
    except Exception:
        raise AssertionError("%s: expected %s, got %s\nlog:\n%s" % (name, state, got[0], a.log()[-3000:]))
    return got[0]


def set_state(a, name, state, reason="testing", data=None):
    body = {"StateValue": state, "StateReason": reason}
    if data is not None:
        body["StateReasonData"] = data
    return a.admin_request("PUT", "/api/v1/alarms/%s/state" % urllib.parse.quote(name),
                           body=json.dumps(body).encode())


def align(period=10, room=4):
    """Wait until at least ROOM seconds of the current period are left, so
    that a burst lands in one period."""
    while period - time.time() % period < room:
        time.sleep(0.1)


def reload_and_wait(a, text):
    n = a.log().count("is live")
    a.reload(text)
    wait_until(lambda: a.log().count("is live") > n or "reload failed" in a.log(), 5, what="the reload")


def burst(port, n, code=500):
    for _ in range(n):
        r = get(port, "/status?code=%d" % code)
        assert r.status == code


# dd/mm/yy HH:MM:SS, as CloudWatch writes datapoints into reasons
DP = r"\d+(?:\.\d+)?(?:E-?\d+)? \(\d\d/\d\d/\d\d \d\d:\d\d:\d\d\)"


def test_5xx_burst_raises_the_alarm_and_recovery_clears_it(albd, backends):
    b = backends.start("b1")
    port = free_port()
    a = albd.start(alarm_config(port, b, [metric_alarm("web-5xx", dims={"TargetGroup": "web"},
                                                        description="web answers 5xx")]), port=port)
    # a quiet period: notBreaching data (0 a second) -> OK
    x = wait_state(a, "web-5xx", "OK", timeout=30)
    assert x["AlarmArn"] == "arn:aws:cloudwatch:%s:%s:alarm:web-5xx" % (REGION, ACCOUNT)
    align()
    burst(port, 12)
    x = wait_state(a, "web-5xx", "ALARM", timeout=30)
    assert re.fullmatch(r"Threshold Crossed: 1 datapoint \[%s\] was greater than or equal to the threshold "
                        r"\(5\.0\)\." % DP, x["StateReason"]), x["StateReason"]
    m = re.search(r"\[(\d+)\.0 ", x["StateReason"])
    assert int(m.group(1)) >= 5
    rd = json.loads(x["StateReasonData"])
    assert rd["version"] == "1.0" and rd["statistic"] == "Sum" and rd["period"] == 10
    assert rd["threshold"] == 5.0 and rd["recentDatapoints"]
    # the definition, in DescribeAlarms' names
    assert x["MetricName"] == "HTTPCode_Target_5XX_Count" and x["Namespace"] == "AWS/ApplicationELB"
    assert x["Statistic"] == "Sum" and x["Period"] == 10 and x["EvaluationPeriods"] == 1
    assert x["Dimensions"] == [{"Name": "TargetGroup", "Value": "web"}]
    assert x["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" and x["Threshold"] == 5.0
    assert x["TreatMissingData"] == "notBreaching" and x["ActionsEnabled"] is True
    assert x["AlarmActions"] == ["arn:aws:sns:%s:%s:ops" % (REGION, ACCOUNT)]
    assert x["AlarmDescription"] == "web answers 5xx"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", x["StateUpdatedTimestamp"])
    # recovery: the next periods have no 5xx
    x = wait_state(a, "web-5xx", "OK", timeout=30)
    assert re.fullmatch(r"Threshold Crossed: 1 datapoint \[0\.0 \(.*\)\] was not greater than or equal to "
                        r"the threshold \(5\.0\)\.", x["StateReason"]), x["StateReason"]
    h = history(a, "web-5xx", HistoryItemType="StateUpdate")
    assert [i["HistorySummary"] for i in h[:3]] == ["Alarm updated from ALARM to OK",
                                                      "Alarm updated from OK to ALARM",
                                                      "Alarm updated from INSUFFICIENT_DATA to OK"]
    assert "alarm: name=web-5xx state=ALARM previous=OK" in a.log()


def test_metric_math_5xx_rate(albd, backends):
    b = backends.start("b1")
    port = free_port()
    dims = {"TargetGroup": "web"}
    rate = {"name": "web-5xx-rate", "period": 10, "evaluation_periods": 1,
            "comparison": "GreaterThanThreshold", "threshold": 50.0, "treat_missing_data": "missing",
            "alarm_actions": ["ops"],
            "metrics": ({"id": "rate", "expression": "100 * errors / requests", "label": "5XX %",
                         "return_data": True},
                        {"id": "errors", "metric": "HTTPCode_Target_5XX_Count", "dimensions": dims,
                         "statistic": "Sum"},
                        {"id": "requests", "metric": "RequestCount", "dimensions": dims,
                         "statistic": "Sum"})}
    a = albd.start(alarm_config(port, b, [rate]), port=port)
    assert alarm(a, "web-5xx-rate")["StateValue"] == "INSUFFICIENT_DATA"
    align()
    burst(port, 9, 500)
    burst(port, 3, 200)
    x = wait_state(a, "web-5xx-rate", "ALARM", timeout=30)
    # 9 of 12: 75 %
    assert re.fullmatch(r"Threshold Crossed: 1 datapoint \[75\.0 \(.*\)\] was greater than the threshold "
                        r"\(50\.0\)\.", x["StateReason"]), x["StateReason"]
    assert "MetricName" not in x
    ids = {m["Id"]: m for m in x["Metrics"]}
    assert ids["rate"]["Expression"] == "100 * errors / requests" and ids["rate"]["ReturnData"] is True
    assert ids["errors"]["MetricStat"]["Metric"]["MetricName"] == "HTTPCode_Target_5XX_Count"
    assert ids["errors"]["MetricStat"]["Period"] == 10 and ids["errors"]["MetricStat"]["Stat"] == "Sum"
    # healthy traffic: the rate falls to 0 -> OK
    deadline = time.monotonic() + 15
    while alarm(a, "web-5xx-rate")["StateValue"] != "OK":
        assert time.monotonic() < deadline, alarm(a, "web-5xx-rate")
        burst(port, 2, 200)
        time.sleep(0.3)


def test_treat_missing_data_with_no_traffic(albd, backends):
    b = backends.start("b1")
    port = free_port()
    alarms = [metric_alarm("m-" + mode, metric="Never", dims={"Queue": "jobs"}, missing=mode,
                           namespace="MyApp", n=3, comparison="GreaterThanThreshold", threshold=1.0)
              for mode in ("missing", "ignore", "breaching", "notBreaching")]
    # albd's own metric with no traffic: no latency sample, so no datapoint
    # (a count would be 0, a real datapoint)
    for mode in ("breaching", "notBreaching"):
        alarms.append(metric_alarm("latency-" + mode, metric="TargetResponseTime", dims={"TargetGroup": "web"},
                                   stat="Average", comparison="GreaterThanThreshold", threshold=0.5,
                                   missing=mode))
    alarms.append(metric_alarm("depth", metric="QueueDepth", dims={"Queue": "jobs"}, namespace="MyApp",
                               stat="Maximum", comparison="GreaterThanThreshold", threshold=10.0,
                               missing="missing"))
    a = albd.start(alarm_config(port, b, alarms), port=port)
    x = wait_state(a, "m-breaching", "ALARM", timeout=8)
    assert x["StateReason"] == ("Threshold Crossed: no datapoints were received for 3 periods and 3 missing "
                                "datapoints were treated as [Breaching].")
    x = wait_state(a, "m-notBreaching", "OK", timeout=8)
    assert x["StateReason"] == ("Threshold Crossed: no datapoints were received for 3 periods and 3 missing "
                                "datapoints were treated as [NonBreaching].")
    x = wait_state(a, "latency-breaching", "ALARM", timeout=8)
    assert x["StateReason"] == ("Threshold Crossed: no datapoints were received for 1 period and 1 missing "
                                "datapoint was treated as [Breaching].")
    wait_state(a, "latency-notBreaching", "OK", timeout=8)
    # missing and ignore stay where they started; a custom metric put now raises "depth"
    r = a.admin_request("POST", "/api/v1/metrics/data", body=json.dumps(
        {"Namespace": "MyApp", "MetricData": [{"MetricName": "QueueDepth", "Value": 42,
                                                "Dimensions": [{"Name": "Queue", "Value": "jobs"}]}]}).encode())
    assert r.status == 200, r.body
    x = wait_state(a, "depth", "ALARM", timeout=30)
    assert re.fullmatch(r"Threshold Crossed: 1 datapoint \[42\.0 \(.*\)\] was greater than the threshold "
                        r"\(10\.0\)\.", x["StateReason"]), x["StateReason"]
    for name in ("m-missing", "m-ignore"):
        assert alarm(a, name)["StateValue"] == "INSUFFICIENT_DATA"
        assert not history(a, name, HistoryItemType="StateUpdate")
    # DescribeAlarms' filters
    j = describe(a, StateValue="ALARM")
    assert sorted(x["AlarmName"] for x in j["MetricAlarms"]) == ["depth", "latency-breaching", "m-breaching"]
    j = describe(a, AlarmNamePrefix="m-")
    assert len(j["MetricAlarms"]) == 4 and j["CompositeAlarms"] == []
    j = describe(a, AlarmNames=["depth", "m-ignore"])
    assert sorted(x["AlarmName"] for x in j["MetricAlarms"]) == ["depth", "m-ignore"]
    r = a.admin_request("GET", "/api/v1/alarms?StateValue=BROKEN")
    assert r.status == 400 and "StateValue" in r.json()["Error"]["Message"]


def test_history_and_set_alarm_state(albd, backends):
    b = backends.start("b1")
    port = free_port()
    a = albd.start(alarm_config(port, b, [metric_alarm("web-5xx", dims={"TargetGroup": "web"})]), port=port)
    wait_state(a, "web-5xx", "OK", timeout=30)
    r = set_state(a, "web-5xx", "ALARM", "testing the pager", json.dumps({"by": "e2e"}))
    assert r.status == 200, r.body
    x = alarm(a, "web-5xx")
    assert x["StateValue"] == "ALARM" and x["StateReason"] == "testing the pager"
    assert json.loads(x["StateReasonData"]) == {"by": "e2e"}
    items = history(a, "web-5xx")
    assert items[0]["AlarmName"] == "web-5xx" and items[0]["AlarmType"] == "MetricAlarm"
    kinds = [i["HistoryItemType"] for i in items]
    assert kinds[-1] == "ConfigurationUpdate" and items[-1]["HistorySummary"] == 'Alarm "web-5xx" created'
    assert json.loads(items[-1]["HistoryData"])["type"] == "Create"
    st = history(a, "web-5xx", HistoryItemType="StateUpdate")
    assert st[0]["HistorySummary"] == "Alarm updated from OK to ALARM"
    hd = json.loads(st[0]["HistoryData"])
    assert hd["version"] == "1.0"
    assert hd["oldState"]["stateValue"] == "OK" and hd["newState"]["stateValue"] == "ALARM"
    assert hd["newState"]["stateReason"] == "testing the pager"
    assert hd["newState"]["stateReasonData"] == {"by": "e2e"}
    assert hd["oldState"]["stateReason"].startswith("Threshold Crossed: ")
    # the action ran (published, or failed without a notifier): an Action item
    act = history(a, "web-5xx", HistoryItemType="Action")
    assert act and act[0]["HistorySummary"].endswith("action arn:aws:sns:%s:%s:ops" % (REGION, ACCOUNT))
    # newest first by default, oldest first on request; MaxRecords; dates
    asc = history(a, "web-5xx", ScanBy="TimestampAscending")
    assert [i["Timestamp"] for i in asc] == sorted(i["Timestamp"] for i in asc)
    assert len(history(a, "web-5xx", MaxRecords=1)) == 1
    assert history(a, "web-5xx", EndDate="2001-01-01T00:00:00Z") == []
    assert len(history(a, "web-5xx", StartDate="2001-01-01T00:00:00Z")) == len(items)
    # errors
    r = set_state(a, "web-5xx", "BROKEN")
    assert r.status == 400 and "StateValue" in r.json()["Error"]["Message"]
    r = set_state(a, "web-5xx", "OK", "x", "{not json")
    assert r.status == 400 and "StateReasonData" in r.json()["Error"]["Message"]
    r = set_state(a, "nope", "OK")
    assert r.status == 404
    r = a.admin_request("GET", "/api/v1/alarms/nope/history")
    assert r.status == 404
    r = a.admin_request("GET", "/api/v1/alarms/web-5xx/history?HistoryItemType=Other")
    assert r.status == 400 and "HistoryItemType" in r.json()["Error"]["Message"]
    # the next evaluation puts it back (no 5xx: OK), as in CloudWatch
    x = wait_state(a, "web-5xx", "OK", timeout=30)
    assert x["StateReason"].startswith("Threshold Crossed: 1 datapoint [0.0 ")


def test_composite_alarm(albd, backends):
    b = backends.start("b1")
    port = free_port()
    alarms = [metric_alarm("a", metric="Never", namespace="MyApp", missing="breaching"),
              metric_alarm("b", metric="Never", namespace="MyApp", missing="notBreaching", period=3600)]
    comp = [{"name": "a-not-b", "rule": 'ALARM("a") AND NOT ALARM(b)', "alarm_actions": ["ops"],
             "description": "a without b"}]
    a = albd.start(alarm_config(port, b, alarms, comp), port=port)
    wait_state(a, "a", "ALARM", timeout=8)
    x = wait_state(a, "a-not-b", "ALARM", timeout=5)
    arn_a = "arn:aws:cloudwatch:%s:%s:alarm:a" % (REGION, ACCOUNT)
    assert re.fullmatch(re.escape(arn_a) + r" transitioned to ALARM at \w+day \d\d \w+, \d{4} \d\d:\d\d:\d\d UTC",
                        x["StateReason"]), x["StateReason"]
    rd = json.loads(x["StateReasonData"])
    assert rd["triggeringAlarms"][0]["arn"] == arn_a
    assert rd["triggeringAlarms"][0]["state"]["value"] == "ALARM"
    assert x["AlarmRule"] == 'ALARM("a") AND NOT ALARM(b)'
    j = describe(a, AlarmTypes="CompositeAlarm")
    assert j["MetricAlarms"] == [] and [c["AlarmName"] for c in j["CompositeAlarms"]] == ["a-not-b"]
    # b to ALARM (it stays: its next evaluation is at the hour) -> the composite goes OK, naming b
    assert set_state(a, "b", "ALARM").status == 200
    x = wait_state(a, "a-not-b", "OK", timeout=3)
    assert x["StateReason"].startswith("arn:aws:cloudwatch:%s:%s:alarm:b transitioned to ALARM at " %
                                       (REGION, ACCOUNT))
    h = history(a, "a-not-b", HistoryItemType="StateUpdate")
    assert h[0]["AlarmType"] == "CompositeAlarm"
    # created INSUFFICIENT_DATA, evaluated at once (its members INSUFFICIENT_DATA: OK), then
    # ALARM when a did, OK when b did
    assert [i["HistorySummary"] for i in h] == ["Alarm updated from ALARM to OK",
                                                "Alarm updated from OK to ALARM",
                                                "Alarm updated from INSUFFICIENT_DATA to OK"]


def test_state_survives_restart_and_reload(albd, backends):
    b = backends.start("b1")
    port = free_port()
    alarms = [metric_alarm("always", metric="Never", namespace="MyApp", missing="breaching", n=2),
              metric_alarm("other", metric="Never", namespace="MyApp", missing="notBreaching")]
    text = alarm_config(port, b, alarms)
    a = albd.start(text, port=port)
    x = wait_state(a, "always", "ALARM", timeout=8)
    wait_state(a, "other", "OK", timeout=8)
    before = history(a, "always")
    assert a.stop() == 0
    saved = json.loads((a.state_dir / "alarms.json").read_text())
    assert saved["alarms"]["always"]["state"] == "ALARM"
    a.start()
    y = alarm(a, "always")
    assert y["StateValue"] == "ALARM" and y["StateUpdatedTimestamp"] == x["StateUpdatedTimestamp"]
    time.sleep(3)   # evaluations run after the restart: still no new transition
    assert history(a, "always") == before
    assert alarm(a, "always")["StateUpdatedTimestamp"] == x["StateUpdatedTimestamp"]
    # a reload with the same alarms keeps everything
    reload_and_wait(a, text)
    time.sleep(1)
    assert history(a, "always") == before
    # a changed alarm restarts from INSUFFICIENT_DATA; a removed one is forgotten
    changed = [metric_alarm("always", metric="Never", namespace="MyApp", missing="missing", n=2)]
    reload_and_wait(a, alarm_config(port, b, changed))
    x = wait_state(a, "always", "INSUFFICIENT_DATA", timeout=5)
    assert x["StateReason"] == "Unchecked: Alarm configuration updated"
    h = history(a, "always")
    assert h[0]["HistoryItemType"] == "StateUpdate"   # no action runs for it
    assert h[0]["HistorySummary"] == "Alarm updated from ALARM to INSUFFICIENT_DATA"
    assert h[1]["HistoryItemType"] == "ConfigurationUpdate"
    assert h[1]["HistorySummary"] == 'Alarm "always" updated'
    assert json.loads(h[1]["HistoryData"])["updatedAlarm"]["TreatMissingData"] == "missing"
    assert len(history(a, "always", HistoryItemType="Action")) == len(
        [i for i in before if i["HistoryItemType"] == "Action"])
    assert [n["AlarmName"] for n in describe(a)["MetricAlarms"]] == ["always"]
    reload_and_wait(a, text)
    wait_state(a, "other", "OK", timeout=8)
    h = history(a, "other")
    assert [i["HistorySummary"] for i in h if i["HistoryItemType"] == "ConfigurationUpdate"] == \
        ['Alarm "other" created']


def test_bad_alarm_config_refused(albd, backends, tmp_path):
    b = backends.start("b1")
    port = free_port()
    good = alarm_config(port, b, [metric_alarm("web-5xx", dims={"TargetGroup": "web"})])
    cases = [
        (metric_alarm("bad", comparison="GreaterThan"), r"alarms\.bad: comparison: \"GreaterThan\" is not"),
        (metric_alarm("bad", period=45), r"alarms\.bad: period: 45 is not 10, 20, 30 or a multiple of 60"),
        (metric_alarm("bad", missing="zero"), r"alarms\.bad: treat_missing_data: \"zero\""),
        (metric_alarm("bad", stat="Median"), r"alarms\.bad: statistic: \"Median\""),
        (metric_alarm("bad", period=600, n=200), r"alarms\.bad: evaluation_periods: times period"),
        ({"name": "bad", "period": 10, "evaluation_periods": 1, "comparison": "GreaterThanThreshold",
          "threshold": 1.0, "metrics": ({"id": "e", "expression": "m1 +", "return_data": True},
                                        {"id": "m1", "metric": "RequestCount", "statistic": "Sum"})},
         r"alarms\.bad: metrics\.e\.expression: "),
        ({"name": "bad", "period": 10, "evaluation_periods": 1, "comparison": "GreaterThanThreshold",
          "threshold": 1.0, "metrics": ({"id": "e", "expression": "m1 * 2", "return_data": True},
                                        {"id": "m1", "metric": "RequestCount", "statistic": "Sum",
                                         "return_data": True})},
         r"alarms\.bad: metrics: exactly one query must have return_data = true"),
        # the metrics of an alarm share its period (else 4 of 5 periods look missing)
        ({"name": "bad", "period": 10, "evaluation_periods": 1, "comparison": "GreaterThanThreshold",
          "threshold": 1.0, "metrics": ({"id": "e", "expression": "m1 * 2", "return_data": True,
                                         "period": 60},
                                        {"id": "m1", "metric": "RequestCount", "statistic": "Sum"})},
         r"alarms\.bad: metrics\.e\.period: 60 is not the alarm's period \(10\)"),
        # "Any expression used in a PutMetricAlarm operation must return a
        # single time series": not an array, not a number
        ({"name": "bad", "period": 10, "evaluation_periods": 1, "comparison": "GreaterThanThreshold",
          "threshold": 1.0, "metrics": ({"id": "e", "expression": "METRICS()", "return_data": True},
                                        {"id": "m1", "metric": "RequestCount", "statistic": "Sum"})},
         r"alarms\.bad: metrics\.e\.expression: the result is an array of time series; an alarm's expression "
         r"must return a single time series"),
        ({"name": "bad", "period": 10, "evaluation_periods": 1, "comparison": "GreaterThanThreshold",
          "threshold": 1.0, "metrics": ({"id": "e", "expression": "MAX(m1)", "return_data": True},
                                        {"id": "m1", "metric": "RequestCount", "statistic": "Sum"})},
         r"alarms\.bad: metrics\.e\.expression: the result is a single number, not a time series"),
        ({"name": "bad", "period": 10, "evaluation_periods": 1, "comparison": "GreaterThanThreshold",
          "threshold": 1.0, "metrics": ({"id": "e", "expression": "m1 * 2", "return_data": True},
                                        {"id": "m1", "metric": "RequestCount", "statistic": "Sum",
                                         "unit": "Parsecs"})},
         r"alarms\.bad: metrics\.m1\.unit: \"Parsecs\" is not one of CloudWatch's units"),
    ]
    for i, (bad, want) in enumerate(cases):
        text = alarm_config(port, b, [metric_alarm("web-5xx"), bad])
        path = tmp_path / ("bad%d.conf" % i)
        path.write_text(text)
        r = subprocess.run([ALBD_BIN, "-t", "-c", str(path)], capture_output=True, text=True, timeout=10)
        assert r.returncode == 1, (want, r.stdout, r.stderr)
        m = re.search(r"^%s:(\d+): %s" % (re.escape(str(path)), want), r.stderr, re.M)
        assert m, (want, r.stderr)
        line = int(m.group(1))
        # the line of the alarm, or of the query (metrics.ID) at fault
        near = "\n".join(text.splitlines()[line - 1:line + 2])
        assert 'name = "bad";' in near or ("metrics.e" in r.stderr and 'id = "e";' in near) or \
            ("metrics.m1" in r.stderr and 'id = "m1";' in near), (line, r.stderr)
    comp_cases = [
        ({"name": "c", "rule": 'ALARM("nope")'}, r"composite_alarms\.c: rule: \"nope\" is not an alarm"),
        ({"name": "c", "rule": "ALARM(web-5xx) AND"}, r"composite_alarms\.c: rule: "),
    ]
    for i, (bad, want) in enumerate(comp_cases):
        path = tmp_path / ("badc%d.conf" % i)
        path.write_text(alarm_config(port, b, [metric_alarm("web-5xx")], [bad]))
        r = subprocess.run([ALBD_BIN, "-t", "-c", str(path)], capture_output=True, text=True, timeout=10)
        assert r.returncode == 1 and re.search(r":\d+: " + want, r.stderr), (want, r.stderr)
    cyc = [{"name": "c1", "rule": "ALARM(c2)"}, {"name": "c2", "rule": "ALARM(c1) OR ALARM(web-5xx)"}]
    path = tmp_path / "cycle.conf"
    path.write_text(alarm_config(port, b, [metric_alarm("web-5xx")], cyc))
    r = subprocess.run([ALBD_BIN, "-t", "-c", str(path)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 1 and "rule: refers to itself" in r.stderr, r.stderr
    path = tmp_path / "good.conf"
    path.write_text(good)
    r = subprocess.run([ALBD_BIN, "-t", "-c", str(path)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    # a reload with a bad alarm keeps the running configuration
    a = albd.start(good, port=port)
    a.reload(alarm_config(port, b, [metric_alarm("web-5xx"), metric_alarm("bad", period=45)]))
    wait_until(lambda: "reload failed, the running configuration stays" in a.log(), 5, what="the refusal")
    assert re.search(r"reload failed, the running configuration stays: .*:\d+: alarms\.bad: period: ", a.log())
    assert [x["AlarmName"] for x in describe(a)["MetricAlarms"]] == ["web-5xx"]
    assert get(port, "/status?code=200").status == 200
