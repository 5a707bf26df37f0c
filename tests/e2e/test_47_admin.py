"""The admin listener (control/admin.c) and the target group API
(control/api_elb.c), through the real binary.

The admin listener is on by default; conftest's Albd gives every albd its
own admin port (albd.admin_port) and state dir unless the config has its
own "admin" group, as most tests here do.
"""
import json
import re
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import (HOST, Conn, ProtocolError, free_port, get, listener, make_config, port_accepts, target_group,
                      wait_until)
from test_90_tls import TLSConn, client_ctx, pki  # noqa: F401  (pki is a fixture)

pytestmark = pytest.mark.timeout_s(60)

TOKEN = "s3cr3t-Token_0123456789"
HC_FAST = {"interval": 1, "timeout": 0.5, "healthy_threshold": 2, "unhealthy_threshold": 2}


def admin_config(port, targets, admin=None, tg_opts=None, **extra):
    opts = dict(tg_opts or {})
    return make_config([listener("web", port)], [target_group("tg", targets, **opts)], admin=admin, **extra)


def token_file(tmp_path, text=TOKEN + "\n", name="token"):
    p = tmp_path / name
    p.write_text(text)
    return p


def areq(port, method, path, token=None, headers=None, body=None, timeout=10, **kw):
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = "Bearer %s" % token
    return get(port, path, method=method, headers=h, body=body, timeout=timeout, host="%s:%d" % (HOST, port), **kw)


def assert_error(r, status, code):
    assert r.status == status, r
    assert r.header("Content-Type") == "application/json", r
    j = r.json()
    assert set(j) == {"Error"}, j
    assert j["Error"]["Code"] == code, j
    assert isinstance(j["Error"]["Message"], str) and j["Error"]["Message"], j
    return j


# ---------------------------------------------------------------------------
# listening


def test_listens_where_configured_and_answers_json(albd, backends):
    b1 = backends.start("b1")
    port, aport = free_port(), free_port()
    a = albd.start(admin_config(port, [b1], admin={"listen": "%s:%d" % (HOST, aport)}), port=port)
    assert a.admin_port == aport
    assert "admin: listening on %s:%d (HTTP)" % (HOST, aport) in a.log()
    r = areq(aport, "GET", "/api/v1/target-groups")
    assert r.status == 200, r
    assert r.header("Content-Type") == "application/json"
    assert r.header("Cache-Control") == "no-store"
    groups = r.json()["TargetGroups"]
    assert [g["TargetGroupName"] for g in groups] == ["tg"]
    # HEAD: the same head, no body
    h = areq(aport, "HEAD", "/api/v1/target-groups")
    assert h.status == 200 and h.body == b""
    assert int(h.header("Content-Length")) == len(r.body)
    # the proxy is unaffected
    assert get(port, "/ping").status == 200


def test_fixture_gives_each_albd_its_admin_port_and_state_dir(albd, backends):
    """Configs without an admin group get conftest's (see its docstring)."""
    b1 = backends.start("b1")
    port = free_port()
    a = albd.start(make_config([listener("web", port)], [target_group("tg", [b1])]), port=port)
    assert a.admin_port and a.admin_port != 9100
    assert a.state_dir.is_dir()
    assert 'state_dir = "%s";' % a.state_dir in a.config_path.read_text()
    assert a.admin_request("GET", "/api/v1/target-groups").status == 200
    # a reload without an admin group keeps the same admin port
    a.reload(make_config([listener("web", port)], [target_group("tg", [b1])], workers=1))
    wait_until(lambda: "generation 2 is live" in a.log(), 5, what="the reload")
    assert a.admin_request("GET", "/api/v1/target-groups").status == 200


def test_enabled_false_listens_nowhere(albd, backends):
    b1 = backends.start("b1")
    port, aport = free_port(), free_port()
    a = albd.start(admin_config(port, [b1], admin={"enabled": False, "listen": "%s:%d" % (HOST, aport)}),
                   port=port)
    assert a.admin_port is None
    assert get(port, "/ping").status == 200
    assert not port_accepts(aport)
    assert "admin: listening" not in a.log()


@pytest.mark.serial
def test_default_address_is_127_0_0_1_9100(albd, backends):
    """No listen setting: 127.0.0.1:9100 (serial: the port is fixed)."""
    if port_accepts(9100) or not _bindable(9100):
        pytest.skip("127.0.0.1:9100 is in use on this machine")
    b1 = backends.start("b1")
    port = free_port()
    a = albd.start(admin_config(port, [b1], admin={"metrics_token": False}), port=port)
    assert a.admin_port == 9100
    assert areq(9100, "GET", "/api/v1/target-groups").status == 200
    a.stop()
    assert not port_accepts(9100)


def _bindable(port):
    s = socket.socket()
    try:
        s.bind((HOST, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def test_admin_port_taken_at_start_exits_with_message(albd_bin, tmp_path, backends):
    b1 = backends.start("b1")
    port, aport = free_port(), free_port()
    blocker = socket.socket()
    blocker.bind((HOST, aport))
    blocker.listen(1)
    try:
        p = tmp_path / "albd.conf"
        p.write_text(admin_config(port, [b1], admin={"listen": "%s:%d" % (HOST, aport)},
                                  state_dir=str(tmp_path / "state")))
        r = subprocess.run([albd_bin, "-c", str(p)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=15)
    finally:
        blocker.close()
    assert r.returncode == 1, r
    text = p.read_text()
    line = [i for i, t in enumerate(text.split("\n"), 1) if t.startswith("admin = {")][0]
    assert r.stderr.decode().strip().split("\n")[-1] == "%s:%d: admin.listen: cannot listen on %s:%d: Address already in use" % (
        p, line, HOST, aport), r.stderr
    assert not port_accepts(port)


def test_admin_address_of_a_listener_is_refused(albd_bin, tmp_path):
    port = free_port()
    text = make_config([listener("web", port, default_forward=None, default_fixed_response={"status": 200})], [],
                       admin={"listen": "%s:%d" % (HOST, port)})
    p = tmp_path / "albd.conf"
    p.write_text(text)
    r = subprocess.run([albd_bin, "-t", "-c", str(p)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=15, text=True)
    assert r.returncode == 1
    line = [i for i, t in enumerate(text.split("\n"), 1) if "listen" in t and "admin" not in t][-1]
    assert r.stderr.strip().startswith("%s:%d: admin.listen: " % (p, line)), r.stderr
    assert "clashes with the address of listener \"web\"" in r.stderr


# ---------------------------------------------------------------------------
# the token


@pytest.fixture
def tokened(albd, backends, tmp_path):
    b1 = backends.start("b1")
    port, aport = free_port(), free_port()
    tok = token_file(tmp_path)
    a = albd.start(admin_config(port, [b1], admin={"listen": "%s:%d" % (HOST, aport), "token_file": str(tok)}),
                   port=port)
    a.tok = tok
    a.web = port
    a.b1 = b1
    return a


def test_token_missing_wrong_right(tokened):
    aport = tokened.admin_port
    r = areq(aport, "GET", "/api/v1/target-groups")
    assert_error(r, 401, "Unauthorized")
    assert r.header("WWW-Authenticate", "").startswith("Bearer"), r
    for wrong in ("x", TOKEN[:-1], TOKEN + "x", TOKEN[:-1] + "Y", "", TOKEN.lower()):
        r = areq(aport, "GET", "/api/v1/target-groups", headers={"Authorization": "Bearer " + wrong})
        assert_error(r, 401, "Unauthorized")
        assert r.header("WWW-Authenticate", "").startswith("Bearer"), r
    for scheme in ("Basic %s" % TOKEN, TOKEN, "Bearer", "Bearer%s" % TOKEN):
        r = areq(aport, "GET", "/api/v1/target-groups", headers={"Authorization": scheme})
        assert_error(r, 401, "Unauthorized")
    r = areq(aport, "GET", "/api/v1/target-groups", token=TOKEN)
    assert r.status == 200, r
    assert r.json()["TargetGroups"][0]["TargetGroupName"] == "tg"
    # the scheme is case-insensitive, spaces around the token do not count
    r = areq(aport, "GET", "/api/v1/target-groups", headers={"Authorization": "bearer   %s  " % TOKEN})
    assert r.status == 200, r
    # without the token, a path that does not exist is not told apart from one that does
    assert_error(areq(aport, "GET", "/nowhere"), 401, "Unauthorized")
    assert_error(areq(aport, "GET", "/nowhere", token=TOKEN), 404, "NotFound")


def test_refused_before_the_body_is_read(tokened):
    """Without the token, a request with a body is answered when its head
    arrives: albd does not wait for (nor buffer) the body, and closes."""
    with Conn(tokened.admin_port, timeout=5) as c:
        c.send(b"POST /api/v1/target-groups HTTP/1.1\r\nHost: a\r\nContent-Length: 1500000\r\n\r\n")
        r = c.read_response()
        assert_error(r, 401, "Unauthorized")
        assert r.header("Connection") == "close"
        assert c.closed_by_peer(5)
    # with the token, a path with no POST route: 405 at once too
    with Conn(tokened.admin_port, timeout=5) as c:
        c.send(b"POST /api/v1/target-groups HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + TOKEN.encode() +
               b"\r\nContent-Length: 1500000\r\n\r\n")
        r = c.read_response()
        assert_error(r, 405, "MethodNotAllowed")
        assert r.header("Connection") == "close"


def test_reload_with_a_new_token(tokened):
    aport = tokened.admin_port
    assert areq(aport, "GET", "/api/v1/target-groups", token=TOKEN).status == 200
    tokened.tok.write_text("  the-new-one\n")
    tokened.reload(tokened.config_text)
    wait_until(lambda: areq(aport, "GET", "/api/v1/target-groups", token="the-new-one").status == 200, 5,
               what="the new token")
    assert_error(areq(aport, "GET", "/api/v1/target-groups", token=TOKEN), 401, "Unauthorized")
    # an unusable token file: the reload fails, the token stays
    tokened.tok.write_text("\n")
    tokened.reload(tokened.config_text)
    wait_until(lambda: "reload failed" in tokened.log(), 5, what="the failed reload")
    assert "admin.token_file: \"%s\" is empty" % tokened.tok in tokened.log()
    assert areq(aport, "GET", "/api/v1/target-groups", token="the-new-one").status == 200
    # a reload without a token file opens the API
    text = admin_config(tokened.web, [tokened.b1], admin={"listen": "%s:%d" % (HOST, aport)})
    tokened.reload(text)
    wait_until(lambda: areq(aport, "GET", "/api/v1/target-groups").status == 200, 5, what="no token")


@pytest.mark.parametrize("content, why", [
    (None, "cannot read \"{p}\": No such file or directory"),
    ("", "\"{p}\" is empty (expected the token)"),
    ("two words", "\"{p}\": the token must be printable ASCII without spaces (byte 4 is 0x20)"),
])
def test_bad_token_file_fails_check_with_file_line(albd_bin, tmp_path, content, why):
    tok = tmp_path / "token"
    if content is not None:
        tok.write_text(content)
    text = make_config([listener("web", free_port(), default_forward=None,
                                 default_fixed_response={"status": 200})], [],
                       admin={"listen": "%s:%d" % (HOST, free_port()), "token_file": str(tok)})
    p = tmp_path / "albd.conf"
    p.write_text(text)
    r = subprocess.run([albd_bin, "-t", "-c", str(p)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=15, text=True)
    assert r.returncode == 1
    line = [i for i, t in enumerate(text.split("\n"), 1) if "token_file" in t][0]
    assert r.stderr.strip() == "%s:%d: admin.token_file: %s" % (p, line, why.format(p=tok)), r.stderr


# ---------------------------------------------------------------------------
# HTTP behaviour and limits


def test_unknown_path_404_and_wrong_method_405(albd, backends):
    b1 = backends.start("b1")
    port = free_port()
    a = albd.start(admin_config(port, [b1]), port=port)
    aport = a.admin_port
    assert_error(areq(aport, "GET", "/nothing"), 404, "NotFound")
    # "/" is the dashboard (test_73_dashboard.py), not an API path
    assert areq(aport, "GET", "/").status == 200
    assert_error(areq(aport, "PUT", "/", body=b""), 405, "MethodNotAllowed")
    # POST / is AWS's APIs (test_79_aws_api.py), off without admin.aws_credentials
    r = areq(aport, "POST", "/", body=b"")
    assert_error(r, 404, "NotFound")
    assert "aws_credentials" in r.json()["Error"]["Message"]
    assert_error(areq(aport, "GET", "/api/v1/target-groups/tg/nothing"), 404, "NotFound")
    assert_error(areq(aport, "GET", "/api/v1/target-groups/tg"), 404, "NotFound")
    # a path that is not UTF-8 once decoded still gets a JSON error
    assert_error(areq(aport, "GET", "/%ff%fe"), 404, "NotFound")
    assert_error(areq(aport, "GET", "/api/v1/target-groups/%ff/health"), 404, "TargetGroupNotFound")
    for method in ("POST", "DELETE", "PUT"):
        r = areq(aport, method, "/api/v1/target-groups", body=b"" if method != "DELETE" else None)
        assert_error(r, 405, "MethodNotAllowed")
        assert r.header("Allow") == "GET, HEAD", r
    r = areq(aport, "POST", "/api/v1/target-groups/tg/health", body=b"{}")
    assert_error(r, 405, "MethodNotAllowed")


def test_malformed_requests(albd, backends):
    b1 = backends.start("b1")
    port = free_port()
    a = albd.start(admin_config(port, [b1]), port=port)
    aport = a.admin_port
    for raw, status in [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /api/v1/target-groups HTTP/1.1\r\n\r\n", 400),              # no Host
        (b"GET /api/%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400),                 # bad escape
        (b"GET /api/%00 HTTP/1.1\r\nHost: a\r\n\r\n", 400),                 # NUL
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"b" * 17000 + b"\r\n\r\n", 431),
    ]:
        with Conn(aport) as c:
            c.send(raw)
            r = c.read_response()
            assert_error(r, status, r.json()["Error"]["Code"])
            assert r.header("Connection") == "close"
            assert c.closed_by_peer(5)
    # albd is fine
    assert areq(aport, "GET", "/api/v1/target-groups").status == 200


def test_keepalive_and_pipelining(albd, backends):
    b1 = backends.start("b1")
    port = free_port()
    a = albd.start(admin_config(port, [b1]), port=port)
    with Conn(a.admin_port) as c:
        for _ in range(3):
            assert c.request("GET", "/api/v1/target-groups").status == 200
        req = Conn.build("GET", "/api/v1/target-groups") + Conn.build("GET", "/nope") + \
            Conn.build("GET", "/api/v1/target-groups/tg/health")
        c.send(req)
        assert c.read_response().status == 200
        assert c.read_response().status == 404
        r = c.read_response()
        assert r.status == 200 and "TargetHealthDescriptions" in r.json()


def test_large_body_413(albd, backends):
    b1 = backends.start("b1")
    port = free_port()
    a = albd.start(admin_config(port, [b1]), port=port)
    aport = a.admin_port
    # refused by its Content-Length, before the body is sent
    with Conn(aport) as c:
        c.send(b"POST /api/v1/target-groups HTTP/1.1\r\nHost: a\r\nContent-Length: 3000000\r\n\r\n")
        r = c.read_response()
        assert_error(r, 413, "PayloadTooLarge")
        assert c.closed_by_peer(5)
    # chunked: refused once 2 MiB have come (a GET may have a body; no route takes POST yet)
    with Conn(aport) as c:
        c.send(b"GET /api/v1/target-groups HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
        r = None
        for _ in range(40):
            try:
                c.send(chunk)
            except OSError:
                break
        r = c.read_response()
        assert_error(r, 413, "PayloadTooLarge")
    # a body within the limit is read, and the request answered
    with Conn(aport) as c:
        r = c.request("GET", "/api/v1/target-groups", body=b"x" * (2 << 20))
        assert r.status == 200, r
        assert r.header("Connection") is None
        # and the connection goes on
        assert c.request("GET", "/api/v1/target-groups").status == 200


@pytest.mark.timeout_s(60)
def test_slow_clients_block_neither_admin_nor_proxy(albd, backends):
    b1 = backends.start("b1")
    port = free_port()
    a = albd.start(admin_config(port, [b1]), port=port)
    aport = a.admin_port
    silent = [socket.create_connection((HOST, aport), timeout=5) for _ in range(20)]
    dribbler = socket.create_connection((HOST, aport), timeout=5)
    stop = threading.Event()

    def dribble():
        data = b"GET /api/v1/target-groups HTTP/1.1\r\nHost: a\r\n" + b"X: " + b"y" * 200
        for ch in data:
            if stop.is_set():
                return
            try:
                dribbler.send(bytes([ch]))
            except OSError:
                return
            time.sleep(0.5)

    t = threading.Thread(target=dribble, daemon=True)
    t.start()
    try:
        t0 = time.monotonic()
        for _ in range(20):
            assert areq(aport, "GET", "/api/v1/target-groups", timeout=2).status == 200
            assert get(port, "/ping", timeout=2).status == 200
            assert get(port, "/x", timeout=2).status == 200
        assert time.monotonic() - t0 < 10
        # the whole request must come within 10 s: the dribbler gets 408, the silent ones are closed
        dribbler.settimeout(15)
        got = b""
        while True:
            chunk = dribbler.recv(65536)
            if not chunk:
                break
            got += chunk
        assert got.startswith(b"HTTP/1.1 408 "), got
        assert b'"Code":"RequestTimeout"' in got
        assert time.monotonic() - t0 < 14
        for s in silent:
            s.settimeout(5)
            assert s.recv(100) == b""
    finally:
        stop.set()
        for s in silent + [dribbler]:
            s.close()
    assert areq(aport, "GET", "/api/v1/target-groups").status == 200


def test_connection_cap(albd, backends):
    b1 = backends.start("b1")
    port = free_port()
    a = albd.start(admin_config(port, [b1]), port=port)
    aport = a.admin_port
    held = []
    try:
        for _ in range(256):
            held.append(socket.create_connection((HOST, aport), timeout=5))
        # make sure albd has accepted them all
        with Conn(aport) as extra:
            try:
                extra.send(Conn.build("GET", "/api/v1/target-groups"))
            except OSError:
                pass
            with pytest.raises((ProtocolError, OSError)):
                extra.read_response()
        assert "admin: 256 connections already" in a.log()
        # the held ones still work
        held[0].sendall(Conn.build("GET", "/api/v1/target-groups"))
        assert held[0].recv(12) == b"HTTP/1.1 200"
        # and the proxy too
        assert get(port, "/ping").status == 200
    finally:
        for s in held:
            s.close()
    wait_until(lambda: areq(aport, "GET", "/api/v1/target-groups").status == 200, 5, what="a free slot")


# ---------------------------------------------------------------------------
# TLS


def test_tls_admin_listener(albd, backends, pki):
    b1 = backends.start("b1")
    port, aport = free_port(), free_port()
    admin = {"listen": "%s:%d" % (HOST, aport), "tls": {"certificates": (pki.ip.entry(),)}}
    a = albd.start(admin_config(port, [b1], admin=admin), port=port)
    assert a.admin_url == "https://%s:%d" % (HOST, aport)
    assert "admin: listening on %s:%d (HTTPS)" % (HOST, aport) in a.log()
    with TLSConn(aport, HOST, client_ctx(pki)) as c:
        r = c.request("GET", "/api/v1/target-groups", host="%s:%d" % (HOST, aport))
        assert r.status == 200, r
        assert r.json()["TargetGroups"][0]["TargetGroupName"] == "tg"
    # plain HTTP on the TLS port gets nothing useful
    with Conn(aport, timeout=5) as c:
        c.send(Conn.build("GET", "/api/v1/target-groups"))
        with pytest.raises((ProtocolError, OSError)):
            c.read_response()
    # switched to plain HTTP by a reload, on the same port
    a.reload(admin_config(port, [b1], admin={"listen": "%s:%d" % (HOST, aport)}))
    wait_until(lambda: "TLS settings changed" in a.log(), 5, what="the reload")
    assert areq(aport, "GET", "/api/v1/target-groups").status == 200


def test_tls_bad_certificate_fails_check(albd_bin, tmp_path, pki):
    text = make_config([listener("web", free_port(), default_forward=None, default_fixed_response={"status": 200})],
                       [], admin={"listen": "%s:%d" % (HOST, free_port()),
                                  "tls": {"certificates": ({"cert": str(pki.ip.crt), "key": str(pki.a.key)},)}})
    p = tmp_path / "albd.conf"
    p.write_text(text)
    r = subprocess.run([albd_bin, "-t", "-c", str(p)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=15, text=True)
    assert r.returncode == 1
    assert "admin.tls.certificates.[0].key: " in r.stderr and "does not match" in r.stderr, r.stderr


# ---------------------------------------------------------------------------
# reloads of the listener


def test_reload_moves_the_listener_or_keeps_it_on_failure(albd, backends):
    b1 = backends.start("b1")
    port, p1, p2 = free_port(), free_port(), free_port()
    a = albd.start(admin_config(port, [b1], admin={"listen": "%s:%d" % (HOST, p1)}), port=port)
    # an open keep-alive connection survives the move
    keep = Conn(p1)
    assert keep.request("GET", "/api/v1/target-groups").status == 200
    a.reload(admin_config(port, [b1], admin={"listen": "%s:%d" % (HOST, p2)}))
    wait_until(lambda: port_accepts(p2), 5, what="the new admin port")
    wait_until(lambda: not port_accepts(p1), 5, what="the old admin port to close")
    assert areq(p2, "GET", "/api/v1/target-groups").status == 200
    assert keep.request("GET", "/api/v1/target-groups").status == 200
    keep.close()
    # a port that is taken: the reload goes through, the admin listener stays
    blocker = socket.socket()
    # SO_REUSEADDR: albd's side of the keep-alive connection may still hold
    # the port; a listening socket still keeps albd from binding it
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind((HOST, p1))
    blocker.listen(1)
    try:
        a.reload(admin_config(port, [b1], admin={"listen": "%s:%d" % (HOST, p1)}, name="renamed"))
        wait_until(lambda: "generation 3 is live" in a.log(), 5, what="the reload")
        wait_until(lambda: "the admin listener stays as it was" in a.log(), 5, what="the error")
        assert "admin.listen: cannot listen on %s:%d: Address already in use; the admin listener stays as it " \
            "was" % (HOST, p1) in a.log()
        assert areq(p2, "GET", "/api/v1/target-groups").status == 200
    finally:
        blocker.close()
    # disabled by a reload
    a.reload(admin_config(port, [b1], admin={"enabled": False}))
    wait_until(lambda: not port_accepts(p2), 5, what="the admin listener to close")
    assert get(port, "/ping").status == 200


# ---------------------------------------------------------------------------
# DescribeTargetGroups / DescribeTargetHealth


def test_describe_target_groups(albd, backends):
    b1 = backends.start("b1")
    port = free_port()
    hc = {"path": "/health", "interval": 7, "timeout": 2.5, "healthy_threshold": 3, "unhealthy_threshold": 4,
          "matcher": "200-299", "port": b1.port, "protocol": "HTTP"}
    text = make_config([listener("web", port)],
                       [target_group("tg", [b1], health_check=hc),
                        target_group("lor", ["127.0.0.1:1", "127.0.0.1:2"], "least_outstanding_requests"),
                        target_group("empty", [])])
    a = albd.start(text, port=port)
    groups = a.admin_request("GET", "/api/v1/target-groups").json()["TargetGroups"]
    assert [g["TargetGroupName"] for g in groups] == ["tg", "lor", "empty"]
    tg, lor, empty = groups
    # ELBv2's TargetGroup, as the AWS-protocol DescribeTargetGroups gives it
    # (TargetGroupArn, LoadBalancerArns, ProtocolVersion, in AWS's order);
    # the algorithm is an attribute in ELBv2, not a member
    arn = "arn:aws:elasticloadbalancing:%s:%s:" % (tg["TargetGroupArn"].split(":")[3],
                                                   tg["TargetGroupArn"].split(":")[4])
    assert re.fullmatch(re.escape(arn) + "targetgroup/tg/[0-9a-f]{16}", tg["TargetGroupArn"]), tg
    assert list(tg) == [
        "TargetGroupArn", "TargetGroupName", "Protocol", "Port", "HealthCheckProtocol", "HealthCheckPort",
        "HealthCheckEnabled", "HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds", "HealthyThresholdCount",
        "UnhealthyThresholdCount", "HealthCheckPath", "Matcher", "LoadBalancerArns", "TargetType",
        "ProtocolVersion"]
    assert tg == {
        "TargetGroupArn": tg["TargetGroupArn"],
        "TargetGroupName": "tg", "Protocol": "HTTP", "Port": b1.port, "HealthCheckProtocol": "HTTP",
        "HealthCheckPort": str(b1.port), "HealthCheckEnabled": True, "HealthCheckPath": "/health",
        "HealthCheckIntervalSeconds": 7, "HealthCheckTimeoutSeconds": 2.5, "HealthyThresholdCount": 3,
        "UnhealthyThresholdCount": 4, "Matcher": {"HttpCode": "200-299"},
        "LoadBalancerArns": tg["LoadBalancerArns"], "TargetType": "ip", "ProtocolVersion": "HTTP1"}
    assert len(tg["LoadBalancerArns"]) == 1
    assert re.fullmatch(re.escape(arn) + "loadbalancer/app/[^/]+/[0-9a-f]{16}", tg["LoadBalancerArns"][0]), tg
    # no listener forwards to lor or empty
    assert lor["LoadBalancerArns"] == [] and empty["LoadBalancerArns"] == []
    assert "LoadBalancingAlgorithmType" not in lor
    assert "Port" not in lor    # targets on different ports (albd's groups have no port of their own)
    assert lor["HealthCheckPort"] == "traffic-port"
    assert lor["HealthCheckEnabled"] is False
    assert "Port" not in empty
    r = a.admin_request("GET", "/api/v1/target-groups/nope/health")
    assert_error(r, 404, "TargetGroupNotFound")
    assert "nope" in r.json()["Error"]["Message"]
    # an empty group has no targets
    assert a.admin_request("GET", "/api/v1/target-groups/empty/health").json() == {"TargetHealthDescriptions": []}


def target_health(a, group="tg"):
    r = a.admin_request("GET", "/api/v1/target-groups/%s/health" % group)
    assert r.status == 200, r
    return {"%s:%d" % (d["Target"]["Id"], d["Target"]["Port"]): d for d in r.json()["TargetHealthDescriptions"]}


def test_describe_target_health_states(albd, backends):
    healthy = backends.start("healthy")
    hanging = backends.start("hanging")
    mismatch = backends.start("mismatch", "--health-code", "503")
    dead = "127.0.0.1:%d" % free_port()
    Conn(hanging.port).request("GET", "/control?health_hang=1").body
    port = free_port()
    hc = dict(HC_FAST, interval=2, timeout=1.5)
    a = albd.start(make_config([listener("web", port)],
                               [target_group("tg", [healthy, hanging, mismatch, dead], health_check=hc)]),
                   port=port)
    # at first: initial, with ALB's reason
    th = target_health(a)
    assert set(th) == {healthy.addr, hanging.addr, mismatch.addr, dead}
    assert th[hanging.addr]["TargetHealth"] == {"State": "initial", "Reason": "Elb.InitialHealthChecking",
                                                "Description": "Initial health checks in progress"}
    assert th[hanging.addr]["Target"] == {"Id": "127.0.0.1", "Port": hanging.port}
    assert th[hanging.addr]["HealthCheckPort"] == str(hanging.port)

    def settled():
        th = target_health(a)
        states = {k: v["TargetHealth"]["State"] for k, v in th.items()}
        want = {healthy.addr: "healthy", hanging.addr: "unhealthy", mismatch.addr: "unhealthy",
                dead: "unhealthy"}
        return th if states == want else None

    th = wait_until(settled, 15, interval=0.2, what="the health states")
    assert th[healthy.addr]["TargetHealth"] == {"State": "healthy"}
    assert th[hanging.addr]["TargetHealth"] == {"State": "unhealthy", "Reason": "Target.Timeout",
                                                "Description": "Request timed out"}
    assert th[mismatch.addr]["TargetHealth"] == {
        "State": "unhealthy", "Reason": "Target.ResponseCodeMismatch",
        "Description": "Health checks failed with these codes: [503]"}
    assert th[dead]["TargetHealth"]["Reason"] == "Target.FailedHealthChecks"
    # ALB's text; what failed is in albd's log line
    assert th[dead]["TargetHealth"]["Description"] == "Health checks failed"
    assert "Connection refused" in a.log()
    Conn(hanging.port).request("GET", "/control?health_hang=0")


def test_describe_target_health_draining(albd, backends):
    b1 = backends.start("b1")
    b2 = backends.start("b2")
    port = free_port()
    hc = dict(HC_FAST)
    a = albd.start(make_config([listener("web", port)],
                               [target_group("tg", [b1], health_check=hc, deregistration_delay=30)]), port=port)
    wait_until(lambda: target_health(a)[b1.addr]["TargetHealth"]["State"] == "healthy", 10, interval=0.1,
               what="b1 healthy")
    result = {}

    def slow():
        result["r"] = get(port, "/sleep?ms=4000", timeout=20)

    t = threading.Thread(target=slow, daemon=True)
    t.start()
    wait_until(lambda: b1.stats()["heads"] >= 1, 5, what="the slow request on b1")
    a.reload(make_config([listener("web", port)],
                         [target_group("tg", [b2], health_check=hc, deregistration_delay=30)]))
    wait_until(lambda: "generation 2 is live" in a.log(), 5, what="the reload")
    th = target_health(a)
    assert set(th) == {b1.addr, b2.addr}
    assert th[b1.addr]["TargetHealth"] == {"State": "draining", "Reason": "Target.DeregistrationInProgress",
                                           "Description": "Target deregistration is in progress"}
    assert th[b2.addr]["TargetHealth"]["State"] in ("initial", "healthy")
    t.join(20)
    assert result["r"].status == 200
    # drained: no longer listed
    wait_until(lambda: set(target_health(a)) == {b2.addr}, 5, interval=0.1, what="b1 gone")


def test_token_guessing_is_throttled_and_logged(tokened):
    """20 wrong tokens from one address within a minute: that address gets
    429 with Retry-After for a minute, even with the right token; every
    failure is logged. Requests without a token are refused, not counted."""
    aport = tokened.admin_port
    for _ in range(5):
        assert_error(areq(aport, "GET", "/api/v1/target-groups"), 401, "Unauthorized")
    for i in range(19):
        r = areq(aport, "GET", "/api/v1/target-groups", headers={"Authorization": "Bearer guess%d" % i})
        assert_error(r, 401, "Unauthorized")
    assert areq(aport, "GET", "/api/v1/target-groups", token=TOKEN).status == 200
    r = areq(aport, "GET", "/api/v1/target-groups", headers={"Authorization": "Bearer guess-last"})
    assert_error(r, 401, "Unauthorized")
    r = areq(aport, "GET", "/api/v1/target-groups", token=TOKEN)
    assert_error(r, 429, "Throttling")
    assert 1 <= int(r.header("Retry-After")) <= 60, r
    log = tokened.log()
    assert "a wrong token from 127.0.0.1" in log and "refused for 60 s" in log
    # /metrics without a token stays open (metrics_token is off)
    assert areq(aport, "GET", "/metrics").status == 200
