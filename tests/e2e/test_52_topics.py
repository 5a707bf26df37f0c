"""Topics: SNS-like fan-out to real HTTP receivers on 127.0.0.1.

Every message is published through POST /api/v1/topics/NAME/publish. The
receivers are small HTTP servers in this process (threads), one per
subscription, that record what they get and answer as told: 200, an
error status, nothing at all (hanging), or not listening (down).

The SNS-format messages of the first test are checked by the npm package
sns-validator (tests/e2e/node, installed by scripts/deps.sh), an
unmodified receiver-side validator: it fetches SigningCertURL over https
from albd's admin listener (a TLS certificate made here, its CA passed
through NODE_EXTRA_CA_CERTS).
"""
import hashlib
import hmac
import http.server
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import HOST, free_port, get, line_of, listener, make_config, port_accepts, wait_until
from test_90_tls import pki  # noqa: F401  (a fixture)

NODE_DIR = Path(__file__).resolve().parent / "node"
TOKEN = "e2e-topics-token-0123456789"
CW_ALARM = {
    "AlarmName": "web-5xx", "AlarmDescription": "5XX from web", "AWSAccountId": "000000000000",
    "NewStateValue": "ALARM", "OldStateValue": "OK",
    "NewStateReason": "Threshold Crossed: 2 out of the last 3 datapoints were greater than or equal "
                      "to the threshold (10.0).",
    "StateChangeTime": "2026-11-29T10:15:00.000+0000", "Region": "local",
    "AlarmArn": "arn:aws:cloudwatch:local:000000000000:alarm:web-5xx",
    "Trigger": {"MetricName": "HTTPCode_Target_5XX_Count", "Namespace": "AWS/ApplicationELB",
                "StatisticType": "Statistic", "Statistic": "SUM",
                "Dimensions": [{"value": "web", "name": "TargetGroup"}], "Period": 60,
                "EvaluationPeriods": 3, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "Threshold": 10.0, "TreatMissingData": "notBreaching"},
}
FAST = {"retries": 3, "min_delay": 1, "max_delay": 1, "timeout": 2}


# ---------------------------------------------------------------------------
# receivers


class Receiver:
    """An HTTP receiver on 127.0.0.1: records every request; answers
    .status (200), or hangs while .hang is set."""

    def __init__(self, name, tls=None):
        self.name = name
        self.tls = tls          # an ssl.SSLContext: an https receiver
        self.port = free_port()
        self.status = 200
        self.hang = threading.Event()
        self.release = threading.Event()
        self.got = []
        self.lock = threading.Lock()
        self.srv = None
        self.thread = None
        self.start()

    @property
    def url(self):
        return "%s://%s:%d/hook/%s" % ("https" if self.tls else "http", HOST, self.port, self.name)

    def start(self):
        rec = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                if rec.hang.is_set():
                    rec.release.wait(30)
                    return
                with rec.lock:
                    rec.got.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                    "body": body, "status": rec.status, "t": time.monotonic()})
                self.send_response(rec.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        class S(http.server.ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.srv = S((HOST, self.port), H)
        if self.tls:
            self.srv.socket = self.tls.wrap_socket(self.srv.socket, server_side=True)
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.srv:
            self.release.set()
            self.srv.shutdown()
            self.srv.server_close()
            self.srv = None

    def ok(self):
        """The requests answered with a 2xx."""
        with self.lock:
            return [g for g in self.got if 200 <= g["status"] < 300]

    def bodies(self):
        return [json.loads(g["body"]) for g in self.ok()]

    def wait(self, n, timeout=10):
        wait_until(lambda: len(self.ok()) >= n, timeout, what="%d messages at %s" % (n, self.name))
        return self.ok()


@pytest.fixture
def receivers():
    made = []

    def make(name, tls=None):
        r = Receiver(name, tls)
        made.append(r)
        return r
    yield make
    for r in made:
        r.stop()


# ---------------------------------------------------------------------------
# helpers


def topics_config(port, topics, admin=None, **extra):
    lst = listener("web", port, default_forward=None, rules=None,
                   default_fixed_response={"status": 200, "content_type": "text/plain", "body": "ok\n"})
    return make_config([lst], [], topics=tuple(topics), admin=admin, **extra)


def sub(r, **kw):
    s = {"endpoint": r.url if isinstance(r, Receiver) else r}
    s.update(kw)
    return s


def topic(name, subs, delivery=None):
    t = {"name": name, "subscriptions": tuple(subs)}
    t["delivery"] = dict(delivery or FAST)
    return t


def api(a, method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    h = {"Content-Type": "application/json"} if data is not None else {}
    r = a.admin_request(method, path, token=token, headers=h, body=data)
    return r.status, (r.json() if r.body else None)


def publish(a, name, message, subject=None, attrs=None, token=None):
    body = {"Message": message if isinstance(message, str) else json.dumps(message)}
    if subject:
        body["Subject"] = subject
    if attrs:
        body["MessageAttributes"] = {k: {"DataType": "String", "StringValue": v} for k, v in attrs.items()}
    st, j = api(a, "POST", "/api/v1/topics/%s/publish" % name, body, token=token)
    assert st == 200, (st, j)
    return j["MessageId"]


def subs_of(a, name, token=None):
    st, j = api(a, "GET", "/api/v1/topics", token=token)
    assert st == 200, j
    return {s["Endpoint"]: s for t in j["Topics"] if t["Name"] == name for s in t["Subscriptions"]}


def http_get(url, timeout=10, ctx=None):
    """GET URL (as a receiver fetches SubscribeURL): (status, body text)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=ctx) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def spool_files(a):
    """The messages in the spool (not the temporary files of a rewrite)."""
    return sorted(p for p in Path(a.state_dir, "notify").glob("sub-*/spool/*.json") if not p.name.startswith("."))


def validate_sns(bodies, ca_file):
    """sns-validator's verdict on each body: a list of {"ok": ...}."""
    node = shutil.which("node") or shutil.which("nodejs")
    if not node or not (NODE_DIR / "node_modules" / "sns-validator").is_dir():
        pytest.fail("node or tests/e2e/node/node_modules missing: run scripts/deps.sh (npm ci)", pytrace=False)
    env = dict(os.environ, NODE_EXTRA_CA_CERTS=str(ca_file))
    r = subprocess.run([node, str(NODE_DIR / "validate.js"), r"^127\.0\.0\.1:\d+$"],
                       input=json.dumps([b.decode() if isinstance(b, bytes) else b for b in bodies]),
                       capture_output=True, text=True, timeout=30, env=env, cwd=str(NODE_DIR))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


# ---------------------------------------------------------------------------
# fan-out, the SNS format, sns-validator


@pytest.mark.timeout_s(60)
def test_fanout_exactly_once_and_sns_validator_accepts(albd, receivers, pki, tmp_path):
    r1, r2, r3, r4 = receivers("r1"), receivers("r2"), receivers("r3"), receivers("r4")
    port, aport = free_port(), free_port()
    tok = tmp_path / "token"
    tok.write_text(TOKEN + "\n")
    admin = {"listen": "%s:%d" % (HOST, aport), "tls": {"certificates": (pki.ip.entry(),)},
             "token_file": str(tok)}
    a = albd.start(topics_config(port, [topic("ops", [sub(r1), sub(r2), sub(r3, format="raw"),
                                                         sub(r4, confirm=True)])], admin=admin),
                   port=port)
    ctx = ssl.create_default_context(cafile=str(pki.ca))

    def call(method, path, body=None):
        req = urllib.request.Request("https://%s:%d%s" % (HOST, aport, path), method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": "Bearer " + TOKEN,
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10, context=ctx) as resp:
            return json.loads(resp.read())

    mid = call("POST", "/api/v1/topics/ops/publish",
               {"Subject": "Deploy", "Message": "hello \u00e9\u4e16 \"quoted\"\nline 2",
                "MessageAttributes": {"env": {"DataType": "String", "StringValue": "prod"}}})["MessageId"]
    mid2 = call("POST", "/api/v1/topics/ops/publish", {"Message": json.dumps(CW_ALARM)})["MessageId"]
    assert mid != mid2
    for r in (r1, r2, r3):
        r.wait(2)
    wait_until(lambda: not spool_files(a), 5, what="an empty spool")
    time.sleep(0.5)  # nothing more may come
    for r in (r1, r2, r3):
        ids = [g["headers"]["x-amz-sns-message-id"] for g in r.got]
        assert sorted(ids) == sorted([mid, mid2]), (r.name, ids)
    topics = call("GET", "/api/v1/topics")["Topics"]
    t = topics[0]
    assert t["TopicArn"] == "arn:aws:sns:local:000000000000:ops"
    arns = {s["Endpoint"]: s["SubscriptionArn"] for s in t["Subscriptions"]}
    for g in r1.ok() + r2.ok():
        b = json.loads(g["body"])
        h = g["headers"]
        assert h["x-amz-sns-message-type"] == "Notification"
        assert h["x-amz-sns-topic-arn"] == t["TopicArn"]
        assert h["content-type"] == "text/plain; charset=UTF-8"
        assert h["x-amz-sns-subscription-arn"] in (arns[r1.url], arns[r2.url])
        assert b["Type"] == "Notification" and b["TopicArn"] == t["TopicArn"]
        assert b["SignatureVersion"] == "2"
        assert b["SigningCertURL"] == "https://%s:%d/sns/SimpleNotificationService-albd.pem" % (HOST, aport)
        assert b["UnsubscribeURL"].startswith("https://%s:%d/sns?Action=Unsubscribe&SubscriptionArn=" % (HOST, aport))
        assert len(b["Timestamp"]) == 24 and b["Timestamp"].endswith("Z")
        if b["MessageId"] == mid:
            assert b["Subject"] == "Deploy" and b["Message"].startswith("hello \u00e9")
            assert b["MessageAttributes"] == {"env": {"Type": "String", "Value": "prod"}}
        else:
            assert "Subject" not in b and json.loads(b["Message"])["AlarmName"] == "web-5xx"
    # raw: the message alone
    raw = {g["headers"]["x-amz-sns-message-id"]: g["body"].decode() for g in r3.ok()}
    assert raw[mid] == "hello \u00e9\u4e16 \"quoted\"\nline 2"
    # an unmodified validator accepts every SNS message (it fetches the
    # certificate itself, without the admin token)
    # (and the SubscriptionConfirmation, the only message r4 gets)
    bodies = [g["body"] for g in r1.ok() + r2.ok() + r4.wait(1)]
    assert len(r4.got) == 1 and json.loads(bodies[-1])["Type"] == "SubscriptionConfirmation"
    res = validate_sns(bodies, pki.ca)
    assert all(x["ok"] for x in res), res
    # and refuses a tampered one
    bad = json.loads(bodies[0])
    bad["Message"] += "!"
    assert validate_sns([json.dumps(bad)], pki.ca)[0]["ok"] is False


# ---------------------------------------------------------------------------
# durability


@pytest.mark.timeout_s(60)
def test_receiver_down_for_a_while_gets_it_after_it_comes_back(albd, receivers):
    r = receivers("late")
    r.stop()
    port = free_port()
    a = albd.start(topics_config(port, [topic("ops", [sub(r)],
                                              {"retries": 20, "min_delay": 1, "max_delay": 1, "timeout": 2})]),
                   port=port)
    mid = publish(a, "ops", "while you were away")
    assert len(spool_files(a)) == 1
    wait_until(lambda: "attempt failed" in a.log(), 5, what="a failed attempt")
    time.sleep(1.5)
    r.start()
    got = r.wait(1, timeout=10)
    assert json.loads(got[0]["body"])["MessageId"] == mid
    wait_until(lambda: not spool_files(a), 5, what="an empty spool")
    time.sleep(1.2)
    assert len(r.got) == 1


@pytest.mark.timeout_s(60)
def test_kill_9_with_a_delivery_pending_resumes_with_the_same_message_id(albd, receivers):
    r = receivers("crash")
    r.status = 503
    port = free_port()
    conf = topics_config(port, [topic("ops", [sub(r)], {"retries": 30, "min_delay": 1, "max_delay": 1,
                                                        "timeout": 2})])
    a = albd.start(conf, port=port)
    mid = publish(a, "ops", "survives a crash", subject="durable")
    r_first = wait_until(lambda: list(r.got), 5, what="a first attempt")
    first = json.loads(r_first[0]["body"])
    assert len(spool_files(a)) == 1
    a.kill()            # SIGKILL: no chance to write anything more
    assert len(spool_files(a)) == 1
    r.status = 200
    a.start()
    got = r.wait(1, timeout=10)
    b = json.loads(got[0]["body"])
    assert b["MessageId"] == mid and b["Timestamp"] == first["Timestamp"] and b["Subject"] == "durable"
    wait_until(lambda: not spool_files(a), 5, what="an empty spool")
    time.sleep(1.2)
    assert len(r.ok()) == 1
    assert "messages in the spool, delivery resumes" in a.log()


@pytest.mark.timeout_s(60)
def test_exhausted_policy_dead_letters_and_redrive_delivers(albd, receivers):
    r = receivers("dlq")
    r.status = 500
    port = free_port()
    a = albd.start(topics_config(port, [topic("ops", [sub(r)], {"retries": 2, "no_delay_retries": 2,
                                                               "min_delay": 1, "max_delay": 1, "timeout": 2})]),
                   port=port)
    mid = publish(a, "ops", "doomed")
    dlq = Path(a.state_dir, "notify")
    wait_until(lambda: list(dlq.glob("sub-*/dead-letters.jsonl")), 10, what="the dead-letter file")
    lines = list(dlq.glob("sub-*/dead-letters.jsonl"))[0].read_text().splitlines()
    assert len(lines) == 1
    d = json.loads(lines[0])
    assert d["MessageId"] == mid and d["Attempts"] == 3 and d["LastError"] == "HTTP 500"
    assert len(r.got) == 3
    # the dead letter is written first, then the spool file goes
    wait_until(lambda: not spool_files(a), 5, what="an empty spool")
    st, j = api(a, "GET", "/api/v1/topics/ops/dead-letters")
    assert st == 200 and [x["MessageId"] for x in j["DeadLetters"]] == [mid]
    assert j["DeadLetters"][0]["Endpoint"] == r.url
    assert subs_of(a, "ops")[r.url]["DeadLetters"] == 1
    r.status = 200
    st, j = api(a, "POST", "/api/v1/topics/ops/dead-letters/redrive")
    assert st == 200 and j["Redriven"] == 1, j
    got = r.wait(1)
    assert json.loads(got[0]["body"])["MessageId"] == mid
    st, j = api(a, "GET", "/api/v1/topics/ops/dead-letters")
    assert j["DeadLetters"] == []
    assert st == 200
    st, j = api(a, "GET", "/api/v1/topics/nope/dead-letters")
    assert st == 404


@pytest.mark.timeout_s(60)
def test_hanging_subscriber_delays_neither_the_others_nor_traffic(albd, receivers):
    slow, fast = receivers("slow"), receivers("fast")
    slow.hang.set()
    port = free_port()
    a = albd.start(topics_config(port, [topic("ops", [sub(slow), sub(fast)],
                                              {"retries": 3, "min_delay": 1, "max_delay": 1, "timeout": 10})]),
                   port=port)
    t0 = time.monotonic()
    ids = [publish(a, "ops", "m%d" % i) for i in range(5)]
    got = fast.wait(5, timeout=5)
    # the hanging receiver holds its attempt for timeout = 10 s
    assert time.monotonic() - t0 < 6, "the fast receiver waited behind the hanging one"
    assert [json.loads(g["body"])["MessageId"] for g in got] == ids
    r = get(port, "/", timeout=2)
    assert r.status == 200
    assert subs_of(a, "ops")[slow.url]["Pending"] == 5
    slow.release.set()


class Hostile:
    """A raw TCP receiver that answers with a head of endless fields
    ("head") or a 200 with an endless body ("body"), counting requests."""

    def __init__(self, mode):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.sent = 0
        self.done = threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    @property
    def url(self):
        return "http://%s:%d/%s" % (HOST, self.port, self.mode)

    def serve(self):
        while not self.done.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.answer, args=(c,), daemon=True).start()

    def answer(self, c):
        self.requests += 1
        c.settimeout(10)
        try:
            c.recv(65536)
            if self.mode == "head":
                c.sendall(b"HTTP/1.1 200 OK\r\n")
                line = b"X-Junk: " + b"a" * 1000 + b"\r\n"
            else:
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n")
                line = b"b" * 65536
            while not self.done.is_set():
                c.sendall(line)
                self.sent += len(line)
        except OSError:
            pass
        finally:
            c.close()

    def stop(self):
        self.done.set()
        self.sock.close()


@pytest.mark.timeout_s(30)
def test_hostile_receivers_huge_head_or_endless_body(albd):
    head, body = Hostile("head"), Hostile("body")
    try:
        port = free_port()
        a = albd.start(topics_config(port, [topic("ops", [sub(head.url), sub(body.url)],
                                                  {"retries": 1, "no_delay_retries": 1, "min_delay": 1,
                                                   "max_delay": 1, "timeout": 5})]), port=port)
        mid = publish(a, "ops", "for the hostile")
        # the endless body: a 2xx head is success, the rest is never read
        wait_until(lambda: subs_of(a, "ops")[body.url]["Delivered"] == 1, 5, what="the delivery")
        assert body.requests == 1
        # the endless head: cut at 16 KiB, a failed attempt, then a dead letter
        wait_until(lambda: subs_of(a, "ops")[head.url]["DeadLetters"] == 1, 10, what="the dead letter")
        st, j = api(a, "GET", "/api/v1/topics/ops/dead-letters")
        assert [(d["MessageId"], d["LastError"]) for d in j["DeadLetters"]] == \
            [(mid, "the response head is too large")]
        assert head.requests == 2
        assert get(port, "/", timeout=2).status == 200
    finally:
        head.stop()
        body.stop()


@pytest.mark.timeout_s(30)
def test_https_endpoints_verify_the_receiver(albd, receivers, pki):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(pki.ip.crt), str(pki.ip.key))
    trusted, untrusted = receivers("tls-ok", tls=ctx), receivers("tls-unknown-ca", tls=ctx)
    port = free_port()
    policy = {"retries": 1, "no_delay_retries": 1, "min_delay": 1, "max_delay": 1, "timeout": 5}
    a = albd.start(topics_config(port, [topic("ops", [sub(trusted, ca_file=str(pki.ca)), sub(untrusted)],
                                              policy)]), port=port)
    mid = publish(a, "ops", "over TLS")
    assert json.loads(trusted.wait(1)[0]["body"])["MessageId"] == mid
    wait_until(lambda: subs_of(a, "ops")[untrusted.url]["DeadLetters"] == 1, 10, what="the dead letter")
    assert not untrusted.got
    st, j = api(a, "GET", "/api/v1/topics/ops/dead-letters")
    assert "TLS" in j["DeadLetters"][0]["LastError"], j


@pytest.mark.timeout_s(30)
def test_throttle_spaces_deliveries(albd, receivers):
    r = receivers("throttled")
    port = free_port()
    a = albd.start(topics_config(port, [topic("ops", [sub(r)], dict(FAST, throttle=2))]), port=port)
    ids = [publish(a, "ops", "t%d" % i) for i in range(4)]
    got = r.wait(4, timeout=10)
    assert sorted(json.loads(g["body"])["MessageId"] for g in got) == sorted(ids)
    # 2 a second: the 4th starts at least 1.5 s after the 1st
    assert got[3]["t"] - got[0]["t"] >= 1.3, [g["t"] - got[0]["t"] for g in got]


# ---------------------------------------------------------------------------
# confirmation


@pytest.mark.timeout_s(60)
def test_confirmation_then_notifications_then_unsubscribe(albd, receivers, tmp_path):
    c, witness = receivers("consent"), receivers("witness")
    tok = tmp_path / "token"
    tok.write_text(TOKEN)
    port, aport = free_port(), free_port()
    admin = {"listen": "%s:%d" % (HOST, aport), "token_file": str(tok), "metrics_token": True}
    a = albd.start(topics_config(port, [topic("ops", [sub(c, confirm=True), sub(witness)])], admin=admin),
                   port=port)
    got = c.wait(1)
    conf = json.loads(got[0]["body"])
    assert conf["Type"] == "SubscriptionConfirmation"
    assert got[0]["headers"]["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert conf["Message"].startswith("You have chosen to subscribe to the topic arn:aws:sns:local:000000000000:ops.")
    su = urllib.parse.urlsplit(conf["SubscribeURL"])
    q = urllib.parse.parse_qs(su.query)
    assert su.path == "/sns" and q["Action"] == ["ConfirmSubscription"]
    assert q["TopicArn"] == [conf["TopicArn"]] and q["Token"] == [conf["Token"]] and len(conf["Token"]) >= 64
    s = subs_of(a, "ops", token=TOKEN)[c.url]
    assert s["PendingConfirmation"] is True
    # published while pending: not delivered (the witness shows it went out)
    publish(a, "ops", "before consent", token=TOKEN)
    witness.wait(1)
    time.sleep(0.3)
    assert len(c.got) == 1
    # a wrong token is refused; the real SubscribeURL needs no admin token
    st, body = http_get(conf["SubscribeURL"].replace(conf["Token"], "0" * len(conf["Token"])))
    assert st == 400 and "<Code>InvalidParameter</Code>" in body
    st, body = http_get(conf["SubscribeURL"])
    assert st == 200, body
    assert "<ConfirmSubscriptionResponse" in body and "<SubscriptionArn>%s</SubscriptionArn>" % s["SubscriptionArn"] in body
    assert subs_of(a, "ops", token=TOKEN)[c.url]["PendingConfirmation"] is False
    mid = publish(a, "ops", "after consent", token=TOKEN)
    got = c.wait(2)
    n = json.loads(got[1]["body"])
    assert n["Type"] == "Notification" and n["MessageId"] == mid and n["Message"] == "after consent"
    # the state survives a restart
    a.stop()
    a.start()
    assert subs_of(a, "ops", token=TOKEN)[c.url]["ConfirmationState"] == "Confirmed"
    # UnsubscribeURL (no admin token either) stops the notifications
    st, body = http_get(n["UnsubscribeURL"] + "x")
    assert st == 400
    st, body = http_get(n["UnsubscribeURL"])
    assert st == 200 and "<UnsubscribeResponse" in body, body
    assert subs_of(a, "ops", token=TOKEN)[c.url]["ConfirmationState"] == "Unsubscribed"
    publish(a, "ops", "after unsubscribe", token=TOKEN)
    witness.wait(3)
    time.sleep(0.3)
    assert len(c.got) == 2
    # the signing certificate needs no token either, even with metrics_token
    st, pem = http_get("http://%s:%d/sns/SimpleNotificationService-albd.pem" % (HOST, aport))
    assert st == 200 and pem.startswith("-----BEGIN CERTIFICATE-----")
    st, _ = http_get("http://%s:%d/api/v1/topics" % (HOST, aport))
    assert st == 401


# ---------------------------------------------------------------------------
# filter policies, formats, HMAC


@pytest.mark.timeout_s(60)
def test_filter_policy_drops_what_it_should(albd, receivers):
    alarms, prod, everything = receivers("alarms"), receivers("prod"), receivers("all")
    port = free_port()
    a = albd.start(topics_config(port, [topic("ops", [
        sub(alarms, filter_policy=json.dumps({"NewStateValue": ["ALARM"], "TargetGroup": ["web"]})),
        sub(prod, filter_policy=json.dumps({"env": [{"prefix": "prod"}]})),
        sub(everything)])]), port=port)
    ok = dict(CW_ALARM, NewStateValue="OK", OldStateValue="ALARM")
    other_tg = json.loads(json.dumps(CW_ALARM))
    other_tg["Trigger"]["Dimensions"][0]["value"] = "api"
    m_alarm = publish(a, "ops", CW_ALARM)
    publish(a, "ops", ok)
    publish(a, "ops", other_tg)
    m_prod = publish(a, "ops", "deploy", attrs={"env": "prod-eu"})
    publish(a, "ops", "deploy", attrs={"env": "dev"})
    everything.wait(5)
    alarms.wait(1)
    prod.wait(1)
    wait_until(lambda: not spool_files(a), 5, what="an empty spool")
    assert [json.loads(g["body"])["MessageId"] for g in alarms.ok()] == [m_alarm]
    assert [json.loads(g["body"])["MessageId"] for g in prod.ok()] == [m_prod]


@pytest.mark.timeout_s(30)
def test_slack_format_is_what_slack_requires(albd, receivers):
    s = receivers("slack")
    port = free_port()
    a = albd.start(topics_config(port, [topic("ops", [sub(s, format="slack")])]), port=port)
    publish(a, "ops", CW_ALARM)
    publish(a, "ops", dict(CW_ALARM, NewStateValue="OK", OldStateValue="ALARM"))
    publish(a, "ops", dict(CW_ALARM, NewStateValue="INSUFFICIENT_DATA", OldStateValue="OK"))
    publish(a, "ops", "plain text", subject="A subject")
    got = s.wait(4)
    assert all(g["headers"]["content-type"] == "application/json" for g in got)
    b = [json.loads(g["body"]) for g in got]
    for x, color, state in zip(b, ["danger", "good", "warning"], ["ALARM", "OK", "INSUFFICIENT_DATA"]):
        assert isinstance(x["text"], str) and "web-5xx" in x["text"] and state in x["text"]
        att = x["attachments"][0]
        assert att["color"] == color
        assert att["text"] == CW_ALARM["NewStateReason"]
        assert att["fallback"] and att["title"] == "web-5xx"
        assert all(set(f) >= {"title", "value"} for f in att["fields"])
    assert b[3]["text"] == "A subject" and b[3]["attachments"][0]["text"] == "plain text"


@pytest.mark.timeout_s(30)
def test_hmac_header_verifies(albd, receivers):
    secret = "s3cr3t-key/with=odd+chars"
    s = receivers("hmac")
    port = free_port()
    a = albd.start(topics_config(port, [topic("ops", [sub(s, secret=secret)])]), port=port)
    publish(a, "ops", "signed twice")
    g = s.wait(1)[0]
    # the receiver's check, as the README shows it
    parts = dict(p.split("=", 1) for p in g["headers"]["x-albd-signature"].split(","))
    t, v1 = parts["t"], parts["v1"]
    want = hmac.new(secret.encode(), t.encode() + b"." + g["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(v1, want)
    assert abs(int(t) - time.time()) < 300
    assert not hmac.compare_digest(v1, hmac.new(b"wrong", t.encode() + b"." + g["body"],
                                                hashlib.sha256).hexdigest())


# ---------------------------------------------------------------------------
# the API, reloads, bad configs


@pytest.mark.timeout_s(30)
def test_publish_api_errors_and_topic_listing(albd, receivers):
    r = receivers("api")
    port = free_port()
    a = albd.start(topics_config(port, [topic("ops", [sub(r)]), topic("empty", [])]), port=port)
    assert api(a, "POST", "/api/v1/topics/nope/publish", {"Message": "x"})[0] == 404
    st, j = api(a, "POST", "/api/v1/topics/ops/publish", {"Subject": "x"})
    assert st == 400 and "Message" in j["Error"]["Message"]
    st, j = api(a, "POST", "/api/v1/topics/ops/publish", {"Message": "x", "Subject": "a\nb"})
    assert st == 400 and "Subject" in j["Error"]["Message"]
    st, j = api(a, "POST", "/api/v1/topics/ops/publish",
                {"Message": "x", "MessageAttributes": {"k": {"DataType": "String"}}})
    assert st == 400 and "MessageAttributes" in j["Error"]["Message"]
    st, j = api(a, "POST", "/api/v1/topics/empty/publish", {"Message": "to nobody"})
    assert st == 200 and len(j["MessageId"]) == 36
    st, j = api(a, "GET", "/api/v1/topics")
    assert [t["Name"] for t in j["Topics"]] == ["ops", "empty"]
    s = j["Topics"][0]["Subscriptions"][0]
    assert s["Endpoint"] == r.url and s["Format"] == "sns" and s["PendingConfirmation"] is False
    assert s["SubscriptionArn"].startswith("arn:aws:sns:local:000000000000:ops:")


@pytest.mark.timeout_s(60)
def test_reload_keeps_subscriptions_and_dead_letters_removed_ones(albd, receivers):
    keep, gone = receivers("keep"), receivers("gone")
    gone.status = 500
    port = free_port()
    slow = {"retries": 10, "min_delay": 5, "max_delay": 5, "timeout": 2}
    a = albd.start(topics_config(port, [topic("ops", [sub(keep), sub(gone)], slow)]), port=port)
    before = subs_of(a, "ops")
    mid = publish(a, "ops", "pending at reload")
    keep.wait(1)
    wait_until(lambda: gone.got, 5, what="a first attempt")
    a.reload(topics_config(port, [topic("ops", [sub(keep, format="raw")], slow)]))
    wait_until(lambda: len(subs_of(a, "ops")) == 1, 5, what="the reload")
    after = subs_of(a, "ops")
    assert after[keep.url]["SubscriptionArn"] == before[keep.url]["SubscriptionArn"]
    assert after[keep.url]["Format"] == "raw"
    dl = list(Path(a.state_dir, "notify").glob("sub-*/dead-letters.jsonl"))
    assert len(dl) == 1
    d = json.loads(dl[0].read_text().splitlines()[0])
    assert d["MessageId"] == mid and d["Endpoint"] == gone.url and "removed" in d["LastError"]


def _check_fails(albd_bin, tmp_path, text, needle):
    path = tmp_path / "bad.conf"
    path.write_text(text + 'state_dir = "%s";\n' % tmp_path)
    r = subprocess.run([albd_bin, "-t", "-c", str(path)], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1, r
    # the line of the setting, or for "sub" that of the subscription's group
    line = line_of(text, "subscriptions = (") + 1 if needle == "sub" else line_of(text, needle)
    assert r.stderr.startswith("%s:%d: " % (path, line)), (r.stderr, line)
    return r.stderr


@pytest.mark.parametrize("what,subscription,needle,message", [
    ("bad port", {"endpoint": "http://127.0.0.1:99999/x"}, "sub", "port"),
    ("bad scheme", {"endpoint": "ftp://127.0.0.1/x"}, "endpoint", "endpoint"),
    ("filter policy JSON", {"endpoint": "http://127.0.0.1:9/x", "filter_policy": "{\"a\": [}"},
     "sub", "filter_policy"),
    ("filter policy nested", {"endpoint": "http://127.0.0.1:9/x", "filter_policy": "{\"a\": {\"b\": [1]}}"},
     "sub", "filter_policy"),
    ("delivery phases", {"endpoint": "http://127.0.0.1:9/x",
                         "delivery": {"retries": 2, "no_delay_retries": 2, "min_delay_retries": 1}},
     "delivery", "delivery"),
    ("delivery min > max", {"endpoint": "http://127.0.0.1:9/x", "delivery": {"min_delay": 30, "max_delay": 10}},
     "min_delay", "min_delay"),
    ("backoff", {"endpoint": "http://127.0.0.1:9/x", "delivery": {"backoff": "fibonacci"}}, "delivery", "backoff"),
    ("format", {"endpoint": "http://127.0.0.1:9/x", "format": "xml"}, "format", "format"),
])
def test_bad_topic_config_fails_check_with_file_and_line(albd_bin, tmp_path, what, subscription, needle, message):
    text = topics_config(free_port(), [{"name": "ops", "subscriptions": (subscription,)}])
    err = _check_fails(albd_bin, tmp_path, text, needle if needle != "delivery" else "delivery = {")
    assert "topics.ops.subscriptions[0]" in err or needle not in ("sub", "delivery"), err
    assert message in err, err


# ---------------------------------------------------------------------------
# review fixes: interim answers, names resolved per attempt, dead-letter
# pages, retired subscriptions, attempts across restarts


class Interim:
    """A raw TCP receiver that answers every request with "100 Continue"
    and the final "200 OK" in one write."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.requests = []
        self.done = threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    @property
    def url(self):
        return "http://%s:%d/interim" % (HOST, self.port)

    def serve(self):
        while not self.done.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.answer, args=(c,), daemon=True).start()

    def answer(self, c):
        c.settimeout(10)
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = c.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, body = data.split(b"\r\n\r\n", 1)
            n = int([ln.split(b":", 1)[1] for ln in head.split(b"\r\n")
                     if ln.lower().startswith(b"content-length:")][0])
            while len(body) < n:
                body += c.recv(65536)
            self.requests.append(body)
            c.sendall(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            time.sleep(3)   # the connection stays open: the answer must count without EOF
        except (OSError, ValueError, IndexError):
            pass
        finally:
            c.close()

    def stop(self):
        self.done.set()
        self.sock.close()


@pytest.mark.timeout_s(30)
def test_interim_and_final_answer_in_one_write_is_one_success(albd):
    rx = Interim()
    try:
        port = free_port()
        a = albd.start(topics_config(port, [topic("ops", [sub(rx.url)], {"retries": 3, "min_delay": 1,
                                                                         "max_delay": 1, "timeout": 2})]),
                       port=port)
        mid = publish(a, "ops", "continue, then ok")
        wait_until(lambda: subs_of(a, "ops")[rx.url]["Delivered"] == 1, 5, what="the delivery")
        wait_until(lambda: not spool_files(a), 5, what="an empty spool")
        time.sleep(2.5)   # a retry would come after 1 s
        assert len(rx.requests) == 1
        assert json.loads(rx.requests[0])["MessageId"] == mid
        s = subs_of(a, "ops")[rx.url]
        assert s["Delivered"] == 1 and s["DeadLetters"] == 0, s
        assert "attempt failed" not in a.log()
    finally:
        rx.stop()


@pytest.mark.timeout_s(30)
def test_endpoint_by_name_resolves_per_attempt(albd, receivers):
    r = receivers("byname")
    url = "http://localhost:%d/hook/byname" % r.port   # /etc/hosts: no DNS server needed
    port = free_port()
    a = albd.start(topics_config(port, [topic("ops", [sub(url)])]), port=port)
    mid = publish(a, "ops", "to a name")
    got = r.wait(1)
    assert json.loads(got[0]["body"])["MessageId"] == mid
    assert got[0]["headers"]["host"] == "localhost:%d" % r.port
    mid2 = publish(a, "ops", "again, from the cache")
    got = r.wait(2)
    assert json.loads(got[1]["body"])["MessageId"] == mid2


@pytest.mark.timeout_s(40)
def test_unresolvable_name_is_a_failed_attempt_not_a_config_error(albd, albd_bin, tmp_path):
    url = "http://albd-test.invalid/hook"
    port = free_port()
    conf = topics_config(port, [topic("ops", [sub(url)], {"retries": 1, "no_delay_retries": 1, "min_delay": 1,
                                                          "max_delay": 1, "timeout": 2})])
    path = tmp_path / "names.conf"
    path.write_text(conf + 'state_dir = "%s";\n' % tmp_path)
    r = subprocess.run([albd_bin, "-t", "-c", str(path)], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r
    t0 = time.monotonic()
    a = albd.start(conf, port=port)
    assert time.monotonic() - t0 < 8   # no lookup at start
    mid = publish(a, "ops", "nobody home")
    wait_until(lambda: subs_of(a, "ops")[url]["DeadLetters"] == 1, 15, what="the dead letter")
    st, j = api(a, "GET", "/api/v1/topics/ops/dead-letters")
    assert st == 200
    [d] = j["DeadLetters"]
    assert d["MessageId"] == mid and d["Attempts"] == 2 and "albd-test.invalid" in d["LastError"], d
    assert get(port, "/", timeout=2).status == 200


@pytest.mark.timeout_s(60)
def test_dead_letters_page_and_retired_subscriptions_stay_visible(albd, receivers):
    r, keep = receivers("paged"), receivers("stays")
    r.status = 500
    port = free_port()
    once = {"retries": 0, "min_delay": 1, "max_delay": 1, "timeout": 2}
    conf = topics_config(port, [topic("ops", [sub(keep), sub(r)], once)])
    a = albd.start(conf, port=port)
    mids = [publish(a, "ops", "doomed %d" % i) for i in range(5)]
    wait_until(lambda: subs_of(a, "ops")[r.url]["DeadLetters"] == 5, 10, what="five dead letters")
    # pages of two, in order
    seen, tok, pages = [], None, 0
    while True:
        q = "/api/v1/topics/ops/dead-letters?MaxItems=2" + ("&NextToken=" + tok if tok else "")
        st, j = api(a, "GET", q)
        assert st == 200, j
        assert len(j["DeadLetters"]) <= 2
        seen += [d["MessageId"] for d in j["DeadLetters"]]
        pages += 1
        tok = j.get("NextToken")
        if not tok:
            break
    assert seen == mids and pages == 3, (seen, pages)
    st, j = api(a, "GET", "/api/v1/topics/ops/dead-letters")
    assert [d["MessageId"] for d in j["DeadLetters"]] == mids and "NextToken" not in j
    for bad in ("MaxItems=0", "MaxItems=1001", "MaxItems=x", "NextToken=nope", "NextToken=%s.1" % ("0" * 32)):
        st, j = api(a, "GET", "/api/v1/topics/ops/dead-letters?" + bad)
        assert st == 400, (bad, st, j)
    # the subscription leaves the config: its dead letters stay listed,
    # across a restart too
    a.reload(topics_config(port, [topic("ops", [sub(keep)], once)]))
    wait_until(lambda: len(subs_of(a, "ops")) == 1, 5, what="the reload")
    a.stop()
    a.start()
    st, j = api(a, "GET", "/api/v1/topics/ops/dead-letters")
    assert st == 200
    assert [d["MessageId"] for d in j["DeadLetters"]] == mids
    assert all(d["Retired"] is True and d["Endpoint"] == r.url for d in j["DeadLetters"]), j
    st, j = api(a, "POST", "/api/v1/topics/ops/dead-letters/redrive")
    assert st == 200 and j["Redriven"] == 0 and j["LeftInRetired"] == 5, j
    # configured again: they are its own, and redrive delivers them
    r.status = 200
    a.reload(conf)
    wait_until(lambda: len(subs_of(a, "ops")) == 2, 5, what="the reload")
    assert subs_of(a, "ops")[r.url]["DeadLetters"] == 5
    st, j = api(a, "GET", "/api/v1/topics/ops/dead-letters")
    assert [d["MessageId"] for d in j["DeadLetters"]] == mids and not any("Retired" in d for d in j["DeadLetters"])
    st, j = api(a, "POST", "/api/v1/topics/ops/dead-letters/redrive?MessageId=" + mids[0])
    assert st == 200 and j["Redriven"] == 1 and j["Remaining"] == 4, j
    st, j = api(a, "POST", "/api/v1/topics/ops/dead-letters/redrive")
    assert st == 200 and j["Redriven"] == 4 and j["Remaining"] == 0, j
    r.wait(5)
    assert sorted(b["MessageId"] for b in r.bodies()) == sorted(mids)
    assert subs_of(a, "ops")[r.url]["DeadLetters"] == 0


@pytest.mark.timeout_s(60)
def test_attempts_are_counted_across_a_restart(albd, receivers):
    r = receivers("counted")
    r.status = 503
    port = free_port()
    a = albd.start(topics_config(port, [topic("ops", [sub(r)], {"retries": 2, "min_delay": 1, "max_delay": 1,
                                                                "timeout": 2})]), port=port)
    mid = publish(a, "ops", "three attempts in all")

    def recorded():
        fs = spool_files(a)
        return fs and json.loads(fs[0].read_text()).get("Attempts") == 2
    wait_until(recorded, 10, what="two attempts recorded in the spool")
    a.kill()
    assert len(r.got) == 2
    a.start()
    wait_until(lambda: subs_of(a, "ops")[r.url]["DeadLetters"] == 1, 10, what="the dead letter")
    st, j = api(a, "GET", "/api/v1/topics/ops/dead-letters")
    [d] = j["DeadLetters"]
    assert d["MessageId"] == mid and d["Attempts"] == 3, d
    assert len(r.got) == 3
