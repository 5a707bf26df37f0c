"""Client connections in every state at once, around the parked buffers of
idle connections (conn_park()) and the worker's timer heap (issue 15):
twelve clients, each a fixed seed's random walk through silence, a partial
head, pipelined bursts, keep-alive gaps past the timeout, slow large
downloads, 100-continue, an upgraded echo with a half-close, a half-close
after a request, a bad request with more input behind it (lingering close)
and resets, with timeouts short enough that every timer fires. A reload
comes in the middle and a drain (SIGTERM) at the end. albd must answer a
plain request throughout, exit 0, and (in sanitizer builds) report nothing
(conftest fails the test on a report in albd's log)."""
import random
import signal
import socket
import threading
import time

import pytest

from conftest import free_port, get, simple_config

pytestmark = pytest.mark.timeout_s(120)

REQ = b"GET /name HTTP/1.1\r\nHost: x\r\n\r\n"


def read_some(s):
    try:
        return s.recv(1 << 20)
    except OSError:
        return b""


def behave(port, rnd, stop, counts):
    while not stop.is_set():
        k = rnd.randrange(10)
        counts[k] += 1
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=3)
        except OSError:
            continue
        try:
            if k == 0:      # nothing, then close or wait past the header timeout
                time.sleep(rnd.choice([0, 0.05, 1.2]))
            elif k == 1:    # a partial head, then stall
                s.sendall(b"GET / HTTP/1.1\r\nHo")
                time.sleep(rnd.choice([0.05, 1.2]))
            elif k == 2:    # a pipelined burst
                n = rnd.randrange(1, 8)
                s.sendall(b"".join(b"GET /name?tag=%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(n)))
                time.sleep(0.2)
                read_some(s)
            elif k == 3:    # keep-alive, idle between requests (some past the keep-alive timeout)
                for _ in range(rnd.randrange(1, 4)):
                    s.sendall(REQ)
                    read_some(s)
                    time.sleep(rnd.choice([0, 0.01, 0.3, 1.1]))
            elif k == 4:    # a large download read slowly, then idle, then one more request
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.sendall(b"GET /download?size=400000 HTTP/1.1\r\nHost: x\r\n\r\n")
                got = 0
                while got < 400000 and not stop.is_set():
                    d = read_some(s)
                    if not d:
                        break
                    got += len(d)
                    if rnd.random() < 0.05:
                        time.sleep(0.01)
                time.sleep(rnd.choice([0, 0.3]))
                s.sendall(REQ)
                read_some(s)
            elif k == 5:    # 100-continue
                s.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                          b"Expect: 100-continue\r\n\r\n")
                time.sleep(0.05)
                s.sendall(b"hello")
                read_some(s)
            elif k == 6:    # an upgraded echo, sometimes half-closed
                s.sendall(b"GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n")
                read_some(s)
                s.sendall(b"ping")
                read_some(s)
                if rnd.random() < 0.5:
                    s.shutdown(socket.SHUT_WR)
                    read_some(s)
            elif k == 7:    # a request, then a half-close
                s.sendall(REQ)
                s.shutdown(socket.SHUT_WR)
                read_some(s)
            elif k == 8:    # a bad request with more input behind it: lingering close
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n" + b"x" * 1000)
                read_some(s)
                s.sendall(b"y" * 100)
            else:           # a slow request, then a reset
                s.sendall(b"GET /sleep?ms=50 HTTP/1.1\r\nHost: x\r\n\r\n")
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        except OSError:
            pass
        finally:
            s.close()


def test_connections_in_every_state(albd, backends):
    b = backends.start("b1")
    port = free_port()
    a = albd.start(simple_config(port, [b], timeouts={"client_keepalive": 1, "client_header": 1, "idle": 2,
                                                        "drain": 2}), port=port)
    stop = threading.Event()
    counts = [[0] * 10 for _ in range(12)]
    ts = [threading.Thread(target=behave, args=(port, random.Random(i), stop, counts[i]), daemon=True)
          for i in range(12)]
    for t in ts:
        t.start()
    try:
        for phase in range(2):
            time.sleep(6)
            assert get(port, "/name").status == 200
            if phase == 0:
                a.reload()
        # every behaviour ran
        assert all(sum(c[k] for c in counts) for k in range(10)), counts
        # a drain with connections in every state
        a.send_signal(signal.SIGTERM)
        time.sleep(1)
    finally:
        stop.set()
        for t in ts:
            t.join(15)
    assert a.stop(timeout=15) == 0, a.log()[-3000:]
