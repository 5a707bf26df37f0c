"""Command line, config checking, and plain proxying."""
import hashlib
import re
import socket
import subprocess

import pytest

from conftest import (Conn, free_port, get, line_of, listener, make_config, simple_config,
                      target_group)


def run_albd(bin_, *args, timeout=15):
    return subprocess.run([bin_] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)


def error_line(stderr, path):
    """The LINE and rest of the first "PATH:LINE: ..." in STDERR."""
    text = stderr.decode(errors="replace")
    m = re.search(re.escape(str(path)) + r":(\d+): ?(.*)", text)
    assert m, "no %s:LINE: in stderr:\n%s" % (path, text)
    return int(m.group(1)), m.group(2)


def hdrs(echo, name):
    """Values of header NAME in an /echo-headers answer."""
    return [v for n, v in echo["headers"] if n.lower() == name.lower()]


# ---------------------------------------------------------------------------
# command line


def test_version(albd_bin):
    r = run_albd(albd_bin, "-V")
    assert r.returncode == 0, r
    assert (r.stdout + r.stderr).decode().strip() == "albd 0.1.0"


def test_check_good_config(albd_bin, tmp_path):
    p = tmp_path / "good.conf"
    p.write_text(simple_config(free_port(), ["127.0.0.1:%d" % free_port()]))
    r = run_albd(albd_bin, "-t", "-c", str(p))
    assert r.returncode == 0, r


def test_check_unknown_target_group(albd_bin, tmp_path):
    p = tmp_path / "bad.conf"
    text = make_config([listener("web", free_port(), default_forward="nope")],
                       [target_group("tg", ["127.0.0.1:%d" % free_port()])])
    p.write_text(text)
    r = run_albd(albd_bin, "-t", "-c", str(p))
    assert r.returncode == 1, r
    line, rest = error_line(r.stderr, p)
    lo, hi = line_of(text, "listeners = ("), line_of(text, 'default_forward = "nope"')
    assert lo <= line <= hi, "line %d not within the listener (%d..%d):\n%s" % (line, lo, hi, text)
    assert "default_forward" in rest or "nope" in rest, rest


def test_check_syntax_error(albd_bin, tmp_path):
    p = tmp_path / "syntax.conf"
    lines = simple_config(free_port(), ["127.0.0.1:%d" % free_port()]).split("\n")
    lines.insert(4, "this is = = not valid;")
    p.write_text("\n".join(lines))
    r = run_albd(albd_bin, "-t", "-c", str(p))
    assert r.returncode == 1, r
    line, _ = error_line(r.stderr, p)
    assert line == 5


@pytest.mark.parametrize("setting,bad", [
    ("algorithm", 'algorithm = "random"'),
    ("listen", 'listen = "127.0.0.1:99999"'),
    ("weight", "weight = 5000"),
    ("response_timeout", "response_timeout = -1"),
])
def test_check_invalid_value(albd_bin, tmp_path, setting, bad):
    p = tmp_path / "value.conf"
    text = simple_config(free_port(), ["127.0.0.1:%d" % free_port()])
    lines = text.split("\n")
    i = next(i for i, l in enumerate(lines) if re.match(r"\s*%s = " % setting, l))
    lines[i] = re.sub(r"%s = .*;" % setting, bad + ";", lines[i])
    text = "\n".join(lines)
    p.write_text(text)
    r = run_albd(albd_bin, "-t", "-c", str(p))
    assert r.returncode == 1, r
    line, rest = error_line(r.stderr, p)
    top = "listeners = (" if setting == "listen" else "target_groups = ("
    lo, hi = line_of(text, top), i + 1
    assert lo <= line <= hi, "line %d not in %d..%d:\n%s" % (line, lo, hi, text)
    assert setting in rest, rest


def test_run_with_bad_config_exits_1(albd_bin, tmp_path):
    p = tmp_path / "bad.conf"
    port = free_port()
    p.write_text(make_config([listener("web", port, default_forward="nope")],
                             [target_group("tg", ["127.0.0.1:%d" % free_port()])]))
    r = run_albd(albd_bin, "-c", str(p))
    assert r.returncode == 1, r
    error_line(r.stderr, p)


# ---------------------------------------------------------------------------
# proxying


def test_get(proxy):
    r = get(proxy.port, "/name")
    assert r.status == 200, r
    assert r.body in (b"b1", b"b2")
    assert r.header("X-Backend") == r.body.decode()


def test_get_keepalive_sequence(proxy):
    with Conn(proxy.port) as c:
        for i in range(20):
            r = c.request("GET", "/name?tag=%d" % i)
            assert r.status == 200 and r.body in (b"b1", b"b2"), r
            assert r.header("X-Tag") == str(i)


def test_head(proxy):
    with Conn(proxy.port) as c:
        r = c.request("HEAD", "/download?size=1234&seed=h")
        assert r.status == 200, r
        assert r.header("Content-Length") == "1234"
        assert r.body == b""
        # nothing left over: the next response parses
        r = c.request("GET", "/name")
        assert r.status == 200 and r.body in (b"b1", b"b2"), r


def test_post(proxy):
    body = b"hello albd " * 1000
    r = get(proxy.port, "/upload", method="POST", body=body)
    assert r.status == 200, r
    assert r.json() == {"sha256": hashlib.sha256(body).hexdigest(), "length": len(body), "chunked": False}


def test_put_and_delete(proxy):
    with Conn(proxy.port) as c:
        r = c.request("PUT", "/upload", body=b"abc")
        assert r.status == 200 and r.json()["length"] == 3, r
        r = c.request("DELETE", "/echo-headers")
        assert r.status == 200 and r.json()["method"] == "DELETE", r


def test_fixed_response_ping(proxy):
    r = get(proxy.port, "/ping")
    assert r.status == 200, r
    assert r.body == b"pong\n"
    assert (r.header("Content-Type") or "").startswith("text/plain")
    r = get(proxy.port, "/ping?x=1")  # the path is matched without the query
    assert r.status == 200 and r.body == b"pong\n", r
    r = get(proxy.port, "/ping2")     # no wildcard: exact path only
    assert r.status == 200 and r.body in (b"b1", b"b2"), r
    for b in (proxy.b1, proxy.b2):
        assert "/ping" not in b.stats()["paths"]


def test_host_passed_through(one_backend):
    r = get(one_backend.port, "/echo-headers", host="Example.TEST:8443")
    assert r.status == 200, r
    assert hdrs(r.json(), "Host") == ["Example.TEST:8443"]


def test_valid_hosts_pass_through(one_backend):
    """Hosts of every valid shape (RFC 9112 3.2) are routed as before, the
    empty one too."""
    for host in ("example.com", "example.com:8080", "[::1]:80", "[2001:db8::1]", "127.0.0.1",
                 "xn--bcher-kva.example", "a_b~c.example", "%41.example", "a.example:", ""):
        r = get(one_backend.port, "/echo-headers", host=host)
        assert r.status == 200, (host, r)
        assert hdrs(r.json(), "Host") == [host], host


def test_x_forwarded_headers(one_backend):
    r = get(one_backend.port, "/echo-headers")
    e = r.json()
    assert hdrs(e, "X-Forwarded-For") == ["127.0.0.1"]
    assert hdrs(e, "X-Forwarded-Proto") == ["http"]
    assert hdrs(e, "X-Forwarded-Port") == [str(one_backend.port)]


def test_x_forwarded_for_appended(one_backend):
    r = get(one_backend.port, "/echo-headers", headers={"X-Forwarded-For": "10.1.2.3, 10.4.5.6"})
    assert hdrs(r.json(), "X-Forwarded-For") == ["10.1.2.3, 10.4.5.6, 127.0.0.1"]


def test_x_forwarded_proto_port_replaced(one_backend):
    r = get(one_backend.port, "/echo-headers",
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-Port": "1"})
    e = r.json()
    assert hdrs(e, "X-Forwarded-Proto") == ["http"]
    assert hdrs(e, "X-Forwarded-Port") == [str(one_backend.port)]


def test_hop_by_hop_removed(one_backend):
    with Conn(one_backend.port) as c:
        r = c.request("GET", "/echo-headers", headers=[
            ("Connection", "close, X-Foo"),
            ("X-Foo", "secret"),
            ("Keep-Alive", "timeout=5"),
            ("TE", "trailers"),
            ("Trailer", "X-Checksum"),
            ("Proxy-Connection", "keep-alive"),
            ("X-End-To-End", "yes"),
        ])
        assert r.status == 200, r
        e = r.json()
        for name in ("X-Foo", "Keep-Alive", "TE", "Trailer", "Proxy-Connection", "Upgrade"):
            assert hdrs(e, name) == [], (name, e["headers"])
        for v in hdrs(e, "Connection"):
            toks = {t.strip().lower() for t in v.split(",")}
            assert not toks & {"close", "x-foo"}, e["headers"]
        assert hdrs(e, "X-End-To-End") == ["yes"]
        # the client asked for close
        assert c.closed_by_peer(5), "albd kept the connection open after Connection: close"


def test_upgrade_header_removed(one_backend):
    # Upgrade without "Connection: upgrade" is not an upgrade request: just a hop-by-hop header
    r = get(one_backend.port, "/echo-headers", headers={"Upgrade": "websocket"})
    assert r.status == 200, r
    assert hdrs(r.json(), "Upgrade") == []


def test_many_headers_pass_through(one_backend):
    sent = [("X-H%d" % i, "value-%d" % i) for i in range(50)]
    r = get(one_backend.port, "/echo-headers", headers=sent)
    got = [(n, v) for n, v in r.json()["headers"] if n.startswith("X-H")]
    assert got == sent


def test_upgrade_tunnel(one_backend):
    """Connection: upgrade + Upgrade (WebSocket's handshake): albd relays the
    switch and then moves bytes both ways untouched, like an ALB."""
    with Conn(one_backend.port, timeout=10) as c:
        c.send(b"GET /upgrade HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\n"
               b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n")
        r = c.read_response(allow_interim=True)
        assert r.status == 101, r
        assert r.has_token("Connection", "upgrade"), r
        assert r.header("Upgrade") == "websocket"
        assert r.header("X-Backend") == "b1"
        line = bytes(c.buf)
        while not line.endswith(b"\n"):
            line += c.sock.recv(4096)
        c.buf.clear()
        assert b"connection=upgrade" in line.lower() and b"upgrade=websocket" in line, line
        payload = bytes(range(256)) * 4096   # 1 MiB, both ways at once
        got = bytearray()
        c.sock.sendall(payload[:1000])
        while len(got) < 1000:
            got += c.sock.recv(65536)
        c.sock.sendall(payload[1000:])
        while len(got) < len(payload):
            data = c.sock.recv(65536)
            assert data, "tunnel closed early"
            got += data
        assert bytes(got) == payload
        # the client's half-close reaches the target, which closes: so does albd
        c.sock.shutdown(socket.SHUT_WR)
        assert c.sock.recv(10) == b""


def test_101_without_upgrade_request_is_502(one_backend):
    """A target may only switch protocols when the client asked to."""
    with Conn(one_backend.port, timeout=5) as c:
        r = c.request("GET", "/bad?kind=switch")
        assert r.status == 502, r
