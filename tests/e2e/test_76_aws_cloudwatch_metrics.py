"""CloudWatch's metric operations over AWS's wire protocols (issue 14):
ListMetrics, GetMetricStatistics, GetMetricData and PutMetricData driven by
the real aws CLIs against albd's admin listener.

- Debian's awscli 2.9 (/usr/bin/aws) speaks awsQuery: every scalar goes as
  a string, timestamps as ISO 8601, answers come back as AWS's XML;
- the aws-cli 1.x of the machine's Python (where there is one) speaks
  CloudWatch's newer protocol (awsJson 1.0 for aws-cli 1.45): numbers as
  numbers, epoch timestamps;
- Smithy RPC v2 CBOR, which no CLI here sends, is spoken by the test itself
  (a small RFC 8949 encoder and decoder, SigV4 signed as botocore signs).

What is put is read back with exactly the same numbers; the load balancer's
own metrics are found under the dimension values a real ALB's user passes
(LoadBalancer "app/NAME/<hex>", TargetGroup "targetgroup/NAME/<hex>");
bad input gets CloudWatch's error codes and HTTP statuses.
"""
import json
import re
import time
from datetime import datetime, timezone

import pytest

from awsclients import aws1_cli, aws_admin, aws_cli
from conftest import Conn, free_port, listener, make_config, target_group, wait_until

NS = "AWS/ApplicationELB"


@pytest.fixture
def cw(albd, backends, tmp_path):
    """albd "lb1" with a listener forwarding to group "web" (one backend)
    and an admin listener taking AWS credentials."""
    class P:
        pass
    p = P()
    p.b1 = backends.start("b1")
    p.port, aport = free_port(), free_port()
    cfg = make_config([listener("web", p.port, "web")], [target_group("web", [p.b1])], name="lb1",
                      admin=aws_admin(tmp_path, aport))
    p.albd = albd.start(cfg, port=p.port)
    return p


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def epoch(ts):
    """A timestamp as the CLIs print it (ISO 8601 from aws 2, epoch
    seconds from aws 1) in seconds since the epoch."""
    if isinstance(ts, (int, float)):
        return int(ts)
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(timezone.utc).timestamp())


def fnv1a64(s):
    """config_name_hash_hex(): the <hex> of albd's resource ids."""
    h = 0xcbf29ce484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def minute():
    """A whole minute that ended 2 to 3 minutes ago: what is put there is
    in one datapoint of a 60 s period."""
    return int(time.time()) // 60 * 60 - 120


def stats(run, a, ns, name, dims, t0, *more):
    args = ["cloudwatch", "get-metric-statistics", "--namespace", ns, "--metric-name", name,
            "--start-time", iso(t0), "--end-time", iso(t0 + 60), "--period", "60"]
    if dims:
        args += ["--dimensions"] + ["Name=%s,Value=%s" % kv for kv in dims.items()]
    return run(a, *(args + list(more)))


def five(run, a, ns, name, dims, t0):
    """The five statistics of the one datapoint at T0."""
    out = stats(run, a, ns, name, dims, t0, "--statistics", "SampleCount", "Sum", "Minimum", "Maximum",
                "Average")
    assert out["Label"] == name
    assert len(out["Datapoints"]) == 1, out
    dp = out["Datapoints"][0]
    assert epoch(dp["Timestamp"]) == t0
    assert set(dp) == {"Timestamp", "SampleCount", "Sum", "Minimum", "Maximum", "Average", "Unit"}, dp
    for k in ("SampleCount", "Sum", "Minimum", "Maximum", "Average"):
        assert isinstance(dp[k], float), dp
    return dp


def check_numbers(dp, samples, unit):
    assert dp["SampleCount"] == len(samples)
    assert dp["Sum"] == pytest.approx(sum(samples))
    assert dp["Minimum"] == min(samples)
    assert dp["Maximum"] == max(samples)
    assert dp["Average"] == pytest.approx(sum(samples) / len(samples))
    assert dp["Unit"] == unit


def fails(run, a, *args):
    """Run a call expected to fail: (AWS error code, HTTP status) from the
    CLI's debug output."""
    p = run(a, "--debug", *args, check=False)
    assert p.returncode != 0, p
    m = re.search(r"An error occurred \(([A-Za-z]+)\)", p.stderr)
    assert m, p.stderr[-2000:]
    st = re.findall(r'"POST /[^"]*" (\d{3})', p.stderr)
    assert st, p.stderr[-3000:]
    return m.group(1), int(st[-1])


# ------------------------------------------------------------ aws 2.9 (awsQuery)


def test_put_then_statistics_same_numbers(cw):
    a = cw.albd
    t0 = minute()
    dims = {"Queue": "jobs", "Host": "h1"}
    dimargs = ["--dimensions", "Queue=jobs,Host=h1"]
    vals = [3.5, 1.25, 9.75, 1.0]
    for i, v in enumerate(vals):
        assert aws_cli(a, "cloudwatch", "put-metric-data", "--namespace", "MyApp", "--metric-name", "Depth",
                       *dimargs, "--value", repr(v), "--unit", "Count", "--timestamp", iso(t0 + i)) == {}
    check_numbers(five(aws_cli, a, "MyApp", "Depth", dims, t0), vals, "Count")

    # Values and Counts: each value counts Counts times
    t1 = t0 - 60
    assert aws_cli(a, "cloudwatch", "put-metric-data", "--namespace", "MyApp", "--metric-data", json.dumps([
        {"MetricName": "Depth", "Dimensions": [{"Name": "Queue", "Value": "jobs"}, {"Name": "Host", "Value": "h1"}],
         "Timestamp": iso(t1 + 5), "Values": [10.0, 20.0, 0.5], "Counts": [2, 3, 1], "Unit": "Count"}])) == {}
    check_numbers(five(aws_cli, a, "MyApp", "Depth", dims, t1), [10.0] * 2 + [20.0] * 3 + [0.5], "Count")

    # a statistic set: the numbers come back as they were given
    t2 = t0 - 120
    assert aws_cli(a, "cloudwatch", "put-metric-data", "--namespace", "MyApp", "--metric-name", "Lat",
                   "--dimensions", "Queue=jobs", "--unit", "Milliseconds", "--timestamp", iso(t2 + 1),
                   "--statistic-values", "SampleCount=40,Sum=1000,Minimum=2,Maximum=95") == {}
    dp = five(aws_cli, a, "MyApp", "Lat", {"Queue": "jobs"}, t2)
    assert (dp["SampleCount"], dp["Sum"], dp["Minimum"], dp["Maximum"], dp["Average"], dp["Unit"]) == \
        (40.0, 1000.0, 2.0, 95.0, 25.0, "Milliseconds")

    # another dimension set is another metric
    out = stats(aws_cli, a, "MyApp", "Depth", {"Queue": "jobs"}, t0, "--statistics", "Sum")
    assert out == {"Label": "Depth", "Datapoints": []}
    # a Unit that is not the metric's: no data, as CloudWatch
    out = stats(aws_cli, a, "MyApp", "Depth", dims, t0, "--statistics", "Sum", "--unit", "Seconds")
    assert out["Datapoints"] == []


def test_percentiles_through_extended_statistics(cw):
    a = cw.albd
    t0 = minute()
    vals = [float(v) for v in range(1, 101)]
    assert aws_cli(a, "cloudwatch", "put-metric-data", "--namespace", "MyApp", "--metric-data", json.dumps([
        {"MetricName": "Latency", "Timestamp": iso(t0 + 7), "Values": vals, "Unit": "Milliseconds"}])) == {}
    out = stats(aws_cli, a, "MyApp", "Latency", {}, t0, "--extended-statistics", "p50", "p90", "p99")
    assert len(out["Datapoints"]) == 1, out
    dp = out["Datapoints"][0]
    assert set(dp) == {"Timestamp", "Unit", "ExtendedStatistics"}, dp
    # both lists in one call (the SDKs send that; CloudWatch answers both)
    both = stats(aws_cli, a, "MyApp", "Latency", {}, t0, "--statistics", "Maximum", "SampleCount",
                 "--extended-statistics", "p50")["Datapoints"]
    assert len(both) == 1 and set(both[0]) == {"Timestamp", "SampleCount", "Maximum", "Unit", "ExtendedStatistics"}
    assert (both[0]["SampleCount"], both[0]["Maximum"]) == (100.0, 100.0)
    assert both[0]["ExtendedStatistics"]["p50"] == dp["ExtendedStatistics"]["p50"]
    assert dp["Unit"] == "Milliseconds"
    ext = dp["ExtendedStatistics"]
    assert set(ext) == {"p50", "p90", "p99"}
    # nearest rank, within the store's 1%
    for p, want in (("p50", 50.0), ("p90", 90.0), ("p99", 99.0)):
        assert ext[p] == pytest.approx(want, rel=0.011), (p, ext)


def test_get_metric_data_with_metric_math(cw):
    a = cw.albd
    t0 = minute()
    d = [{"Name": "Queue", "Value": "jobs"}]
    assert aws_cli(a, "cloudwatch", "put-metric-data", "--namespace", "MyApp", "--metric-data", json.dumps(
        [{"MetricName": "In", "Dimensions": d, "Timestamp": iso(t0 + i), "Value": v}
         for i, v in enumerate([1.0, 2.0, 3.0])] +
        [{"MetricName": "In", "Dimensions": d, "Timestamp": iso(t0 - 60 + 3), "Value": 7.0}] +
        [{"MetricName": "Out", "Dimensions": d, "Timestamp": iso(t0 + 9), "Values": [4.0, 0.5]}])) == {}

    def ms(i, name, stat="Sum", **kw):
        return dict({"Id": i, "MetricStat": {"Metric": {"Namespace": "MyApp", "MetricName": name, "Dimensions": d},
                                            "Period": 60, "Stat": stat}}, **kw)
    queries = [ms("m1", "In"), ms("m2", "Out", ReturnData=False), ms("mx", "In", "Maximum"),
               {"Id": "double", "Expression": "m1*2", "Label": "twice"},
               {"Id": "total", "Expression": "SUM(METRICS())"}]
    out = aws_cli(a, "cloudwatch", "get-metric-data", "--start-time", iso(t0 - 60), "--end-time", iso(t0 + 60),
                  "--scan-by", "TimestampAscending", "--metric-data-queries", json.dumps(queries))
    assert set(out) == {"MetricDataResults", "Messages"}
    assert out["Messages"] == []
    res = {r["Id"]: r for r in out["MetricDataResults"]}
    assert [r["Id"] for r in out["MetricDataResults"]] == ["m1", "mx", "double", "total"]   # m2: ReturnData false
    for r in res.values():
        assert set(r) == {"Id", "Label", "Timestamps", "Values", "StatusCode"}
        assert r["StatusCode"] == "Complete"
    series = {i: [(epoch(t), v) for t, v in zip(r["Timestamps"], r["Values"])] for i, r in res.items()}
    assert series["m1"] == [(t0 - 60, 7.0), (t0, 6.0)]
    assert series["mx"] == [(t0 - 60, 7.0), (t0, 3.0)]
    assert series["double"] == [(t0 - 60, 14.0), (t0, 12.0)]
    # METRICS() is every MetricStat of the call, m2 too: Sum of In + Max of In + Sum of Out
    assert series["total"] == [(t0 - 60, 14.0), (t0, 6.0 + 3.0 + 4.5)]
    assert res["m1"]["Label"] == "In" and res["double"]["Label"] == "twice"
    # a Unit that is not the metric's: no data, as CloudWatch; its own: the data
    units = [dict(ms("u1", "In"), MetricStat=dict(ms("u1", "In")["MetricStat"], Unit="Seconds")),
             dict(ms("u2", "In"), MetricStat=dict(ms("u2", "In")["MetricStat"], Unit="None"))]
    out = aws_cli(a, "cloudwatch", "get-metric-data", "--start-time", iso(t0 - 60), "--end-time", iso(t0 + 60),
                  "--metric-data-queries", json.dumps(units))
    got = {r["Id"]: r["Values"] for r in out["MetricDataResults"]}
    assert got == {"u1": [], "u2": [6.0, 7.0]}
    # newest first by default
    out = aws_cli(a, "cloudwatch", "get-metric-data", "--start-time", iso(t0 - 60), "--end-time", iso(t0 + 60),
                  "--metric-data-queries", json.dumps([ms("m1", "In")]))
    assert [epoch(t) for t in out["MetricDataResults"][0]["Timestamps"]] == [t0, t0 - 60]
    # MaxDatapoints pages: one datapoint a page, NextToken to the next
    seen, tok = [], None
    for _ in range(4):
        args = ["cloudwatch", "get-metric-data", "--start-time", iso(t0 - 60), "--end-time", iso(t0 + 60),
                "--scan-by", "TimestampAscending", "--max-datapoints", "1", "--no-paginate",
                "--metric-data-queries", json.dumps([ms("m1", "In")])]
        out = aws_cli(a, *(args + (["--next-token", tok] if tok else [])))
        r = out["MetricDataResults"][0]
        seen += [(epoch(t), v) for t, v in zip(r["Timestamps"], r["Values"])]
        tok = out.get("NextToken")
        if not tok:
            break
    assert seen == [(t0 - 60, 7.0), (t0, 6.0)]


def test_list_metrics_filters_and_pages(cw):
    a = cw.albd
    data = [{"MetricName": "Depth", "Dimensions": [{"Name": "Queue", "Value": q}], "Value": 1.0}
            for q in ("jobs", "mail")] + [{"MetricName": "Age", "Dimensions": [{"Name": "Queue", "Value": "jobs"},
                                                                             {"Name": "Host", "Value": "h1"}],
                                           "Value": 2.0}, {"MetricName": "Age", "Value": 3.0}]
    assert aws_cli(a, "cloudwatch", "put-metric-data", "--namespace", "MyApp", "--metric-data",
                   json.dumps(data)) == {}

    def listed(*args):
        out = aws_cli(a, "cloudwatch", "list-metrics", *args)
        assert set(out) == {"Metrics"}, out
        for m in out["Metrics"]:
            assert set(m) == {"Namespace", "MetricName", "Dimensions"}
        return sorted((m["Namespace"], m["MetricName"], tuple(sorted((d["Name"], d["Value"])
                                                                      for d in m["Dimensions"])))
                      for m in out["Metrics"])
    assert listed("--namespace", "MyApp") == [
        ("MyApp", "Age", ()), ("MyApp", "Age", (("Host", "h1"), ("Queue", "jobs"))),
        ("MyApp", "Depth", (("Queue", "jobs"),)), ("MyApp", "Depth", (("Queue", "mail"),))]
    assert listed("--namespace", "MyApp", "--metric-name", "Depth") == [
        ("MyApp", "Depth", (("Queue", "jobs"),)), ("MyApp", "Depth", (("Queue", "mail"),))]
    # a DimensionFilter without a Value: any value of that dimension
    assert listed("--namespace", "MyApp", "--dimensions", "Name=Queue") == [
        ("MyApp", "Age", (("Host", "h1"), ("Queue", "jobs"))),
        ("MyApp", "Depth", (("Queue", "jobs"),)), ("MyApp", "Depth", (("Queue", "mail"),))]
    assert listed("--namespace", "MyApp", "--dimensions", "Name=Queue,Value=jobs") == [
        ("MyApp", "Age", (("Host", "h1"), ("Queue", "jobs"))), ("MyApp", "Depth", (("Queue", "jobs"),))]
    assert listed("--dimensions", "Name=Queue,Value=jobs", "Name=Host") == [
        ("MyApp", "Age", (("Host", "h1"), ("Queue", "jobs")))]
    assert listed("--namespace", "MyApp", "--recently-active", "PT3H")[0] == ("MyApp", "Age", ())
    assert listed("--namespace", "Nothing") == []


def test_list_metrics_recently_active_and_ten_filters(cw):
    """ListMetrics: RecentlyActive takes PT3H only; at most 10 dimension
    filters ("Array Members: Maximum number of 10 items")."""
    a = cw.albd
    code, st = fails(aws_cli, a, "cloudwatch", "list-metrics", "--recently-active", "PT1H")
    assert (code, st) == ("InvalidParameterValue", 400)
    ten = ["Name=D%d" % i for i in range(10)]
    assert aws_cli(a, "cloudwatch", "list-metrics", "--dimensions", *ten) == {"Metrics": []}
    code, st = fails(aws_cli, a, "cloudwatch", "list-metrics", "--dimensions", *(ten + ["Name=D10"]))
    assert (code, st) == ("InvalidParameterValue", 400)


def test_list_metrics_pages(cw):
    """More than a page (500): NextToken, which the CLI follows."""
    a = cw.albd
    many = [{"MetricName": "M%03d" % i, "Value": float(i)} for i in range(520)]
    assert aws_cli(a, "cloudwatch", "put-metric-data", "--namespace", "Many", "--metric-data",
                   json.dumps(many)) == {}
    first = aws_cli(a, "cloudwatch", "list-metrics", "--namespace", "Many", "--no-paginate")
    assert len(first["Metrics"]) == 500 and first["NextToken"]
    rest = aws_cli(a, "cloudwatch", "list-metrics", "--namespace", "Many", "--no-paginate", "--next-token",
                   first["NextToken"])
    assert len(rest["Metrics"]) == 20 and "NextToken" not in rest
    names = {m["MetricName"] for m in first["Metrics"] + rest["Metrics"]}
    assert names == {"M%03d" % i for i in range(520)}
    assert len(aws_cli(a, "cloudwatch", "list-metrics", "--namespace", "Many")["Metrics"]) == 520


def test_load_balancer_metrics_by_alb_ids(cw):
    """RequestCount of the load balancer after requests through its
    listener, asked for as a real ALB's user does."""
    a = cw.albd
    # the ids as ELBv2 gives them: LoadBalancer is the ARN's part after
    # "loadbalancer/", TargetGroup the part from "targetgroup/"
    lbs = aws_cli(a, "elbv2", "describe-load-balancers")["LoadBalancers"]
    tgs = aws_cli(a, "elbv2", "describe-target-groups")["TargetGroups"]
    lb_id = lbs[0]["LoadBalancerArn"].split(":loadbalancer/", 1)[1]
    tg_id = "targetgroup/" + tgs[0]["TargetGroupArn"].split(":targetgroup/", 1)[1]
    assert lb_id == "app/lb1/" + fnv1a64("lb1") and tg_id == "targetgroup/web/" + fnv1a64("web")
    with Conn(cw.port) as c:
        for _ in range(9):
            assert c.request("GET", "/ok").status == 200
    now = int(time.time())
    start, end = (now - 600) // 60 * 60, (now // 60 + 2) * 60

    def total(dims):
        args = ["cloudwatch", "get-metric-statistics", "--namespace", NS, "--metric-name", "RequestCount",
                "--start-time", iso(start), "--end-time", iso(end), "--period", "60", "--statistics", "Sum"]
        args += ["--dimensions"] + ["Name=%s,Value=%s" % kv for kv in dims.items()]
        out = aws_cli(a, *args)
        assert all(dp["Unit"] == "Count" for dp in out["Datapoints"])
        return sum(dp["Sum"] for dp in out["Datapoints"])
    wait_until(lambda: total({"LoadBalancer": lb_id}) == 9, 20, interval=0.5, what="RequestCount 9")
    # albd's own names for the same series
    assert total({"LoadBalancer": "lb1"}) == 9
    assert total({"LoadBalancer": lb_id, "TargetGroup": tg_id}) == 9
    assert total({"TargetGroup": tg_id}) == 9
    assert total({"LoadBalancer": "app/other/0123456789abcdef"}) == 0
    # GetMetricData the same way
    q = [{"Id": "r", "MetricStat": {"Metric": {"Namespace": NS, "MetricName": "RequestCount",
                                                "Dimensions": [{"Name": "LoadBalancer", "Value": lb_id}]},
                                     "Period": 60, "Stat": "Sum"}}]
    out = aws_cli(a, "cloudwatch", "get-metric-data", "--start-time", iso(start), "--end-time", iso(end),
                  "--metric-data-queries", json.dumps(q))
    assert sum(out["MetricDataResults"][0]["Values"]) == 9
    # ListMetrics finds it, filtered by the ALB's id
    out = aws_cli(a, "cloudwatch", "list-metrics", "--namespace", NS, "--metric-name", "RequestCount",
                  "--dimensions", "Name=LoadBalancer,Value=" + lb_id)
    dims = [sorted((d["Name"], d["Value"]) for d in m["Dimensions"]) for m in out["Metrics"]]
    assert [("LoadBalancer", "lb1")] in dims
    assert [("LoadBalancer", "lb1"), ("TargetGroup", "web")] in dims


def test_put_errors_have_cloudwatchs_codes(cw):
    a = cw.albd
    now = int(time.time())
    put = ["cloudwatch", "put-metric-data", "--namespace"]
    # a namespace of AWS's own
    assert fails(aws_cli, a, *put, "AWS/Mine", "--metric-name", "x", "--value", "1") == \
        ("InvalidParameterValue", 400)
    # no value of any kind
    assert fails(aws_cli, a, *put, "MyApp", "--metric-name", "x") == ("MissingParameter", 400)
    # Value with StatisticValues
    assert fails(aws_cli, a, *put, "MyApp", "--metric-data", json.dumps([
        {"MetricName": "x", "Value": 1, "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1,
                                                            "Maximum": 1}}])) == ("InvalidParameterCombination", 400)
    # Counts without Values
    assert fails(aws_cli, a, *put, "MyApp", "--metric-data", json.dumps([
        {"MetricName": "x", "Value": 1, "Counts": [1]}])) == ("InvalidParameterCombination", 400)
    # three weeks old, a unit CloudWatch does not have, a bad resolution
    for d in ({"Timestamp": iso(now - 21 * 86400)}, {"Unit": "Parsecs"}, {"StorageResolution": 5}):
        assert fails(aws_cli, a, *put, "MyApp", "--metric-data", json.dumps([
            dict({"MetricName": "x", "Value": 1}, **d)])) == ("InvalidParameterValue", 400), d
    # nothing of a refused call is stored
    assert aws_cli(a, "cloudwatch", "list-metrics", "--namespace", "MyApp") == {"Metrics": []}
    assert a.alive()


def test_query_errors_have_cloudwatchs_codes(cw):
    a = cw.albd
    now = int(time.time())
    gms = ["cloudwatch", "get-metric-statistics", "--namespace", NS, "--metric-name", "RequestCount",
           "--period", "60"]
    # EndTime before StartTime
    assert fails(aws_cli, a, *gms, "--start-time", iso(now), "--end-time", iso(now - 600), "--statistics",
                 "Sum") == ("InvalidParameterValue", 400)
    # neither Statistics nor ExtendedStatistics
    rng = ["--start-time", iso(now - 600), "--end-time", iso(now)]
    assert fails(aws_cli, a, *gms, *rng) == ("InvalidParameterCombination", 400)
    # a percentile is an extended statistic
    assert fails(aws_cli, a, *gms, *rng, "--extended-statistics", "Sum") == ("InvalidParameterValue", 400)
    # more than 1,440 datapoints
    assert fails(aws_cli, a, *gms[:-1], "1", "--start-time", iso(now - 7200), "--end-time", iso(now),
                 "--statistics", "Sum") == ("InvalidParameterCombination", 400)
    # exactly 1,440 periods from an odd minute: the periods are counted from
    # where the first begins (StartTime rounded to the minute), not from
    # StartTime rounded down to the period
    odd = (now - 3 * 86400) // 120 * 120 + 60
    out = aws_cli(a, *gms[:-1], "120", "--start-time", iso(odd), "--end-time", iso(odd + 1440 * 120),
                  "--statistics", "Sum")
    assert out["Label"] == "RequestCount"
    assert fails(aws_cli, a, *gms[:-1], "120", "--start-time", iso(odd), "--end-time", iso(odd + 1440 * 120 + 1),
                 "--statistics", "Sum") == ("InvalidParameterCombination", 400)
    # a metric albd has never had: no datapoints, as CloudWatch answers (no error)
    assert aws_cli(a, "cloudwatch", "get-metric-statistics", "--namespace", "Nope", "--metric-name", "x",
                   "--period", "60", *rng, "--statistics", "Sum") == {"Label": "x", "Datapoints": []}
    q0 = json.dumps([{"Id": "m1", "MetricStat": {"Metric": {"Namespace": "Nope", "MetricName": "x"},
                                                  "Period": 60, "Stat": "Sum"}}])
    out = aws_cli(a, "cloudwatch", "get-metric-data", "--metric-data-queries", q0, *rng)
    assert [(r["Id"], r["Timestamps"], r["Values"], r["StatusCode"]) for r in out["MetricDataResults"]] == \
        [("m1", [], [], "Complete")]

    q = json.dumps([{"Id": "m1", "MetricStat": {"Metric": {"Namespace": NS, "MetricName": "RequestCount"},
                                                 "Period": 60, "Stat": "Sum"}}])
    gmd = ["cloudwatch", "get-metric-data", "--metric-data-queries", q]
    assert fails(aws_cli, a, *gmd, "--start-time", iso(now), "--end-time", iso(now - 60)) == \
        ("InvalidParameterValue", 400)
    assert fails(aws_cli, a, *gmd, *rng, "--next-token", "not-a-token") == ("InvalidNextToken", 400)
    assert fails(aws_cli, a, "cloudwatch", "get-metric-data", *rng, "--metric-data-queries", json.dumps(
        [{"Id": "e1", "Expression": "100 * (m1"}])) == ("ValidationError", 400)
    assert fails(aws_cli, a, "cloudwatch", "list-metrics", "--next-token", "nope") == ("InvalidParameterValue", 400)
    assert fails(aws_cli, a, "cloudwatch", "list-metrics", "--recently-active", "P1D") == \
        ("InvalidParameterValue", 400)
    assert a.alive()


def test_custom_series_limit(albd, backends, tmp_path):
    b = backends.start("b1")
    port, aport = free_port(), free_port()
    a = albd.start(make_config([listener("web", port, "web")], [target_group("web", [b])],
                               admin=aws_admin(tmp_path, aport, max_custom_series=2)), port=port)
    put = ["cloudwatch", "put-metric-data", "--namespace", "A", "--metric-name", "m", "--value", "1",
           "--dimensions"]
    assert aws_cli(a, *put, "Q=1") == {}
    assert aws_cli(a, *put, "Q=2") == {}
    assert fails(aws_cli, a, *put, "Q=3") == ("LimitExceeded", 400)
    assert aws_cli(a, *put, "Q=2") == {}


def test_units_kept_apart(cw):
    """A metric put in Milliseconds then in Seconds: get-metric-statistics
    gives a datapoint per unit, --unit Seconds that one alone, list-metrics
    the metric once (CloudWatch: "If you specify a unit, the operation
    returns only data that was collected with that unit specified")."""
    a = cw.albd
    t0 = minute()
    for v, unit, dt in ((1500, "Milliseconds", 1), (2, "Seconds", 2)):
        assert aws_cli(a, "cloudwatch", "put-metric-data", "--namespace", "UnitsCli", "--metric-name", "Latency",
                       "--value", str(v), "--unit", unit, "--timestamp", iso(t0 + dt)) == {}
    out = stats(aws_cli, a, "UnitsCli", "Latency", {}, t0, "--statistics", "SampleCount", "Sum")
    assert sorted((epoch(dp["Timestamp"]), dp["SampleCount"], dp["Sum"], dp["Unit"]) for dp in out["Datapoints"]) == \
        [(t0, 1.0, 2.0, "Seconds"), (t0, 1.0, 1500.0, "Milliseconds")]
    out = stats(aws_cli, a, "UnitsCli", "Latency", {}, t0, "--statistics", "SampleCount", "Sum", "--unit", "Seconds")
    assert [(dp["SampleCount"], dp["Sum"], dp["Unit"]) for dp in out["Datapoints"]] == [(1.0, 2.0, "Seconds")]
    out = aws_cli(a, "cloudwatch", "list-metrics", "--namespace", "UnitsCli")
    assert [m["MetricName"] for m in out["Metrics"]] == ["Latency"]


# ------------------------------------------------------------ aws-cli 1.x


def test_aws1_put_then_statistics_same_numbers(cw):
    a = cw.albd
    t0 = minute()
    dims = [{"Name": "Queue", "Value": "jobs"}]
    assert aws1_cli(a, "cloudwatch", "put-metric-data", "--namespace", "V1", "--metric-data", json.dumps(
        [{"MetricName": "Depth", "Dimensions": dims, "Timestamp": iso(t0 + i), "Value": v, "Unit": "Count"}
         for i, v in enumerate([2.5, 7.0, 1.5])] +
        [{"MetricName": "Depth", "Dimensions": dims, "Timestamp": iso(t0 + 30), "Values": [4.0, 8.0],
          "Counts": [2, 1], "Unit": "Count"}])) == {}
    samples = [2.5, 7.0, 1.5, 4.0, 4.0, 8.0]
    check_numbers(five(aws1_cli, a, "V1", "Depth", {"Queue": "jobs"}, t0), samples, "Count")
    # the same numbers through aws 2.9's awsQuery
    check_numbers(five(aws_cli, a, "V1", "Depth", {"Queue": "jobs"}, t0), samples, "Count")
    # a statistic set
    assert aws1_cli(a, "cloudwatch", "put-metric-data", "--namespace", "V1", "--metric-name", "Lat",
                    "--unit", "Seconds", "--timestamp", iso(t0 + 3),
                    "--statistic-values", "SampleCount=4,Sum=2,Minimum=0.125,Maximum=1") == {}
    dp = five(aws1_cli, a, "V1", "Lat", {}, t0)
    assert (dp["SampleCount"], dp["Sum"], dp["Minimum"], dp["Maximum"], dp["Average"], dp["Unit"]) == \
        (4.0, 2.0, 0.125, 1.0, 0.5, "Seconds")
    # percentiles
    out = stats(aws1_cli, a, "V1", "Depth", {"Queue": "jobs"}, t0, "--extended-statistics", "p50", "p99")
    ext = out["Datapoints"][0]["ExtendedStatistics"]
    assert ext["p50"] == pytest.approx(4.0, rel=0.011) and ext["p99"] == pytest.approx(8.0, rel=0.011)
    # metric math and ListMetrics
    q = [{"Id": "m1", "MetricStat": {"Metric": {"Namespace": "V1", "MetricName": "Depth", "Dimensions": dims},
                                      "Period": 60, "Stat": "Sum"}}, {"Id": "e1", "Expression": "m1*2"}]
    out = aws1_cli(a, "cloudwatch", "get-metric-data", "--start-time", iso(t0), "--end-time", iso(t0 + 60),
                   "--metric-data-queries", json.dumps(q))
    res = {r["Id"]: r for r in out["MetricDataResults"]}
    assert [epoch(t) for t in res["e1"]["Timestamps"]] == [t0]
    assert res["m1"]["Values"] == [pytest.approx(sum(samples))]
    assert res["e1"]["Values"] == [pytest.approx(2 * sum(samples))]
    out = aws1_cli(a, "cloudwatch", "list-metrics", "--namespace", "V1", "--dimensions", "Name=Queue")
    assert out["Metrics"] == [{"Namespace": "V1", "MetricName": "Depth", "Dimensions": dims}]


def test_aws1_errors(cw):
    a = cw.albd
    now = int(time.time())
    assert fails(aws1_cli, a, "cloudwatch", "put-metric-data", "--namespace", "AWS/Mine", "--metric-name", "x",
                 "--value", "1") == ("InvalidParameterValue", 400)
    assert fails(aws1_cli, a, "cloudwatch", "get-metric-statistics", "--namespace", NS, "--metric-name",
                 "RequestCount", "--period", "60", "--start-time", iso(now), "--end-time", iso(now - 60),
                 "--statistics", "Sum") == ("InvalidParameterValue", 400)
    assert fails(aws1_cli, a, "cloudwatch", "put-metric-data", "--namespace", "MyApp", "--metric-data",
                 json.dumps([{"MetricName": "x", "Value": 1, "Values": [1]}])) == \
        ("InvalidParameterCombination", 400)


# ------------------------------------------------------------ hostile input


def test_hostile_input_never_hurts(cw):
    """Junk in every member of the four operations, over awsQuery (strings)
    and awsJson (any JSON type): an error with a 4xx each time, never a
    crash (the ASan build checks the memory too)."""
    import random
    from test_79_aws_api import CW_TARGET, query, send, signed
    a = cw.albd
    rnd = random.Random(76)
    now = int(time.time())
    junk = ["", "-1", "0", "1", "60", "1e309", "NaN", "inf", "p", "p101", "p0", "p99.9", "\x7f", "%00", "a" * 300,
            "2026-02-30T00:00:00Z", iso(now), iso(now - 600), str(now), "9" * 40, "true", "false", "Sum",
            "AWS/x", "PT3H", "m1", "m1*2", "SUM(METRICS())", "(" * 200, "TimestampAscending", "Count"]
    ops = {
        "ListMetrics": ["Namespace", "MetricName", "Dimensions.member.1.Name", "Dimensions.member.1.Value",
                        "Dimensions.member.11.Name", "NextToken", "RecentlyActive", "Dimensions"],
        "GetMetricStatistics": ["Namespace", "MetricName", "Dimensions.member.1.Name", "Dimensions.member.1.Value",
                                "StartTime", "EndTime", "Period", "Statistics.member.1",
                                "ExtendedStatistics.member.1", "Unit", "Statistics"],
        "GetMetricData": ["MetricDataQueries.member.1.Id", "MetricDataQueries.member.1.Expression",
                          "MetricDataQueries.member.1.MetricStat.Metric.MetricName",
                          "MetricDataQueries.member.1.MetricStat.Metric.Namespace",
                          "MetricDataQueries.member.1.MetricStat.Period", "MetricDataQueries.member.1.MetricStat.Stat",
                          "MetricDataQueries.member.1.ReturnData", "MetricDataQueries.member.2.Id",
                          "MetricDataQueries.member.2.Expression", "StartTime", "EndTime", "NextToken", "ScanBy",
                          "MaxDatapoints", "MetricDataQueries"],
        "PutMetricData": ["Namespace", "MetricData.member.1.MetricName", "MetricData.member.1.Value",
                          "MetricData.member.1.Values.member.1", "MetricData.member.1.Counts.member.1",
                          "MetricData.member.1.StatisticValues.SampleCount", "MetricData.member.1.StatisticValues.Sum",
                          "MetricData.member.1.Timestamp", "MetricData.member.1.Unit",
                          "MetricData.member.1.StorageResolution", "MetricData.member.1.Dimensions.member.1.Name",
                          "MetricData.member.1.Dimensions.member.1.Value", "MetricData"],
    }
    from urllib.parse import quote
    for _ in range(120):
        op = rnd.choice(sorted(ops))
        params = [("Action", op), ("Version", "2010-08-01")] + [
            (k, quote(rnd.choice(junk), safe="")) for k in rnd.sample(ops[op], rnd.randint(1, len(ops[op])))]
        st, _, body = query(a, "monitoring", params)
        assert st in (200, 400, 404), (params, st, body)
    values = junk + [None, 0, -5, 1.5, 1e300, True, [], {}, [1, "x"], {"Name": "n"}, now, 60]
    shapes = {
        "ListMetrics": ["Namespace", "MetricName", "Dimensions", "NextToken", "RecentlyActive"],
        "GetMetricStatistics": ["Namespace", "MetricName", "Dimensions", "StartTime", "EndTime", "Period",
                                "Statistics", "ExtendedStatistics", "Unit"],
        "GetMetricData": ["MetricDataQueries", "StartTime", "EndTime", "NextToken", "ScanBy", "MaxDatapoints"],
        "PutMetricData": ["Namespace", "MetricData"],
    }
    for _ in range(120):
        op = rnd.choice(sorted(shapes))
        body = {k: rnd.choice(values) for k in rnd.sample(shapes[op], rnd.randint(1, len(shapes[op])))}
        if op == "PutMetricData" and rnd.random() < 0.7:
            body["MetricData"] = [{k: rnd.choice(values) for k in rnd.sample(
                ["MetricName", "Dimensions", "Timestamp", "Value", "Values", "Counts", "StatisticValues", "Unit",
                 "StorageResolution"], rnd.randint(1, 5))}]
        if op == "GetMetricData" and rnd.random() < 0.7:
            body["MetricDataQueries"] = [{k: rnd.choice(values) for k in rnd.sample(
                ["Id", "MetricStat", "Expression", "Label", "ReturnData", "Period"], rnd.randint(1, 4))}]
        hdrs = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": CW_TARGET + "." + op}
        st, _, rb = send(a, *signed(a, "monitoring", json.dumps(body).encode(), hdrs))
        assert st in (200, 400, 404), (op, body, st, rb)
        if st != 200:
            assert json.loads(rb)["__type"], rb
    assert a.alive()
    assert aws_cli(a, "cloudwatch", "list-metrics", "--namespace", "Nothing") == {"Metrics": []}


# ------------------------------------------------------------ Smithy RPC v2 CBOR


def cbor_enc(v):
    """CBOR (RFC 8949) of V as the SDKs send it: datetime as tag 1."""
    import struct

    def head(major, n):
        if n < 24:
            return bytes([major << 5 | n])
        for ai, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
            if n < 1 << (8 * struct.calcsize(fmt)):
                return bytes([major << 5 | ai]) + struct.pack(fmt, n)
    if isinstance(v, bool):
        return bytes([0xf5 if v else 0xf4])
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, float):
        return b"\xfb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        return head(3, len(b)) + b
    if isinstance(v, datetime):
        return b"\xc1" + cbor_enc(v.timestamp())
    if isinstance(v, (list, tuple)):
        return head(4, len(v)) + b"".join(cbor_enc(x) for x in v)
    if isinstance(v, dict):
        return head(5, len(v)) + b"".join(cbor_enc(k) + cbor_enc(x) for k, x in v.items())
    raise TypeError(v)


def cbor_dec(b):
    """The value of CBOR B (definite and indefinite lengths, tags kept as
    ("tag", N, value))."""
    import struct
    pos = [0]

    def take(n):
        s = b[pos[0]:pos[0] + n]
        assert len(s) == n, "truncated CBOR"
        pos[0] += n
        return s

    def item():
        ib = take(1)[0]
        major, ai = ib >> 5, ib & 31
        if major == 7:
            if ai in (20, 21, 22):
                return {20: False, 21: True, 22: None}[ai]
            if ai == 25:
                return struct.unpack(">e", take(2))[0]
            if ai == 26:
                return struct.unpack(">f", take(4))[0]
            if ai == 27:
                return struct.unpack(">d", take(8))[0]
            if ai == 31:
                return StopIteration
            raise AssertionError("CBOR simple %d" % ai)
        if ai < 24:
            n = ai
        elif ai == 31:
            n = None
        else:
            n = int.from_bytes(take(1 << (ai - 24)), "big")
        if major == 0:
            return n
        if major == 1:
            return -1 - n
        if major in (2, 3):
            if n is None:
                parts = []
                while (x := item()) is not StopIteration:
                    parts.append(x)
                s = b"".join(p if isinstance(p, bytes) else p.encode() for p in parts)
            else:
                s = take(n)
            return s.decode() if major == 3 else s
        if major == 4:
            out = []
            while (n is None or len(out) < n):
                x = item()
                if x is StopIteration:
                    break
                out.append(x)
            return out
        if major == 5:
            out = {}
            while n is None or len(out) < n:
                k = item()
                if k is StopIteration:
                    break
                out[k] = item()
            return out
        return ("tag", n, item())
    v = item()
    assert pos[0] == len(b), "trailing bytes after CBOR"
    return v


def test_cbor_put_then_statistics(cw):
    """PutMetricData, GetMetricStatistics and GetMetricData in Smithy RPC v2
    CBOR, as the newest SDKs send them: doubles, integers and tag-1
    timestamps in, the same numbers and tag-1 timestamps out."""
    from test_79_aws_api import CW_TARGET, send, signed
    a = cw.albd
    t0 = minute()
    hdrs = {"Content-Type": "application/cbor", "Accept": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}

    def call(op, body):
        st, rh, rb = send(a, *signed(a, "monitoring", cbor_enc(body), hdrs,
                                     path="/service/%s/operation/%s" % (CW_TARGET, op)))
        assert rh["smithy-protocol"] == "rpc-v2-cbor"
        return st, rh, cbor_dec(rb) if rb else None
    when = datetime.fromtimestamp(t0 + 4, timezone.utc)
    dims = [{"Name": "Queue", "Value": "cbor"}]
    st, _, out = call("PutMetricData", {"Namespace": "Cb", "MetricData": [
        {"MetricName": "Depth", "Dimensions": dims, "Timestamp": when, "Value": 2.5, "Unit": "Count"},
        {"MetricName": "Depth", "Dimensions": dims, "Timestamp": when, "Values": [1.0, 4.0], "Counts": [3.0, 1.0],
         "Unit": "Count"},
        {"MetricName": "Depth", "Dimensions": dims, "Timestamp": when, "StorageResolution": 1, "Unit": "Count",
         "StatisticValues": {"SampleCount": 2.0, "Sum": 20.0, "Minimum": 10.0, "Maximum": 10.0}},
        # a set of different values: no percentiles where it falls (as CloudWatch)
        {"MetricName": "Set", "Dimensions": dims, "Timestamp": when, "Value": 3.0, "Unit": "Count"},
        {"MetricName": "Set", "Dimensions": dims, "Timestamp": when, "Unit": "Count",
         "StatisticValues": {"SampleCount": 2.0, "Sum": 20.0, "Minimum": 8.0, "Maximum": 12.0}}]})
    assert st == 200 and out in ({}, None), out
    samples = [2.5, 1.0, 1.0, 1.0, 4.0, 10.0, 10.0]
    st, _, out = call("GetMetricStatistics", {
        "Namespace": "Cb", "MetricName": "Depth", "Dimensions": dims, "StartTime": datetime.fromtimestamp(
            t0, timezone.utc), "EndTime": datetime.fromtimestamp(t0 + 60, timezone.utc), "Period": 60,
        "Statistics": ["SampleCount", "Sum", "Minimum", "Maximum", "Average"], "ExtendedStatistics": ["p50"]})
    assert st == 200, out
    assert out["Label"] == "Depth" and len(out["Datapoints"]) == 1, out
    dp = out["Datapoints"][0]
    assert dp["Timestamp"][:2] == ("tag", 1) and dp["Timestamp"][2] == t0
    check_numbers(dict(dp, Timestamp=t0), samples, "Count")
    assert dp["ExtendedStatistics"]["p50"] == pytest.approx(2.5, rel=0.011)
    st, _, out = call("GetMetricStatistics", {
        "Namespace": "Cb", "MetricName": "Set", "Dimensions": dims, "StartTime": datetime.fromtimestamp(
            t0, timezone.utc), "EndTime": datetime.fromtimestamp(t0 + 60, timezone.utc), "Period": 60,
        "Statistics": ["SampleCount", "Maximum"], "ExtendedStatistics": ["p50"]})
    assert st == 200, out
    dp, = out["Datapoints"]
    assert (dp["SampleCount"], dp["Maximum"]) == (3.0, 12.0) and "ExtendedStatistics" not in dp, dp
    st, _, out = call("GetMetricData", {
        "StartTime": datetime.fromtimestamp(t0, timezone.utc), "EndTime": datetime.fromtimestamp(t0 + 60, timezone.utc),
        "MetricDataQueries": [{"Id": "m1", "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": "Cb", "MetricName": "Depth", "Dimensions": dims}, "Period": 60, "Stat": "Sum"}},
            {"Id": "e1", "Expression": "m1 / 2"}]})
    assert st == 200, out
    r = out["MetricDataResults"]
    assert [x["Id"] for x in r] == ["e1"] and r[0]["Values"] == [pytest.approx(sum(samples) / 2)]
    assert r[0]["Timestamps"] == [("tag", 1, t0)]
    # an error: the query code in the header, the Smithy shape in __type
    st, rh, out = call("PutMetricData", {"Namespace": "AWS/Cb", "MetricData": [{"MetricName": "x", "Value": 1.0}]})
    assert st == 400 and rh["x-amzn-query-error"] == "InvalidParameterValue;Sender", (rh, out)
    assert out["__type"] == "com.amazonaws.cloudwatch#InvalidParameterValueException", out
    # a string where a number goes is refused, as CloudWatch's typed protocols do
    st, rh, out = call("GetMetricStatistics", {
        "Namespace": "Cb", "MetricName": "Depth", "StartTime": datetime.fromtimestamp(t0, timezone.utc),
        "EndTime": datetime.fromtimestamp(t0 + 60, timezone.utc), "Period": "60", "Statistics": ["Sum"]})
    assert st == 400 and rh["x-amzn-query-error"] == "InvalidParameterValue;Sender"
