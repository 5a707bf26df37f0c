"""How albd reads TLS (issue 15): OpenSSL reads ahead and albd stops
reading after a short read of the socket when OpenSSL holds nothing more.
Requests must still arrive whole however their records are cut: several
requests in one write, a record split across TCP segments with a pause
between them, records that each hold a few bytes of a head."""
import socket
import ssl
import time

import pytest

from conftest import HOST, free_port
from test_90_tls import client_ctx, pki, tls_config  # noqa: F401 (pki is a fixture)

pytestmark = pytest.mark.timeout_s(60)


class RawTLS:
    """A TLS client over a plain socket through memory BIOs, so the test
    decides how the encrypted bytes are cut into TCP sends."""

    def __init__(self, port, ctx, name):
        self.sock = socket.create_connection((HOST, port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_hostname=name)
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.flush()
                self.fill()
        self.flush()

    def flush(self, cut=None, pause=0.0):
        """Send what OpenSSL wrote, in pieces of CUT bytes, PAUSE s apart."""
        data = self.out.read()
        step = cut or len(data) or 1
        for i in range(0, len(data), step):
            self.sock.sendall(data[i:i + step])
            if pause:
                time.sleep(pause)

    def fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise ConnectionError("albd closed")
        self.inc.write(d)

    def write(self, data):
        self.obj.write(data)

    def responses(self, n):
        """Read N complete responses with Content-Length; their bodies."""
        buf, bodies = b"", []
        deadline = time.monotonic() + 20
        while len(bodies) < n:
            assert time.monotonic() < deadline, (buf, bodies)
            try:
                buf += self.obj.read(65536)
            except ssl.SSLWantReadError:
                self.fill()
                continue
            while b"\r\n\r\n" in buf:
                head, rest = buf.split(b"\r\n\r\n", 1)
                assert head.startswith(b"HTTP/1.1 200 "), head
                length = int([ln.split(b":", 1)[1] for ln in head.split(b"\r\n")
                              if ln.lower().startswith(b"content-length:")][0])
                if len(rest) < length:
                    break
                bodies.append(rest[:length])
                buf = rest[length:]
        return bodies

    def close(self):
        self.sock.close()


def request(path):
    return b"GET %s HTTP/1.1\r\nHost: a.test\r\n\r\n" % path


@pytest.fixture
def tls_albd(albd, backends, pki):  # noqa: F811
    b1 = backends.start("b1")
    port = free_port()
    albd.start(tls_config(port, [pki.a], [b1]), port=port)
    return port


def test_pipelined_requests_in_one_write(tls_albd, pki):  # noqa: F811
    c = RawTLS(tls_albd, client_ctx(pki), "a.test")
    # three requests, three records, one TCP send
    for p in (b"/name", b"/echo-headers", b"/name"):
        c.write(request(p))
    c.flush()
    bodies = c.responses(3)
    assert bodies[0] == b"b1" and bodies[2] == b"b1", bodies
    assert b'"target": "/echo-headers"' in bodies[1] or b'"/echo-headers"' in bodies[1], bodies[1]
    # and again on the same connection: nothing was left unread
    c.write(request(b"/name"))
    c.flush()
    assert c.responses(1) == [b"b1"]
    c.close()


def test_record_split_across_segments(tls_albd, pki):  # noqa: F811
    c = RawTLS(tls_albd, client_ctx(pki), "a.test")
    for cut in (1, 3, 7, 40):
        c.write(request(b"/name"))
        # the record arrives in pieces of CUT bytes, 20 ms apart: each
        # read albd makes is short, most end inside the record
        c.flush(cut=cut, pause=0.02 if cut >= 7 else 0.002)
        assert c.responses(1) == [b"b1"], cut
    c.close()


def test_head_spread_over_many_records(tls_albd, pki):  # noqa: F811
    c = RawTLS(tls_albd, client_ctx(pki), "a.test")
    req = request(b"/name")
    for i in range(0, len(req), 5):
        c.write(req[i:i + 5])   # one record per 5 bytes of the head
        c.flush()
        time.sleep(0.005)
    assert c.responses(1) == [b"b1"]
    # records for two requests, the second cut in the middle of its head
    both = request(b"/name") + request(b"/name")
    c.write(both[:len(both) - 10])
    c.flush()
    time.sleep(0.05)
    c.write(both[len(both) - 10:])
    c.flush()
    assert c.responses(2) == [b"b1", b"b1"]
    c.close()


def test_pipelined_records_beyond_the_read_limit_behind_a_slow_request(tls_albd, pki):  # noqa: F811
    """A slow request, then more small records than albd reads at once
    (its input stops at the buffer size while the slow exchange runs), then
    one more request sent during the slow exchange: when the slow answer
    is out, albd goes on with the records OpenSSL holds and must still read
    the socket for the last request (no new edge will tell it)."""
    c = RawTLS(tls_albd, client_ctx(pki), "a.test")
    c.write(request(b"/sleep?ms=600"))
    n = 1500   # about 90 KB of records: more than the 64 KiB buffer
    for _ in range(n):
        c.write(request(b"/name"))
    c.flush()
    time.sleep(0.2)   # the slow exchange is under way
    c.write(request(b"/name"))
    c.flush()
    bodies = c.responses(n + 2)
    assert bodies[0] == b"slept 600", bodies[0]
    assert bodies[1:] == [b"b1"] * (n + 1)
    c.close()
