"""Slow readers (slowhttptest -X): many clients read a 1 MB response a
byte at a time. albd holds a small window of each response (8 KiB, grown
only for clients that drain fast), so its memory per slow reader stays
small, a normal client is served meanwhile, and the memory goes back to
the system once they leave (malloc_trim after a large drop in
connections)."""
import os
import shutil
import subprocess
import threading
import time

import pytest

from conftest import HOST, Conn, free_port, listener, make_config, target_group, wait_until

SLOW_CONNS = 1500
SLOW_RATE = 200          # connections per second: all open within 8 s (gentler on the box)
ATTACK_S = 25
BODY = 1 << 20
KB_PER_CONN_MAX = 32
# Generous: while the connections open, the Python target's threads (one
# per slow reader, each pushing its first few hundred KB) fill a 2-core
# box's run queue, and the normal target's one thread waits its turn. At
# 500 connections a second the p99 measured 0.1 to 1.8 s, the slow requests
# all in that ramp, on a box shared with other test runs; at 200 a second,
# 0.3 to 0.5 s. The real figure is printed.
LATENCY_P99_MAX = 2.0


def proc_status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s for %d" % (key, pid))


def sockets(pid):
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


def sanitized(pid):
    with open("/proc/%d/maps" % pid) as f:
        return any("libasan" in line or "libtsan" in line for line in f)


class Normal(threading.Thread):
    """A normal client: GET /normal every 100 ms on a new connection, to a
    target of its own (the slow readers' one, a Python server, is as busy
    as they make it: that is not albd's latency)."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.lat, self.failures = [], []
        self.stop_ev = threading.Event()

    def run(self):
        nxt = time.monotonic()
        while not self.stop_ev.is_set():
            t0 = time.monotonic()
            try:
                with Conn(self.port, timeout=10) as c:
                    r = c.request("GET", "/normal")
                if r.status != 200 or r.body != b"b2":
                    self.failures.append("status %d body %r" % (r.status, r.body[:40]))
                else:
                    self.lat.append(time.monotonic() - t0)
            except Exception as e:   # noqa: BLE001 - every failure is counted
                self.failures.append(repr(e))
            nxt += 0.1
            self.stop_ev.wait(max(0.0, nxt - time.monotonic()))


class Sampler(threading.Thread):
    """albd's peak RSS and peak number of sockets, every 200 ms."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_rss = self.peak_sockets = 0
        self.stop_ev = threading.Event()

    def run(self):
        while not self.stop_ev.is_set():
            self.peak_rss = max(self.peak_rss, proc_status_kb(self.pid, "VmRSS"))
            self.peak_sockets = max(self.peak_sockets, sockets(self.pid))
            self.stop_ev.wait(0.2)


@pytest.mark.serial
@pytest.mark.timeout_s(150)
@pytest.mark.skipif(not shutil.which("slowhttptest"), reason="slowhttptest is not installed (scripts/deps.sh)")
def test_slow_readers_bounded_memory_served_and_returned(albd, backends):
    b1, b2 = backends.start("b1"), backends.start("b2")
    port = free_port()
    normal_rule = {"priority": 1, "path": ["/normal"], "forward": ({"target_group": "normal", "weight": 1},)}
    a = albd.start(make_config([listener("web", port, "tg", rules=[normal_rule])],
                               [target_group("tg", [b1]), target_group("normal", [b2])], workers=2), port=port)
    pid = a.proc.pid
    # warm up, and let the first metric folds make their series (a fixed
    # cost at start) before the base is taken
    for _ in range(20):
        with Conn(port, timeout=5) as c:
            assert c.request("GET", "/normal").status == 200
    time.sleep(2.2)
    assert a.admin_request("GET", "/metrics").status == 200
    base_rss = proc_status_kb(pid, "VmRSS")
    base_sockets = sockets(pid)
    check_rss = not sanitized(pid)

    sampler, normal = Sampler(pid), Normal(port)
    sampler.start()
    normal.start()
    slow = subprocess.Popen(
        ["slowhttptest", "-X", "-c", str(SLOW_CONNS), "-r", str(SLOW_RATE), "-w", "1", "-y", "1",
         "-n", "1", "-z", "1", "-k", "1", "-p", "3", "-l", str(ATTACK_S),
         "-u", "http://%s:%d/download?size=%d&chunked=0&seed=slow" % (HOST, port, BODY)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        slow.wait(timeout=ATTACK_S + 30)
    finally:
        if slow.poll() is None:
            slow.kill()
            slow.wait(timeout=5)
        normal.stop_ev.set()
        normal.join(timeout=15)
        sampler.stop_ev.set()
        sampler.join(timeout=5)
    assert a.proc.poll() is None, "albd died under the attack:\n" + a.log()[-3000:]

    # every slow reader has a client and a target socket in albd
    held = (sampler.peak_sockets - base_sockets) // 2
    lat = sorted(normal.lat)
    p50 = lat[len(lat) // 2] if lat else None
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else None
    growth = sampler.peak_rss - base_rss
    print("slow readers held: %d; RSS base %d KB, peak %d KB (%.1f KB per slow reader); normal requests: %d, "
          "%d failed, p50 %.1f ms, p99 %.1f ms, max %.1f ms"
          % (held, base_rss, sampler.peak_rss, growth / max(held, 1), len(lat), len(normal.failures),
             (p50 or 0) * 1000, (p99 or 0) * 1000, (lat[-1] if lat else 0) * 1000))
    assert held >= SLOW_CONNS // 2, "slowhttptest held only %d connections in albd" % held
    assert not normal.failures, normal.failures[:5]
    assert len(lat) >= ATTACK_S * 5, "only %d normal requests in %d s" % (len(lat), ATTACK_S)
    assert p99 < LATENCY_P99_MAX, "normal requests' p99 %.0f ms during the attack" % (p99 * 1000)
    if not check_rss:
        return   # a sanitizer's shadow memory and quarantine say nothing of albd's buffers
    assert growth / held <= KB_PER_CONN_MAX, \
        "albd grew %d KB for %d slow readers: %.1f KB each" % (growth, held, growth / held)

    # they left: the connections close, and the memory goes back
    wait_until(lambda: sockets(pid) <= base_sockets + 16, 15, 0.2, "albd to close the slow readers' connections")
    # glibc can give back only whole free pages, and libevent keeps an entry
    # per descriptor number ever used among them: about a fifth of the
    # growth stays (4 MB of 19 MB here; without malloc_trim, all of it)
    limit = base_rss + growth // 2
    try:
        wait_until(lambda: proc_status_kb(pid, "VmRSS") <= limit, 15, 0.5, "albd's RSS to fall")
    except AssertionError:
        raise AssertionError("albd's RSS stayed at %d KB after the slow readers left (base %d KB, peak %d KB)"
                             % (proc_status_kb(pid, "VmRSS"), base_rss, sampler.peak_rss))
    print("RSS after they left: %d KB" % proc_status_kb(pid, "VmRSS"))
