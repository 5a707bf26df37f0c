"""Strict message framing on both sides (request smuggling, broken targets)."""
import socket
import time

import pytest

import backend as backend_mod
from conftest import Conn, IncompleteResponse, ProtocolError, free_port, get, listener, make_config, target_group
from test_48_metrics import total, wait_total

H = b"Host: albd.test\r\n"
SMUGGLE = b"GET /smuggled HTTP/1.1\r\nHost: albd.test\r\n\r\n"

REQUEST_CASES = {
    "cl-and-te": b"POST /framing HTTP/1.1\r\n" + H
                 + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLE,
    "te-and-cl": b"POST /framing HTTP/1.1\r\n" + H
                 + b"Transfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n" + SMUGGLE,
    "two-content-lengths": b"POST /framing HTTP/1.1\r\n" + H
                           + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "content-length-list": b"POST /framing HTTP/1.1\r\n" + H + b"Content-Length: 5, 6\r\n\r\nhello!",
    "content-length-12a": b"POST /framing HTTP/1.1\r\n" + H + b"Content-Length: 12a\r\n\r\nhello world!",
    "content-length-minus-1": b"POST /framing HTTP/1.1\r\n" + H + b"Content-Length: -1\r\n\r\n",
    "content-length-plus": b"POST /framing HTTP/1.1\r\n" + H + b"Content-Length: +5\r\n\r\nhello",
    "content-length-empty": b"POST /framing HTTP/1.1\r\n" + H + b"Content-Length: \r\n\r\n",
    "content-length-overflow": b"POST /framing HTTP/1.1\r\n" + H
                               + b"Content-Length: 99999999999999999999999\r\n\r\nhello",
    "te-gzip": b"POST /framing HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\n0\r\n\r\n" + SMUGGLE,
    "te-chunked-gzip": b"POST /framing HTTP/1.1\r\n" + H
                       + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n" + SMUGGLE,
    "te-chunked-then-gzip-lines": b"POST /framing HTTP/1.1\r\n" + H
                                  + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n",
    "te-chunked-twice": b"POST /framing HTTP/1.1\r\n" + H
                        + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
    "obs-fold": b"GET /framing HTTP/1.1\r\n" + H + b"X-A: a\r\n b\r\n\r\n",
    "obs-fold-tab": b"GET /framing HTTP/1.1\r\n" + H + b"X-A: a\r\n\tb\r\n\r\n",
    "bare-cr-in-header": b"GET /framing HTTP/1.1\r\n" + H + b"X-A: a\rb\r\n\r\n",
    "nul-in-header": b"GET /framing HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n",
    "http11-without-host": b"GET /framing HTTP/1.1\r\nX-A: a\r\n\r\n",
    "two-hosts": b"GET /framing HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n",
}


def drain_until_closed(c, timeout=5.0):
    """Read and drop whatever comes until EOF/RST; True if the peer closed."""
    c.buf.clear()
    end = time.monotonic() + timeout
    c.sock.settimeout(0.5)
    while time.monotonic() < end:
        try:
            data = c.sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
        if not data:
            return True
    return False


@pytest.mark.parametrize("case", list(REQUEST_CASES))
def test_request_framing_rejected(one_backend, case):
    b1 = one_backend.b1
    before = b1.stats()
    with Conn(one_backend.port, timeout=5) as c:
        c.send(REQUEST_CASES[case])
        r = c.read_response()
        # a length that does not fit in 64 bits may also be called too large
        assert r.status in ((400, 413) if case == "content-length-overflow" else (400,)), r
        assert drain_until_closed(c), "connection not closed after 400"
    time.sleep(0.2)
    after = b1.stats()
    assert after["heads"] == before["heads"], "the target received the rejected request: %r" % after
    assert "/smuggled" not in after["paths"]
    # albd is fine afterwards
    assert get(one_backend.port, "/name").status == 200


def test_request_framing_rejected_mid_connection(one_backend):
    """The same defects after a good request on a kept-alive connection."""
    b1 = one_backend.b1
    with Conn(one_backend.port, timeout=5) as c:
        r = c.request("GET", "/name")
        assert r.status == 200, r
        c.send(REQUEST_CASES["cl-and-te"])
        r = c.read_response()
        assert r.status == 400, r
        assert drain_until_closed(c)
    time.sleep(0.2)
    paths = b1.stats()["paths"]
    assert "/framing" not in paths and "/smuggled" not in paths, paths


FRAGMENT_TARGETS = [b"/a#b", b"/a?x=1#b", b"/#", b"http://albd.test/a#b", b"/admin#x"]


def test_fragment_in_target_rejected(albd, backends):
    """RFC 9112's request-target has no fragment: a '#' anywhere in it is a
    400 that never reaches the target (a rule on /admin must not be passed
    by /admin#x, which nginx serves as /admin), counted as albd's other 400s."""
    b1 = backends.start("b1")
    port = free_port()
    admin_rule = {"priority": 1, "path": ["/admin"],
                  "fixed_response": {"status": 403, "content_type": "text/plain", "body": "no"}}
    a = albd.start(make_config([listener("web", port, "tg", rules=(admin_rule,))], [target_group("tg", [b1])]),
                   port=port)
    before = b1.stats()
    for target in FRAGMENT_TARGETS:
        with Conn(port, timeout=5) as c:
            c.send(b"GET " + target + b" HTTP/1.1\r\n" + H + b"\r\n")
            r = c.read_response()
            assert r.status == 400, (target, r)
            assert drain_until_closed(c), "connection not closed after 400"
        # after a good request on a kept-alive connection too
        with Conn(port, timeout=5) as c:
            assert c.request("GET", "/name").status == 200
            c.send(b"GET " + target + b" HTTP/1.1\r\n" + H + b"\r\n")
            assert c.read_response().status == 400, target
            assert drain_until_closed(c)
    time.sleep(0.2)
    after = b1.stats()
    assert after["heads"] == before["heads"] + len(FRAGMENT_TARGETS), "the target received a '#' target"
    assert not [p for p in after["paths"] if "#" in p or p.startswith("/a")], after["paths"]
    # counted as albd's own 4XX, like every 400 for a malformed request
    wait_total(a, "HTTPCode_ELB_4XX_Count", 2 * len(FRAGMENT_TARGETS))
    assert total(a, "HTTPCode_Target_4XX_Count") == 0
    # an encoded '#' is an ordinary character; the rule still holds
    assert get(port, "/a%23b").status == 200
    assert get(port, "/admin").status == 403


def read_exactly_until(sock, data, end, timeout=5.0):
    """Receive into DATA (bytes) until it ends with END; the bytes."""
    sock.settimeout(timeout)
    while not data.endswith(end):
        got = sock.recv(65536)
        assert got, "closed after %r" % data
        data += got
    return data


def test_no_content_fixed_response_keeps_connection(albd, backends):
    """RFC 9112 6.3: a 204 ends at its head, and RFC 9110 8.6 gives it no
    Content-Length; a 205 has no content (Content-Length: 0). A fixed
    response of either, for GET and HEAD, pipelined with the next request on
    one kept-alive connection, is followed by exactly that request's answer
    (a body or a length on the 204 once went out with it)."""
    b1 = backends.start("b1")
    port = free_port()
    rules = ({"priority": 1, "path": ["/204"], "fixed_response": {"status": 204, "content_type": "application/json"}},
             {"priority": 2, "path": ["/205"], "fixed_response": {"status": 205}},
             {"priority": 3, "path": ["/ping"], "fixed_response": {"status": 200, "body": "pong\n"}})
    albd.start(make_config([listener("web", port, "tg", rules=rules)], [target_group("tg", [b1])]), port=port)
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        for method in (b"GET", b"HEAD"):
            for path in (b"/204", b"/205"):
                s.sendall(method + b" " + path + b" HTTP/1.1\r\n" + H + b"\r\n"
                          + b"GET /ping HTTP/1.1\r\n" + H + b"\r\n")
                data = read_exactly_until(s, b"", b"\r\n\r\npong\n")
                first, _, rest = data.partition(b"\r\n\r\n")
                head = first.lower().split(b"\r\n")
                assert head[0].startswith(b"http/1.1 " + path[1:] + b" "), data
                fields = dict(f.split(b": ", 1) for f in head[1:])
                assert b"content-type" not in fields, (method, path, data)
                if path == b"/204":
                    assert b"content-length" not in fields, (method, path, data)
                else:
                    assert fields.get(b"content-length") == b"0", (method, path, data)
                assert b"connection" not in fields, data
                # what follows the empty line is the next answer, whole
                assert rest.startswith(b"HTTP/1.1 200 OK\r\n"), (method, path, data)
                assert rest.endswith(b"Content-Length: 5\r\n\r\npong\n"), (method, path, data)
    finally:
        s.close()


BAD_CHUNKS = {
    "non-hex": b"zz\r\nhello\r\n0\r\n\r\n",
    "negative": b"-5\r\nhello\r\n0\r\n\r\n",
    "0x-prefix": b"0x5\r\nhello\r\n0\r\n\r\n",
    "empty-size": b"\r\nhello\r\n0\r\n\r\n",
    "space-inside": b"5 5\r\nhello\r\n0\r\n\r\n",
    "overflow": b"ffffffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
    "data-longer-than-size": b"3\r\nhello\r\n0\r\n\r\n",
    "bare-lf-size-line": b"5\nhello\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("case", list(BAD_CHUNKS))
def test_request_bad_chunk_rejected(one_backend, case):
    b1 = one_backend.b1
    before = b1.stats()
    with Conn(one_backend.port, timeout=5) as c:
        c.send(b"POST /framing HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
               + BAD_CHUNKS[case] + SMUGGLE)
        r = c.read_response()
        assert r.status in ((400, 413) if case == "overflow" else (400,)), r
        assert drain_until_closed(c), "connection not closed after 400"
    time.sleep(0.2)
    after = b1.stats()
    # the head may have been forwarded already; the broken body must not be
    assert "/framing" not in after["paths"], "the target got a complete request"
    assert "/smuggled" not in after["paths"]
    assert after["bad"] == before["bad"], "albd forwarded the invalid chunk syntax to the target"
    assert get(one_backend.port, "/name").status == 200


@pytest.mark.parametrize("kind", backend_mod.HEAD_LEVEL_BAD_KINDS)
def test_response_invalid_gives_502(one_backend, kind):
    with Conn(one_backend.port, timeout=10) as c:
        r = c.request("GET", "/bad?kind=%s" % kind)
        assert r.status == 502, r
    # the broken upstream connection is not reused; albd still works
    for _ in range(3):
        r = get(one_backend.port, "/name")
        assert r.status == 200 and r.body == b"b1", r


@pytest.mark.parametrize("kind", backend_mod.BODY_LEVEL_BAD_KINDS)
def test_response_invalid_body_never_looks_complete(one_backend, kind):
    """The head is valid but the body is broken: albd answers 502 if it has
    not forwarded the head yet, otherwise it aborts the client connection.
    Either way the client must not see a complete, well-framed response."""
    with Conn(one_backend.port, timeout=10) as c:
        c.send(Conn.build("GET", "/bad?kind=%s" % kind))
        try:
            r = c.read_response()
        except (IncompleteResponse, ProtocolError):
            assert drain_until_closed(c), "client connection left open after an aborted response"
        else:
            assert r.status == 502, "client got a complete-looking response: %r" % r
    for _ in range(3):
        r = get(one_backend.port, "/name")
        assert r.status == 200 and r.body == b"b1", r
