"""Metrics end to end: the counters, the store, the statistics and metric
math API, PutMetricData, persistence across a restart, /metrics checked by
promtool and scraped by a real Prometheus, the admin token.

Every count is driven through the real binary against real backends, and
checked exactly: after a known mix of requests, RequestCount and every
HTTPCode count must equal what was sent, through the statistics API and in
/metrics.
"""
import json
import math
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.parse

import pytest

from conftest import (HOST, Conn, free_port, get, listener, make_config, target_group, wait_until,
                      PING_RULE)

NS = "AWS/ApplicationELB"


def q(params):
    return urllib.parse.urlencode(params)


def stats(a, name, dims=None, start=None, end=None, period=60, statistics="Sum", ns=NS, token=None):
    now = int(time.time())
    p = {"namespace": ns, "name": name, "period": period, "statistics": statistics,
         "start": start if start is not None else (now - 3600) // period * period,
         "end": end if end is not None else now + 120}
    if dims:
        p["dimensions"] = ",".join("%s=%s" % kv for kv in dims.items())
    r = a.admin_request("GET", "/api/v1/metrics/statistics?" + q(p), token=token)
    return r


def total(a, name, dims=None, stat="Sum", **kw):
    r = stats(a, name, dims, statistics=stat, **kw)
    assert r.status == 200, r.body
    return sum(dp[stat] for dp in r.json()["Datapoints"])


def wait_total(a, name, want, dims=None, timeout=15):
    got = [None]

    def ok():
        got[0] = total(a, name, dims)
        return got[0] == want
    try:
        wait_until(ok, timeout, interval=0.3, what="%s %s == %s" % (name, dims, want))
    except Exception:
        raise AssertionError("%s %s: %s, expected %s" % (name, dims, got[0], want))


def prom_samples(text):
    """{(name, frozenset(labels)): value} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        if "{" in head:
            name, _, rest = head.partition("{")
            labels = {}
            for part in rest.rstrip("}").split('",'):
                if not part:
                    continue
                k, _, v = part.partition('="')
                labels[k] = v.rstrip('"')
            out[(name, frozenset(labels.items()))] = float(value)
        else:
            out[(head, frozenset())] = float(value)
    return out


@pytest.fixture
def mix(albd, backends):
    """albd ("lb1") with a listener: /ping fixed 200, /gone fixed 404, /dead/* to a
    group whose only target refuses connections, everything else to group web."""
    class P:
        pass
    p = P()
    p.b1 = backends.start("b1")
    p.port = free_port()
    dead = "127.0.0.1:%d" % free_port()
    rules = (PING_RULE,
             {"priority": 20, "path": ["/gone"],
              "fixed_response": {"status": 404, "content_type": "text/plain", "body": "gone\n"}},
             {"priority": 30, "path": ["/dead/*"], "forward": ({"target_group": "dead", "weight": 1},)})
    cfg = make_config([listener("web", p.port, "web", rules)],
                      [target_group("web", [p.b1]), target_group("dead", [dead])],
                      workers=2, name="lb1")
    p.albd = albd.start(cfg, port=p.port)
    return p


def send(port, paths):
    with Conn(port) as c:
        for path in paths:
            r = c.request("GET", path)
            assert r.status
            if r.header("connection", "").lower() == "close":
                c.close()
                c.connect()


def test_traffic_mix_exact_counts(mix):
    a = mix.albd
    n_ok, n_503, n_fixed, n_404, n_dead = 37, 11, 5, 3, 4
    send(mix.port, ["/ok"] * n_ok + ["/status?code=503"] * n_503 + ["/ping"] * n_fixed + ["/gone"] * n_404)
    for _ in range(n_dead):
        assert get(mix.port, "/dead/x").status == 502
    all_requests = n_ok + n_503 + n_fixed + n_404 + n_dead
    wait_total(a, "RequestCount", all_requests)
    assert total(a, "RequestCount", {"LoadBalancer": "lb1"}) == all_requests
    wait_total(a, "RequestCount", n_ok + n_503, {"TargetGroup": "web"})
    assert total(a, "RequestCount", {"TargetGroup": "dead"}) == n_dead
    assert total(a, "HTTPCode_Target_2XX_Count", {"TargetGroup": "web"}) == n_ok
    assert total(a, "HTTPCode_Target_5XX_Count", {"TargetGroup": "web"}) == n_503
    assert total(a, "HTTPCode_Target_2XX_Count") == n_ok
    assert total(a, "HTTPCode_Target_5XX_Count") == n_503
    assert total(a, "HTTPCode_Target_4XX_Count") == 0
    assert total(a, "HTTPCode_ELB_502_Count") == n_dead
    assert total(a, "HTTPCode_ELB_5XX_Count") == n_dead
    assert total(a, "HTTPCode_ELB_503_Count") == 0
    assert total(a, "HTTPCode_ELB_4XX_Count") == n_404
    assert total(a, "HTTP_Fixed_Response_Count") == n_fixed + n_404
    assert total(a, "TargetConnectionErrorCount", {"TargetGroup": "dead"}) == n_dead
    # rules evaluated: 3 for /ok, /status and /dead/x (the third matches),
    # 1 for /ping, 2 for /gone
    assert total(a, "RuleEvaluations") == 3 * (n_ok + n_503 + n_dead) + n_fixed + 2 * n_404
    assert total(a, "NewConnectionCount") >= 1 + n_dead
    assert total(a, "ProcessedBytes") > 100 * all_requests
    # per target
    tgt = mix.b1.addr
    assert total(a, "RequestCount", {"TargetGroup": "web", "Target": tgt}) == n_ok + n_503
    # /metrics agrees
    r = a.admin_request("GET", "/metrics")
    assert r.status == 200
    m = prom_samples(r.body.decode())
    assert m[("albd_requests_total", frozenset({"load_balancer": "lb1"}.items()))] == all_requests
    assert m[("albd_requests_total", frozenset({"load_balancer": "lb1", "target_group": "web"}.items()))] == \
        n_ok + n_503
    assert m[("albd_target_http_5xx_total",
              frozenset({"load_balancer": "lb1", "target_group": "web"}.items()))] == n_503
    assert m[("albd_elb_http_502_total", frozenset({"load_balancer": "lb1"}.items()))] == n_dead
    assert m[("albd_target_response_time_seconds_count",
              frozenset({"load_balancer": "lb1", "target_group": "web"}.items()))] == n_ok + n_503


def test_quiet_count_is_zero_not_missing(mix):
    """A count with no traffic in a period is 0, not a missing datapoint."""
    a = mix.albd
    now = int(time.time())
    wait_until(lambda: len(stats(a, "HTTPCode_Target_5XX_Count", {"TargetGroup": "web"}, start=now - 5,
                                 end=now + 5, period=1).json()["Datapoints"]) >= 2, 10, interval=0.3,
               what="per-second datapoints")
    dps = stats(a, "HTTPCode_Target_5XX_Count", {"TargetGroup": "web"}, start=now - 5, end=now + 5,
                period=1).json()["Datapoints"]
    assert all(dp["Sum"] == 0 for dp in dps)
    ts = sorted(dp["Timestamp"] for dp in dps)
    assert all(t.endswith("Z") for t in ts)


def test_counts_are_samples_of_one(mix):
    """ALB's counts in CloudWatch: every event is a sample of 1, so SampleCount
    is the count and Minimum, Maximum and Average are 1 ("Minimum, Maximum,
    and Average all return 1"); a quiet period is one sample of 0. The same
    through GetMetricData, at 1 s and 60 s; ProcessedBytes stays one sample a
    second."""
    a = mix.albd
    t0 = int(time.time())
    n_ok, n_503, n_404 = 23, 4, 6
    send(mix.port, ["/status?code=503"] * 2 + ["/ok"] * n_ok + ["/gone"] * n_404 + ["/status?code=503"] * 2)
    wait_total(a, "RequestCount", n_ok + n_503, {"TargetGroup": "web"})
    wait_total(a, "HTTPCode_ELB_4XX_Count", n_404)
    five = "SampleCount,Sum,Average,Minimum,Maximum"
    for name, dims, want in (("HTTPCode_Target_2XX_Count", {"TargetGroup": "web"}, n_ok),
                             ("HTTPCode_Target_5XX_Count", {"TargetGroup": "web", "Target": mix.b1.addr}, n_503),
                             ("RequestCount", {"LoadBalancer": "lb1"}, n_ok + n_503 + n_404),
                             ("HTTPCode_ELB_4XX_Count", None, n_404)):
        for period in (60, 3600):
            r = stats(a, name, dims, start=t0 // 3600 * 3600 - 3600, end=t0 + 120, period=period, statistics=five)
            assert r.status == 200, r.body
            busy = [dp for dp in r.json()["Datapoints"] if dp["Sum"] > 0]
            assert sum(dp["Sum"] for dp in busy) == want, (name, r.json())
            for dp in busy:
                assert dp["SampleCount"] == dp["Sum"], (name, dp)
                assert dp["Average"] == dp["Minimum"] == dp["Maximum"] == 1, (name, dp)
        # per second: the busy seconds as above, a quiet one a sample of 0
        dps = stats(a, name, dims, start=t0 - 2, end=int(time.time()) + 2, period=1,
                    statistics=five).json()["Datapoints"]
        assert sum(dp["Sum"] for dp in dps) == want
        for dp in dps:
            busy = dp["Sum"] > 0
            assert dp["SampleCount"] == (dp["Sum"] if busy else 1), (name, dp)
            assert dp["Average"] == dp["Minimum"] == dp["Maximum"] == (1 if busy else 0), (name, dp)
    # the unit parameter, as GetMetricStatistics' Unit: another unit is no data
    p = {"namespace": NS, "name": "RequestCount", "dimensions": "TargetGroup=web", "period": 60,
         "start": t0 // 60 * 60 - 60, "end": int(time.time()) + 60, "statistics": "Sum"}
    r = a.admin_request("GET", "/api/v1/metrics/statistics?" + q(dict(p, unit="Count")))
    assert r.status == 200 and sum(dp["Sum"] for dp in r.json()["Datapoints"]) == n_ok + n_503, r.body
    r = a.admin_request("GET", "/api/v1/metrics/statistics?" + q(dict(p, unit="Seconds")))
    assert r.status == 200 and r.json()["Datapoints"] == [], r.body
    assert a.admin_request("GET", "/api/v1/metrics/statistics?" + q(dict(p, unit="Furlongs"))).status == 400
    # a second later nothing happened: its datapoint is one sample of 0
    quiet = int(time.time()) + 1
    wait_until(lambda: any(dp["Timestamp"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(quiet))
                           for dp in stats(a, "RequestCount", {"TargetGroup": "web"}, start=quiet, end=quiet + 1,
                                           period=1, statistics=five).json()["Datapoints"]),
               10, interval=0.3, what="a quiet second's datapoint")
    dp, = stats(a, "RequestCount", {"TargetGroup": "web"}, start=quiet, end=quiet + 1, period=1,
                statistics=five).json()["Datapoints"]
    assert (dp["SampleCount"], dp["Sum"], dp["Average"], dp["Minimum"], dp["Maximum"]) == (1, 0, 0, 0, 0)
    # GetMetricData and metric math see the same statistics
    body = {"StartTime": t0 // 60 * 60 - 60, "EndTime": t0 + 120,
            "MetricDataQueries": [
                {"Id": "n", "MetricStat": {"Metric": {"Namespace": NS, "MetricName": "HTTPCode_Target_2XX_Count",
                                                      "Dimensions": [{"Name": "TargetGroup", "Value": "web"}]},
                                           "Period": 3600, "Stat": "SampleCount"}},
                {"Id": "avg", "MetricStat": {"Metric": {"Namespace": NS, "MetricName": "HTTPCode_Target_2XX_Count",
                                                        "Dimensions": [{"Name": "TargetGroup", "Value": "web"}]},
                                             "Period": 3600, "Stat": "Average"}}]}
    r = a.admin_request("POST", "/api/v1/metrics/query", headers={"Content-Type": "application/json"},
                        body=json.dumps(body).encode())
    assert r.status == 200, r.body
    res = {x["Id"]: x["Values"] for x in r.json()["MetricDataResults"]}
    assert sum(res["n"]) >= n_ok and max(res["n"]) >= 1, res
    assert set(res["avg"]) <= {0.0, 1.0} and 1.0 in res["avg"], res
    # ProcessedBytes is one sample a second: its Average is bytes a second
    r = stats(a, "ProcessedBytes", start=t0 // 3600 * 3600 - 3600, end=int(time.time()) + 120, period=3600,
              statistics=five).json()["Datapoints"]
    assert r and all(dp["SampleCount"] <= 2 * 3600 and dp["Maximum"] > 1 for dp in r if dp["Sum"] > 0), r


def nearest_rank(values, q):
    v = sorted(values)
    return v[max(0, math.ceil(q * len(v)) - 1)]


def test_latency_percentiles(albd, backends):
    """TargetResponseTime's percentiles lie between what the backend slept
    (a lower bound) and what the client saw end to end (an upper bound),
    within the histogram's 1%."""
    b = backends.start("b1")
    port = free_port()
    a = albd.start(make_config([listener("web", port, "web")], [target_group("web", [b])], name="lat"),
                   port=port)
    seen = []
    with Conn(port) as c:
        for i in range(100):
            ms = 100 if i % 10 == 9 else 20
            t = time.monotonic()
            assert c.request("GET", "/sleep?ms=%d" % ms).status == 200
            seen.append(time.monotonic() - t)
    wait_total(a, "RequestCount", 100, {"TargetGroup": "web"})
    r = stats(a, "TargetResponseTime", {"TargetGroup": "web"}, period=3600,
              statistics="SampleCount,Sum,Average,Minimum,Maximum,p50,p90,p99")
    assert r.status == 200, r.body
    dps = r.json()["Datapoints"]
    assert sum(dp["SampleCount"] for dp in dps) == 100
    if len(dps) != 1:
        pytest.skip("the hour turned while the requests ran")
    dp = dps[0]
    lo = 0.99
    hi = 1.01
    assert 0.020 * lo <= dp["p50"] <= nearest_rank(seen, 0.50) * hi
    assert 0.020 * lo <= dp["p90"] <= nearest_rank(seen, 0.90) * hi
    assert 0.100 * lo <= dp["p99"] <= nearest_rank(seen, 0.99) * hi
    assert 0.020 * lo <= dp["Minimum"] <= min(seen) * hi
    assert 0.100 * lo <= dp["Maximum"] <= max(seen) * hi
    assert 0.028 <= dp["Average"] <= sum(seen) / len(seen)
    assert dp["Sum"] == pytest.approx(dp["Average"] * 100)
    assert dp["Unit"] == "Seconds"
    assert dp["ExtendedStatistics"]["p99"] == dp["p99"]
    # the same through the per-target series
    r = stats(a, "TargetResponseTime", {"TargetGroup": "web", "Target": b.addr}, period=3600,
              statistics="SampleCount,p50")
    assert sum(d["SampleCount"] for d in r.json()["Datapoints"]) == 100



def slow_after_interim(port, ms):
    """Two requests whose target answers an interim response at once and
    the final one after MS: a POST with Expect: 100-continue, a GET with
    103 Early Hints (which albd does not relay). Returns the final
    responses."""
    out = []
    with Conn(port, timeout=10) as c:
        c.send(Conn.build("POST", "/sleep?ms=%d" % ms, [("Content-Length", "5"), ("Expect", "100-continue")]))
        r = c.read_response(allow_interim=True)
        assert r.status == 100, r
        c.send(b"hello")
        out.append(c.read_response())
        out.append(c.request("GET", "/sleep?ms=%d&hints=1" % ms))
    assert [r.status for r in out] == [200, 200], out
    return out


def test_target_response_time_is_to_the_final_head(albd, backends):
    """TargetResponseTime, as ALB defines it: until the target starts to
    send the response headers, the final ones: an interim 100 Continue or
    103 Early Hints the target sends at once does not stop the clock."""
    b = backends.start("b1")
    port = free_port()
    a = albd.start(make_config([listener("web", port, "web")], [target_group("web", [b])], name="lb1"), port=port)
    slow_after_interim(port, 800)
    wait_total(a, "RequestCount", 2, {"TargetGroup": "web"})
    r = stats(a, "TargetResponseTime", {"TargetGroup": "web"}, period=3600,
              statistics="SampleCount,Minimum,Maximum")
    assert r.status == 200, r.body
    dps = r.json()["Datapoints"]
    assert sum(dp["SampleCount"] for dp in dps) == 2
    assert min(dp["Minimum"] for dp in dps) >= 0.7, dps
    assert max(dp["Maximum"] for dp in dps) < 5, dps


def test_processed_bytes_count_refused_heads(albd, backends):
    """ProcessedBytes counts a request whose head albd refuses (here a
    request line over the 8 KiB limit: 414) and its answer."""
    b = backends.start("b1")
    port = free_port()
    a = albd.start(make_config([listener("web", port, "web")], [target_group("web", [b])], name="lb1"), port=port)
    line = b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n"
    with Conn(port) as c:
        c.send(line)
        r = c.read_response()
        assert r.status == 414, r
    answer = len(r.raw_head) + len(r.body)
    want = 9000 + answer
    got = [0]

    def enough():
        got[0] = total(a, "ProcessedBytes")
        return got[0] >= want
    try:
        wait_until(enough, 10, interval=0.3, what="ProcessedBytes >= %d" % want)
    except Exception:
        raise AssertionError("ProcessedBytes %s, expected at least %d" % (got[0], want))
    assert got[0] <= len(line) + answer, got

def put(a, body, token=None):
    return a.admin_request("POST", "/api/v1/metrics/data", token=token,
                           headers={"Content-Type": "application/json"}, body=json.dumps(body).encode())


def test_put_metric_data_then_statistics(albd, one_backend):
    a = one_backend.albd
    now = int(time.time())
    t0 = now // 60 * 60 - 120
    vals = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]
    r = put(a, {"Namespace": "MyApp", "MetricData": [
        {"MetricName": "QueueDepth", "Dimensions": [{"Name": "Queue", "Value": "jobs"}],
         "Value": v, "Timestamp": t0 + i, "Unit": "Count"} for i, v in enumerate(vals)] + [
        {"MetricName": "QueueDepth", "Dimensions": [{"Name": "Queue", "Value": "jobs"}],
         "Values": [10.0, 20.0], "Counts": [2, 3], "Unit": "Count",
         "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + 30))}]})
    assert r.status == 200, r.body
    r = stats(a, "QueueDepth", {"Queue": "jobs"}, ns="MyApp", start=t0, end=t0 + 60, period=60,
              statistics="SampleCount,Sum,Average,Minimum,Maximum,p50")
    assert r.status == 200, r.body
    dps = r.json()["Datapoints"]
    assert len(dps) == 1
    dp = dps[0]
    allv = vals + [10.0] * 2 + [20.0] * 3
    assert dp["SampleCount"] == len(allv)
    assert dp["Sum"] == pytest.approx(sum(allv))
    assert dp["Minimum"] == pytest.approx(1.0, rel=0.01)
    assert dp["Maximum"] == pytest.approx(20.0, rel=0.01)
    assert dp["Average"] == pytest.approx(sum(allv) / len(allv))
    exact_p50 = sorted(allv)[math.ceil(0.5 * len(allv)) - 1]
    assert dp["p50"] == pytest.approx(exact_p50, rel=0.01)
    assert dp["Unit"] == "Count"
    # ListMetrics shows it
    r = a.admin_request("GET", "/api/v1/metrics?" + q({"namespace": "MyApp"}))
    assert r.status == 200
    ms = r.json()["Metrics"]
    assert {"Namespace": "MyApp", "MetricName": "QueueDepth",
            "Dimensions": [{"Name": "Queue", "Value": "jobs"}]} in ms


def test_put_metric_data_refuses_bad_input(albd, one_backend):
    a = one_backend.albd
    now = int(time.time())
    cases = [
        ({"Namespace": "AWS/Mine", "MetricData": [{"MetricName": "x", "Value": 1}]}, "Namespace"),
        ({"Namespace": "A", "MetricData": [{"MetricName": "x", "Value": 1, "Timestamp": now - 15 * 86400}]},
         "Timestamp"),
        ({"Namespace": "A", "MetricData": [{"MetricName": "x", "Value": 1}] * 1001}, "MetricData"),
        ({"Namespace": "A", "MetricData": [{"MetricName": "x", "Values": [1, 2], "Counts": [1]}]}, "Counts"),
        ({"Namespace": "A", "MetricData": [{"MetricName": "", "Value": 1}]}, "MetricName"),
        ({"Namespace": "A", "MetricData": [{"MetricName": "x", "Value": "1"}]}, "Value"),
    ]
    for body, param in cases:
        r = put(a, body)
        assert r.status == 400, (body, r.body)
        assert param in r.json()["Error"]["Message"], r.body
    r = a.admin_request("POST", "/api/v1/metrics/data", body=b"{not json")
    assert r.status == 400
    # two weeks old is still accepted, as CloudWatch does
    assert put(a, {"Namespace": "A", "MetricData": [
        {"MetricName": "x", "Value": 1, "Timestamp": now - 13 * 86400}]}).status == 200


def test_custom_series_limit(albd, backends):
    b = backends.start("b1")
    port = free_port()
    a = albd.start(make_config([listener("web", port, "web")], [target_group("web", [b])])
                   + '\nadmin = { listen = "127.0.0.1:%d"; max_custom_series = 2; };\n'
                   % free_port(), port=port)
    d = lambda q_: {"MetricName": "m", "Dimensions": [{"Name": "Q", "Value": q_}], "Value": 1}
    assert put(a, {"Namespace": "A", "MetricData": [d("1"), d("2"), d("1")]}).status == 200
    r = put(a, {"Namespace": "A", "MetricData": [d("3")]})
    assert r.status == 400
    assert "max_custom_series" in r.json()["Error"]["Message"]
    assert put(a, {"Namespace": "A", "MetricData": [d("2")]}).status == 200
    # another unit is another series
    r = put(a, {"Namespace": "A", "MetricData": [dict(d("2"), Unit="Seconds")]})
    assert r.status == 400 and "max_custom_series" in r.json()["Error"]["Message"], r.body


def test_put_metric_data_units_kept_apart(albd, one_backend):
    """A metric put in Milliseconds then in Seconds keeps each datum's unit,
    as CloudWatch: GetMetricStatistics without a Unit gives a datapoint per
    unit, each with its Unit; with one, that unit's alone; ListMetrics lists
    the metric once; GetMetricData without a Unit reads all its samples;
    and a restart keeps it so."""
    a = one_backend.albd
    t0 = int(time.time()) // 60 * 60 - 120
    dims = [{"Name": "Queue", "Value": "jobs"}]
    r = put(a, {"Namespace": "Units", "MetricData": [
        {"MetricName": "Latency", "Dimensions": dims, "Value": 1500.0, "Unit": "Milliseconds", "Timestamp": t0 + 1},
        {"MetricName": "Latency", "Dimensions": dims, "Value": 2.0, "Unit": "Seconds", "Timestamp": t0 + 2}]})
    assert r.status == 200, r.body

    def dps(unit=None):
        p = {"namespace": "Units", "name": "Latency", "dimensions": "Queue=jobs", "period": 60,
             "statistics": "SampleCount,Sum,Average", "start": t0, "end": t0 + 60}
        if unit:
            p["unit"] = unit
        r = a.admin_request("GET", "/api/v1/metrics/statistics?" + q(p))
        assert r.status == 200, r.body
        return [(dp["SampleCount"], dp["Sum"], dp["Average"], dp["Unit"]) for dp in r.json()["Datapoints"]]

    def data(unit=None, stat="Sum"):
        ms = {"Metric": {"Namespace": "Units", "MetricName": "Latency", "Dimensions": dims}, "Period": 60,
              "Stat": stat}
        if unit:
            ms["Unit"] = unit
        r = query(a, {"StartTime": t0, "EndTime": t0 + 60, "MetricDataQueries": [{"Id": "m1", "MetricStat": ms}]})
        assert r.status == 200, r.body
        return r.json()["MetricDataResults"][0]["Values"]

    def check():
        assert dps() == [(1.0, 1500.0, 1500.0, "Milliseconds"), (1.0, 2.0, 2.0, "Seconds")]
        assert dps("Seconds") == [(1.0, 2.0, 2.0, "Seconds")]
        assert dps("Milliseconds") == [(1.0, 1500.0, 1500.0, "Milliseconds")]
        assert dps("Count") == []
        r = a.admin_request("GET", "/api/v1/metrics?" + q({"namespace": "Units"}))
        assert r.status == 200 and r.json()["Metrics"] == [
            {"Namespace": "Units", "MetricName": "Latency", "Dimensions": dims}], r.body
        assert data() == [1502.0] and data(stat="SampleCount") == [2.0]
        assert data("Seconds") == [2.0] and data("Count") == []
    check()
    a.stop()
    a.start()
    check()


def test_start_time_rounds_as_cloudwatch(albd, one_backend):
    """StartTime is rounded down to the minute (within 15 days) and the
    periods start there, as CloudWatch documents: a 120 s period from an odd
    minute holds nothing from the minute before, through GetMetricStatistics
    and GetMetricData (whose FILL grid starts there too)."""
    a = one_backend.albd
    m0 = (int(time.time()) - 3600) // 120 * 120 + 60          # an odd minute, an hour ago
    assert put(a, {"Namespace": "Round", "MetricData": [
        {"MetricName": "v", "Value": 1000.0, "Timestamp": m0 - 23},
        {"MetricName": "v", "Value": 1.0, "Timestamp": m0 + 5},
        {"MetricName": "v", "Value": 2.0, "Timestamp": m0 + 125}]}).status == 200
    dps = stats(a, "v", ns="Round", start=m0, end=m0 + 240, period=120, statistics="Sum").json()["Datapoints"]
    got = sorted((dp["Timestamp"], dp["Sum"]) for dp in dps)
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    assert got == [(iso(m0), 1.0), (iso(m0 + 120), 2.0)], got
    # 20 s into the minute before: that whole minute is in
    dps = stats(a, "v", ns="Round", start=m0 - 40, end=m0 + 180, period=120, statistics="Sum").json()["Datapoints"]
    assert sorted((dp["Timestamp"], dp["Sum"]) for dp in dps) == [(iso(m0 - 60), 1001.0), (iso(m0 + 60), 2.0)]
    body = {"StartTime": m0, "EndTime": m0 + 360, "MetricDataQueries": [
        {"Id": "f", "Expression": "FILL(m, 0)", "ReturnData": True},
        {"Id": "m", "MetricStat": {"Metric": {"Namespace": "Round", "MetricName": "v"}, "Period": 120, "Stat": "Sum"},
         "ReturnData": False}]}
    r = a.admin_request("POST", "/api/v1/metrics/query", headers={"Content-Type": "application/json"},
                        body=json.dumps(body).encode())
    assert r.status == 200, r.body
    f, = r.json()["MetricDataResults"]
    assert sorted(zip(f["Timestamps"], f["Values"])) == [(iso(m0), 1.0), (iso(m0 + 120), 2.0), (iso(m0 + 240), 0.0)], f


def test_query_answers_as_cloudwatch(albd, one_backend):
    """GetMetricData: a metric that does not exist is a 404 (as the
    statistics API's); a result cut short by MaxDatapoints says PartialData
    and the next page Complete. Percentiles go from p0 to p100 and never
    pass the Minimum or Maximum."""
    a = one_backend.albd
    now = int(time.time())
    t0 = now // 60 * 60 - 600
    assert put(a, {"Namespace": "Pq", "MetricData": [
        {"MetricName": "v", "Value": float(v), "Timestamp": t0 + i * 60}
        for i, v in enumerate([5, 999, 7, 1002.5, 3])]}).status == 200

    def query(body):
        return a.admin_request("POST", "/api/v1/metrics/query", headers={"Content-Type": "application/json"},
                               body=json.dumps(body).encode())
    stat = {"Metric": {"Namespace": "Pq", "MetricName": "v"}, "Period": 60, "Stat": "Maximum"}
    r = query({"StartTime": t0, "EndTime": t0 + 300, "MetricDataQueries": [
        {"Id": "m", "MetricStat": dict(stat, Metric={"Namespace": "Pq", "MetricName": "nope"})}]})
    assert r.status == 404 and r.json()["Error"]["Code"] == "ResourceNotFound", r.body
    r = query({"StartTime": t0, "EndTime": t0 + 300, "MaxDatapoints": 3, "MetricDataQueries": [
        {"Id": "m", "MetricStat": stat}]})
    assert r.status == 200, r.body
    res, token = r.json()["MetricDataResults"][0], r.json().get("NextToken")
    assert len(res["Values"]) == 3 and res["StatusCode"] == "PartialData" and token, r.json()
    r = query({"StartTime": t0, "EndTime": t0 + 300, "MaxDatapoints": 3, "NextToken": token,
               "MetricDataQueries": [{"Id": "m", "MetricStat": stat}]})
    res = r.json()["MetricDataResults"][0]
    assert len(res["Values"]) == 2 and res["StatusCode"] == "Complete" and "NextToken" not in r.json(), r.json()
    dps = stats(a, "v", ns="Pq", start=t0, end=t0 + 300, period=60,
                statistics="Minimum,Maximum,p0,p0.0,p50,p100").json()["Datapoints"]
    assert len(dps) == 5, dps
    for dp in dps:
        for k in ("p0", "p0.0", "p50", "p100"):
            assert dp["Minimum"] <= dp[k] <= dp["Maximum"], dp
        assert dp["p100"] == dp["Maximum"] or abs(dp["p100"] / dp["Maximum"] - 1) <= 0.01, dp


def test_thirty_dimensions(albd, one_backend):
    """A metric has up to 30 dimensions, as in CloudWatch; 31 is a 400."""
    a = one_backend.albd
    now = int(time.time())
    dims = [{"Name": "d%02d" % i, "Value": "v%d" % i} for i in range(30)]
    assert put(a, {"Namespace": "Dims", "MetricData": [
        {"MetricName": "m", "Value": 4.0, "Timestamp": now - 5, "Dimensions": dims}]}).status == 200
    r = stats(a, "m", {d["Name"]: d["Value"] for d in dims}, ns="Dims", start=now - 60, end=now + 60, period=60)
    assert r.status == 200 and sum(dp["Sum"] for dp in r.json()["Datapoints"]) == 4.0, r.body
    r = put(a, {"Namespace": "Dims", "MetricData": [
        {"MetricName": "m", "Value": 4.0, "Timestamp": now - 5, "Dimensions": dims + [{"Name": "x", "Value": "y"}]}]})
    assert r.status == 400 and "30" in r.json()["Error"]["Message"], r.body


def test_restart_keeps_history(albd, one_backend):
    a = one_backend.albd
    now = int(time.time())
    t0 = now // 60 * 60 - 600
    assert put(a, {"Namespace": "Keep", "MetricData": [
        {"MetricName": "v", "Value": float(i), "Timestamp": t0 + i} for i in range(50)]}).status == 200
    send(one_backend.port, ["/ok"] * 7)
    wait_total(a, "RequestCount", 7, {"TargetGroup": "tg"})
    before = stats(a, "v", ns="Keep", start=t0, end=t0 + 60, period=60,
                   statistics="SampleCount,Sum,Minimum,Maximum").json()
    a.stop()
    a.start()
    after = stats(a, "v", ns="Keep", start=t0, end=t0 + 60, period=60,
                  statistics="SampleCount,Sum,Minimum,Maximum").json()
    assert after == before
    assert after["Datapoints"][0]["Sum"] == sum(range(50))
    assert total(a, "RequestCount", {"TargetGroup": "tg"}) == 7


def query(a, body):
    return a.admin_request("POST", "/api/v1/metrics/query", headers={"Content-Type": "application/json"},
                           body=json.dumps(body).encode())


def test_metric_math_5xx_rate(mix):
    a = mix.albd
    send(mix.port, ["/ok"] * 30 + ["/status?code=503"] * 10)
    wait_total(a, "RequestCount", 40, {"TargetGroup": "web"})
    now = int(time.time())
    start, end = (now - 3600) // 3600 * 3600, (now // 3600 + 1) * 3600

    def ms(i, name):
        return {"Id": i, "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": NS, "MetricName": name,
                       "Dimensions": [{"Name": "TargetGroup", "Value": "web"}]},
            "Period": 3600, "Stat": "Sum"}}
    r = query(a, {"StartTime": start, "EndTime": end, "MetricDataQueries": [
        ms("m1", "RequestCount"), ms("m2", "HTTPCode_Target_5XX_Count"),
        {"Id": "rate", "Expression": "100 * m2 / m1", "Label": "5XX rate"},
        {"Id": "zero", "Expression": "m2 / (m1 - m1)"}]})
    assert r.status == 200, r.body
    res = {x["Id"]: x for x in r.json()["MetricDataResults"]}
    assert set(res) == {"rate", "zero"}
    # the rate, hour by hour, is 100 * m2 / m1 of the same hour (the
    # requests may straddle an hour: 25% over both)
    both = query(a, {"StartTime": start, "EndTime": end, "MetricDataQueries": [
        dict(ms("m1", "RequestCount"), ReturnData=True), dict(ms("m2", "HTTPCode_Target_5XX_Count"),
                                                              ReturnData=True)]}).json()
    got = {x["Id"]: dict(zip(x["Timestamps"], x["Values"])) for x in both["MetricDataResults"]}
    assert sum(got["m1"].values()) == 40 and sum(got["m2"].values()) == 10
    rate = dict(zip(res["rate"]["Timestamps"], res["rate"]["Values"]))
    assert rate and set(rate) == set(got["m1"])
    for t, v in rate.items():
        assert v == pytest.approx(100 * got["m2"].get(t, 0) / got["m1"][t]), (t, v, got)
    assert res["rate"]["Label"] == "5XX rate"
    assert res["rate"]["StatusCode"] == "Complete"
    assert res["zero"]["Values"] == []   # a division by zero gives no datapoint
    r = query(a, {"StartTime": start, "EndTime": end, "MetricDataQueries": [
        {"Id": "e1", "Expression": "100 * (m1"}]})
    assert r.status == 400


def test_bad_queries_name_the_parameter(mix):
    a = mix.albd
    for params, word in [({"period": "abc"}, "period"), ({"start": "yesterday"}, "start"),
                         ({"end": "2026-13-45T00:00:00Z"}, "end"), ({"statistics": "Median"}, "statistics")]:
        p = {"namespace": NS, "name": "RequestCount", "period": 60, "statistics": "Sum"}
        p.update(params)
        r = a.admin_request("GET", "/api/v1/metrics/statistics?" + q(p))
        assert r.status == 400, (params, r.body)
        assert word in r.json()["Error"]["Message"]
    r = a.admin_request("GET", "/api/v1/metrics/statistics?" + q({"name": "NoSuchMetric", "period": 60}))
    assert r.status == 404
    assert r.json()["Error"]["Code"]
    # a period finer than the range allows: no datapoints, as CloudWatch
    # ("or no data points in that time range is returned")
    now = int(time.time())
    r = a.admin_request("GET", "/api/v1/metrics/statistics?" + q(
        {"name": "RequestCount", "period": 1, "start": now - 5 * 86400, "end": now}))
    assert r.status == 200 and r.json()["Datapoints"] == [], r.body
    # a period CloudWatch does not have at all (1, 5, 10, 20, 30, k * 60)
    r = a.admin_request("GET", "/api/v1/metrics/statistics?" + q(
        {"name": "RequestCount", "period": 7, "start": now - 600, "end": now}))
    assert r.status == 400
    assert "period" in r.json()["Error"]["Message"]


def test_list_metrics(mix):
    a = mix.albd
    send(mix.port, ["/ok"])
    wait_total(a, "RequestCount", 1, {"TargetGroup": "web"})
    r = a.admin_request("GET", "/api/v1/metrics?" + q({"namespace": NS, "name": "RequestCount"}))
    assert r.status == 200
    dims = [sorted((d["Name"], d["Value"]) for d in m["Dimensions"]) for m in r.json()["Metrics"]]
    assert [("LoadBalancer", "lb1")] in dims
    assert sorted([("LoadBalancer", "lb1"), ("TargetGroup", "web")]) in dims


def test_list_metrics_recently_active_and_limits(mix):
    """GET /api/v1/metrics takes RecentlyActive (recently_active=PT3H, as
    next_token; RecentlyActive too) and refuses any other value, an
    unknown parameter and more than 10 dimension filters, naming them."""
    a = mix.albd
    old = int(time.time()) - 5 * 3600
    r = put(a, {"Namespace": "RA", "MetricData": [
        {"MetricName": "Old", "Value": 1.0, "Timestamp": old},
        {"MetricName": "New", "Value": 1.0}]})
    assert r.status == 200, r.body

    def names(params):
        r = a.admin_request("GET", "/api/v1/metrics?" + q(params))
        assert r.status == 200, (params, r.body)
        return sorted(m["MetricName"] for m in r.json()["Metrics"])
    assert names({"namespace": "RA"}) == ["New", "Old"]
    assert names({"namespace": "RA", "recently_active": "PT3H"}) == ["New"]
    assert names({"namespace": "RA", "RecentlyActive": "PT3H"}) == ["New"]
    for bad in ("PT1H", "pt3h", "", "P1D"):
        r = a.admin_request("GET", "/api/v1/metrics?" + q({"namespace": "RA", "recently_active": bad}))
        assert r.status == 400, (bad, r.body)
        assert r.json()["Error"]["Code"] == "InvalidParameterValue", r.body
        assert r.json()["Error"]["Message"] == (
            "RecentlyActive: PT3H. This is the only valid value for this parameter."), r.body
    # unknown parameters are named, not ignored (a misspelt filter listed everything)
    r = a.admin_request("GET", "/api/v1/metrics?" + q({"namespace": "RA", "metricname": "Old", "x": "1"}))
    assert r.status == 400, r.body
    msg = r.json()["Error"]["Message"]
    assert "metricname" in msg and "x" in msg, msg
    # at most 10 dimension filters, as ListMetrics
    ten = ",".join("D%d=" % i for i in range(10))
    assert names({"namespace": "RA", "dimensions": ten}) == []
    r = a.admin_request("GET", "/api/v1/metrics?" + q({"namespace": "RA", "dimensions": ten + ",D10="}))
    assert r.status == 400, r.body
    assert "Dimensions" in r.json()["Error"]["Message"] and "10" in r.json()["Error"]["Message"], r.body


def test_token_enforced(albd, backends, tmp_path):
    b = backends.start("b1")
    port = free_port()
    tok = tmp_path / "admin.token"
    tok.write_text("s3cret-token\n")
    aport = free_port()
    base = make_config([listener("web", port, "web")], [target_group("web", [b])])
    a = albd.start(base + '\nadmin = { listen = "127.0.0.1:%d"; token_file = "%s"; };\n' % (aport, tok),
                   port=port)
    assert a.admin_request("GET", "/metrics").status == 200
    r = a.admin_request("GET", "/api/v1/metrics")
    assert r.status == 401
    assert r.json()["Error"]
    assert a.admin_request("GET", "/api/v1/metrics", token="wrong").status == 401
    assert a.admin_request("GET", "/api/v1/metrics", token="s3cret-token").status == 200
    assert a.admin_request("POST", "/api/v1/metrics/data", body=b"{}").status == 401
    a.reload(base + '\nadmin = { listen = "127.0.0.1:%d"; token_file = "%s"; metrics_token = true; };\n'
             % (aport, tok))
    wait_until(lambda: a.admin_request("GET", "/metrics").status == 401, 10, what="metrics_token")
    assert a.admin_request("GET", "/metrics", token="s3cret-token").status == 200


def promtool():
    p = shutil.which("promtool")
    if not p:
        pytest.skip("promtool is not installed (Debian package prometheus; scripts/deps.sh installs it)")
    return p


def test_promtool_accepts_metrics(mix):
    a = mix.albd
    send(mix.port, ["/ok", "/status?code=503", "/ping"])
    get(mix.port, "/dead/1")
    wait_total(a, "RequestCount", 4)
    for accept in (None, "application/openmetrics-text; version=1.0.0"):
        r = a.admin_request("GET", "/metrics", headers={"Accept": accept} if accept else None)
        assert r.status == 200
        if accept:
            assert r.header("content-type").startswith("application/openmetrics-text")
            assert r.body.endswith(b"# EOF\n")
            continue
        assert r.header("content-type").startswith("text/plain; version=0.0.4")
        p = subprocess.run([promtool(), "check", "metrics"], input=r.body, capture_output=True, timeout=30)
        assert p.returncode == 0, p.stdout + p.stderr
        assert p.stdout.strip() == b"" and p.stderr.strip() == b"", p.stdout + p.stderr


PROM2_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
PROM3_ACCEPT = ("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
                "application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;"
                "q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2")


@pytest.mark.parametrize("accept,om", [
    (None, False),
    ("application/openmetrics-text; version=1.0.0", True),
    (PROM2_ACCEPT, True),
    (PROM3_ACCEPT, True),
    # q=0: not acceptable
    ("application/openmetrics-text; version=1.0.0; q=0", False),
    # the higher q wins, wherever it is listed
    ("text/plain;q=1, application/openmetrics-text;version=1.0.0;q=0.5", False),
    ("text/plain;version=0.0.4;q=0.5, application/openmetrics-text;q=0.9", True),
    # media types are case-insensitive (RFC 9110 §8.3.1)
    ("Application/OpenMetrics-Text", True),
    # the most specific range decides; ties go to the first listed
    ("application/*;q=0.9, application/openmetrics-text;q=0, text/*;q=0.1", False),
    ("*/*;q=0.1, application/*", True),
    ("text/plain, application/openmetrics-text", False),
    ("application/openmetrics-text, text/plain", True),
    # another version of OpenMetrics, or nothing albd has: the text format
    ("application/openmetrics-text; version=2.0.0", False),
    ("application/json", False),
])
def test_metrics_content_negotiation(mix, accept, om):
    r = mix.albd.admin_request("GET", "/metrics", headers={"Accept": accept} if accept else None)
    assert r.status == 200
    ct = r.header("content-type")
    if om:
        assert ct == "application/openmetrics-text; version=1.0.0; charset=utf-8", (accept, ct)
        assert r.body.endswith(b"# EOF\n")
    else:
        assert ct == "text/plain; version=0.0.4; charset=utf-8", (accept, ct)
        assert b"# EOF" not in r.body


def le_values(text, family):
    return [re.search(r'le="([^"]*)"', line).group(1) for line in text.splitlines()
            if line.startswith(family + "_bucket{") and 'target_group="web"' in line and "target=" not in line]


def test_openmetrics_le_canonical_and_metadata(mix):
    """OpenMetrics: canonical "le" values (1.0, 10.0, 0.005, +Inf), metadata
    TYPE, UNIT, HELP, a UNIT for each family whose name ends with its unit;
    python's OpenMetrics parser takes it. The text format keeps
    client_golang's form (le="1") and promtool's lint finds nothing in it."""
    a = mix.albd
    send(mix.port, ["/x"] * 3)
    wait_total(a, "RequestCount", 3, {"TargetGroup": "web"})
    om = a.admin_request("GET", "/metrics", headers={"Accept": PROM2_ACCEPT}).body.decode()
    text = a.admin_request("GET", "/metrics").body.decode()
    fam = "albd_target_response_time_seconds"
    assert le_values(om, fam) == ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
                                  "1.0", "2.5", "5.0", "10.0", "30.0", "60.0", "+Inf"], om
    assert le_values(text, fam) == ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
                                    "1", "2.5", "5", "10", "30", "60", "+Inf"], text
    # metadata: TYPE, then UNIT when there is one, then HELP
    meta = [line.split(" ", 3)[1:3] for line in om.splitlines() if line.startswith("# ") and line != "# EOF"]
    units = {}
    i = 0
    while i < len(meta):
        kind, name = meta[i]
        assert kind == "TYPE", (i, meta[i])
        i += 1
        if meta[i][0] == "UNIT":
            assert meta[i][1] == name
            units[name] = [line for line in om.splitlines() if line.startswith("# UNIT %s " % name)][0].split()[-1]
            i += 1
        assert meta[i] == ["HELP", name], (name, meta[i])
        i += 1
    assert units == {"albd_processed_bytes": "bytes", "albd_target_response_time_seconds": "seconds",
                     "albd_certificate_expiry_timestamp_seconds": "seconds"}, units
    assert "# UNIT" not in text
    # the text format: HELP then TYPE, as client_golang
    tmeta = [line.split(" ", 3)[1] for line in text.splitlines() if line.startswith("# ")]
    assert tmeta == ["HELP", "TYPE"] * (len(tmeta) // 2), tmeta
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
    fams = {f.name: f for f in text_string_to_metric_families(om)}
    assert fams["albd_processed_bytes"].unit == "bytes"
    assert fams[fam].unit == "seconds"
    assert {s.labels["le"] for s in fams[fam].samples if s.name == fam + "_bucket"} >= {"1.0", "10.0", "+Inf"}
    # promtool lints the text format only (its parser takes an OpenMetrics
    # counter's samples, NAME_total, for a family without HELP)
    p = subprocess.run([promtool(), "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.strip() == b"" and p.stderr.strip() == b"", p.stdout + p.stderr


@pytest.mark.timeout_s(90)
def test_real_prometheus_scrapes(mix, tmp_path):
    prom = shutil.which("prometheus")
    if not prom:
        pytest.skip("prometheus is not installed (scripts/deps.sh installs it)")
    a = mix.albd
    send(mix.port, ["/ok"] * 9)
    wait_total(a, "RequestCount", 9, {"TargetGroup": "web"})
    pport = free_port()
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                   "scrape_configs:\n  - job_name: albd\n    static_configs:\n"
                   "      - targets: ['127.0.0.1:%d']\n" % a.admin_port)
    data = tmp_path / "prom-data"
    log = open(tmp_path / "prometheus.log", "wb")
    p = subprocess.Popen([prom, "--config.file=%s" % cfg, "--storage.tsdb.path=%s" % data,
                          "--web.listen-address=127.0.0.1:%d" % pport], stdout=log, stderr=log)
    try:
        def value():
            try:
                r = get(pport, "/api/v1/query?" + q(
                    {"query": 'albd_requests_total{target_group="web"}'}), timeout=3)
            except OSError:
                return None
            if r.status != 200:
                return None
            res = r.json()["data"]["result"]
            return float(res[0]["value"][1]) if res else None
        wait_until(lambda: value() == 9.0, 60, interval=0.5, what="Prometheus sees albd_requests_total")
    finally:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
        log.close()


def lb_series(text, name, **labels):
    """The value of NAME with exactly LABELS besides load_balancer."""
    for (n, ls), v in prom_samples(text).items():
        d = dict(ls)
        d.pop("load_balancer", None)
        if n == name and d == labels:
            return v
    return None


@pytest.mark.timeout_s(60)
def test_health_gauges_and_check_counts(albd, backends):
    good = backends.start("b1")
    dead = "127.0.0.1:%d" % free_port()
    port = free_port()
    hc = {"enabled": True, "path": "/health", "interval": 1, "timeout": 0.5, "healthy_threshold": 2,
          "unhealthy_threshold": 2}
    down_rule = {"priority": 20, "path": ["/down/*"], "forward": ({"target_group": "down", "weight": 1},)}
    cfg = make_config([listener("web", port, "web", rules=(PING_RULE, down_rule))],
                      [target_group("web", [good, dead], health_check=hc),
                       target_group("down", [dead], health_check=hc)])
    a = albd.start(cfg, port=port)

    def gauges():
        t = a.admin_request("GET", "/metrics").body.decode()
        return (lb_series(t, "albd_healthy_hosts", target_group="web"),
                lb_series(t, "albd_unhealthy_hosts", target_group="web"),
                lb_series(t, "albd_fail_open", target_group="down"),
                lb_series(t, "albd_fail_open", target_group="web"))
    wait_until(lambda: gauges() == (1.0, 1.0, 1.0, 0.0), 20, interval=0.3, what="health gauges")
    # the unhealthy target took two failed checks, so the good one has had
    # its second check by now or within the next interval (counts are
    # folded once a second)
    wait_until(lambda: lb_series(a.admin_request("GET", "/metrics").body.decode(), "albd_health_checks_total",
                                 target_group="web", target=good.addr) >= 2, 5, interval=0.2,
               what="a second check of the good target")
    t = a.admin_request("GET", "/metrics").body.decode()
    assert lb_series(t, "albd_health_checks_failed_total", target_group="web", target=good.addr) == 0
    assert lb_series(t, "albd_health_checks_failed_total", target_group="web", target=dead) >= 2
    # and through the store, as CloudWatch gauges
    wait_until(lambda: stats(a, "HealthyHostCount", {"TargetGroup": "web"}, period=60,
                             statistics="Maximum").json()["Datapoints"], 5, what="HealthyHostCount points")
    dps = stats(a, "HealthyHostCount", {"TargetGroup": "web"}, period=60, statistics="Maximum").json()
    assert max(dp["Maximum"] for dp in dps["Datapoints"]) == 1.0
    assert total(a, "FailOpen", {"TargetGroup": "down"}, stat="Maximum") >= 1.0
    # requests to a group that failed open are sent all the same (to its
    # dead target: 502), and counted as such
    for _ in range(3):
        assert get(port, "/down/x").status == 502
    wait_total(a, "FailOpenRequestCount", 3, {"TargetGroup": "down"})
    assert total(a, "FailOpenRequestCount", {"TargetGroup": "web"}) == 0


def test_certificate_days_to_expiry(albd, backends, tmp_path):
    import importlib
    tls = importlib.import_module("test_90_tls")
    (tmp_path / "pki").mkdir()
    p = tls.PKI(tmp_path / "pki")
    cert = p.issue("m.test", ["DNS:m.test"], days=40, out_dir=tmp_path)
    b = backends.start("b1")
    port = free_port()
    a = albd.start(tls.tls_config(port, [cert], [b]), port=port)
    name = "albd_certificate_expiry_timestamp_seconds"
    wait_until(lambda: lb_series(a.admin_request("GET", "/metrics").body.decode(),
                                 name, listener="web", certificate=str(cert.crt))
               is not None, 10, what="certificate gauge")
    body = a.admin_request("GET", "/metrics").body
    v = lb_series(body.decode(), name, listener="web", certificate=str(cert.crt))
    assert 39 * 86400 <= v - time.time() <= 40 * 86400 + 60, v
    # promtool's lint wants base units (seconds, not days) here too
    p = subprocess.run([promtool(), "check", "metrics"], input=body, capture_output=True, timeout=30)
    assert p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(), (p.stdout, p.stderr)
    wait_until(lambda: stats(a, "CertificateDaysToExpiry", {"Listener": "web", "Certificate": str(cert.crt)},
                             period=60, statistics="Minimum").json()["Datapoints"], 10, what="store points")


@pytest.mark.timeout_s(60)
def test_removed_target_series_stop(albd, backends):
    """Series follow the config: a target removed by a reload keeps its
    history, stops getting points, and leaves /metrics once drained."""
    b1, b2 = backends.start("b1"), backends.start("b2")
    port = free_port()

    def cfg(targets):
        return make_config([listener("web", port, "web")],
                           [target_group("web", targets, deregistration_delay=0)], name="lbr")
    a = albd.start(cfg([b1, b2]), port=port)
    send(port, ["/ok"] * 10)
    wait_total(a, "RequestCount", 10, {"TargetGroup": "web"})
    assert total(a, "RequestCount", {"TargetGroup": "web", "Target": b2.addr}) == 5
    a.reload(cfg([b1]))
    wait_until(lambda: lb_series(a.admin_request("GET", "/metrics").body.decode(), "albd_requests_total",
                                 target_group="web", target=b2.addr) is None, 15, what="b2 gone from /metrics")
    gone = int(time.time()) + 1
    send(port, ["/ok"] * 4)
    wait_total(a, "RequestCount", 14, {"TargetGroup": "web"})
    time.sleep(1.5)
    # its history stays, and nothing new is counted for it
    assert total(a, "RequestCount", {"TargetGroup": "web", "Target": b2.addr}) == 5
    assert total(a, "RequestCount", {"TargetGroup": "web", "Target": b1.addr}) == 9
    now = int(time.time())
    last = stats(a, "RequestCount", {"TargetGroup": "web", "Target": b2.addr}, start=gone, end=now + 1,
                 period=1).json()["Datapoints"]
    assert last == []
    # while b1's series goes on, a 0 or more every second
    assert stats(a, "RequestCount", {"TargetGroup": "web", "Target": b1.addr}, start=gone, end=now + 1,
                 period=1).json()["Datapoints"]


def test_query_parameter_not_utf8(mix):
    """A query parameter that is not UTF-8 once percent-decoded is a 400
    that says so (JSON holds UTF-8 only), not a misleading error about a
    parameter that seemed to be missing."""
    for path in ("/api/v1/metrics/statistics?name=RequestCount&statistics=%ff%fe",
                 "/api/v1/metrics?namespace=%c3%28", "/api/v1/target-groups?x%ff=1"):
        r = mix.albd.admin_request("GET", path)
        assert r.status == 400, (path, r.status, r.body)
        assert "UTF-8" in r.json()["Error"]["Message"], r.body
    r = mix.albd.admin_request("GET", "/api/v1/metrics/statistics?name=RequestCount&statistics=Sum&dimensions="
                               "TargetGroup=%c3%a9t%c3%a9")
    assert r.status == 200, r.body


def test_hostile_api_input_never_hurts(mix):
    """Garbage in every parameter and body of the metrics API: a 4xx each
    time, never a crash (the ASan pass checks the memory too)."""
    import random
    a = mix.albd
    rnd = random.Random(48)
    junk = ["", "-1", "0", "1e309", "NaN", "p", "p101", "p0", "p-1", "p99.99999", "\x7f", "%00", "a" * 3000,
            "2026-02-30T00:00:00Z", "9" * 40, "Name=", "=v", ",,,", "T=v,T=w", "1.5", "Sum,,Sum",
            "2026-11-29T10:15:00+25:00", "1970-01-01T00:00:00Z"]
    for _ in range(150):
        p = {k: rnd.choice(junk) for k in rnd.sample(["namespace", "name", "dimensions", "start", "end", "period",
                                                      "statistics", "extended_statistics", "next_token"],
                                                     rnd.randint(1, 6))}
        r = a.admin_request("GET", "/api/v1/metrics/statistics?" + q(p))
        assert r.status in (200, 400, 404), (p, r.status, r.body)
        r = a.admin_request("GET", "/api/v1/metrics?" + q(p))
        assert r.status in (200, 400), (p, r.status, r.body)
    bodies = [b"", b"null", b"[]", b"{}", b'{"MetricDataQueries": {}}', b'{"MetricData": [1,2,3]}',
              b'{"Namespace": "x", "MetricData": [{"MetricName": "m", "Value": 1e400}]}',
              b'{"Namespace": "x", "MetricData": [{"MetricName": "m", "Values": [1], "Counts": [-1]}]}',
              b'{"Namespace": "x", "MetricData": [{"MetricName": "m", "Value": 1, "Dimensions": '
              + json.dumps([{"Name": "d%d" % i, "Value": "v"} for i in range(40)]).encode() + b"}]}",
              b'{"StartTime": 0, "EndTime": 1e12, "MetricDataQueries": [{"Id": "a", "Expression": "' +
              b"(" * 500 + b'1"}]}',
              b'{"StartTime": "x", "EndTime": 5, "MetricDataQueries": [{"Id": "Bad"}]}',
              b'{"StartTime": 1000, "EndTime": 2000, "MetricDataQueries": [{"Id": "e", "Expression": "e"}]}',
              b'{"StartTime": 1000, "EndTime": 2000, "MetricDataQueries": [{"Id": "e", "Expression": "f"},'
              b'{"Id": "f", "Expression": "e + 1"}]}',
              b'{"StartTime": 1000, "EndTime": 99999999999, "MetricDataQueries": [{"Id": "e", '
              b'"Expression": "FILL(METRICS(), 0)"}]}',
              bytes(rnd.getrandbits(8) for _ in range(2000))]
    for b in bodies:
        for path in ("/api/v1/metrics/query", "/api/v1/metrics/data"):
            r = a.admin_request("POST", path, body=b)
            assert r.status in (200, 400, 413), (path, b[:80], r.status, r.body)
            assert r.json()["Error"]["Message"] if r.status != 200 else True
    assert a.alive()
    assert get(mix.port, "/ok").status == 200


@pytest.mark.timeout_s(90)
def test_corrupt_state_is_set_aside(albd, one_backend):
    """A damaged state_dir (garbage checkpoint, truncated catalog) is
    logged and set aside at start: albd serves, and keeps what it can."""
    a = one_backend.albd
    now = int(time.time())
    assert put(a, {"Namespace": "Keep", "MetricData": [{"MetricName": "v", "Value": 5.0,
                                                         "Timestamp": now - 30}]}).status == 200
    a.stop()
    sd = a.state_dir
    files = sorted(p for p in sd.rglob("*") if p.is_file())
    assert any(p.name == "head.ckpt" for p in files), files
    (sd / "head.ckpt").write_bytes(b"ALBDCKP1" + os.urandom(300))
    cat = sd / "series.cat"
    if cat.exists() and cat.stat().st_size > 20:
        with open(cat, "r+b") as f:
            f.truncate(cat.stat().st_size - 7)
    a.start()
    assert a.alive()
    # the store's own words (the test's directory name has "corrupt" in it)
    wait_until(lambda: "head.ckpt is damaged" in a.log(), 10, what="the damage logged")
    assert (sd / "head.ckpt.corrupt").exists()
    send(one_backend.port, ["/ok"] * 3)
    wait_total(a, "RequestCount", 3, {"TargetGroup": "tg"}, timeout=15)
    # and it can be written again
    assert put(a, {"Namespace": "Keep", "MetricData": [{"MetricName": "v", "Value": 7.0}]}).status == 200


def test_lost_checkpoint_keeps_custom_metrics(albd, one_backend):
    """Without head.ckpt, a custom metric whose data is only in blocks (here
    two days old) is still known: its statistics, not a 404, and it is in
    ListMetrics."""
    a = one_backend.albd
    old = (int(time.time()) - 2 * 86400) // 3600 * 3600 + 65
    assert put(a, {"Namespace": "Old", "MetricData": [{"MetricName": "v", "Value": 5.0,
                                                       "Timestamp": old}]}).status == 200
    # at once, while the point may still wait for its block (read from memory)
    r = stats(a, "v", ns="Old", start=old - 65, end=old + 3600, period=3600, statistics="Sum")
    assert [dp["Sum"] for dp in r.json()["Datapoints"]] == [5.0], r.body
    a.stop()
    (a.state_dir / "head.ckpt").unlink()
    a.start()
    r = stats(a, "v", ns="Old", start=old - 65, end=old + 3600, period=3600, statistics="Sum")
    assert r.status == 200 and [dp["Sum"] for dp in r.json()["Datapoints"]] == [5.0], r.body
    r = a.admin_request("GET", "/api/v1/metrics?namespace=Old")
    assert r.status == 200 and [m["MetricName"] for m in r.json()["Metrics"]] == ["v"], r.body


def test_metric_math_limits_and_metrics_function(mix):
    a = mix.albd
    send(mix.port, ["/ok"] * 6)
    wait_total(a, "RequestCount", 6, {"TargetGroup": "web"})
    now = int(time.time())
    start, end = (now - 3600) // 3600 * 3600, (now // 3600 + 1) * 3600

    def ms(i, name):
        return {"Id": i, "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": NS, "MetricName": name,
                       "Dimensions": [{"Name": "TargetGroup", "Value": "web"}]},
            "Period": 3600, "Stat": "Sum"}}
    # METRICS() is the metrics of the call, not its expressions
    r = query(a, {"StartTime": start, "EndTime": end, "ScanBy": "TimestampAscending", "MetricDataQueries": [
        ms("m1", "RequestCount"), ms("m2", "HTTPCode_Target_2XX_Count"),
        {"Id": "all", "Expression": "SUM(METRICS())"}]})
    assert r.status == 200, r.body
    assert sum(r.json()["MetricDataResults"][0]["Values"]) == 12
    # expressions that refer to expressions: a bounded chain
    chain = [ms("m1", "RequestCount")] + [{"Id": "e%d" % i, "Expression": "e%d + 1" % (i + 1)}
                                          for i in range(40)] + [{"Id": "e40", "Expression": "m1"}]
    r = query(a, {"StartTime": start, "EndTime": end, "MetricDataQueries": chain})
    assert r.status == 400 and "deep" in r.json()["Error"]["Message"], r.body
    short = [ms("m1", "RequestCount"), {"Id": "e0", "Expression": "e1 * 2"}, {"Id": "e1", "Expression": "m1 + 1"}]
    r = query(a, {"StartTime": start, "EndTime": end, "MetricDataQueries": short})
    assert r.status == 200, r.body
    res = {x["Id"]: x for x in r.json()["MetricDataResults"]}
    assert res["e1"]["Values"] and res["e0"]["Values"] == [2 * v for v in res["e1"]["Values"]]
    # CloudWatch's 100,800 datapoints a call
    many = [ms("m1", "RequestCount")] + [{"Id": "f%d" % i, "Expression": "FILL(m1, 0)", "Period": 60}
                                         for i in range(6)]
    r = query(a, {"StartTime": now - 14 * 86400, "EndTime": now, "MetricDataQueries": many})
    assert r.status == 400 and "100800" in r.json()["Error"]["Message"], r.body


def test_list_metrics_by_dimension_name(mix):
    a = mix.albd
    send(mix.port, ["/ok"])
    wait_total(a, "RequestCount", 1, {"TargetGroup": "web"})
    r = a.admin_request("GET", "/api/v1/metrics?" + q({"name": "RequestCount", "dimensions": "Target="}))
    assert r.status == 200, r.body
    ms_ = r.json()["Metrics"]
    assert ms_ and all(any(d["Name"] == "Target" for d in m["Dimensions"]) for m in ms_)


def test_cloudwatch_validation_as_documented(albd, one_backend):
    """As CloudWatch's API reference says: a dimension value may have 1024
    ASCII characters, a dimension name does not start with ':' and neither
    is only spaces; a namespace does not start with ':'; a date that does
    not exist (30 February) is not a time. A statistic set whose Minimum
    equals its Maximum has percentiles, and a user's sum comes back as it
    was put, across a restart, with the Average inside [Minimum, Maximum]."""
    a = one_backend.albd
    t0 = int(time.time()) // 60 * 60 - 180
    dim = lambda n, v: {"Namespace": "Dv", "MetricData": [
        {"MetricName": "m", "Dimensions": [{"Name": n, "Value": v}], "Value": 1, "Timestamp": t0}]}
    assert put(a, dim("Q", "v" * 1024)).status == 200
    for n, v in (("Q", "v" * 1025), (":a", "x"), (" ", "x"), ("Q", "  "), ("Q", "\u00e9"), ("Q\u00e9", "x")):
        r = put(a, dim(n, v))
        assert r.status == 400 and "Dimensions" in r.json()["Error"]["Message"], (n, v, r.body)
    r = put(a, {"Namespace": ":x", "MetricData": [{"MetricName": "m", "Value": 1}]})
    assert r.status == 400 and "Namespace" in r.json()["Error"]["Message"], r.body
    r = stats(a, "m", {"Q": "v" * 1024}, ns="Dv", start=t0, end=t0 + 60, statistics="SampleCount")
    assert r.status == 200 and r.json()["Datapoints"][0]["SampleCount"] == 1, r.body
    for bad in ("2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z", "2026-04-31T00:00:00Z"):
        r = stats(a, "m", ns="Dv", start=bad, end=t0)
        assert r.status == 400 and "start" in r.json()["Error"]["Message"].lower(), (bad, r.body)
    r = stats(a, "m", ns="Dv", start="2024-02-29T00:00:00Z", end="2024-02-29T01:00:00Z", period=3600)
    assert r.status == 200, r.body
    # statistic sets
    assert put(a, {"Namespace": "Ss", "MetricData": [
        {"MetricName": "v", "Timestamp": t0 + 1,
         "StatisticValues": {"SampleCount": 3, "Sum": 0.9, "Minimum": 0.3, "Maximum": 0.3}},
        {"MetricName": "w", "Timestamp": t0 + 1, "Values": [19.99, 0.01], "Counts": [3, 1]}]}).status == 200

    def both():
        v = stats(a, "v", ns="Ss", start=t0, end=t0 + 60,
                  statistics="SampleCount,Sum,Average,Minimum,Maximum,p50").json()["Datapoints"]
        w = stats(a, "w", ns="Ss", start=t0, end=t0 + 60, statistics="Sum,Average").json()["Datapoints"]
        return v, w
    (v,), (w,) = before = both()
    assert (v["SampleCount"], v["Sum"], v["Minimum"], v["Maximum"]) == (3, 0.9, 0.3, 0.3), v
    assert v["p50"] == pytest.approx(0.3, rel=0.01) and v["Minimum"] <= v["Average"] <= v["Maximum"], v
    assert w["Sum"] == 19.99 * 3 + 0.01, w
    a.stop()
    a.start()
    assert both() == before


def test_query_pages_by_datapoint(albd, one_backend):
    """GetMetricData's NextToken names where the next page begins: points
    that arrive between two pages (a range that ends in the future) neither
    come twice nor go missing from the pages."""
    a = one_backend.albd
    t0 = int(time.time()) // 60 * 60 - 600
    assert put(a, {"Namespace": "Pg", "MetricData": [
        {"MetricName": "v", "Value": float(i + 1), "Timestamp": t0 + i * 60} for i in range(5)]}).status == 200
    body = {"StartTime": t0, "EndTime": t0 + 3600, "MaxDatapoints": 2, "MetricDataQueries": [
        {"Id": "m", "MetricStat": {"Metric": {"Namespace": "Pg", "MetricName": "v"}, "Period": 60, "Stat": "Sum"}},
        {"Id": "e", "Expression": "m * 10"}]}
    r = query(a, body)
    assert r.status == 200, r.body
    got = [list(zip(x["Timestamps"], x["Values"])) for x in r.json()["MetricDataResults"]]
    # the expression is never split: whole on the first page (see
    # test_expression_results_are_not_paged)
    assert [v for _, v in got[0]] == [5.0, 4.0] and [v for _, v in got[1]] == [50.0, 40.0, 30.0, 20.0, 10.0], got
    # a newer point arrives between the pages
    assert put(a, {"Namespace": "Pg", "MetricData": [
        {"MetricName": "v", "Value": 6.0, "Timestamp": t0 + 5 * 60}]}).status == 200
    seen = [v for x in got for _, v in x]
    token = r.json().get("NextToken")
    while token:
        r = query(a, dict(body, NextToken=token))
        assert r.status == 200, r.body
        for x in r.json()["MetricDataResults"]:
            seen += x["Values"]
        token = r.json().get("NextToken")
    assert seen == [5.0, 4.0, 50.0, 40.0, 30.0, 20.0, 10.0, 3.0, 2.0, 1.0], seen
    r = query(a, dict(body, NextToken="albd-md-0-x"))
    assert r.status == 400 and r.json()["Error"]["Code"] == "InvalidNextToken", r.body


def put_two_series(a, ns):
    """Two series, alpha [1, 2, 3] and beta [10, 20, 30], a minute apart,
    ending two minutes ago; returns the first timestamp."""
    t0 = int(time.time()) // 60 * 60 - 300
    assert put(a, {"Namespace": ns, "MetricData": [
        {"MetricName": name, "Value": float(v * k), "Timestamp": t0 + i * 60}
        for name, k in (("alpha", 1), ("beta", 10)) for i, v in enumerate([1, 2, 3])]}).status == 200
    return t0


def mstat(i, ns, name, label=None):
    q = {"Id": i, "ReturnData": False, "MetricStat": {
        "Metric": {"Namespace": ns, "MetricName": name}, "Period": 60, "Stat": "Sum"}}
    if label:
        q["Label"] = label
    return q


def test_metric_math_array_result(albd, one_backend):
    """"The final result of any math expression must be a single time
    series or an array of time series": METRICS() * 2 gives one result per
    metric, all with the expression's Id, each labelled with the label of the
    metric it came from (its Label, else its MetricName), after the
    expression's Label when it has one (the console's "Expression-Label
    Metric-Label"); an element that is not one metric's has the
    expression's Label, or its Id."""
    a = one_backend.albd
    t0 = put_two_series(a, "Arr")
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    ts = [iso(t0 + i * 60) for i in range(3)]
    r = query(a, {"StartTime": t0, "EndTime": t0 + 180, "ScanBy": "TimestampAscending", "MetricDataQueries": [
        mstat("m1", "Arr", "alpha", label="Alpha"), mstat("m2", "Arr", "beta"),
        {"Id": "e", "Expression": "METRICS()*2"},
        {"Id": "d", "Expression": "METRICS() * 2", "Label": "Double"},
        {"Id": "s", "Expression": "[m1 + m2, FILL(m2, 0)]", "Label": "Mix"},
        {"Id": "n", "Expression": "[m2 - m1, m1]"}]})
    assert r.status == 200, r.body
    res = [(x["Id"], x["Label"], x["Timestamps"], x["Values"], x["StatusCode"])
           for x in r.json()["MetricDataResults"]]
    assert res == [
        ("e", "Alpha", ts, [2.0, 4.0, 6.0], "Complete"),
        ("e", "beta", ts, [20.0, 40.0, 60.0], "Complete"),
        ("d", "Double Alpha", ts, [2.0, 4.0, 6.0], "Complete"),
        ("d", "Double beta", ts, [20.0, 40.0, 60.0], "Complete"),
        ("s", "Mix", ts, [11.0, 22.0, 33.0], "Complete"),
        ("s", "Mix beta", ts, [10.0, 20.0, 30.0], "Complete"),
        ("n", "n", ts, [9.0, 18.0, 27.0], "Complete"),
        ("n", "Alpha", ts, [1.0, 2.0, 3.0], "Complete")], res
    # an expression may use an array-valued one
    r = query(a, {"StartTime": t0, "EndTime": t0 + 180, "ScanBy": "TimestampAscending", "MetricDataQueries": [
        mstat("m1", "Arr", "alpha"), mstat("m2", "Arr", "beta"),
        {"Id": "all", "Expression": "METRICS() / 10", "ReturnData": False},
        {"Id": "top", "Expression": "MAX(all)"}]})
    assert r.status == 200, r.body
    (top,) = r.json()["MetricDataResults"]
    assert (top["Label"], top["Values"]) == ("top", [1.0, 2.0, 3.0]), top


def test_metric_math_scalar_result_refused(albd, one_backend):
    """A number is not a final result ("taking the AVG of a single time
    series produces a scalar number, so it can't be the final expression
    result"): a 400 naming the query, suggesting TIME_SERIES, which makes a
    time series of it at every period."""
    a = one_backend.albd
    t0 = put_two_series(a, "Sc")
    for expr in ("10", "MAX(m1)", "IF(1, 2, 3)", "AVG(m1) + 1"):
        r = query(a, {"StartTime": t0, "EndTime": t0 + 180, "MetricDataQueries": [
            mstat("m1", "Sc", "alpha"), {"Id": "top", "Expression": expr}]})
        assert r.status == 400, (expr, r.body)
        err = r.json()["Error"]
        assert err["Code"] == "ValidationError" and err["Message"].startswith("top: the result is a single number"), \
            (expr, err)
        assert "TIME_SERIES" in err["Message"], err
    r = query(a, {"StartTime": t0, "EndTime": t0 + 240, "ScanBy": "TimestampAscending", "MetricDataQueries": [
        mstat("m1", "Sc", "alpha"), {"Id": "top", "Expression": "TIME_SERIES(MAX(m1))"},
        {"Id": "gap", "Expression": "ABS(m1 - TIME_SERIES(AVG(m1)))"}]})
    assert r.status == 200, r.body
    top, gap = r.json()["MetricDataResults"]
    assert top["Values"] == [3.0] * 4 and len(set(top["Timestamps"])) == 4, top
    assert gap["Values"] == [1.0, 0.0, 1.0, 2.0], gap


def test_expression_results_are_not_paged(albd, one_backend):
    """MaxDatapoints pages MetricStat results only: "NextToken is not
    returned if you are performing a math expression" (MetricDataResult),
    so an expression's result comes whole, Complete, on the first page, and
    a call of expressions alone never has a NextToken."""
    a = one_backend.albd
    t0 = put_two_series(a, "Np")
    body = {"StartTime": t0, "EndTime": t0 + 180, "ScanBy": "TimestampAscending", "MaxDatapoints": 2,
            "MetricDataQueries": [mstat("m1", "Np", "alpha"), mstat("m2", "Np", "beta"),
                                  dict(mstat("m3", "Np", "beta"), ReturnData=True),
                                  {"Id": "e", "Expression": "METRICS() * 2"},
                                  {"Id": "f", "Expression": "m1 + m2"}]}
    r = query(a, body)
    assert r.status == 200, r.body
    res = [(x["Id"], x["Values"], x["StatusCode"]) for x in r.json()["MetricDataResults"]]
    assert res == [("m3", [10.0, 20.0], "PartialData"),
                   ("e", [2.0, 4.0, 6.0], "Complete"), ("e", [20.0, 40.0, 60.0], "Complete"),
                   ("e", [20.0, 40.0, 60.0], "Complete"), ("f", [11.0, 22.0, 33.0], "Complete")], res
    token = r.json()["NextToken"]
    r = query(a, dict(body, NextToken=token))
    assert r.status == 200, r.body
    res = [(x["Id"], x["Values"], x["StatusCode"]) for x in r.json()["MetricDataResults"]]
    assert res == [("m3", [30.0], "Complete"), ("e", [], "Complete"), ("e", [], "Complete"),
                   ("e", [], "Complete"), ("f", [], "Complete")], res
    assert "NextToken" not in r.json(), r.json()
    # expressions alone: everything at once, MaxDatapoints 1 or not
    body["MetricDataQueries"][2]["ReturnData"] = False
    body["MaxDatapoints"] = 1
    r = query(a, body)
    assert r.status == 200 and "NextToken" not in r.json(), r.body
    assert [len(x["Values"]) for x in r.json()["MetricDataResults"]] == [3, 3, 3, 3], r.body
    assert {x["StatusCode"] for x in r.json()["MetricDataResults"]} == {"Complete"}, r.body


def lb_level(a, prom_name):
    """The load balancer's level PROM_NAME in /metrics (sampled each second)."""
    r = a.admin_request("GET", "/metrics")
    assert r.status == 200
    return prom_samples(r.body.decode())[(prom_name, frozenset({"load_balancer": "lb1"}.items()))]


def maximum(a, name):
    r = stats(a, name, statistics="Maximum", period=1)
    assert r.status == 200, r.body
    return max([dp["Maximum"] for dp in r.json()["Datapoints"]] or [0])


@pytest.mark.timeout_s(60)
def test_connection_counts_include_target_connections(albd, backends):
    """NewConnectionCount and ActiveConnectionCount count, as ALB's, the
    connections from clients to albd and from albd to targets (health
    checks' aside): N requests over one client keep-alive connection to
    one target are 1 client + 1 target connection (reused, not new, from
    the pool), 2 open while both are; the client's close leaves the pooled
    one, whose keepalive_timeout closes it, and the level returns to 0.
    Before, both counted client connections only (1 new, at most 1 open)."""
    b1 = backends.start("b1")
    port = free_port()
    hc = {"enabled": True, "interval": 1, "timeout": 0.5, "healthy_threshold": 2,
          "unhealthy_threshold": 2, "path": "/health"}
    cfg = make_config([listener("web", port, "tg")],
                      [target_group("tg", [b1], keepalive_timeout=3, health_check=hc)], name="lb1")
    a = albd.start(cfg, port=port)
    # the start-up's probe of the listener is one client connection
    wait_total(a, "NewConnectionCount", 1)
    wait_until(lambda: lb_level(a, "albd_active_connections") == 0, 5, interval=0.2,
               what="the probe's connection gone")
    with Conn(port) as c:
        for i in range(5):
            r = c.request("GET", "/name?i=%d" % i)
            assert r.status == 200, r
        # both open: the client's and the pooled target connection
        wait_until(lambda: lb_level(a, "albd_active_connections") == 2, 5, interval=0.2,
                   what="ActiveConnectionCount 2")
        time.sleep(1.2)   # a second sample of 2
        assert lb_level(a, "albd_active_connections") == 2
        assert b1.stats()["connections"] == 1
    wait_until(lambda: lb_level(a, "albd_active_connections") == 1, 3, interval=0.1,
               what="ActiveConnectionCount 1: the pooled target connection after the client's close")
    # keepalive_timeout = 3 s (swept once a second) closes it
    wait_until(lambda: lb_level(a, "albd_active_connections") == 0, 8, interval=0.2,
               what="ActiveConnectionCount 0 after keepalive_timeout")
    assert b1.stats()["health_checks"] >= 2   # checks ran meanwhile, and counted in neither
    wait_total(a, "NewConnectionCount", 1 + 1 + 1)
    assert maximum(a, "ActiveConnectionCount") == 2
    time.sleep(1.5)
    assert total(a, "NewConnectionCount") == 3


def fnv1a64_hex(s):
    h = 0xcbf29ce484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


@pytest.mark.timeout_s(90)
def test_group_metrics_across_reloads(albd, backends):
    """A group a reload removed: /metrics stops exporting its gauges (while
    a request of the old generation still runs), and its history is still
    read by its ALB-style id (targetgroup/NAME/HEX). A reload albd refuses
    makes no series for the groups it would have added. With every target
    unhealthy (failing open), RequestCountPerTarget divides by all of them."""
    b1, b2, b3, b4 = (backends.start(n) for n in ("b1", "b2", "b3", "b4"))
    for b in (b3, b4):
        assert Conn(b.port).request("GET", "/control?health=500").status == 200
    port = free_port()
    hc = {"enabled": True, "path": "/health", "interval": 1, "timeout": 0.5, "healthy_threshold": 2,
          "unhealthy_threshold": 2}
    idle_rule = {"priority": 20, "path": ["/sleep*"], "forward": ({"target_group": "idle", "weight": 1},)}
    open_rule = {"priority": 30, "path": ["/open/*"], "forward": ({"target_group": "open", "weight": 1},)}

    def cfg(groups, rules, **extra):
        return make_config([listener("web", port, "web", rules=(PING_RULE,) + rules)], groups, name="lb1", **extra)
    web = target_group("web", [b1])
    idle = target_group("idle", [b2], deregistration_delay=30)
    opn = target_group("open", [b3, b4], health_check=hc)
    a = albd.start(cfg([web, idle, opn], (idle_rule, open_rule)), port=port)
    for _ in range(3):
        assert get(port, "/sleep?ms=1").status == 200
    # failing open: both targets unhealthy, 20 requests over the two
    wait_until(lambda: lb_series(a.admin_request("GET", "/metrics").body.decode(), "albd_fail_open",
                                 target_group="open") == 1.0, 20, interval=0.3, what="fail open")
    for _ in range(20):
        assert get(port, "/open/x").status == 200
    wait_total(a, "RequestCount", 20, {"TargetGroup": "open"})
    wait_until(lambda: total(a, "RequestCountPerTarget", {"TargetGroup": "open"}) == 10, 10, interval=0.3,
               what="RequestCountPerTarget 20 / 2")
    wait_total(a, "RequestCount", 3, {"TargetGroup": "idle"})
    # a slow request on idle, then a reload without it
    c = Conn(port)
    c.send(b"GET /sleep?ms=4000 HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.3)
    a.reload(cfg([web, opn], (open_rule,)))
    wait_until(lambda: "generation 2 is live" in a.log(), 10, interval=0.2, what="the reload")
    time.sleep(1.5)
    t = a.admin_request("GET", "/metrics").body.decode()
    # (web and idle have no health checks: no HealthyHostCount, as ALB's)
    assert lb_series(t, "albd_fail_open", target_group="idle") is None, t
    assert lb_series(t, "albd_fail_open", target_group="web") == 0.0
    r = c.read_response()
    assert r.status == 200
    c.close()
    # its history by its ALB-style id
    for v in ("idle", "targetgroup/idle/" + fnv1a64_hex("idle")):
        wait_until(lambda: total(a, "RequestCount", {"TargetGroup": v}) == 4, 10, interval=0.3, what=v)
    # and the load balancer by its own (app/NAME/HEX), with a bad hash not
    assert total(a, "RequestCount", {"LoadBalancer": "app/lb1/" + fnv1a64_hex("lb1"), "TargetGroup": "idle"}) == 4
    assert total(a, "RequestCount", {"LoadBalancer": "app/lb1/" + "0" * 16, "TargetGroup": "idle"}) == 0
    # a refused reload (an access log it cannot open) adds no series
    a.reload(cfg([web, opn, target_group("phantom", [b2])], (open_rule,),
                 access_log={"path": "/nonexistent-dir/x.log"}))
    wait_until(lambda: "reload failed" in a.log(), 10, interval=0.2, what="the refused reload")
    time.sleep(1.5)
    r = a.admin_request("GET", "/api/v1/metrics?" + q({"namespace": NS, "name": "RequestCount"}))
    tgs = {d["Value"] for m in r.json()["Metrics"] for d in m["Dimensions"] if d["Name"] == "TargetGroup"}
    assert "phantom" not in tgs and "web" in tgs, tgs
