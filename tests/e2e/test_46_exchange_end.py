"""Every request ends through exchange_end() exactly once, however it ends.

albd started with -d writes one "exchange end:" debug line from
exchange_end(), the single place where requests are counted. Each test
drives one way of ending through the real binary and checks that exactly
the expected lines appear, with ALB's status and error_reason words."""
import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import time

import pytest

from conftest import Albd, Conn, free_port, get, listener, make_config, port_accepts, target_group, wait_until

LINE = re.compile(r'exchange end: worker=(\d+) seq=(\d+) client=(\S+) "(\S*) (\S*)" status=(\d+) '
                  r'target_status=(\d+) target=(\S+) outcome=(\S+) retries=(\d+) bytes_in=(\d+) '
                  r'bytes_out=(\d+) time_us=(\d+) target_time_us=(\d+)')


class DebugAlbd(Albd):
    """albd with -d (debug log), otherwise started as conftest's Albd."""

    def start(self, timeout=10):
        self.proc = subprocess.Popen([self.bin, "-d", "-c", str(self.config_path)],
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log)
        wait_until(lambda: self.proc.poll() is not None or all(port_accepts(p, 0.2) for p in self.ports.values()),
                   timeout, what="albd listening")
        assert self.proc.poll() is None, self.log()
        return self

    def ends(self):
        out = []
        for m in LINE.finditer(self.log()):
            out.append({"worker": int(m.group(1)), "seq": int(m.group(2)), "method": m.group(4),
                        "uri": m.group(5), "status": int(m.group(6)), "target_status": int(m.group(7)),
                        "target": m.group(8), "outcome": m.group(9), "retries": int(m.group(10)),
                        "bytes_in": int(m.group(11)), "bytes_out": int(m.group(12)),
                        "time_us": int(m.group(13)), "target_time_us": int(m.group(14))})
        return out

    def wait_ends(self, n, timeout=10):
        wait_until(lambda: len(self.ends()) >= n, timeout, what="%d exchange end lines" % n)
        time.sleep(0.2)    # nothing more may come
        ends = self.ends()
        assert len(ends) == n, "expected %d exchange ends, got %d:\n%s" % (n, len(ends), "\n".join(map(str, ends)))
        # sequence numbers per worker: each request counted once
        for w in {e["worker"] for e in ends}:
            seqs = [e["seq"] for e in ends if e["worker"] == w]
            assert seqs == list(range(1, len(seqs) + 1)), seqs
        return ends


@pytest.fixture
def dalbd(tmp_path, backends, request):
    started = []

    def start(targets=None, tg_opts=None, timeouts=None, workers=1, rules=None, limits=None):
        b1 = backends.start("b1") if targets is None else None
        port = free_port()
        ts = targets if targets is not None else [b1]
        lst = listener("web", port, "tg") if rules is None else listener("web", port, "tg", rules=rules)
        cfg = make_config([lst], [target_group("tg", ts, **(tg_opts or {}))], workers=workers, timeouts=timeouts,
                          limits=limits)
        a = DebugAlbd(tmp_path, cfg, {"web": port}, name="albd%d" % len(started))
        started.append(a)
        a.start()
        a.b1 = b1
        return a

    yield start
    try:
        for a in started:
            if a.alive():
                counted_like_ends(a)
    finally:
        for a in started:
            a.close()


def lb_value(text, name):
    """The load balancer's own series of NAME (the one with no target group)."""
    m = re.search(r'(?m)^%s\{load_balancer="[^"]*"\} (\S+)$' % re.escape(name), text)
    return float(m.group(1)) if m else None


def counted_like_ends(a):
    """The metrics count what exchange_end() saw: one RequestCount per
    "exchange end" line (nothing twice, nothing missed, whichever way the
    request ended), retries and target status classes alike."""
    ends = a.ends()
    want = {
        "albd_requests_total": len(ends),
        "albd_retried_requests_total": sum(1 for e in ends if e["retries"]),
        "albd_target_http_2xx_total": sum(1 for e in ends if 200 <= e["target_status"] < 300),
        "albd_target_http_5xx_total": sum(1 for e in ends if 500 <= e["target_status"] < 600),
        "albd_elb_http_5xx_total": sum(1 for e in ends if e["status"] >= 500 and e["target_status"] == 0),
    }
    got = {}

    def same():
        text = a.admin_request("GET", "/metrics").body.decode()
        for k in want:
            got[k] = lb_value(text, k)
        return got == want
    try:
        wait_until(same, 10, interval=0.2, what="metrics equal to the exchange ends")
    except Exception:
        raise AssertionError("metrics %s, exchange ends %s" % (got, want))


def test_answered_requests_end_once_each(dalbd):
    a = dalbd()
    with Conn(a.port) as c:
        for i in range(3):
            assert c.request("GET", "/name?i=%d" % i).status == 200
        r = c.request("POST", "/upload", body=b"x" * 1000)
        assert r.status == 200
        assert c.request("GET", "/ping").body == b"pong\n"
    ends = a.wait_ends(5)
    assert [e["outcome"] for e in ends] == ["-"] * 5
    assert [e["status"] for e in ends] == [200] * 5
    assert ends[0]["uri"] == "/name?i=0" and ends[0]["method"] == "GET"
    assert ends[0]["target"] == a.b1.addr and ends[0]["target_status"] == 200
    assert ends[3]["bytes_in"] > 1000 and ends[3]["method"] == "POST"
    # the fixed response: albd's own, no target
    assert ends[4]["target"] == "-" and ends[4]["target_status"] == 0
    # a fine clock: the target's time is measured in microseconds, not ticks
    assert all(0 < e["target_time_us"] <= e["time_us"] for e in ends[:4]), ends


def test_pipelined_requests_end_once_each(dalbd):
    a = dalbd()
    with Conn(a.port) as c:
        c.send(b"".join(Conn.build("GET", "/name?p=%d" % i) for i in range(10)))
        for _ in range(10):
            assert c.read_response().status == 200
    ends = a.wait_ends(10)
    assert [e["uri"] for e in ends] == ["/name?p=%d" % i for i in range(10)]


def test_bad_head_ends_once(dalbd):
    a = dalbd()
    with Conn(a.port) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n")
        assert c.read_response().status == 400
    ends = a.wait_ends(1)
    assert ends[0]["status"] == 400 and ends[0]["outcome"] == "ClientBadRequest"


def test_header_timeout_ends_once(dalbd):
    a = dalbd(timeouts={"client_header": 1})
    with Conn(a.port) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: a\r\n")
        assert c.read_response().status == 408
    ends = a.wait_ends(1)
    assert ends[0]["status"] == 408 and ends[0]["outcome"] == "ClientTimeout"


def test_connect_refused_ends_once(dalbd):
    a = dalbd(targets=["127.0.0.1:%d" % free_port()])
    assert get(a.port, "/x").status == 502
    ends = a.wait_ends(1)
    assert ends[0]["status"] == 502 and ends[0]["outcome"] == "TargetConnectionError"
    assert ends[0]["target_status"] == 0


def test_retry_then_success_ends_once(dalbd, backends):
    b1 = backends.start("b1")
    dead = "127.0.0.1:%d" % free_port()
    a = dalbd(targets=[dead, b1])
    statuses = [get(a.port, "/name").status for _ in range(4)]
    assert statuses == [200] * 4
    ends = a.wait_ends(4)
    # the request whose first try hit the dead target ends once, as a success
    assert [e["outcome"] for e in ends] == ["-"] * 4
    assert sum(e["retries"] for e in ends) >= 1, ends


def test_response_timeout_ends_once(dalbd):
    a = dalbd(tg_opts={"response_timeout": 1})
    assert get(a.port, "/sleep?ms=3000").status == 504
    ends = a.wait_ends(1)
    assert ends[0]["status"] == 504 and ends[0]["outcome"] == "TargetResponseTimeout"


def test_target_lost_mid_response_ends_once(dalbd):
    a = dalbd()
    with Conn(a.port, timeout=5) as c:
        c.send(Conn.build("GET", "/bad?kind=truncated"))
        with pytest.raises(Exception):
            c.read_response()
    ends = a.wait_ends(1)
    assert ends[0]["status"] == 200 and ends[0]["outcome"] == "TargetConnectionClosed"


def test_invalid_response_ends_once(dalbd):
    a = dalbd()
    assert get(a.port, "/bad?kind=no_status").status == 502
    ends = a.wait_ends(1)
    assert ends[0]["status"] == 502 and ends[0]["outcome"] == "TargetResponseError"


def test_client_abort_mid_response_ends_once(dalbd):
    a = dalbd()
    s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(Conn.build("GET", "/download?size=50000000&seed=1"))
    s.recv(100)    # the response has begun
    # reset, not a polite close: the client is gone
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    ends = a.wait_ends(1)
    assert ends[0]["status"] == 200 and ends[0]["outcome"] == "ClientClosed"
    assert ends[0]["bytes_out"] < 50000000


def test_client_gone_before_response_ends_once(dalbd):
    a = dalbd()
    s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
    s.sendall(Conn.build("GET", "/sleep?ms=1500"))
    wait_until(lambda: a.b1.stats()["heads"] >= 1, 5, what="the request at the backend")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    ends = a.wait_ends(1)
    assert ends[0]["status"] == 0 and ends[0]["outcome"] == "ClientClosed"


def test_tunnel_ends_once(dalbd):
    a = dalbd()
    with Conn(a.port, timeout=10) as c:
        c.send(b"GET /upgrade HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\n"
               b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n")
        assert c.read_response(allow_interim=True).status == 101
        c.sock.shutdown(socket.SHUT_WR)
        while c.sock.recv(4096):
            pass
    ends = a.wait_ends(1)
    assert ends[0]["status"] == 101 and ends[0]["outcome"] == "-"


def test_drain_timeout_close_all_ends_once(dalbd):
    a = dalbd(timeouts={"drain": 1})
    busy = Conn(a.port, timeout=10)
    idle = Conn(a.port, timeout=10)
    try:
        assert idle.request("GET", "/name").status == 200
        busy.send(Conn.build("GET", "/sleep?ms=5000"))
        wait_until(lambda: a.b1.stats()["heads"] >= 2, 5, what="the slow request at the backend")
        a.send_signal(signal.SIGTERM)
        assert a.proc.wait(timeout=10) == 0
    finally:
        busy.close()
        idle.close()
    ends = a.wait_ends(2)
    assert ends[0]["outcome"] == "-"
    # the idle connection closed without a request; the busy one was cut
    assert ends[1]["outcome"] == "ShuttingDown" and ends[1]["status"] == 0


def test_request_too_large_ends_once(dalbd):
    a = dalbd(limits={"max_body_size": 100})
    with Conn(a.port) as c:
        assert c.request("POST", "/upload", body=b"x" * 1000).status == 413
    ends = a.wait_ends(1)
    assert ends[0]["status"] == 413 and ends[0]["outcome"] == "ClientBodyTooLarge"


def self_signed(tmp_path):
    crt, key = tmp_path / "site.crt", tmp_path / "site.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(crt), "-days", "30", "-subj", "/CN=a.test",
                    "-addext", "subjectAltName=DNS:a.test"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    os.chmod(key, 0o600)
    return crt, key


def test_tls_handshake_never_finished_is_no_request(tmp_path, backends):
    """A client that connects to an HTTPS listener and stalls in (or before)
    its handshake is closed at client_header without a request: no 408
    written into a half-made TLS session, and nothing counted as one."""
    b1 = backends.start("b1")
    crt, key = self_signed(tmp_path)
    port = free_port()
    tls = {"certificates": ({"cert": str(crt), "key": str(key)},)}
    cfg = make_config([listener("web", port, "tg", tls=tls)], [target_group("tg", [b1])],
                      timeouts={"client_header": 1})
    a = DebugAlbd(tmp_path, cfg, {"web": port})
    try:
        a.start()
        stalled = socket.create_connection(("127.0.0.1", port), timeout=5)
        stalled.sendall(b"\x16\x03\x01")   # the start of a ClientHello, then nothing
        assert stalled.recv(100) == b""     # closed by albd after client_header
        stalled.close()
        # a real HTTPS request is one exchange
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5),
                             server_hostname="a.test") as t:
            t.sendall(Conn.build("GET", "/name", headers={"Connection": "close"}))
            data = b""
            while True:
                chunk = t.recv(4096)
                if not chunk:
                    break
                data += chunk
        assert data.startswith(b"HTTP/1.1 200"), data[:100]
        ends = a.wait_ends(1)
        assert ends[0]["status"] == 200 and ends[0]["uri"] == "/name"
        assert "TLS handshake not finished" in a.log()
    finally:
        a.close()


def read_to_eof(s, timeout):
    """Everything S receives until the peer closes; raises socket.timeout
    when it has not closed within TIMEOUT seconds."""
    s.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def split_responses(data):
    """[(status, head)] of the responses in DATA (bodies by Content-Length)."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, data[:200]
        status = int(head.split(b" ", 2)[1])
        m = re.search(rb"(?im)^content-length: *(\d+)", head)
        n = int(m.group(1)) if m else 0
        out.append((status, head.decode("latin-1")))
        data = rest[n:]
    return out


def test_pipelined_then_half_close_all_answered(dalbd):
    """Pipelined requests followed by a half-close are all answered in
    order and counted, as nginx and HAProxy do; the last answer closes."""
    a = dalbd()
    s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
    try:
        s.sendall(Conn.build("GET", "/sleep?ms=200") + Conn.build("GET", "/status?code=201") +
                  Conn.build("GET", "/ping"))
        s.shutdown(socket.SHUT_WR)
        t0 = time.monotonic()
        got = split_responses(read_to_eof(s, 5))
        took = time.monotonic() - t0
    finally:
        s.close()
    assert [st for st, _ in got] == [200, 201, 200], got
    assert re.search(r"(?im)^connection: close", got[-1][1]), got[-1][1]
    assert took < 3, took   # closed after the last answer, not at a timeout
    ends = a.wait_ends(3)
    assert [(e["uri"], e["status"], e["outcome"]) for e in ends] == [
        ("/sleep?ms=200", 200, "-"), ("/status?code=201", 201, "-"), ("/ping", 200, "-")]
    assert a.b1.stats()["paths"] == {"/sleep": 1, "/status": 1}


def test_half_close_drops_an_incomplete_trailing_request(dalbd):
    """The complete requests before a half-close are answered; a partial
    head after them is dropped unanswered and uncounted."""
    a = dalbd()
    s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
    try:
        s.sendall(Conn.build("GET", "/name?i=1") + Conn.build("GET", "/sleep?ms=100") +
                  b"GET /name?i=3 HTTP/1.1\r\nHost: a")
        s.shutdown(socket.SHUT_WR)
        got = split_responses(read_to_eof(s, 5))
    finally:
        s.close()
    assert [st for st, _ in got] == [200, 200], got
    ends = a.wait_ends(2)
    assert [e["uri"] for e in ends] == ["/name?i=1", "/sleep?ms=100"]


def test_half_close_with_nothing_more_closes_at_once(dalbd):
    """A client that half-closes with nothing unanswered is closed at once
    (not at client_keepalive), whether it waits between requests or
    half-closes right after its request."""
    a = dalbd()
    with Conn(a.port) as c:
        assert c.request("GET", "/name").status == 200
        c.sock.shutdown(socket.SHUT_WR)
        t0 = time.monotonic()
        assert read_to_eof(c.sock, 5) == b""
        assert time.monotonic() - t0 < 2
    with Conn(a.port) as c:
        c.send(Conn.build("GET", "/sleep?ms=300"))
        c.sock.shutdown(socket.SHUT_WR)
        got = split_responses(read_to_eof(c.sock, 5))
        assert [st for st, _ in got] == [200], got
        assert re.search(r"(?im)^connection: close", got[0][1]), got
    ends = a.wait_ends(2)
    assert [e["outcome"] for e in ends] == ["-", "-"]


def test_reset_after_pipelined_requests_is_not_waited_on(dalbd):
    """A client that resets its connection is gone: the request in flight
    ends at once as ClientClosed and the pipelined ones behind it are
    neither forwarded nor counted."""
    a = dalbd()
    s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
    s.sendall(Conn.build("GET", "/sleep?ms=1500") + Conn.build("GET", "/name?i=2") +
              Conn.build("GET", "/name?i=3"))
    wait_until(lambda: a.b1.stats()["heads"] >= 1, 5, what="the request at the backend")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    ends = a.wait_ends(1)
    assert ends[0]["outcome"] == "ClientClosed" and ends[0]["status"] == 0, ends
    assert ends[0]["time_us"] < 1200000, ends   # ended by the reset, not by the answer
    time.sleep(1.5)
    assert a.b1.stats()["heads"] == 1
    assert len(a.ends()) == 1


def test_refused_heads_count_their_bytes(dalbd):
    """A head albd refuses is a request all the same, and the bytes it
    read of it count (bytes_in, ProcessedBytes): 414, 431, 408."""
    a = dalbd(timeouts={"client_header": 1})
    long_line = b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n"
    many = b"GET / HTTP/1.1\r\nHost: a\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(150)) + b"\r\n"
    partial = b"GET /name HTTP/1.1\r\nHost: a\r\nX-Long: " + b"v" * 500
    got = []
    for data in (long_line, many, partial):
        with Conn(a.port) as c:
            c.send(data)
            r = c.read_response()
            got.append((r.status, len(r.raw_head) + len(r.body)))
    assert [st for st, _ in got] == [414, 431, 408], got
    ends = a.wait_ends(3)
    assert [e["status"] for e in ends] == [414, 431, 408]
    assert 8192 < ends[0]["bytes_in"] <= len(long_line), ends[0]
    assert 0 < ends[1]["bytes_in"] <= len(many), ends[1]
    assert ends[2]["bytes_in"] == len(partial), ends[2]
    assert [e["bytes_out"] for e in ends] == [n for _, n in got]


def test_relayed_100_continue_counts_in_bytes_out(dalbd):
    """The 100 Continue albd relays is part of what it sent: bytes_out is
    every byte the client received, bytes_in every byte it sent."""
    a = dalbd()
    with Conn(a.port, timeout=10) as c:
        head = Conn.build("POST", "/upload", [("Content-Length", "5"), ("Expect", "100-continue"),
                                              ("Connection", "close")])
        c.send(head)
        interim = c.read_response(allow_interim=True)
        assert interim.status == 100, interim
        c.send(b"hello")
        r = c.read_response()
        assert r.status == 200, r
    received = len(interim.raw_head) + len(r.raw_head) + len(r.body)
    ends = a.wait_ends(1)
    assert ends[0]["bytes_out"] == received, (ends[0], received)
    assert ends[0]["bytes_in"] == len(head) + 5, ends[0]
