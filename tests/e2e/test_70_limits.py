"""Resource limits through the real binary: connections per worker and
memory when one side is slow."""
import socket
import threading
import time

import pytest

import backend as backend_mod
from conftest import Conn, expected_sha, free_port, rss_kb, simple_config

MB = 1024 * 1024


def test_max_connections_pauses_accepting(albd, backends):
    """Beyond limits.max_connections a worker stops accepting (the kernel
    queues the connection); when a connection closes, it accepts again."""
    b1 = backends.start("b1")
    port = free_port()
    a = albd.start(simple_config(port, [b1], limits={"max_connections": 4}), port=port)
    held = [Conn(port, timeout=5) for _ in range(4)]
    for c in held:
        assert c.request("GET", "/name").status == 200
    extra = Conn(port, timeout=1)
    try:
        extra.send(Conn.build("GET", "/name"))
        try:
            data = extra.sock.recv(4096)
        except socket.timeout:
            data = None
        assert data is None, "a fifth connection was served beyond max_connections: %r" % data
        held.pop().close()
        extra.settimeout(5)
        r = extra.read_response()
        assert r.status == 200 and r.body == b"b1", r
    finally:
        extra.close()
        for c in held:
            c.close()
    assert a.proc.poll() is None


def settle_metrics(albd):
    """Let albd's first metric folds make their store series (a fixed cost
    at start, not buffering) before its memory is taken as the base."""
    time.sleep(2.2)
    assert albd.admin_request("GET", "/metrics").status == 200


@pytest.mark.serial
def test_memory_bounded_with_slow_client(one_backend):
    """A 200 MB download to a client that does not read: albd buffers about
    limits.buffer_size, not the body."""
    pid = one_backend.albd.proc.pid
    size = 200 * MB
    settle_metrics(one_backend.albd)
    base = rss_kb(pid)
    with Conn(one_backend.port, timeout=30, rcvbuf=65536) as c:
        c.send(Conn.build("GET", "/download?size=%d&chunked=1&seed=mem" % size))
        time.sleep(2.5)   # the client reads nothing; the target keeps sending
        grown = rss_kb(pid) - base
        assert grown < 20 * 1024, "albd grew by %d KB while the client did not read" % grown
        r = c.read_response(keep_body=False)
        assert r.status == 200 and r.body_len == size
        assert r.sha256 == expected_sha(size, "mem")


@pytest.mark.serial
def test_memory_bounded_with_slow_target(one_backend):
    """A 100 MB upload to a target that reads nothing for 2.5 s: albd stops
    reading the client instead of buffering the body."""
    pid = one_backend.albd.proc.pid
    size = 100 * MB
    settle_metrics(one_backend.albd)
    base = rss_kb(pid)
    peak = [0]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kb(pid) - base)
            time.sleep(0.05)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    try:
        with Conn(one_backend.port, timeout=60) as c:
            c.send(Conn.build("POST", "/upload?read_delay_ms=2500", [("Content-Length", str(size))]))
            sent = 0
            for piece in backend_mod.pattern_chunks(size, "up"):
                c.sock.sendall(piece)
                sent += len(piece)
            r = c.read_response()
            assert r.status == 200, r
            assert r.json()["length"] == size
            assert r.json()["sha256"] == expected_sha(size, "up")
    finally:
        done.set()
        t.join()
    assert peak[0] < 20 * 1024, "albd grew by %d KB while the target did not read" % peak[0]
