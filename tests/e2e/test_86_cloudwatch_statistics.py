"""Statistics as CloudWatch's API reference defines them, through the real
binary (the JSON API, and the aws CLI for the AWS protocols):

- a target's TargetResponseTime has percentiles for a recent start too
  (read from its 1-minute points), in GetMetricStatistics, GetMetricData
  and a p99 alarm;
- Average is Sum/SampleCount, one request's Minimum and Maximum are its
  Sum, a Maximum is never above the Sum, p0/p100 are Minimum/Maximum;
- a period that does not suit the data's age answers no datapoints (200),
  an illegal period (not 1, 5, 10, 20, 30 or a multiple of 60) is a 400;
- GetMetricData pages past 100,800 datapoints instead of refusing;
- PutMetricData's value range (+-2^360) and 1 MB request limit;
- GetMetricData's dynamic labels.
"""
import calendar
import gzip
import json
import re
import time
import urllib.parse

import pytest

from awsclients import aws_admin, aws_cli
from conftest import Conn, free_port, listener, make_config, target_group, wait_until

NS = "AWS/ApplicationELB"


def q(params):
    return urllib.parse.urlencode(params)


def stats(a, name, dims=None, start=None, end=None, period=60, statistics="Sum", ns=NS):
    now = int(time.time())
    p = {"namespace": ns, "name": name, "period": period, "statistics": statistics,
         "start": start if start is not None else now - 3600, "end": end if end is not None else now + 120}
    if dims:
        p["dimensions"] = ",".join("%s=%s" % kv for kv in dims.items())
    return a.admin_request("GET", "/api/v1/metrics/statistics?" + q(p))


def query(a, body):
    return a.admin_request("POST", "/api/v1/metrics/query", headers={"Content-Type": "application/json"},
                           body=json.dumps(body).encode())


def put(a, body, headers=None, raw=None):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return a.admin_request("POST", "/api/v1/metrics/data", headers=h,
                           body=raw if raw is not None else json.dumps(body).encode())


def mstat(i, name, dims=None, stat="Sum", period=60, ns=NS, **kw):
    d = {"Id": i, "MetricStat": {"Metric": {"Namespace": ns, "MetricName": name,
                                            "Dimensions": [{"Name": k, "Value": v} for k, v in (dims or {}).items()]},
                                 "Period": period, "Stat": stat}}
    d.update(kw)
    return d


@pytest.fixture
def lb(albd, backends, tmp_path):
    """albd "lb1" with group "web" (one backend), an admin listener that
    also takes AWS credentials, and 20 requests of 20 ms and 100 ms sent."""
    class P:
        pass
    p = P()
    p.b = backends.start("b1")
    p.port, aport = free_port(), free_port()
    p.alarms = []
    p.albd = albd.start(make_config([listener("web", p.port, "web")], [target_group("web", [p.b])], name="lb1",
                                    admin=aws_admin(tmp_path, aport)), port=p.port)
    return p


def send(port, n=20):
    with Conn(port) as c:
        for i in range(n):
            assert c.request("GET", "/sleep?ms=%d" % (100 if i % 2 else 20)).status == 200


def target_dims(p):
    return {"TargetGroup": "web", "Target": p.b.addr}


def wait_count(a, dims, n):
    def ok():
        r = stats(a, "TargetResponseTime", dims, statistics="SampleCount")
        return r.status == 200 and sum(d["SampleCount"] for d in r.json()["Datapoints"]) == n
    wait_until(ok, 15, interval=0.3, what="%d samples" % n)


# ------------------------------------------------------------ 1. per-target percentiles


def test_target_percentiles_for_a_recent_start(lb):
    """README: per-target percentiles come from 1-minute points. A start
    within the last 3 hours used to read the 1-second points, which a
    target's latency keeps without a histogram: no percentile at all."""
    a = lb.albd
    send(lb.port)
    dims = target_dims(lb)
    wait_count(a, dims, 20)
    r = stats(a, "TargetResponseTime", dims, statistics="SampleCount,Sum,Average,Minimum,Maximum,p50,p99")
    assert r.status == 200, r.body
    dps = r.json()["Datapoints"]
    assert sum(d["SampleCount"] for d in dps) == 20
    assert all("p50" in d and "p99" in d for d in dps), dps
    for d in dps:
        assert d["Minimum"] <= d["p50"] <= d["p99"] <= d["Maximum"], d
    # the same numbers as the group's (one target), percentiles within 4%
    g = stats(a, "TargetResponseTime", {"TargetGroup": "web"},
              statistics="SampleCount,Sum,p99").json()["Datapoints"]
    assert [(d["Timestamp"], d["SampleCount"]) for d in dps] == [(d["Timestamp"], d["SampleCount"]) for d in g]
    for d, e in zip(dps, g):
        assert d["Sum"] == pytest.approx(e["Sum"], rel=1e-5)
        assert d["p99"] == pytest.approx(e["p99"], rel=0.05)
    # GetMetricData, Stat p50 on the target
    now = int(time.time())
    r = query(a, {"StartTime": now - 3600, "EndTime": now + 60,
                  "MetricDataQueries": [mstat("m1", "TargetResponseTime", dims, stat="p50")]})
    assert r.status == 200, r.body
    res = r.json()["MetricDataResults"][0]
    # a minute of only 100 ms requests has a p50 of 100 ms and more (4%
    # buckets, a loaded machine's scheduling): bounds of this traffic only
    assert len(res["Values"]) == len(dps) and all(0.019 <= v <= 0.5 for v in res["Values"]), res
    # the AWS protocol too (aws CLI, awsQuery)
    out = aws_cli(a, "cloudwatch", "get-metric-statistics", "--namespace", NS, "--metric-name",
                  "TargetResponseTime", "--dimensions", "Name=TargetGroup,Value=web",
                  "Name=Target,Value=%s" % lb.b.addr, "--start-time", str(now - 3600), "--end-time",
                  str(now + 60), "--period", "60", "--extended-statistics", "p99")
    assert out["Datapoints"] and all("p99" in d["ExtendedStatistics"] for d in out["Datapoints"]), out


@pytest.mark.timeout_s(180)
def test_target_p99_alarm(albd, backends):
    """A p99 alarm on one target is evaluated from the same points
    (metric_query.c): it goes to ALARM once the minute closes."""
    b = backends.start("b1")
    port = free_port()
    al = {"name": "slow-target", "metric": "TargetResponseTime", "extended_statistic": "p99", "period": 60,
          "evaluation_periods": 1, "comparison": "GreaterThanThreshold", "threshold": 0.05,
          "treat_missing_data": "notBreaching", "dimensions": {"TargetGroup": "web", "Target": b.addr}}
    a = albd.start(make_config([listener("web", port, "web")], [target_group("web", [b])], name="lb1",
                               alarms=(al,)), port=port)
    send(port, 10)

    def state():
        r = a.admin_request("GET", "/api/v1/alarms?" + q({"AlarmNames": "slow-target"}))
        assert r.status == 200, r.body
        return r.json()["MetricAlarms"][0]
    wait_until(lambda: state()["StateValue"] == "ALARM", 150, interval=1, what="the alarm in ALARM")
    # the reason lists the breaching datapoint: a p99 of the target's
    # requests (100 ms and 20 ms), above the 0.05 threshold
    m = re.search(r"datapoints? \[([0-9.eE+-]+) \(", state()["StateReason"])
    assert m and 0.05 < float(m.group(1)) < 1, state()


# ------------------------------------------------------------ 2. consistent statistics


def test_statistics_are_consistent(lb):
    """CloudWatch: "Average is the value of Sum/SampleCount", Minimum is
    the lowest value observed: one request's Minimum and Maximum are its
    Sum; no Maximum above the Sum; p0 and p100 are Minimum and Maximum."""
    a = lb.albd
    with Conn(lb.port) as c:
        assert c.request("GET", "/sleep?ms=100").status == 200
    dims = target_dims(lb)
    wait_count(a, dims, 1)
    for d in (dims, {"TargetGroup": "web"}, {}):
        r = stats(a, "TargetResponseTime", d, statistics="SampleCount,Sum,Average,Minimum,Maximum,p0,p50,p100")
        assert r.status == 200, r.body
        (dp,) = [x for x in r.json()["Datapoints"] if x["SampleCount"]]
        assert dp["SampleCount"] == 1
        assert dp["Average"] == dp["Sum"] == dp["Minimum"] == dp["Maximum"] == dp["p0"] == dp["p50"] == \
            dp["p100"], (d, dp)
    # two samples at the load balancer level (the request and ... more requests)
    send(lb.port, 4)
    wait_count(a, dims, 5)
    for d in (dims, {"TargetGroup": "web"}):
        r = stats(a, "TargetResponseTime", d, period=3600, statistics="SampleCount,Sum,Average,Minimum,Maximum,"
                  "p0,p100", start=int(time.time()) // 3600 * 3600 - 3600)
        for dp in r.json()["Datapoints"]:
            assert dp["Average"] == dp["Sum"] / dp["SampleCount"], dp
            assert dp["Minimum"] <= dp["Average"] <= dp["Maximum"] <= dp["Sum"], dp
            assert dp["p0"] == dp["Minimum"] and dp["p100"] == dp["Maximum"], dp


# ------------------------------------------------------------ 4. periods that do not suit the age


def test_period_not_suiting_the_age_gives_no_data(lb):
    """CloudWatch: "you must specify the period as follows or no data
    points in that time range is returned": 200 and no datapoints."""
    a = lb.albd
    now = int(time.time())
    for start, period in ((now - 4 * 3600, 30), (now - 16 * 86400, 60), (now - 64 * 86400, 300)):
        r = stats(a, "RequestCount", {"TargetGroup": "web"}, start=start, end=now, period=period)
        assert r.status == 200 and r.json()["Datapoints"] == [], (start, period, r.body)
        r = query(a, {"StartTime": start, "EndTime": now,
                      "MetricDataQueries": [mstat("m1", "RequestCount", {"TargetGroup": "web"}, period=period)]})
        assert r.status == 200, r.body
        assert [(x["Timestamps"], x["Values"], x["StatusCode"]) for x in r.json()["MetricDataResults"]] == \
            [([], [], "Complete")], r.body
    out = aws_cli(a, "cloudwatch", "get-metric-statistics", "--namespace", NS, "--metric-name", "RequestCount",
                  "--start-time", str(now - 4 * 3600), "--end-time", str(now), "--period", "30",
                  "--statistics", "Sum")
    assert out == {"Label": "RequestCount", "Datapoints": []}


# ------------------------------------------------------------ 5. legal periods


def fails(a, *args):
    """(error code, message) of an aws CLI call expected to fail."""
    from awsclients import aws_cli as run
    p = run(a, *args, check=False)
    assert p.returncode != 0, p
    import re
    m = re.search(r"An error occurred \(([A-Za-z]+)\)[^:]*: (.*)", p.stderr)
    assert m, p.stderr[-2000:]
    return m.group(1), m.group(2).strip()


def test_illegal_periods_refused(lb):
    """CloudWatch: a period is 1, 5, 10, 20, 30, 60 or any multiple of 60;
    7, 61, 90 and 45 are refused naming Period (the JSON API: period)."""
    a = lb.albd
    now = int(time.time())
    for period in (7, 61, 90, 45):
        r = stats(a, "RequestCount", start=now - 600, end=now, period=period)
        assert r.status == 400 and "period" in r.json()["Error"]["Message"], (period, r.body)
        for where in ("MetricStat", "query"):
            m = mstat("m1", "RequestCount", {"TargetGroup": "web"})
            if where == "MetricStat":
                m["MetricStat"]["Period"] = period
            else:
                m["Period"] = period
            r = query(a, {"StartTime": now - 600, "EndTime": now, "MetricDataQueries": [m]})
            assert r.status == 400, (period, where, r.body)
            assert r.json()["Error"]["Code"] == "InvalidParameterValue" and "Period" in \
                r.json()["Error"]["Message"], r.body
    code, msg = fails(a, "cloudwatch", "get-metric-statistics", "--namespace", NS, "--metric-name", "RequestCount",
                      "--start-time", str(now - 600), "--end-time", str(now), "--period", "90",
                      "--statistics", "Sum")
    assert code == "InvalidParameterValue" and "Period" in msg, msg
    for period in (1, 5, 10, 20, 30, 60, 120):
        r = stats(a, "RequestCount", start=now - 600, end=now, period=period)
        assert r.status == 200, (period, r.body)


# ------------------------------------------------------------ 7. value range


def test_put_value_range_is_base_2(lb):
    """CloudWatch: "Values must be in the range of -2^360 to 2^360"."""
    a = lb.albd
    t = int(time.time()) - 120
    big, tiny = 2.0 ** 360, 2.0 ** -360
    for v in (1.2e108, big, -big, tiny, -tiny, 0.0):
        for d in ({"Value": v}, {"Values": [v]},
                  {"StatisticValues": {"SampleCount": 1, "Sum": v, "Minimum": v, "Maximum": v}}):
            r = put(a, {"Namespace": "Range", "MetricData": [dict({"MetricName": "v", "Timestamp": t}, **d)]})
            assert r.status == 200, (v, d, r.body)
    for v in (big * 1.0000001, -big * 1.0000001, tiny / 1.0000001, -tiny / 2):
        for d in ({"Value": v}, {"Values": [1.0, v]},
                  {"StatisticValues": {"SampleCount": 1, "Sum": v, "Minimum": v, "Maximum": v}}):
            r = put(a, {"Namespace": "Range", "MetricData": [dict({"MetricName": "v", "Timestamp": t}, **d)]})
            assert r.status == 400, (v, d, r.body)
            assert "2^360" in r.json()["Error"]["Message"], r.body
    r = stats(a, "v", ns="Range", start=t // 60 * 60, end=t // 60 * 60 + 60, statistics="Maximum")
    assert r.json()["Datapoints"][0]["Maximum"] == big, r.body


# ------------------------------------------------------------ 10. the Stat refused is named


def test_refused_stat_is_named(lb):
    a = lb.albd
    now = int(time.time())
    r = query(a, {"StartTime": now - 600, "EndTime": now,
                  "MetricDataQueries": [mstat("m1", "RequestCount", stat="Median")]})
    assert r.status == 400 and '"Median"' in r.json()["Error"]["Message"], r.body


# ------------------------------------------------------------ 3. GetMetricData pages


def test_get_metric_data_pages_past_the_limit(lb):
    """CloudWatch's MaxDatapoints: "The maximum number of data points the
    request should return before paginating. If you omit this, the default
    of 100,800 is used." 150 queries of a series with 1000 one-second
    points make 150,000 datapoints: albd refused that with a 400; now it
    answers up to MaxDatapoints and a NextToken, and the pages hold every
    datapoint once."""
    a = lb.albd
    t0 = int(time.time()) - 1500
    assert put(a, {"Namespace": "Pages", "MetricData": [
        {"MetricName": "v", "Value": float(i + 1), "Timestamp": t0 + i, "StorageResolution": 1}
        for i in range(1000)]}).status == 200
    start, end = t0 - 60, t0 + 1200
    per = [(t0 + i, float(i + 1)) for i in range(1000)]

    def ms(i):
        return mstat("m%d" % i, "v", ns="Pages", period=1)
    qs = [ms(i) for i in range(150)]
    body = {"StartTime": start, "EndTime": end, "ScanBy": "TimestampAscending", "MetricDataQueries": qs}

    def walk(maxdp=None):
        got, token, pages = {}, None, []
        while True:
            b = dict(body)
            if maxdp:
                b["MaxDatapoints"] = maxdp
            if token:
                b["NextToken"] = token
            r = query(a, b)
            assert r.status == 200, r.body[:500]
            j = r.json()
            n = 0
            for x in j["MetricDataResults"]:
                got.setdefault(x["Id"], []).extend(zip(x["Timestamps"], x["Values"]))
                n += len(x["Values"])
            pages.append(n)
            token = j.get("NextToken")
            if not token:
                return got, pages
            assert any(x["StatusCode"] == "PartialData" for x in j["MetricDataResults"]), j

    def epoch(ts):
        return calendar.timegm(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ"))
    want = {"m%d" % i: per for i in range(150)}
    for maxdp, pages in ((None, [100800, 49200]), (40000, [40000, 40000, 40000, 30000])):
        got, n = walk(maxdp)
        assert n == pages, (maxdp, n)
        assert {k: [(epoch(t), v) for t, v in x] for k, x in got.items()} == want
    # the AWS protocol: the CLI follows the tokens itself
    out = aws_cli(a, "cloudwatch", "get-metric-data", "--start-time", str(start), "--end-time", str(end),
                  "--scan-by", "TimestampAscending", "--metric-data-queries", json.dumps(qs[:120]))
    res = {}
    for x in out["MetricDataResults"]:
        res.setdefault(x["Id"], []).extend(x["Values"])
    assert res == {"m%d" % i: [v for _, v in per] for i in range(120)}
    # with an expression the call is evaluated whole: still a 400 past
    # 100,800, which says so
    r = query(a, dict(body, MetricDataQueries=qs + [{"Id": "e1", "Expression": "m0 * 2"}]))
    assert r.status == 400 and "expressions" in r.json()["Error"]["Message"], r.body


# ------------------------------------------------------------ 8. PutMetricData's 1 MB


def test_put_metric_data_limited_to_1_mb(lb, tmp_path):
    """CloudWatch: "Each PutMetricData request is limited to 1 MB in size
    for HTTP POST requests": 1,048,576 bytes of body as received (a gzip
    body's compressed bytes), else 413 RequestEntityTooLarge."""
    from test_79_aws_api import CW_TARGET, send, signed
    a = lb.albd
    t = int(time.time()) - 120
    data = [{"MetricName": "m", "Dimensions": [{"Name": "d", "Value": "v%04d" % i}], "Value": 1, "Timestamp": t}
            for i in range(1000)]

    def body_of(size):
        b = json.dumps({"Namespace": "Mb", "MetricData": data}).encode()
        return b[:-1] + b" " * (size - len(b)) + b"}"
    for size, status in ((1048576, 200), (1048577, 413), (2 << 20, 413)):
        r = put(a, None, raw=body_of(size))
        assert r.status == status, (size, r.body)
        if status == 413:
            assert r.json()["Error"]["Code"] == "RequestEntityTooLarge" and "1048576" in \
                r.json()["Error"]["Message"], r.body
    # AWS's protocols: awsJson, and a gzip body whose inflated size is
    # above 1 MB but whose request is not
    hdrs = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": CW_TARGET + ".PutMetricData"}
    for size, gz, status in ((1048577, False, 413), (1048576, False, 200), (1500000, True, 200)):
        body = body_of(size)
        h = dict(hdrs)
        if gz:
            body = gzip.compress(body)
            h["Content-Encoding"] = "gzip"
        st, rh, rb = send(a, *signed(a, "monitoring", body, h))
        assert st == status, (size, gz, rb[:300])
        if status == 413:
            assert rh["x-amzn-query-error"] == "RequestEntityTooLarge;Sender", rh
    # awsQuery through the aws CLI (its form encoding of 1000 data is
    # about 1.2 MB)
    big = [dict(d, Dimensions=[{"Name": "d", "Value": "x" * 900 + "%04d" % i}]) for i, d in enumerate(data)]
    f = tmp_path / "big.json"
    f.write_text(json.dumps(big))
    code, msg = fails(a, "cloudwatch", "put-metric-data", "--namespace", "Mb", "--metric-data", "file://%s" % f)
    assert code == "RequestEntityTooLarge", (code, msg)
    assert a.alive()


# ------------------------------------------------------------ 9. dynamic labels


def test_dynamic_labels(lb):
    """CloudWatch's "Use dynamic labels": ${...} in a Label is expanded from
    the metric's properties and the datapoints returned; what is unknown
    stays as it is."""
    a = lb.albd
    t0 = int(time.time()) // 60 * 60 - 600
    vals = [4.0, 0.5, 10.25, 2.0]
    assert put(a, {"Namespace": "Dyn", "MetricData": [
        {"MetricName": "depth", "Dimensions": [{"Name": "Queue", "Value": "jobs"}], "Value": v,
         "Timestamp": t0 + 60 * i} for i, v in enumerate(vals)]}).status == 200
    label = ("${PROP('MetricName')}/${PROP('Namespace')}/${PROP('Dim.Queue')}/${PROP('Stat')}/"
             "${PROP('Period')}/${PROP('Region')}/${PROP('AccountId')} [${LABEL}] avg ${AVG} max ${MAX} "
             "min ${MIN} sum ${SUM} first ${FIRST} last ${LAST} n ${DATAPOINT_COUNT} "
             "${MIN_MAX_RANGE} ${FIRST_LAST_RANGE} ${MAX_TIME} ${NOPE} ${PROP('Dim.Host')}")
    want = ("depth/Dyn/jobs/Maximum/60/local/000000000000 [depth] avg 4.1875 max 10.25 min 0.5 sum 16.75 "
            "first 4 last 2 n 4 9.75 -2 %s ${NOPE} ${PROP('Dim.Host')}"
            % time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + 120)))
    q = [mstat("m1", "depth", {"Queue": "jobs"}, stat="Maximum", ns="Dyn", Label=label),
         {"Id": "e1", "Expression": "m1 * 2", "Label": "${LABEL} doubled: ${MAX} over ${PROP('Period')} s"}]
    body = {"StartTime": t0, "EndTime": t0 + 600, "MetricDataQueries": q}
    r = query(a, body)
    assert r.status == 200, r.body
    labels = [x["Label"] for x in r.json()["MetricDataResults"]]
    assert labels == [want, "e1 doubled: 20.5 over 60 s"], labels
    # the same over a page boundary (a query at a time) and the AWS protocol
    r = query(a, dict(body, MetricDataQueries=q[:1], MaxDatapoints=2))
    assert r.json()["MetricDataResults"][0]["Label"] == want, r.body
    out = aws_cli(a, "cloudwatch", "get-metric-data", "--start-time", str(t0), "--end-time", str(t0 + 600),
                  "--metric-data-queries", json.dumps(q))
    assert [x["Label"] for x in out["MetricDataResults"]] == [want, "e1 doubled: 20.5 over 60 s"], out
    # an array's elements: ${LABEL} is each element's label
    r = query(a, dict(body, MetricDataQueries=[dict(q[0], Label="Q"), {
        "Id": "e2", "Expression": "METRICS() * 2", "Label": "2x ${LABEL} (${LAST})"}]))
    assert [x["Label"] for x in r.json()["MetricDataResults"]] == ["Q", "2x Q (4)"], r.body
