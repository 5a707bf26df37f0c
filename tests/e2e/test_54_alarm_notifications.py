"""Alarms and topics together, through the real binary: a 5xx burst through
albd raises an alarm, and every subscriber of its topic gets exactly one
notification (SNS's format checked by the npm package sns-validator, Slack's
and raw ones by their fields); recovery sends OK; an alarm on metric math
(the 5XX rate) publishes too; a filter policy on the alarm's attributes lets
only what it should through; a restart while in ALARM neither forgets the
state nor notifies again; the notification names what broke (AlbdDetails:
the top target by 5XX count, the unhealthy targets).

period = 10 (CloudWatch's high-resolution period): an alarm is evaluated
about 2 s after each 10-second period closes.
"""
import json
import re
import ssl
import time
import urllib.parse
import urllib.request

import pytest

from conftest import HOST, free_port, get, listener, make_config, target_group, wait_until
from test_52_topics import receivers, validate_sns  # noqa: F401  (receivers is a fixture)
from test_90_tls import pki  # noqa: F401  (a fixture)

pytestmark = pytest.mark.timeout_s(90)

FAST = {"retries": 3, "min_delay": 1, "max_delay": 1, "timeout": 2}
CW_FIELDS = ("AlarmName", "AlarmDescription", "AWSAccountId", "NewStateValue", "NewStateReason",
             "StateChangeTime", "Region", "AlarmArn", "OldStateValue", "Trigger")
TRIGGER_FIELDS = ("MetricName", "Namespace", "StatisticType", "Statistic", "Dimensions", "Period",
                  "EvaluationPeriods", "ComparisonOperator", "Threshold", "TreatMissingData")


def https_json(a, ca, path):
    """GET PATH from A's admin listener over TLS (certificate checked against CA)."""
    ctx = ssl.create_default_context(cafile=str(ca))
    with urllib.request.urlopen(a.admin_url + path, timeout=10, context=ctx) as resp:
        return json.loads(resp.read())


def alarm_state(a, name, ca=None):
    path = "/api/v1/alarms?" + urllib.parse.urlencode({"AlarmNames": name})
    if ca:
        j = https_json(a, ca, path)
    else:
        r = a.admin_request("GET", path)
        assert r.status == 200, r.body
        j = r.json()
    found = j["MetricAlarms"] + j["CompositeAlarms"]
    assert len(found) == 1, j
    return found[0]


def wait_state(a, name, state, timeout=30, ca=None):
    wait_until(lambda: alarm_state(a, name, ca)["StateValue"] == state, timeout, interval=0.25,
               what="%s in %s" % (name, state))


def align(period=10, room=5):
    """Wait until ROOM seconds of the current period are left, so that a
    burst lands in one period."""
    while period - time.time() % period < room:
        time.sleep(0.1)


def burst(port, n, path="/status?code=500", code=500):
    for _ in range(n):
        assert get(port, path).status == code


def alarm_messages(r):
    """The alarm notifications receiver R accepted, as (headers, body, message) in order."""
    out = []
    for g in r.ok():
        body = json.loads(g["body"])
        out.append((g["headers"], body, json.loads(body["Message"]) if "Message" in body else None))
    return out


def test_5xx_burst_notifies_every_subscriber_once_and_recovery_sends_ok(albd, backends, receivers, pki):
    b1, b2 = backends.start("b1"), backends.start("b2")
    r_sns, r_sns2, r_slack, r_raw, r_only_ok = (receivers("sns"), receivers("sns2"), receivers("slack"),
                                                 receivers("raw"), receivers("okonly"))
    port, aport = free_port(), free_port()
    admin = {"listen": "%s:%d" % (HOST, aport), "tls": {"certificates": (pki.ip.entry(),)}}
    topics = ({"name": "ops", "delivery": FAST,
               "subscriptions": ({"endpoint": r_sns.url}, {"endpoint": r_sns2.url, "secret": "k"},
                                 {"endpoint": r_slack.url, "format": "slack"},
                                 {"endpoint": r_raw.url, "format": "raw"},
                                 {"endpoint": r_only_ok.url, "format": "raw",
                                  "filter_policy": json.dumps({"NewStateValue": ["OK"],
                                                               "AlarmName": [{"prefix": "web-"}]})})},)
    alarms = ({"name": "web-5xx", "description": "web answers 5xx",
               "metric": "HTTPCode_Target_5XX_Count", "dimensions": {"TargetGroup": "web"},
               "statistic": "Sum", "period": 10, "evaluation_periods": 1,
               "comparison": "GreaterThanOrEqualToThreshold", "threshold": 5.0,
               "treat_missing_data": "notBreaching", "alarm_actions": ["ops"], "ok_actions": ["ops"]},)
    cfg = make_config([listener("web", port, "web")], [target_group("web", [b1, b2])],
                      topics=topics, alarms=alarms, admin=admin)
    a = albd.start(cfg, port=port)
    assert a.admin_url == "https://%s:%d" % (HOST, aport)

    # INSUFFICIENT_DATA -> OK at the first evaluation: ok_actions run (as CloudWatch's)
    wait_state(a, "web-5xx", "OK", ca=pki.ca)
    for r in (r_sns, r_sns2, r_slack, r_raw, r_only_ok):
        r.wait(1, timeout=15)
    assert alarm_messages(r_sns)[0][2]["OldStateValue"] == "INSUFFICIENT_DATA"
    align()
    burst(port, 20)
    wait_state(a, "web-5xx", "ALARM", ca=pki.ca)
    for r in (r_sns, r_sns2, r_slack, r_raw):
        r.wait(2, timeout=15)

    # SNS: one Notification, CloudWatch's alarm JSON inside, valid for sns-validator
    (h, body, msg) = alarm_messages(r_sns)[1]
    assert h["x-amz-sns-message-type"] == "Notification"
    assert body["Subject"] == 'ALARM: "web-5xx" in local'
    assert body["TopicArn"] == "arn:aws:sns:local:000000000000:ops"
    for f in CW_FIELDS:
        assert f in msg, f
    for f in TRIGGER_FIELDS:
        assert f in msg["Trigger"], f
    assert msg["NewStateValue"] == "ALARM" and msg["OldStateValue"] == "OK"
    assert msg["NewStateReason"].startswith("Threshold Crossed: 1 datapoint [")
    assert msg["Trigger"]["MetricName"] == "HTTPCode_Target_5XX_Count"
    assert msg["Trigger"]["Dimensions"] == [{"value": "web", "name": "TargetGroup"}]
    assert msg["Trigger"]["Threshold"] == 5.0
    # beyond CloudWatch: what broke
    details = msg["AlbdDetails"]
    assert details["TargetGroup"] == "web"
    assert details["Top5XXTarget"]["Id"] in (b1.addr, b2.addr), details
    # the top of two round-robin targets holds at least half the breaching period's 5XX (a slow
    # build may split the burst across two periods: the alarm's datapoint says how many landed)
    breaching = float(re.match(r"Threshold Crossed: 1 datapoint \[([0-9.]+) ", msg["NewStateReason"]).group(1))
    assert breaching >= 5, msg["NewStateReason"]
    assert details["Top5XXTarget"]["HTTPCode_Target_5XX_Count"] * 2 >= breaching, (details, breaching)
    verdict = validate_sns([r_sns.got[1]["body"], r_sns2.got[1]["body"]], pki.ca)
    assert verdict == [{"ok": True}, {"ok": True}], verdict
    # the same MessageId for every subscriber
    ids = {r.ok()[1]["headers"]["x-amz-sns-message-id"] for r in (r_sns, r_sns2, r_slack, r_raw)}
    assert len(ids) == 1, ids
    assert "x-albd-signature" in r_sns2.ok()[1]["headers"]
    # Slack: text naming the alarm and its state, a red attachment with the reason
    slack = json.loads(r_slack.ok()[1]["body"])
    assert "web-5xx" in slack["text"] and "ALARM" in slack["text"]
    assert slack["attachments"][0]["color"] == "danger"
    assert slack["attachments"][0]["text"] == msg["NewStateReason"]
    # raw: the message alone
    assert json.loads(r_raw.ok()[1]["body"])["AlarmName"] == "web-5xx"
    # the filter policy wants OK only
    assert len(r_only_ok.got) == 1

    # recovery: OK to everyone, the filtered subscriber included
    wait_state(a, "web-5xx", "OK", timeout=30, ca=pki.ca)
    for r in (r_sns, r_sns2, r_slack, r_raw):
        r.wait(3, timeout=15)
    r_only_ok.wait(2, timeout=15)
    (_, body, msg) = alarm_messages(r_sns)[2]
    assert body["Subject"] == 'OK: "web-5xx" in local'
    assert msg["NewStateValue"] == "OK" and msg["OldStateValue"] == "ALARM"
    assert json.loads(r_slack.ok()[2]["body"])["attachments"][0]["color"] == "good"
    assert json.loads(r_only_ok.ok()[1]["body"])["NewStateValue"] == "OK"
    verdict = validate_sns([r_sns.ok()[2]["body"]], pki.ca)
    assert verdict == [{"ok": True}], verdict
    time.sleep(1)
    for r in (r_sns, r_sns2, r_slack, r_raw):
        assert len(r.got) == 3, (r.name, len(r.got))


def test_metric_math_alarm_notifies_and_a_restart_does_not_notify_again(albd, backends, receivers):
    b = backends.start("b1")
    rec = receivers("math")
    port = free_port()
    topics = ({"name": "ops", "delivery": FAST,
               "subscriptions": ({"endpoint": rec.url, "format": "raw"},)},)
    alarms = ({"name": "web-5xx-rate", "period": 10, "evaluation_periods": 2, "datapoints_to_alarm": 1,
               "comparison": "GreaterThanThreshold", "threshold": 40.0,
               "treat_missing_data": "ignore", "alarm_actions": ["ops"], "ok_actions": ["ops"],
               "insufficient_data_actions": ["ops"],
               "metrics": ({"id": "rate", "expression": "100 * errors / requests", "return_data": True},
                           {"id": "errors", "metric": "HTTPCode_Target_5XX_Count",
                            "dimensions": {"TargetGroup": "web"}, "statistic": "Sum"},
                           {"id": "requests", "metric": "RequestCount",
                            "dimensions": {"TargetGroup": "web"}, "statistic": "Sum"})},)
    cfg = make_config([listener("web", port, "web")], [target_group("web", [b])], topics=topics, alarms=alarms)
    a = albd.start(cfg, port=port)

    align()
    burst(port, 6)                         # 6 errors
    burst(port, 4, path="/", code=200)     # out of 10 requests: 60% > 40%
    wait_state(a, "web-5xx-rate", "ALARM")
    rec.wait(1, timeout=15)
    msg = json.loads(rec.ok()[0]["body"])
    assert msg["NewStateValue"] == "ALARM"
    assert msg["OldStateValue"] == "INSUFFICIENT_DATA"
    assert [m["Id"] for m in msg["Trigger"]["Metrics"]] == ["rate", "errors", "requests"]
    assert "MetricName" not in msg["Trigger"]

    # a restart keeps ALARM and sends nothing more, while the data still breach
    a.stop()
    a.start()
    assert alarm_state(a, "web-5xx-rate")["StateValue"] == "ALARM"
    align()
    burst(port, 6)
    burst(port, 4, path="/", code=200)
    t0 = time.time()
    # two evaluations after the restart
    wait_until(lambda: time.time() - t0 > 14, 20, what="two evaluation periods")
    assert alarm_state(a, "web-5xx-rate")["StateValue"] == "ALARM"
    assert len(rec.got) == 1, [json.loads(g["body"])["NewStateValue"] for g in rec.got]


def test_set_alarm_state_publishes_and_actions_enabled_false_does_not(albd, backends, receivers):
    b = backends.start("b1")
    rec = receivers("set")
    port = free_port()
    topics = ({"name": "ops", "delivery": FAST, "subscriptions": ({"endpoint": rec.url, "format": "slack"},)},)

    def al(name, enabled):
        return {"name": name, "metric": "RequestCount", "statistic": "Sum", "period": 60,
                "evaluation_periods": 1, "comparison": "GreaterThanThreshold", "threshold": 1e9,
                "alarm_actions": ["ops"], "ok_actions": ["ops"], "actions_enabled": enabled}
    cfg = make_config([listener("web", port, "web")], [target_group("web", [b])], topics=topics,
                      alarms=(al("on", True), al("off", False)))
    a = albd.start(cfg, port=port)
    for name in ("on", "off"):
        r = a.admin_request("PUT", "/api/v1/alarms/%s/state" % name,
                            body=json.dumps({"StateValue": "ALARM", "StateReason": "drill"}).encode())
        assert r.status == 200, r.body
    rec.wait(1, timeout=10)
    time.sleep(1)
    # (the next evaluation may take the alarms back to INSUFFICIENT_DATA: no action for that)
    assert len(rec.got) == 1, [g["body"] for g in rec.got]
    slack = json.loads(rec.got[0]["body"])
    assert slack["attachments"][0]["color"] == "danger"
    assert slack["attachments"][0]["text"] == "drill"
    assert '"on"' in slack["text"] or " on " in slack["text"] + " ", slack["text"]
    hist = a.admin_request("GET", "/api/v1/alarms/on/history?HistoryItemType=Action").json()
    assert hist["AlarmHistoryItems"], hist
    assert json.loads(hist["AlarmHistoryItems"][0]["HistoryData"])["actionState"] == "Succeeded"


def test_reload_that_moves_state_dir_is_refused(albd, backends, tmp_path):
    b = backends.start("b1")
    port = free_port()
    cfg = make_config([listener("web", port, "web")], [target_group("web", [b])])
    a = albd.start(cfg, port=port)
    old = a.config_text
    moved = old.replace(str(a.state_dir), str(tmp_path / "elsewhere"))
    assert moved != old
    a.reload(moved)
    wait_until(lambda: "state_dir changed" in a.log(), 5, what="the refusal")
    assert "reload failed, the running configuration stays" in a.log()
    assert a.alive()
    assert get(port, "/").status == 200
    assert not (tmp_path / "elsewhere").exists()


def test_urls_name_the_admin_listener_that_runs_after_a_failed_admin_move(albd, backends, receivers):
    import socket
    b = backends.start("b1")
    rec = receivers("urls")
    port, aport = free_port(), free_port()
    topics = ({"name": "ops", "delivery": FAST, "subscriptions": ({"endpoint": rec.url},)},)
    admin = {"listen": "%s:%d" % (HOST, aport)}
    cfg = make_config([listener("web", port, "web")], [target_group("web", [b])], topics=topics, admin=admin)
    a = albd.start(cfg, port=port)
    busy = socket.socket()
    busy.bind((HOST, 0))
    busy.listen(1)
    try:
        moved = a.config_text.replace("%s:%d" % (HOST, aport), "%s:%d" % (HOST, busy.getsockname()[1]))
        n = a.log().count("is live")
        a.reload(moved)
        wait_until(lambda: a.log().count("is live") > n, 5, what="the reload")
        wait_until(lambda: "the admin listener stays as it was" in a.log(), 5, what="the failed admin move")
        r = get(aport, "/api/v1/topics/ops/publish", method="POST",
                body=json.dumps({"Message": "hello"}).encode(), headers={"Content-Type": "application/json"})
        assert r.status == 200, r.body
        rec.wait(1, timeout=10)
        body = json.loads(rec.ok()[0]["body"])
        want = "http://%s:%d/" % (HOST, aport)
        assert body["UnsubscribeURL"].startswith(want), body["UnsubscribeURL"]
        assert body["SigningCertURL"].startswith(want), body["SigningCertURL"]
    finally:
        busy.close()


def test_signing_key_is_made_only_when_a_topic_has_subscriptions(albd, backends, receivers):
    b = backends.start("b1")
    rec = receivers("key")
    port = free_port()
    plain = make_config([listener("web", port, "web")], [target_group("web", [b])])
    a = albd.start(plain, port=port)
    key = a.state_dir / "notify" / "sns-signing-key.pem"
    assert not key.exists()          # no RSA key generation delays a start without topics
    assert a.admin_request("GET", "/sns/SimpleNotificationService-albd.pem").status == 404
    topics = ({"name": "ops", "delivery": FAST, "subscriptions": ({"endpoint": rec.url},)},)
    n = a.log().count("is live")
    a.reload(make_config([listener("web", port, "web")], [target_group("web", [b])], topics=topics))
    wait_until(lambda: a.log().count("is live") > n, 10, what="the reload")
    wait_until(key.exists, 10, what="the signing key")
    r = a.admin_request("GET", "/sns/SimpleNotificationService-albd.pem")
    assert r.status == 200 and b"BEGIN CERTIFICATE" in r.body
    st = a.admin_request("POST", "/api/v1/topics/ops/publish", body=json.dumps({"Message": "m"}).encode(),
                         headers={"Content-Type": "application/json"})
    assert st.status == 200, st.body
    rec.wait(1, timeout=10)
