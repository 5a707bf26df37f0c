"""albd --export-prometheus-rules (issue 9, fleets): the configuration's
alarms as a Prometheus alerting-rules file.

- promtool check rules accepts what the real binary prints for a config with
  every kind of alarm (counts, gauges, percentiles, metric math, M out of N,
  missing data as breaching, odd names and descriptions, composite alarms),
  and the alarms PromQL cannot say are named on stderr and left as comments;
- promtool test rules runs the exported rules over synthetic albd series and
  checks that each alert fires exactly when CloudWatch's alarm would be in
  ALARM (periods aligned to the epoch, 2 out of 3, the period boundary,
  missing data as breaching, composite rules over ALERTS);
- an invalid alarm is an error naming it, with exit status 1;
- a real Prometheus that loads the rules and scrapes a real albd raises the
  alert while traffic flows and resolves it after.
"""
import json
import re
import shutil
import subprocess
import threading
import time

import pytest

from conftest import check_albd_bin, free_port, get, line_of, listener, make_config, target_group, wait_until

TG = {"TargetGroup": "web"}
ODD_NAME = 'odd: "name" #1 {{x}}'
ODD_DESC = 'a "description": with # and {{ $value }}\nand a second line'

ALARMS = (
    {"name": "web-5xx", "description": "web answers 5xx", "metric": "HTTPCode_Target_5XX_Count",
     "dimensions": TG, "statistic": "Sum", "period": 60, "evaluation_periods": 3, "datapoints_to_alarm": 2,
     "comparison": "GreaterThanOrEqualToThreshold", "threshold": 10.0, "treat_missing_data": "notBreaching",
     "alarm_actions": ["ops"], "ok_actions": ["ops"]},
    {"name": "web-p99", "metric": "TargetResponseTime", "dimensions": TG, "extended_statistic": "p99",
     "period": 60, "evaluation_periods": 1, "comparison": "GreaterThanThreshold", "threshold": 0.5},
    {"name": "web-5xx-rate", "period": 60, "evaluation_periods": 1, "comparison": "GreaterThanThreshold",
     "threshold": 5.0,
     "metrics": ({"id": "rate", "expression": "100 * errors / requests", "label": "5XX %", "return_data": True},
                 {"id": "errors", "metric": "HTTPCode_Target_5XX_Count", "dimensions": TG, "statistic": "Sum"},
                 {"id": "requests", "metric": "RequestCount", "dimensions": TG, "statistic": "Sum"})},
    {"name": "healthy-low", "metric": "HealthyHostCount", "dimensions": TG, "statistic": "Minimum",
     "period": 60, "evaluation_periods": 2, "comparison": "LessThanThreshold", "threshold": 2.0,
     "treat_missing_data": "breaching"},
    {"name": ODD_NAME, "description": ODD_DESC, "metric": "RequestCount", "dimensions": {"LoadBalancer": "lb1"},
     "statistic": "Average", "period": 60, "evaluation_periods": 1, "comparison": "GreaterThanThreshold",
     "threshold": 0.5},
    {"name": "per-target", "metric": "RequestCountPerTarget", "dimensions": TG, "statistic": "Sum",
     "period": 300, "evaluation_periods": 2, "comparison": "GreaterThanThreshold", "threshold": 1000.0},
    {"name": "connections", "metric": "ActiveConnectionCount", "statistic": "Maximum", "period": 10,
     "evaluation_periods": 6, "datapoints_to_alarm": 3, "comparison": "GreaterThanThreshold", "threshold": 1000.0},
    # not exported: a custom namespace, a function in metric math
    {"name": "queue", "namespace": "MyApp", "metric": "QueueDepth", "dimensions": {"Queue": "jobs"},
     "statistic": "Maximum", "period": 60, "evaluation_periods": 1, "comparison": "GreaterThanThreshold",
     "threshold": 100.0},
    {"name": "filled", "period": 60, "evaluation_periods": 1, "comparison": "LessThanThreshold", "threshold": 1.0,
     "metrics": ({"id": "e", "expression": "FILL(m, 0)", "return_data": True},
                 {"id": "m", "metric": "RequestCount", "statistic": "Sum"})},
)

COMPOSITES = (
    {"name": "any", "rule": 'ALARM(web-bad) OR OK("web-p99")'},
    {"name": "web-bad", "description": "5xx while the hosts are fine",
     "rule": 'ALARM("web-5xx") AND NOT ALARM("healthy-low")', "alarm_actions": ["ops"]},
    # not exported: INSUFFICIENT_DATA(), an alarm that is not exported
    {"name": "unknown-state", "rule": 'INSUFFICIENT_DATA("web-5xx")'},
    {"name": "over-queue", "rule": "ALARM(queue) OR ALARM(web-5xx)"},
)

EXPORTED = 9


def alarm_config(alarms=ALARMS, composites=COMPOSITES):
    return make_config([listener("web", free_port(), "web")], [target_group("web", ["127.0.0.1:9"])],
                       name="lb1", topics=({"name": "ops", "subscriptions": ({"endpoint": "http://127.0.0.1:9/h"},)},),
                       alarms=alarms, composite_alarms=composites)


def export(path, *first):
    args = list(first) or ["--export-prometheus-rules", "-c", str(path)]
    return subprocess.run([check_albd_bin()] + args, capture_output=True, text=True, timeout=30)


def promtool():
    p = shutil.which("promtool")
    if not p:
        pytest.skip("promtool is not installed (Debian package prometheus; scripts/deps.sh installs it)")
    return p


@pytest.fixture
def exported(tmp_path):
    """(config path, config text, rules path, albd's result) for ALARMS and COMPOSITES."""
    text = alarm_config()
    cfg = tmp_path / "alarms.conf"
    cfg.write_text(text)
    r = export(cfg)
    assert r.returncode == 0, r.stderr
    rules = tmp_path / "rules.yml"
    rules.write_text(r.stdout)
    return cfg, text, rules, r


def test_promtool_accepts_the_rules(exported, tmp_path):
    cfg, text, rules, r = exported
    p = subprocess.run([promtool(), "check", "rules", str(rules)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr + r.stdout
    assert "SUCCESS: %d rules found" % EXPORTED in p.stdout, p.stdout
    # -c FILE before the option: the same file
    r2 = export(cfg, "-c", str(cfg), "--export-prometheus-rules")
    assert r2.returncode == 0 and r2.stdout == r.stdout and r2.stderr == r.stderr


def test_what_cannot_be_exported_is_named(exported):
    cfg, text, rules, r = exported
    notes = r.stderr.splitlines()
    assert len(notes) == 4, r.stderr
    want = [("alarm", "queue", "QueueDepth is in the custom namespace MyApp"),
            ("alarm", "filled", 'the expression "FILL(m, 0)" uses more than numbers, ids'),
            ("composite alarm", "unknown-state", 'INSUFFICIENT_DATA("web-5xx"): Prometheus has no such state'),
            ("composite alarm", "over-queue", 'the rule names the alarm "queue", which is not exported')]
    for note, (kind, name, why) in zip(notes, want):
        m = re.match(r'^%s:(\d+): %s "%s" not exported: (.*)$' % (re.escape(str(cfg)), kind, name), note)
        assert m, note
        assert int(m.group(1)) in (line_of(text, '"%s"' % name) - 1, line_of(text, '"%s"' % name)), note
        assert m.group(2).startswith(why), note
        assert '# not exported: %s "%s": %s' % (kind, name, why.replace('"', '\\"')) in r.stdout
    # every exported alarm is an alert, in the file's order; composite alarms
    # after the ones they name
    alerts = re.findall(r'^      - alert: (".*")$', r.stdout, re.M)
    assert [json.loads(a) for a in alerts] == ["web-5xx", "web-p99", "web-5xx-rate", "healthy-low", ODD_NAME,
                                               "per-target", "connections", "web-bad", "any"]


def test_invalid_alarm_is_an_error(tmp_path):
    bad = dict(ALARMS[0], name="bad", comparison="GreaterThan")
    text = alarm_config(alarms=(ALARMS[1], bad), composites=())
    cfg = tmp_path / "bad.conf"
    cfg.write_text(text)
    r = export(cfg)
    assert r.returncode == 1
    assert r.stdout == ""
    # FILE:LINE: alarm "bad": comparison: "GreaterThan" is not GreaterThanThreshold, ... (or the same
    # refusal from the alarm engine's own check, should the configuration run it first)
    n = line_of(text, 'name = "bad"')
    m = re.match(r'^%s:(\d+): .*comparison.*"GreaterThan"' % re.escape(str(cfg)), r.stderr)
    assert m and n - 1 <= int(m.group(1)) <= line_of(text, '"GreaterThan"'), r.stderr
    # a configuration albd refuses is refused here too
    cfg.write_text(text + "oops = ;\n")
    r = export(cfg)
    assert r.returncode == 1 and r.stdout == "" and "syntax error" in r.stderr
    # -t and --export-prometheus-rules do not go together
    r = export(cfg, "-t", "--export-prometheus-rules", "-c", str(cfg))
    assert r.returncode == 1 and r.stdout == "" and r.stderr.startswith("usage:")


def test_no_alarms_is_an_empty_group(tmp_path):
    cfg = tmp_path / "none.conf"
    cfg.write_text(alarm_config(alarms=(), composites=()))
    r = export(cfg)
    assert r.returncode == 0 and r.stderr == ""
    assert "    rules: []\n" in r.stdout
    rules = tmp_path / "none.yml"
    rules.write_text(r.stdout)
    p = subprocess.run([promtool(), "check", "rules", str(rules)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr


# ---------------------------------------------------------------------------
# what the rules mean: promtool test rules over synthetic /metrics series

LB = 'load_balancer="lb1"'

# 15 s scrapes. Per minute (aligned): 5XX +0, +20, +0, +20, then +0; requests
# +40 every minute; every response slower than 0.5 s; two healthy hosts until
# 3m, then no sample at all.
SERIES = [
    ('albd_target_http_5xx_total{%s,target_group="web",target=""}' % LB, "0x4 5+5x3 20x3 25+5x3 40x60"),
    ('albd_requests_total{%s,target_group="web",target=""}' % LB, "0+10x80"),
    ('albd_requests_total{%s,target_group="",target=""}' % LB, "0+10x80"),
    ('albd_target_response_time_seconds_bucket{%s,target_group="web",target="",le="0.5"}' % LB, "0x80"),
    ('albd_target_response_time_seconds_bucket{%s,target_group="web",target="",le="1"}' % LB, "0+10x80"),
    ('albd_target_response_time_seconds_bucket{%s,target_group="web",target="",le="+Inf"}' % LB, "0+10x80"),
    ('albd_healthy_hosts{%s,target_group="web"}' % LB, "2x12"),
]


def annotations(name, cond, desc=None):
    """The annotations albd writes, as Prometheus expands them for lb1."""
    d = (desc + "\n\n" if desc else "") + "Alarm %s: %s.\nLoad balancer: lb1." % (name, cond)
    return {"summary": desc.split("\n")[0] if desc else "%s: %s" % (name, cond), "description": d}


COND = {
    "web-5xx": "Sum of HTTPCode_Target_5XX_Count {TargetGroup=web} over 60 s >= 10 in 2 out of 3 periods",
    "web-5xx-rate": 'the expression "100 * errors / requests" over 60 s > 5 in 1 out of 1 periods',
    "web-p99": "p99 of TargetResponseTime {TargetGroup=web} over 60 s > 0.5 in 1 out of 1 periods",
    "healthy-low": "Minimum of HealthyHostCount {TargetGroup=web} over 60 s < 2 in 2 out of 2 periods, "
                   "missing data breaching",
    ODD_NAME: "Average of RequestCount {LoadBalancer=lb1} over 60 s > 0.5 in 1 out of 1 periods",
    "web-bad": 'rule ALARM("web-5xx") AND NOT ALARM("healthy-low")',
    "any": 'rule ALARM(web-bad) OR OK("web-p99")',
}
DESC = {"web-5xx": "web answers 5xx", ODD_NAME: ODD_DESC, "web-bad": "5xx while the hosts are fine"}

# (minute, alert, firing?)
TIMELINE = [
    # 2 out of 3: the periods ending at 2m (20) and 4m (20) breach, 3m (0) does not
    (3, "web-5xx", False), (4, "web-5xx", True),
    # at exactly 5m the last three periods end at 3m, 4m, 5m: one breaches
    (5, "web-5xx", False),
    (1, "web-5xx-rate", False), (2, "web-5xx-rate", True), (3, "web-5xx-rate", False), (4, "web-5xx-rate", True),
    (2, "web-p99", True),
    # missing data as breaching: no sample after 3m; 2 out of 2
    (3, "healthy-low", False), (4, "healthy-low", False), (5, "healthy-low", False), (6, "healthy-low", True),
    (2, ODD_NAME, True),
    (3, "web-bad", False), (4, "web-bad", True), (6, "web-bad", False),
    (3, "any", False), (4, "any", True),
]


def test_rules_fire_as_the_alarms_would(exported, tmp_path):
    promtool()
    cfg, text, rules, r = exported
    tests = []
    for minute, name, firing in TIMELINE:
        exp = []
        if firing:
            exp = [{"exp_labels": {"load_balancer": "lb1", "alarm_name": name},
                    "exp_annotations": annotations(name, COND[name], DESC.get(name))}]
        tests.append({"eval_time": "%dm" % minute, "alertname": name, "exp_alerts": exp})
    spec = {"rule_files": [str(rules)], "evaluation_interval": "1m",
            "tests": [{"interval": "15s",
                       "input_series": [{"series": s, "values": v} for s, v in SERIES],
                       "alert_rule_test": tests}]}
    f = tmp_path / "test.yml"
    f.write_text(json.dumps(spec, indent=1))   # JSON is YAML
    p = subprocess.run([promtool(), "test", "rules", str(f)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr + "\n" + r.stdout


# ---------------------------------------------------------------------------
# a real Prometheus, a real albd


@pytest.mark.timeout_s(120)
def test_real_prometheus_raises_and_resolves(albd, backends, tmp_path):
    prom = shutil.which("prometheus")
    if not prom:
        pytest.skip("prometheus is not installed (scripts/deps.sh installs it)")
    b1 = backends.start("b1")
    port = free_port()
    alarms = ({"name": "traffic", "metric": "RequestCount", "dimensions": {"TargetGroup": "web"},
               "statistic": "Sum", "period": 10, "evaluation_periods": 1, "comparison": "GreaterThanThreshold",
               "threshold": 0.0},)
    composites = ({"name": "traffic-composite", "rule": "ALARM(traffic) AND NOT ALARM(nothing)"},
                  {"name": "nothing", "rule": "FALSE"})
    text = make_config([listener("web", port, "web")], [target_group("web", [b1])], name="lb1",
                       alarms=alarms, composite_alarms=composites)
    a = albd.start(text, port=port)
    r = export(a.config_path)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    rules = tmp_path / "rules.yml"
    rules.write_text(r.stdout)

    pport = free_port()
    pcfg = tmp_path / "prometheus.yml"
    pcfg.write_text("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "rule_files: ['%s']\n"
                    "scrape_configs:\n  - job_name: albd\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % (rules, a.admin_port))
    log = open(tmp_path / "prometheus.log", "wb")
    p = subprocess.Popen([prom, "--config.file=%s" % pcfg, "--storage.tsdb.path=%s" % (tmp_path / "prom-data"),
                          "--web.listen-address=127.0.0.1:%d" % pport], stdout=log, stderr=log)
    stop = threading.Event()

    def traffic():
        while not stop.is_set():
            try:
                get(port, "/", timeout=3)
            except OSError:
                pass
            time.sleep(0.1)

    def firing():
        try:
            resp = get(pport, "/api/v1/alerts", timeout=3)
        except OSError:
            return None
        if resp.status != 200:
            return None
        return {(al["labels"]["alertname"], al["labels"].get("load_balancer"))
                for al in resp.json()["data"]["alerts"] if al["state"] == "firing"}

    t = threading.Thread(target=traffic, daemon=True)
    t.start()
    try:
        want = {("traffic", "lb1"), ("traffic-composite", "lb1")}
        wait_until(lambda: firing() == want, 60, interval=0.5, what="both alerts firing")
        stop.set()
        t.join(5)
        # the first whole 10 s period without a request resolves both
        wait_until(lambda: firing() == set(), 40, interval=0.5, what="the alerts resolved")
    finally:
        stop.set()
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
        log.close()
