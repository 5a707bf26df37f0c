"""The access log, as an ALB's: one line per request with ALB's fields in
ALB's order, checked field by field for a forwarded 200, a 502 from a dead
target, a redirect, a fixed response, a malformed request and an HTTPS
request; the same fields as JSON; SIGUSR1 reopens the file after a rename;
lines the file refuses (/dev/full) are counted while traffic goes on."""
import json
import os
import re
import shlex
import signal
import ssl
import subprocess
import time

from conftest import (HOST, Conn, free_port, listener, make_config, target_group, wait_until)
from test_90_tls import pki, tls_listener  # noqa: F401 (the fixture)
from test_48_metrics import prom_samples

FIELDS = ["type", "time", "elb", "client:port", "target:port", "request_processing_time",
          "target_processing_time", "response_processing_time", "elb_status_code", "target_status_code",
          "received_bytes", "sent_bytes", "request", "user_agent", "ssl_cipher", "ssl_protocol",
          "target_group_arn", "trace_id", "domain_name", "chosen_cert_arn", "matched_rule_priority",
          "request_creation_time", "actions_executed", "redirect_url", "error_reason", "target:port_list",
          "target_status_code_list", "classification", "classification_reason"]
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
SECS_RE = re.compile(r"^(-1|\d+\.\d{3})$")


def parse_alb(line):
    """ALB's space-separated fields; quoted ones unquoted (\\" and \\\\ undone)."""
    out, i = [], 0
    while i < len(line):
        if line[i] == '"':
            j, buf = i + 1, []
            while line[j] != '"':
                if line[j] == "\\":
                    j += 1
                buf.append(line[j])
                j += 1
            out.append("".join(buf))
            i = j + 2
        else:
            j = line.find(" ", i)
            j = len(line) if j < 0 else j
            out.append(line[i:j])
            i = j + 1
    assert len(out) == len(FIELDS), (len(out), line)
    return dict(zip(FIELDS, out))


def lines_of(path, n, timeout=10):
    def enough():
        try:
            return len(open(path).read().splitlines()) >= n
        except FileNotFoundError:
            return False
    wait_until(enough, timeout, what="%d access log lines in %s" % (n, path))
    return open(path).read().splitlines()


def log_config(port, targets, path, fmt="alb", rules=(), name="lb1", extra_groups=()):
    return make_config([listener("web", port, "tg", rules=rules)],
                       [target_group("tg", targets)] + list(extra_groups),
                       access_log={"path": str(path), "format": fmt}, name=name)


REDIRECT_RULE = {"priority": 5, "path": ["/old/*"],
                 "redirect": {"status": 301, "protocol": "https", "port": "8443", "path": "/new/#{path}"}}
FIXED_RULE = {"priority": 7, "path": ["/fixed"],
              "fixed_response": {"status": 418, "content_type": "text/plain", "body": "teapot"}}
DEAD_RULE = {"priority": 9, "path": ["/dead/*"], "forward": ({"target_group": "dead"},)}


def test_fields_of_forward_redirect_fixed_dead_and_bad(albd, backends, tmp_path):
    b = backends.start("b1")
    port = free_port()
    dead_port = free_port()
    path = tmp_path / "access.log"
    albd.start(log_config(port, [b], path, rules=(REDIRECT_RULE, FIXED_RULE, DEAD_RULE),
                          extra_groups=[target_group("dead", ["127.0.0.1:%d" % dead_port])]), port=port)
    with Conn(port) as c:
        r = c.request("GET", "/hello?x=1", headers=[("User-Agent", 'agent "quoted" \\ x'),
                                                    ("X-Amzn-Trace-Id", "Root=1-67891233-abcdef012345678912345678")])
        assert r.status == 200
        sent_200 = len(r.raw_head) + len(r.body)
        r = c.request("GET", "/old/a/b?q=2")
        assert r.status == 301
        r = c.request("GET", "/fixed")
        assert r.status == 418
        r = c.request("POST", "/dead/x", body=b"abc")
        assert r.status == 502
    with Conn(port) as c:
        c.send(b"BROKEN\r\n\r\n")
        assert c.read_response().status == 400
    lines = [parse_alb(l) for l in lines_of(path, 5)]
    ok, redirect, fixed, dead, bad = lines

    for f in lines:
        assert f["type"] == "http"
        assert TIME_RE.match(f["time"]) and TIME_RE.match(f["request_creation_time"]), f
        assert f["request_creation_time"] <= f["time"]
        assert re.match(r"^app/lb1/[0-9a-f]{16}$", f["elb"]), f
        assert re.match(r"^127\.0\.0\.1:\d+$", f["client:port"]), f
        for k in ("request_processing_time", "target_processing_time", "response_processing_time"):
            assert SECS_RE.match(f[k]), (k, f)
        assert f["ssl_cipher"] == f["ssl_protocol"] == "-"
        assert f["domain_name"] == f["chosen_cert_arn"] == "-"
        if f is not bad:
            assert f["classification"] == f["classification_reason"] == "-"
    # a request line without a target: classified as ALB's desync mitigation does
    assert (bad["classification"], bad["classification_reason"]) == ("Ambiguous", "MissingUri"), bad

    assert ok["target:port"] == b.addr
    assert ok["elb_status_code"] == ok["target_status_code"] == "200"
    assert float(ok["request_processing_time"]) >= 0 and float(ok["target_processing_time"]) >= 0
    assert ok["request"] == "GET http://albd.test:%d/hello?x=1 HTTP/1.1" % port
    assert ok["user_agent"] == 'agent "quoted" \\ x'
    assert int(ok["sent_bytes"]) == sent_200
    assert int(ok["received_bytes"]) > 0
    assert re.match(r"^arn:aws:elasticloadbalancing:local:000000000000:targetgroup/tg/[0-9a-f]{16}$",
                    ok["target_group_arn"]), ok
    assert re.match(r"^Self=1-[0-9a-f]{8}-[0-9a-f]{24};Root=1-67891233-abcdef012345678912345678$",
                    ok["trace_id"]), ok
    assert ok["matched_rule_priority"] == "0"
    assert ok["actions_executed"] == "forward" and ok["redirect_url"] == "-" and ok["error_reason"] == "-"
    assert ok["target:port_list"] == b.addr and ok["target_status_code_list"] == "200"

    assert redirect["elb_status_code"] == "301" and redirect["target_status_code"] == "-"
    assert redirect["target:port"] == "-" and redirect["target_group_arn"] == "-"
    assert redirect["request_processing_time"] == redirect["target_processing_time"] == "-1"
    assert redirect["matched_rule_priority"] == "5" and redirect["actions_executed"] == "redirect"
    assert redirect["redirect_url"] == "https://albd.test:8443/new/old/a/b?q=2"
    assert redirect["request"] == "GET http://albd.test:%d/old/a/b?q=2 HTTP/1.1" % port
    assert redirect["target:port_list"] == "-" and redirect["target_status_code_list"] == "-"

    assert fixed["elb_status_code"] == "418" and fixed["actions_executed"] == "fixed-response"
    assert fixed["matched_rule_priority"] == "7" and fixed["error_reason"] == "-"

    assert dead["elb_status_code"] == "502" and dead["target_status_code"] == "-"
    assert dead["error_reason"] == "TargetConnectionError"
    assert dead["target:port"] == "127.0.0.1:%d" % dead_port
    assert dead["target_processing_time"] == "-1"
    assert dead["actions_executed"] == "forward" and dead["matched_rule_priority"] == "9"
    assert "targetgroup/dead/" in dead["target_group_arn"]
    assert dead["target_status_code_list"] == "-"

    assert bad["elb_status_code"] == "400" and bad["error_reason"] == "ClientBadRequest"
    assert bad["request"] == "- http://-:%d- -" % port
    assert bad["matched_rule_priority"] == "-" and bad["actions_executed"] == "-"
    assert bad["user_agent"] == "-" and bad["trace_id"] == "-"


def test_trace_id_is_the_header_forwarded(albd, backends, tmp_path):
    """ALB logs "the contents of the X-Amzn-Trace-Id header": trace_id is the
    value the target received, an application's fields included, in their
    order; for a fixed response, the value albd would have forwarded."""
    b = backends.start("b1")
    port = free_port()
    path = tmp_path / "access.log"
    albd.start(log_config(port, [b], path, rules=(FIXED_RULE,)), port=port)
    root = "1-67891233-abcdef012345678912345678"
    sent = ["Root=%s;CalledFrom=app" % root, "Sampled=1;Root=%s;Parent=53995c3f42cd8ad8" % root,
            "CalledFrom=app", None]
    received = []
    with Conn(port) as c:
        for i, value in enumerate(sent):
            r = c.request("GET", "/echo-headers?i=%d" % i,
                          headers=[("X-Amzn-Trace-Id", value)] if value is not None else [])
            assert r.status == 200, r
            got = [v for n, v in r.json()["headers"] if n.lower() == "x-amzn-trace-id"]
            assert len(got) == 1, got
            received.append(got[0])
        r = c.request("GET", "/fixed", headers=[("X-Amzn-Trace-Id", "Root=%s;CalledFrom=app" % root)])
        assert r.status == 418
    lines = [parse_alb(l) for l in lines_of(path, len(sent) + 1)]
    for i, (f, got) in enumerate(zip(lines, received)):
        assert f["request"].endswith("/echo-headers?i=%d HTTP/1.1" % i), f
        assert f["trace_id"] == got, (sent[i], f["trace_id"], got)
    assert re.match(r"^Self=1-[0-9a-f]{8}-[0-9a-f]{24};Root=%s;CalledFrom=app$" % root, received[0])
    assert re.match(r"^Self=1-[0-9a-f]{8}-[0-9a-f]{24};Sampled=1;Root=%s;Parent=53995c3f42cd8ad8$" % root,
                    received[1])
    assert re.match(r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24};CalledFrom=app$", received[2])
    assert re.match(r"^Self=1-[0-9a-f]{8}-[0-9a-f]{24};Root=%s;CalledFrom=app$" % root, lines[-1]["trace_id"])


def test_https_request_fields(albd, backends, tmp_path, pki):
    b = backends.start("b1")
    port = free_port()
    path = tmp_path / "access.log"
    cfg = make_config([tls_listener("web", port, [pki.a, pki.b])], [target_group("tg", [b])],
                      access_log={"path": str(path)})
    albd.start(cfg, port=port)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(pki.ca))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    import socket
    raw = socket.create_connection((HOST, port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="b.test")
    s.sendall(b"GET /tls HTTP/1.1\r\nHost: b.test\r\nUser-Agent: tls-test\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    cipher = s.cipher()[0]
    s.close()
    assert data.startswith(b"HTTP/1.1 200")
    f = parse_alb(lines_of(path, 1)[0])
    assert f["type"] == "https"
    assert f["request"] == "GET https://b.test:%d/tls HTTP/1.1" % port
    assert f["ssl_protocol"] == "TLSv1.2" and f["ssl_cipher"] == cipher
    assert f["domain_name"] == "b.test"
    assert f["chosen_cert_arn"] == str(pki.b.crt)
    assert f["user_agent"] == "tls-test" and f["elb_status_code"] == "200"


def test_json_format_has_the_same_fields(albd, backends, tmp_path):
    b = backends.start("b1")
    port = free_port()
    path = tmp_path / "access.json"
    albd.start(log_config(port, [b], path, fmt="json", rules=(REDIRECT_RULE,)), port=port)
    with Conn(port) as c:
        assert c.request("GET", "/j", headers=[("User-Agent", "caf\xe9\tx")]).status == 200
        assert c.request("GET", "/old/z").status == 301
    recs = [json.loads(l) for l in lines_of(path, 2)]
    for rec in recs:
        assert list(rec) == FIELDS
    ok, red = recs
    assert ok["elb_status_code"] == 200 and ok["target_status_code"] == 200
    assert ok["user_agent"] == "caf\xe9\tx"
    assert ok["request"] == "GET http://albd.test:%d/j HTTP/1.1" % port
    assert isinstance(ok["request_processing_time"], float) and ok["matched_rule_priority"] == 0
    assert red["target_status_code"] == "-" and red["target_processing_time"] == -1
    assert red["redirect_url"].startswith("https://albd.test:8443/new/old/z")


def test_sigusr1_reopens_after_rename(albd, backends, tmp_path):
    b = backends.start("b1")
    port = free_port()
    path = tmp_path / "access.log"
    a = albd.start(log_config(port, [b], path), port=port)
    with Conn(port) as c:
        for i in range(3):
            assert c.request("GET", "/before/%d" % i).status == 200
    lines_of(path, 3)
    os.rename(path, tmp_path / "access.log.1")
    with Conn(port) as c:
        assert c.request("GET", "/between").status == 200
    # written to the renamed file until told
    lines_of(tmp_path / "access.log.1", 4)
    a.send_signal(signal.SIGUSR1)
    wait_until(lambda: "reopened" in a.log(), 10, what="the reopen")
    with Conn(port) as c:
        assert c.request("GET", "/after").status == 200
    new = lines_of(path, 1)
    assert len(new) == 1 and "/after" in new[0]
    old = open(tmp_path / "access.log.1").read()
    assert "/before/2" in old and "/between" in old and "/after" not in old


def test_a_full_disk_drops_lines_and_traffic_goes_on(albd, backends):
    b = backends.start("b1")
    port = free_port()
    a = albd.start(log_config(port, [b], "/dev/full"), port=port)
    with Conn(port) as c:
        for i in range(20):
            assert c.request("GET", "/x/%d" % i).status == 200

    def dropped():
        r = a.admin_request("GET", "/metrics")
        s = prom_samples(r.text)
        return sum(v for (n, labels), v in s.items() if n == "albd_access_log_dropped_lines_total")

    wait_until(lambda: dropped() >= 20, 15, what="20 dropped lines counted")
    assert "cannot write /dev/full" in a.log()
    with Conn(port) as c:
        assert c.request("GET", "/still").status == 200


def test_reload_turns_the_log_on_and_moves_it(albd, backends, tmp_path):
    b = backends.start("b1")
    port = free_port()
    a = albd.start(make_config([listener("web", port, "tg", rules=())], [target_group("tg", [b])]), port=port)
    with Conn(port) as c:
        assert c.request("GET", "/off").status == 200
    p1 = tmp_path / "one.log"
    a.reload(log_config(port, [b], p1))
    wait_until(lambda: "generation 2 is live" in a.log(), 10, what="reload")
    with Conn(port) as c:
        assert c.request("GET", "/one").status == 200
    assert "/one" in lines_of(p1, 1)[0]
    p2 = tmp_path / "two.log"
    a.reload(log_config(port, [b], p2))
    wait_until(lambda: "generation 3 is live" in a.log(), 10, what="reload")
    with Conn(port) as c:
        assert c.request("GET", "/two").status == 200
    assert "/two" in lines_of(p2, 1)[0]
    assert "/two" not in open(p1).read() and "/off" not in open(p1).read()
    # a path that cannot be opened: the reload is refused, logging goes on
    a.reload(log_config(port, [b], tmp_path / "no" / "such" / "dir.log"))
    wait_until(lambda: "reload failed" in a.log(), 10, what="the refused reload")
    with Conn(port) as c:
        assert c.request("GET", "/three").status == 200
    assert "/three" in lines_of(p2, 2)[1]


def test_target_processing_time_is_to_the_final_head(albd, backends, tmp_path):
    """target_processing_time runs to the final response head, not to an
    interim 100 Continue or 103 Early Hints sent before it."""
    from test_48_metrics import slow_after_interim
    b = backends.start("b1")
    port = free_port()
    path = tmp_path / "access.log"
    albd.start(log_config(port, [b], path), port=port)
    slow_after_interim(port, 800)
    lines = [parse_alb(l) for l in lines_of(path, 2)]
    assert [l["request"].split()[0] for l in lines] == ["POST", "GET"], lines
    for f in lines:
        assert 0.7 <= float(f["target_processing_time"]) < 5, f
