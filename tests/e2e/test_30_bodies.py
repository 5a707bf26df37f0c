"""Request and response bodies: big streams both ways, slow readers,
Expect: 100-continue, bodiless responses, HTTP/1.0 clients."""
import hashlib
import itertools
import json
import subprocess
import time

import pytest

import backend as backend_mod
from conftest import Conn, expected_sha, free_port, simple_config

MB = 1024 * 1024
BIG = 100 * MB


def upload(port, size, seed, chunked, extra_headers=()):
    h = hashlib.sha256()
    with Conn(port, timeout=30) as c:
        hdrs = list(extra_headers)
        hdrs.append(("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(size)))
        hdrs.append(("Content-Type", "application/octet-stream"))
        c.send(Conn.build("POST", "/upload", hdrs))
        off = 0
        # odd chunk sizes, some tiny, some large
        sizes = itertools.cycle([MB, 65536, 17, 1000003, 4096, 1, 300000])
        while off < size:
            n = min(next(sizes) if chunked else MB, size - off)
            piece = backend_mod.pattern_slice(seed, off, n)
            h.update(piece)
            if chunked:
                c.send(b"%x\r\n" % n + bytes(piece) + b"\r\n")
            else:
                c.send(piece)
            off += n
        if chunked:
            c.send(b"0\r\n\r\n")
        r = c.read_response()
    assert r.status == 200, r
    return r.json(), h.hexdigest()


@pytest.mark.timeout_s(90)
def test_upload_100mb_content_length(one_backend):
    t0 = time.monotonic()
    got, sha = upload(one_backend.port, BIG, "up-cl", chunked=False)
    assert got["length"] == BIG
    assert got["sha256"] == sha
    assert time.monotonic() - t0 < 60


@pytest.mark.timeout_s(90)
def test_upload_100mb_chunked(one_backend):
    t0 = time.monotonic()
    got, sha = upload(one_backend.port, BIG, "up-ch", chunked=True)
    assert got["length"] == BIG
    assert got["sha256"] == sha
    assert time.monotonic() - t0 < 60


@pytest.mark.timeout_s(90)
def test_uploads_on_new_upstream_connections(albd, backends):
    """Big uploads, each on a new upstream connection (no pooling), so the
    body starts arriving while albd is still connecting to the target."""
    b1 = backends.start("b1")
    port = free_port()
    albd.start(simple_config(port, [b1], tg_opts={"keepalive_max_idle": 0, "response_timeout": 5}),
               port=port)
    for i in range(20):
        t0 = time.monotonic()
        got, sha = upload(port, 20 * MB, "new%d" % i, chunked=bool(i % 2))
        assert got["length"] == 20 * MB and got["sha256"] == sha, (i, got)
        assert time.monotonic() - t0 < 8, "upload %d took %.1f s" % (i, time.monotonic() - t0)


def test_slow_upload_not_cut_by_response_timeout(albd, backends):
    """response_timeout is the wait for the target's answer: a client still
    sending its body (slowly, but steadily) is not timed out by it."""
    b1 = backends.start("b1")
    port = free_port()
    albd.start(simple_config(port, [b1], tg_opts={"response_timeout": 1}), port=port)
    body = bytes(backend_mod.pattern_slice("slowup", 0, 200000))
    with Conn(port, timeout=10) as c:
        c.send(Conn.build("POST", "/upload", [("Content-Length", str(len(body)))]))
        for i in range(0, len(body), 10000):  # 20 pieces over ~3 s
            c.send(body[i:i + 10000])
            time.sleep(0.15)
        r = c.read_response()
        assert r.status == 200, r
        assert r.json()["sha256"] == hashlib.sha256(body).hexdigest()


@pytest.mark.timeout_s(90)
@pytest.mark.parametrize("chunked", [0, 1], ids=["content-length", "chunked"])
def test_download_100mb(one_backend, chunked):
    t0 = time.monotonic()
    with Conn(one_backend.port, timeout=30) as c:
        r = c.request("GET", "/download?size=%d&chunked=%d&seed=dl%d" % (BIG, chunked, chunked),
                      keep_body=False)
        assert r.status == 200, r
        assert r.body_len == BIG
        assert r.sha256 == expected_sha(BIG, "dl%d" % chunked)
        # the connection stays usable after the big body
        assert c.request("GET", "/name").status == 200
    assert time.monotonic() - t0 < 60


def test_download_odd_chunk_sizes(one_backend):
    with Conn(one_backend.port) as c:
        for size, step in ((1, 1), (1000, 7), (300000, 65535), (3 * MB + 5, 1000003)):
            r = c.request("GET", "/download?size=%d&chunked=1&seed=o&chunk=%d" % (size, step))
            assert r.status == 200 and r.body_len == size, r
            assert r.sha256 == expected_sha(size, "o")


@pytest.mark.timeout_s(90)
def test_slow_reader_50mb(one_backend):
    size = 50 * MB
    with Conn(one_backend.port, timeout=30, rcvbuf=32768) as c:
        c.send(Conn.build("GET", "/download?size=%d&chunked=0&seed=slow" % size))
        # read a trickle for 4 s: albd must apply backpressure, not lose bytes
        end = time.monotonic() + 4
        while time.monotonic() < end:
            data = c.sock.recv(8192)
            assert data, "connection closed during the slow phase"
            c.buf += data
            time.sleep(0.05)
        r = c.read_response(keep_body=False)
        assert r.status == 200, r
        assert r.body_len == size
        assert r.sha256 == expected_sha(size, "slow")


def test_expect_100_continue(one_backend):
    body = bytes(backend_mod.pattern_slice("e", 0, MB))
    with Conn(one_backend.port, timeout=5) as c:
        c.send(Conn.build("POST", "/upload", [("Content-Length", str(len(body))),
                                               ("Expect", "100-continue")]))
        r = c.read_response(allow_interim=True)
        assert r.status == 100, r
        c.send(body)
        r = c.read_response()
        assert r.status == 200, r
        assert r.json()["sha256"] == hashlib.sha256(body).hexdigest()
        # still usable
        assert c.request("GET", "/name").status == 200


def test_expect_100_continue_backend_silent(albd, backends):
    """A target that never sends 100: the client that gives up waiting and
    sends its body (as curl does after 1 s) still gets the right answer."""
    b1 = backends.start("b1", "--no-continue")
    port = free_port()
    albd.start(simple_config(port, [b1]), port=port)
    body = b"x" * 100000
    with Conn(port, timeout=10) as c:
        c.send(Conn.build("POST", "/upload", [("Content-Length", str(len(body))),
                                               ("Expect", "100-continue")]))
        c.settimeout(1.5)
        try:
            r = c.read_response(allow_interim=True)
            assert r.status == 100, r
        except OSError:  # timeout: no 100 Continue; send anyway
            pass
        c.settimeout(10)
        c.send(body)
        r = c.read_response()
        assert r.status == 200, r
        assert r.json()["length"] == len(body)


def test_expect_100_continue_curl(one_backend, tmp_path):
    f = tmp_path / "up.bin"
    data = bytes(backend_mod.pattern_slice("curl", 0, 3 * 1000 * 1000 // 3))
    f.write_bytes(data * 3)
    r = subprocess.run(["/usr/bin/curl", "-sS", "-v", "--max-time", "20", "--expect100-timeout", "10",
                        "-H", "Expect: 100-continue", "--data-binary", "@%s" % f,
                        "http://127.0.0.1:%d/upload" % one_backend.port],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert b"< HTTP/1.1 100" in r.stderr, r.stderr.decode(errors="replace")
    assert json.loads(r.stdout)["sha256"] == hashlib.sha256(data * 3).hexdigest()


def test_head_has_no_body(one_backend):
    with Conn(one_backend.port) as c:
        for q in ("size=1000&chunked=0", "size=1000&chunked=1", "size=0&chunked=0"):
            r = c.request("HEAD", "/download?" + q)
            assert r.status == 200 and r.body == b"", r
        r = c.request("HEAD", "/name")
        assert r.status == 200 and r.header("Content-Length") == "2"
        # a leaked body would break the next response's framing
        r = c.request("GET", "/name")
        assert r.status == 200 and r.body == b"b1", r
        assert c.closed_by_peer(0.3) is False


def test_204_304_no_body_keepalive(one_backend):
    with Conn(one_backend.port) as c:
        t0 = time.monotonic()
        for q in ("code=204", "code=304", "code=304&cl=10", "code=204"):
            r = c.request("GET", "/status?" + q)
            assert r.status == int(q[5:8]) and r.body == b"", r
        r = c.request("GET", "/name")
        assert r.status == 200 and r.body == b"b1", r
        assert time.monotonic() - t0 < 3, "albd waited for a body after 204/304"
        assert c.closed_by_peer(0.3) is False


def test_other_statuses_pass_through(one_backend):
    with Conn(one_backend.port) as c:
        for code in (201, 301, 404, 429, 500, 503):
            r = c.request("GET", "/status?code=%d" % code)
            assert r.status == code and r.body == b"status %d" % code, r


def test_zero_length_bodies(one_backend):
    with Conn(one_backend.port) as c:
        r = c.request("POST", "/upload", body=b"")
        assert r.status == 200 and r.json()["length"] == 0, r
        r = c.request("POST", "/upload")  # no Content-Length, no Transfer-Encoding: no body
        assert r.status == 200 and r.json()["length"] == 0, r
        r = c.request("POST", "/upload", headers={"Transfer-Encoding": "chunked"}, body=b"0\r\n\r\n")
        assert r.status == 200 and r.json()["length"] == 0, r


def test_http10_client_closed_after(one_backend):
    with Conn(one_backend.port) as c:
        r = c.request("GET", "/name", version="HTTP/1.0")
        assert r.status == 200 and r.body == b"b1", r
        assert r.version in ("HTTP/1.0", "HTTP/1.1")
        assert c.closed_by_peer(5), "HTTP/1.0 request without keep-alive: connection left open"


def test_http10_without_host(one_backend):
    with Conn(one_backend.port) as c:
        r = c.request("GET", "/name", version="HTTP/1.0", host=None)
        assert r.status == 200 and r.body == b"b1", r


def test_http10_keepalive(one_backend):
    with Conn(one_backend.port) as c:
        r = c.request("GET", "/name", version="HTTP/1.0", headers={"Connection": "keep-alive"})
        assert r.status == 200 and r.body == b"b1", r
        if r.has_token("Connection", "keep-alive"):
            r = c.request("GET", "/name?tag=2", version="HTTP/1.0", headers={"Connection": "keep-alive"})
            assert r.status == 200 and r.header("X-Tag") == "2", r
        else:
            assert c.closed_by_peer(5)


def test_http10_gets_no_chunked(one_backend):
    size = 300000
    with Conn(one_backend.port) as c:
        r = c.request("GET", "/download?size=%d&chunked=1&seed=h10" % size, version="HTTP/1.0")
        assert r.status == 200, r
        assert not r.all("Transfer-Encoding"), "chunked response sent to an HTTP/1.0 client"
        assert r.body_len == size and r.sha256 == expected_sha(size, "h10")


@pytest.mark.parametrize("version", ["HTTP/1.1", "HTTP/1.0"])
def test_response_delimited_by_close(one_backend, version):
    """A target response without Content-Length or chunked ends at the close:
    albd forwards all of it, framed so the client knows where it ends."""
    size = 2 * MB + 3
    with Conn(one_backend.port, timeout=10) as c:
        r = c.request("GET", "/eof-body?size=%d&seed=eof" % size, version=version)
        assert r.status == 200, r
        assert r.body_len == size and r.sha256 == expected_sha(size, "eof")
        if version == "HTTP/1.0":
            assert not r.all("Transfer-Encoding")
        if getattr(r, "close_delimited", False):
            assert c.closed_by_peer(1)
        elif version == "HTTP/1.1" and not r.has_token("Connection", "close"):
            # framed with chunked or Content-Length: the connection goes on
            r = c.request("GET", "/name")
            assert r.status == 200 and r.body == b"b1", r


def test_chunk_extensions_and_trailers(one_backend):
    with Conn(one_backend.port) as c:
        for q in ("ext=1", "trailer=1", "ext=1&trailer=1"):
            r = c.request("GET", "/download?size=100000&chunked=1&chunk=3000&seed=t&" + q)
            assert r.status == 200, r
            assert r.body_len == 100000 and r.sha256 == expected_sha(100000, "t")
        r = c.request("GET", "/name")
        assert r.status == 200 and r.body == b"b1", r


def test_request_chunk_extensions_and_trailers(one_backend):
    body = (b"5;name=value\r\nhello\r\n6;a=\"q\"\r\n world\r\n"
            b"0\r\nX-Request-Trailer: yes\r\n\r\n")
    with Conn(one_backend.port) as c:
        r = c.request("POST", "/upload", headers={"Transfer-Encoding": "chunked"}, body=body)
        assert r.status == 200, r
        assert r.json()["length"] == 11
        assert r.json()["sha256"] == hashlib.sha256(b"hello world").hexdigest()
        r = c.request("GET", "/name")
        assert r.status == 200 and r.body == b"b1", r
