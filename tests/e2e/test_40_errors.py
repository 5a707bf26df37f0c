"""Errors albd generates: 502, 503, 504, 400, 408, 413, 414, 431."""
import email.utils
import re
import select
import socket
import struct
import time

import pytest

from conftest import (PING_RULE, Conn, IncompleteResponse, free_port, get, listener, make_config,
                      simple_config, target_group)
from test_48_metrics import total, wait_total


def test_502_target_refuses(albd):
    port = free_port()
    albd.start(simple_config(port, ["127.0.0.1:%d" % free_port()]), port=port)
    with Conn(port) as c:
        r = c.request("GET", "/name")
        assert r.status == 502, r
        r = c.request("POST", "/upload", body=b"abc")
        assert r.status == 502, r
        # fixed responses do not need a target
        r = c.request("GET", "/ping")
        assert r.status == 200 and r.body == b"pong\n", r


def test_502_keeps_client_connection(albd, backends):
    """An error from albd does not cost the client its connection."""
    b1 = backends.start("b1")
    port = free_port()
    cfg = make_config([listener("web", port, "dead", rules=[
        {"priority": 1, "path": ["/live/*"], "forward": ({"target_group": "live", "weight": 1},)}])],
        [target_group("dead", ["127.0.0.1:%d" % free_port()]), target_group("live", [b1])])
    albd.start(cfg, port=port)
    with Conn(port) as c:
        assert c.request("GET", "/x").status == 502
        r = c.request("GET", "/live/name")
        assert r.status == 200 and r.header("X-Backend") == "b1", r
        assert c.request("GET", "/y").status == 502


def date_of(r):
    """The response's one Date, parsed; it must be an IMF-fixdate within a
    few seconds of now."""
    dates = r.all("date")
    assert len(dates) == 1, r
    assert re.match(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                    r"\d{4} \d\d:\d\d:\d\d GMT$", dates[0]), dates
    d = email.utils.parsedate_to_datetime(dates[0])
    assert abs(d.timestamp() - time.time()) < 5, (dates[0], time.time())
    return d


def test_albd_responses_have_a_date(albd, backends):
    """RFC 9110 6.6.1: albd's own responses (a fixed response, a redirect,
    a 400, a 502, a 503, HEAD too) carry Date; a target's response goes as
    the target sent it (this one has none)."""
    b1 = backends.start("b1")
    port = free_port()
    cfg = make_config([listener("web", port, "dead", rules=[
        PING_RULE,
        {"priority": 2, "path": ["/old"], "redirect": {"status": 302, "path": "/new"}},
        {"priority": 3, "path": ["/empty"], "forward": ({"target_group": "empty", "weight": 1},)},
        {"priority": 4, "path": ["/live/*"], "forward": ({"target_group": "live", "weight": 1},)}])],
        [target_group("dead", ["127.0.0.1:%d" % free_port()]), target_group("live", [b1]),
         target_group("empty", [])])
    a = albd.start(cfg, port=port)
    date_of(a.admin_request("GET", "/metrics"))     # the admin listener's too
    with Conn(port) as c:
        for method, path, status in (("GET", "/ping", 200), ("HEAD", "/ping", 200), ("GET", "/old", 302),
                                     ("GET", "/x", 502), ("GET", "/empty", 503)):
            r = c.request(method, path)
            assert r.status == status, r
            date_of(r)
        r = c.request("GET", "/live/name")
        assert r.status == 200 and r.header("X-Backend") == "b1" and r.all("date") == [], r
    with Conn(port) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n")
        r = c.read_response()
        assert r.status == 400, r
        date_of(r)


def test_503_empty_target_group(albd):
    port = free_port()
    albd.start(simple_config(port, []), port=port)
    with Conn(port) as c:
        r = c.request("GET", "/name")
        assert r.status == 503, r
        r = c.request("GET", "/name")  # the connection stays usable
        assert r.status == 503, r


def test_504_response_timeout(albd, backends):
    b1 = backends.start("b1")
    port = free_port()
    albd.start(simple_config(port, [b1], tg_opts={"response_timeout": 1}), port=port)
    with Conn(port, timeout=10) as c:
        t0 = time.monotonic()
        r = c.request("GET", "/sleep?ms=4000")
        took = time.monotonic() - t0
        assert r.status == 504, r
        assert 0.8 <= took <= 3.0, "504 after %.2f s with response_timeout = 1" % took
        # a fast request right after is fine
        r = c.request("GET", "/sleep?ms=100")
        assert r.status == 200, r


def test_504_is_not_retried(albd, backends):
    """The request reached a target before timing out: no second attempt."""
    b1, b2 = backends.start("b1"), backends.start("b2")
    port = free_port()
    albd.start(simple_config(port, [b1, b2], tg_opts={"response_timeout": 1},
                             limits={"retry_budget": 1.0}), port=port)
    t0 = time.monotonic()
    r = get(port, "/sleep?ms=3000")
    assert r.status == 504, r
    assert time.monotonic() - t0 < 1.9
    time.sleep(0.2)
    assert b1.stats()["heads"] + b2.stats()["heads"] == 1


def test_504_fractional_response_timeout(albd, backends):
    b1 = backends.start("b1")
    port = free_port()
    albd.start(simple_config(port, [b1], tg_opts={"response_timeout": 0.5}), port=port)
    t0 = time.monotonic()
    assert get(port, "/sleep?ms=300").status == 200
    r = get(port, "/sleep?ms=3000")
    assert r.status == 504, r
    assert time.monotonic() - t0 < 2.5


@pytest.mark.parametrize("raw", [
    b"GARBAGE\r\n\r\n",
    b"GET /x HTTQ/1.1\r\nHost: a\r\n\r\n",
    b"GET /x HTTP/1.1 extra\r\nHost: a\r\n\r\n",
    b"G(T /x HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET\r\nHost: a\r\n\r\n",
    b"GET /x\x00y HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /x HTTP/1.1\r\nHost: a\r\nBad Header: v\r\n\r\n",
    b"GET /x HTTP/1.1\r\nHost : a\r\n\r\n",
], ids=["garbage", "bad-version", "extra-token", "bad-method-char", "no-target", "nul-in-target",
        "space-in-name", "space-before-colon"])
def test_400_malformed_request(one_backend, raw):
    before = one_backend.b1.stats()
    with Conn(one_backend.port, timeout=5) as c:
        c.send(raw)
        r = c.read_response()
        assert r.status == 400, r
        assert c.closed_by_peer(5), "connection not closed after 400"
    after = one_backend.b1.stats()
    assert after["heads"] == before["heads"], "the target received a malformed request"


BAD_HOSTS = ["good.example@evil.example", "a b/c", "[::1", "a/b", "a?b", "a:80:80", "a:8o", "[::1]x",
             "[1.2.3.4]", "[::1%eth0]", "h%zz", "\xe9.example"]


def test_400_invalid_host(albd, backends):
    """RFC 9112 3.2: a Host that is not uri-host [ ":" port ] is a 400,
    counted as albd's other 400s; so is a second Host line, and an
    absolute-form target whose authority is not a host; none reaches the
    target, or a redirect (whose Location would carry it)."""
    b1 = backends.start("b1")
    port = free_port()
    rules = ({"priority": 1, "path": ["/r/*"], "redirect": {"status": 301, "host": "www.#{host}"}},)
    a = albd.start(simple_config(port, [b1], rules=rules), port=port)
    raws = []
    for h in BAD_HOSTS:
        for path in ("/x", "/r/x"):
            for v in (b"1.1", b"1.0"):
                raws.append(b"GET %s HTTP/%s\r\nHost: %s\r\n\r\n" % (path.encode(), v, h.encode("latin-1")))
    raws += [b"GET /r/x HTTP/1.1\r\nHost: a.test\r\nHost: a.test\r\n\r\n",
             b"GET http://[::1/x HTTP/1.1\r\nHost: a.test\r\n\r\n",
             b"GET http://u@a.test/r/x HTTP/1.1\r\nHost: a.test\r\n\r\n",
             b"GET http://:80/x HTTP/1.1\r\nHost: a.test\r\n\r\n",
             b"GET http://a.test:x/x HTTP/1.1\r\nHost: a.test\r\n\r\n",
             # the authority wins, but the Host field must still be valid
             b"GET http://a.test/r/x HTTP/1.1\r\nHost: a@b\r\n\r\n"]
    for raw in raws:
        with Conn(port, timeout=5) as c:
            c.send(raw)
            r = c.read_response()
            assert r.status == 400 and r.header("location") is None, (raw, r)
            assert c.closed_by_peer(5), raw
    assert b1.stats()["heads"] == 0
    wait_total(a, "HTTPCode_ELB_4XX_Count", len(raws))
    assert total(a, "RequestCount") == len(raws)
    assert total(a, "HTTP_Redirect_Count") == 0


def test_408_client_header_timeout(albd, backends):
    b1 = backends.start("b1")
    port = free_port()
    albd.start(simple_config(port, [b1], timeouts={"client_header": 1}), port=port)
    with Conn(port, timeout=10) as c:
        t0 = time.monotonic()
        c.send(b"GET /name HTTP/1.1\r\nHost: albd.test\r\n")  # half a head
        r = c.read_response()
        took = time.monotonic() - t0
        assert r.status == 408, r
        assert 0.8 <= took <= 3.0, took
        assert c.closed_by_peer(5)
    assert b1.stats()["heads"] == 0


def test_client_header_timeout_is_for_the_whole_head(albd, backends):
    """A client trickling its head byte by byte does not escape the timeout."""
    b1 = backends.start("b1")
    port = free_port()
    albd.start(simple_config(port, [b1], timeouts={"client_header": 1}), port=port)
    with Conn(port, timeout=10) as c:
        t0 = time.monotonic()
        head = b"GET /name HTTP/1.1\r\nHost: albd.test\r\nX-Slow: " + b"a" * 200
        answered = None
        for i in range(len(head)):
            r, _, _ = select.select([c.sock], [], [], 0.05)
            if r:
                answered = time.monotonic() - t0
                break
            try:
                c.send(head[i:i + 1])
            except OSError:
                break
        assert answered is not None, "no answer while the client trickled its head for %.1f s" % (
            time.monotonic() - t0)
        assert answered <= 2.0, "answered after %.1f s with client_header = 1" % answered
        try:
            r = c.read_response()
            assert r.status == 408, r
        except (IncompleteResponse, OSError):
            pass  # closed without a response is acceptable too
    assert b1.stats()["heads"] == 0


def test_client_abort_does_not_hurt(one_backend):
    """Clients that vanish mid-request (waiting for a slow answer, or in the
    middle of an upload) leave albd serving normally."""
    port = one_backend.port
    for _ in range(5):
        c = Conn(port)
        c.send(Conn.build("GET", "/sleep?ms=300"))
        c.close()
        c = Conn(port)
        c.send(Conn.build("POST", "/upload", [("Content-Length", "1000000")]) + b"x" * 5000)
        c.close()
        c = Conn(port)
        c.send(Conn.build("GET", "/download?size=20000000&seed=abort"))
        c.sock.recv(1000)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()  # RST while albd streams to us
    time.sleep(0.5)
    with Conn(port) as c:
        for _ in range(10):
            r = c.request("GET", "/name")
            assert r.status == 200 and r.body == b"b1", r
    assert one_backend.albd.alive()


def test_431_too_many_headers(albd, backends):
    b1 = backends.start("b1")
    port = free_port()
    albd.start(simple_config(port, [b1], limits={"max_headers": 20}), port=port)
    ok = [("X-H%d" % i, "v") for i in range(15)]
    assert get(port, "/name", headers=ok).status == 200
    r = get(port, "/name", headers=[("X-H%d" % i, "v") for i in range(40)])
    assert r.status == 431, r
    assert b1.stats()["paths"].get("/name") == 1


def test_431_header_too_large(albd, backends):
    b1 = backends.start("b1")
    port = free_port()
    albd.start(simple_config(port, [b1], limits={"max_header_size": 4096}), port=port)
    assert get(port, "/name", headers={"X-Big": "a" * 2000}).status == 200
    r = get(port, "/name", headers={"X-Big": "a" * 6000})
    assert r.status == 431, r
    r = get(port, "/name", headers=[("X-B%d" % i, "a" * 500) for i in range(12)])
    assert r.status == 431, r
    assert b1.stats()["paths"].get("/name") == 1


def test_431_default_limits(one_backend):
    r = get(one_backend.port, "/name", headers=[("X-H%d" % i, "v") for i in range(150)])
    assert r.status == 431, r
    r = get(one_backend.port, "/name", headers={"X-Big": "a" * 70000})
    assert r.status == 431, r


def test_414_uri_too_long(albd, backends):
    b1 = backends.start("b1")
    port = free_port()
    albd.start(simple_config(port, [b1], limits={"max_request_line": 1024}), port=port)
    r = get(port, "/name?q=" + "a" * 900)
    assert r.status == 200, r
    r = get(port, "/name?q=" + "a" * 2000)
    assert r.status == 414, r
    assert b1.stats()["paths"].get("/name") == 1


def test_414_default_limit(one_backend):
    r = get(one_backend.port, "/name?q=" + "a" * 10000)
    assert r.status == 414, r


def test_413_body_too_large(albd, backends):
    b1 = backends.start("b1")
    port = free_port()
    albd.start(simple_config(port, [b1], limits={"max_body_size": 1000}), port=port)
    r = get(port, "/upload", method="POST", body=b"x" * 1000)
    assert r.status == 200 and r.json()["length"] == 1000, r
    r = get(port, "/upload", method="POST", body=b"x" * 2000)
    assert r.status == 413, r
    assert b1.stats()["paths"].get("/upload") == 1


def test_413_with_expect_does_not_ask_for_body(albd, backends):
    b1 = backends.start("b1")
    port = free_port()
    albd.start(simple_config(port, [b1], limits={"max_body_size": 1000}), port=port)
    with Conn(port, timeout=5) as c:
        c.send(Conn.build("POST", "/upload", [("Content-Length", "5000000"), ("Expect", "100-continue")]))
        r = c.read_response(allow_interim=True)
        assert r.status == 413, r
    assert b1.stats()["heads"] == 0


def test_413_chunked_body_too_large(albd, backends):
    """Over the limit in chunked encoding: the client gets 413 (or, if albd
    had already started forwarding, the exchange is aborted), and the target
    never gets a complete request."""
    b1 = backends.start("b1")
    port = free_port()
    albd.start(simple_config(port, [b1], limits={"max_body_size": 1000}), port=port)
    with Conn(port, timeout=5) as c:
        c.send(Conn.build("POST", "/upload", [("Transfer-Encoding", "chunked")])
               + b"400\r\n" + b"x" * 1024 + b"\r\n400\r\n" + b"y" * 1024 + b"\r\n0\r\n\r\n")
        try:
            r = c.read_response()
            assert r.status == 413, r
        except (IncompleteResponse, OSError):
            pass
    assert b1.stats()["paths"].get("/upload") is None


def test_head_up_to_max_header_size_passes(albd, backends):
    """A head as large as limits.max_header_size allows (up to 1 MiB) is
    forwarded: http-parser's own 80 KiB limit is lifted to the config's."""
    b1 = backends.start("b1")
    port = free_port()
    albd.start(simple_config(port, [b1], limits={"max_header_size": 1 << 20}), port=port)
    r = get(port, "/name", headers=[("X-B%d" % i, "a" * 8000) for i in range(40)])
    assert r.status == 200, r
    r = get(port, "/name", headers={"X-Big": "a" * (1 << 20)})
    assert r.status == 431, r
    assert b1.stats()["paths"].get("/name") == 1


def test_502_target_status_600_or_more(albd, backends):
    """RFC 9110 15: a status code is 100..599. A target's 600 or 999 is a
    malformed response: 502, counted as albd's (HTTPCode_ELB_502_Count),
    in no target status class."""
    from test_48_metrics import total, wait_total
    b1 = backends.start("b1")
    port = free_port()
    albd_ = albd.start(make_config([listener("web", port, "tg")], [target_group("tg", [b1])], name="lb1"),
                       port=port)
    with Conn(port) as c:
        for code in (600, 999):
            r = c.request("GET", "/status?code=%d" % code)
            assert r.status == 502, r
        assert c.request("GET", "/status?code=599").status == 599
    wait_total(albd_, "RequestCount", 3)
    assert total(albd_, "HTTPCode_ELB_502_Count") == 2
    assert total(albd_, "HTTPCode_Target_5XX_Count") == 1
    for cls in ("2XX", "3XX", "4XX"):
        assert total(albd_, "HTTPCode_Target_%s_Count" % cls) == 0
