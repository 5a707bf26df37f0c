"""ALB's desync mitigation modes: every request classified Compliant,
Acceptable, Ambiguous or Severe with ALB's reason; monitor passes what albd
can forward, defensive passes but closes both connections after an
Ambiguous one, strictest rejects anything not compliant; what could be read
two ways (Severe, Transfer-Encoding beside Content-Length, a look-alike of
either) is rejected in every mode. The class and reason go to the access
log and to DesyncMitigationMode_NonCompliant_Request_Count; and
drop_invalid_header_fields removes fields whose names are not
[-A-Za-z0-9]+."""
import json
import time

import pytest

from conftest import Conn, free_port, get, listener, make_config, target_group, wait_until
from test_00_basic import run_albd
from test_48_metrics import prom_samples, total
from test_50_framing import drain_until_closed
from test_61_access_log import lines_of, parse_alb

H = b"Host: albd.test\r\n"
SMUGGLE = b"GET /smuggled HTTP/1.1\r\nHost: albd.test\r\n\r\n"

# name: (request bytes, class, reason); each request goes to /echo-headers
# (the target answers with what it received) and is complete as sent
CASES = {
    "compliant": (b"GET /echo-headers HTTP/1.1\r\n" + H + b"\r\n", "-", "-"),
    "space-in-uri": (b"GET /echo-headers?q=a b HTTP/1.1\r\n" + H + b"\r\n", "Acceptable", "SpaceInUri"),
    "control-in-header": (b"GET /echo-headers HTTP/1.1\r\n" + H + b"X-A: a\x01b\r\n\r\n",
                          "Acceptable", "NonCompliantHeader"),
    "get-zero-length": (b"GET /echo-headers HTTP/1.1\r\n" + H + b"Content-Length: 0\r\n\r\n",
                        "Acceptable", "GetHeadZeroContentLength"),
    "version-1.2": (b"GET /echo-headers HTTP/1.2\r\n" + H + b"\r\n", "Acceptable", "NonCompliantVersion"),
    "control-in-uri": (b"GET /echo-headers?q=a\x01b HTTP/1.1\r\n" + H + b"\r\n", "Ambiguous", "AmbiguousUri"),
    "duplicate-length": (b"POST /echo-headers HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
                         "Ambiguous", "DuplicateContentLength"),
    "empty-header": (b"GET /echo-headers HTTP/1.1\r\n" + H + b": nameless\r\n\r\n", "Ambiguous", "EmptyHeader"),
    "no-colon": (b"GET /echo-headers HTTP/1.1\r\n" + H + b"NoColon\r\n\r\n", "Ambiguous", "MissingHeaderColon"),
    "get-with-length": (b"GET /echo-headers HTTP/1.1\r\n" + H + b"Content-Length: 3\r\n\r\nabc",
                        "Ambiguous", "UndefinedContentLength"),
    "get-with-chunked": (b"GET /echo-headers HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                         b"3\r\nabc\r\n0\r\n\r\n", "Ambiguous", "UndefinedTransferEncoding"),
}
# rejected in every mode: they could be read two ways
NEVER = {
    "both-te-cl": (b"POST /echo-headers HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"0\r\n\r\n" + SMUGGLE, "Ambiguous", "BothTePresent"),
    "look-alike-length": (b"POST /echo-headers HTTP/1.1\r\n" + H + b"Content_Length: 44\r\n\r\n" + SMUGGLE,
                          "Ambiguous", "SuspiciousHeader"),
    "look-alike-te": (b"POST /echo-headers HTTP/1.1\r\n" + H + b"Transfer_Encoding: chunked\r\n\r\n"
                      b"0\r\n\r\n" + SMUGGLE, "Ambiguous", "SuspiciousHeader"),
    "two-lengths": (b"POST /echo-headers HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
                    "Severe", "MultipleContentLength"),
    "bad-length": (b"POST /echo-headers HTTP/1.1\r\n" + H + b"Content-Length: 3x\r\n\r\nabc",
                   "Severe", "BadContentLength"),
    "bad-te": (b"POST /echo-headers HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunkedx\r\n\r\n0\r\n\r\n",
               "Severe", "BadTransferEncoding"),
    "te-chunked-twice": (b"POST /echo-headers HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "Severe", "MultipleTransferEncodingChunked"),
    "nul-in-header": (b"GET /echo-headers HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n", "Severe", "BadHeader"),
    "nul-in-uri": (b"GET /echo-headers?q=\x00 HTTP/1.1\r\n" + H + b"\r\n", "Severe", "BadUri"),
    "bad-method": (b"G(T /echo-headers HTTP/1.1\r\n" + H + b"\r\n", "Severe", "BadMethod"),
    "bad-version": (b"GET /echo-headers HTTP/1.1x\r\n" + H + b"\r\n", "Severe", "BadVersion"),
    # RFC 9112 5.1: whitespace before the colon is a 400 (the guardian calls it NonCompliantHeader)
    "space-before-colon": (b"GET /echo-headers HTTP/1.1\r\n" + H + b"X-A : 1\r\n\r\n",
                           "Acceptable", "NonCompliantHeader"),
    # a length or Transfer-Encoding on a line without its colon
    "colonless-length": (b"POST /echo-headers HTTP/1.1\r\n" + H + b"Content-Length 44\r\n\r\n" + SMUGGLE,
                         "Ambiguous", "MissingHeaderColon"),
    "colonless-te": (b"POST /echo-headers HTTP/1.1\r\n" + H + b"Transfer-Encoding chunked\r\n\r\n0\r\n\r\n"
                     + SMUGGLE, "Ambiguous", "MissingHeaderColon"),
    # HTTP/0.9's form followed by fields: no version says how to frame it
    "http09-with-fields": (b"GET /echo-headers\r\n" + H + b"Content-Length: 3\r\n\r\nabc",
                           "Ambiguous", "UndefinedContentLength"),
    # a version albd does not speak here (the guardian skips "HTTP/2" and up, bytewise)
    "lowercase-version": (b"POST /echo-headers http/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n"
                          b"Content-Length: 5\r\n\r\n0\r\n\r\n", "Severe", "BadVersion"),
    "http2-version": (b"GET /echo-headers HTTP/2.0\r\n" + H + b"\r\n", "Severe", "BadVersion"),
    "extra-token": (b"GET /echo-headers HTTP/1.1 x\r\n" + H + b"\r\n", "Severe", "BadVersion"),
    # refused by the scanner as the byte arrives, named as the classifier would
    "bare-lf": (b"GET /echo-headers HTTP/1.1\r\n" + H + b"X-A: 1\nX-B: 2\r\n\r\n",
                "Acceptable", "NonCrLfLineTermination"),
    "obs-fold": (b"GET /echo-headers HTTP/1.1\r\n" + H + b"X-A: 1\r\n 2\r\n\r\n", "Ambiguous", "MultilineHeader"),
    "bare-cr-in-target": (b"GET /echo-headers?a\rb HTTP/1.1\r\n" + H + b"\r\n", "Severe", "BadUri"),
    "too-many-empty-lines": (b"\r\n" * 5 + b"GET /echo-headers HTTP/1.1\r\n" + H + b"\r\n", "Ambiguous", "MissingUri"),
}
MODES = ("monitor", "defensive", "strictest")


@pytest.fixture
def lb(albd, backends, tmp_path):
    """One listener per mode (and one with drop_invalid_header_fields) in
    front of one target, with the access log on."""
    b = backends.start("b1")
    ports = {m: free_port() for m in MODES + ("drop",)}
    listeners = [listener(m, ports[m], "tg", rules=(), desync_mitigation_mode=m) for m in MODES]
    listeners.append(listener("drop", ports["drop"], "tg", rules=(), drop_invalid_header_fields=True))
    log = tmp_path / "access.log"
    a = albd.start(make_config(listeners, [target_group("tg", [b])], access_log={"path": str(log)}),
                   ports=ports)

    class LB:
        pass
    lb = LB()
    lb.albd, lb.backend, lb.ports, lb.log = a, b, ports, log
    lb.logged = 0
    return lb


def send(port, raw):
    """Send RAW on a new connection: (response, closed-after, target saw it)."""
    c = Conn(port, timeout=5)
    try:
        c.send(raw)
        r = c.read_response()
        closed = drain_until_closed(c, timeout=1.0)
        return r, closed
    finally:
        c.close()


def target_headers(r):
    return {k.lower(): v for k, v in r.json()["headers"]}


def expect_logged(lb, n_new, want):
    """The next N_NEW access log lines carry WANT's (class, reason) pairs."""
    lines = [parse_alb(l) for l in lines_of(lb.log, lb.logged + n_new)]
    got = [(f["classification"], f["classification_reason"]) for f in lines[lb.logged:lb.logged + n_new]]
    lb.logged += n_new
    assert got == want, got


@pytest.mark.parametrize("case", list(CASES))
def test_each_mode_passes_closes_or_rejects_as_alb(lb, case):
    raw, cls, reason = CASES[case]
    before = lb.backend.stats()["heads"]
    for mode in MODES:
        r, closed = send(lb.ports[mode], raw)
        if cls != "-" and mode == "strictest":
            assert r.status == 400, (mode, r)
            assert closed, "connection kept after a blocked request"
            continue
        assert r.status == 200, (mode, r)
        seen = target_headers(r)
        ambiguous_closes = cls == "Ambiguous" and mode == "defensive"
        # both connections close after an Ambiguous request in defensive mode
        assert closed == ambiguous_closes, (mode, closed)
        assert (r.header("Connection", "").lower() == "close") == ambiguous_closes, r
        assert (seen.get("connection", "").lower() == "close") == ambiguous_closes, seen
        if case == "space-in-uri":
            assert r.json()["target"] == "/echo-headers?q=a%20b"
        if case == "control-in-uri":
            assert r.json()["target"] == "/echo-headers?q=a%01b"
        if case == "control-in-header":
            assert seen["x-a"] == "a\x01b"
        if case in ("empty-header", "no-colon"):
            assert "" not in seen and "nameless" not in json.dumps(r.json()["headers"]), seen
            assert "NoColon" not in json.dumps(r.json()["headers"]), seen
        if case in ("duplicate-length", "get-with-length", "get-with-chunked"):
            assert r.json()["body_len"] == 3
        if case == "version-1.2":
            assert r.json()["version"] == "HTTP/1.1"
    passed = 2 if cls != "-" else 3
    assert lb.backend.stats()["heads"] == before + passed
    expect_logged(lb, 3, [(cls, reason)] * 3)


@pytest.mark.parametrize("case", list(NEVER))
def test_what_could_be_read_two_ways_is_rejected_in_every_mode(lb, case):
    raw, cls, reason = NEVER[case]
    before = lb.backend.stats()
    for mode in MODES:
        r, closed = send(lb.ports[mode], raw)
        assert r.status == 400, (mode, r)
        assert closed, (mode, "connection kept after a rejected request")
    after = lb.backend.stats()
    assert after["heads"] == before["heads"], "the target received a rejected request"
    assert "/smuggled" not in after["paths"]
    expect_logged(lb, 3, [(cls, reason)] * 3)


def test_monitor_keeps_the_connection_after_ambiguous_and_counts_the_metric(lb):
    raw = CASES["get-with-length"][0]
    with Conn(lb.ports["monitor"], timeout=5) as c:
        for _ in range(3):
            c.send(raw)
            r = c.read_response()
            assert r.status == 200 and r.header("Connection") is None, r
    assert get(lb.ports["monitor"], "/name").status == 200

    def counted():
        sm = prom_samples(lb.albd.admin_request("GET", "/metrics").text)
        return sum(v for (k, _), v in sm.items() if k == "albd_desync_noncompliant_requests_total") >= 3

    wait_until(counted, 10, what="DesyncMitigationMode_NonCompliant_Request_Count in /metrics")
    # and in the store, under ALB's name
    wait_until(lambda: total(lb.albd, "DesyncMitigationMode_NonCompliant_Request_Count") >= 3, 10,
               what="DesyncMitigationMode_NonCompliant_Request_Count in the store")


def test_drop_invalid_header_fields(lb):
    hdrs = [("X_Under", "1"), ("X.Dot", "2"), ("X-Good-9", "3")]
    for mode, dropped in (("drop", True), ("defensive", False)):
        with Conn(lb.ports[mode], timeout=5) as c:
            r = c.request("GET", "/echo-headers", headers=hdrs)
            assert r.status == 200
            seen = target_headers(r)
            assert seen["x-good-9"] == "3"
            assert ("x_under" in seen) != dropped and ("x.dot" in seen) != dropped, seen


def test_config_rejects_an_unknown_mode(albd_bin, tmp_path):
    cfg = make_config([listener("web", free_port(), "tg", rules=(), desync_mitigation_mode="paranoid")],
                      [target_group("tg", ["127.0.0.1:9"])])
    p = tmp_path / "albd.conf"
    p.write_text(cfg)
    r = run_albd(albd_bin, "-t", "-c", str(p))
    assert r.returncode != 0
    err = r.stderr.decode(errors="replace")
    assert "desync_mitigation_mode" in err and "paranoid" in err, err


def test_scanner_refusals_are_named_the_same_however_the_bytes_arrive(lb):
    """A bare LF in one write or split just after it: the same class and reason."""
    head, tail = b"GET /echo-headers HTTP/1.1\r\n" + H + b"X-A: 1\n", b"X-B: 2\r\n\r\n"
    for pieces in ((head + tail,), (head, tail)):
        with Conn(lb.ports["defensive"], timeout=5) as c:
            for piece in pieces:
                c.send(piece)
                time.sleep(0.2)
            assert c.read_response().status == 400
    expect_logged(lb, 2, [("Acceptable", "NonCrLfLineTermination")] * 2)


def test_defensive_close_means_no_tunnel_and_no_pooled_target_connection(albd, backends):
    """After an Ambiguous request in defensive mode the target connection is
    not pooled even when the target keeps it open, and an upgrade it asked
    for is not relayed."""
    b = backends.start("b1", "--ignore-close")
    port = free_port()
    albd.start(make_config([listener("web", port, "tg", rules=())], [target_group("tg", [b])]), port=port)
    ambiguous = b"GET /echo-headers HTTP/1.1\r\n" + H + b"NoColon\r\n\r\n"

    def conn_id(raw):
        r, _ = send(port, raw)
        assert r.status == 200, r
        return r.header("X-Conn-Id"), r

    # a compliant request's target connection is pooled and used again
    plain = b"GET /echo-headers HTTP/1.1\r\n" + H + b"\r\n"
    first, _ = conn_id(plain)
    assert conn_id(plain)[0] == first
    # an Ambiguous one's is not, though the target kept it open
    amb, _ = conn_id(ambiguous)
    assert amb == first
    after, _ = conn_id(plain)
    assert after != first, "the target connection of an Ambiguous request was pooled"
    # an Ambiguous upgrade request: the target is not asked to switch
    _, r = conn_id(b"GET /echo-headers HTTP/1.1\r\n" + H + b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
                   b"NoColon\r\n\r\n")
    seen = [(k.lower(), v.lower()) for k, v in r.json()["headers"]]
    assert ("connection", "close") in seen and ("connection", "upgrade") not in seen, seen
    assert not any(k == "upgrade" for k, _ in seen), seen
