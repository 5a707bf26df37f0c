"""Signals: graceful stop (SIGTERM/SIGINT) and reload (SIGHUP)."""
import signal
import threading
import time

import pytest

from conftest import (Conn, IncompleteResponse, PING_RULE, free_port, get, listener,
                      make_config, port_accepts, simple_config, target_group, wait_until)


def in_background(fn):
    """Run FN in a thread; returns (thread, result dict with "value" or "error")."""
    res = {}

    def run():
        try:
            res["value"] = fn()
        except BaseException as e:  # noqa
            res["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, res


def new_connection_refused(port):
    """True when a new connection gets no service: refused, or accepted and
    closed without an HTTP response."""
    try:
        c = Conn(port, timeout=2)
    except ConnectionRefusedError:
        return True
    except OSError:
        return True
    try:
        c.send(Conn.build("GET", "/name"))
        try:
            r = c.read_response()
        except (IncompleteResponse, OSError):
            return True
        return False if r.status == 200 else "answered %d" % r.status
    finally:
        c.close()


# ---------------------------------------------------------------------------
# stop


def test_sigterm_drains_in_flight_request(albd, backends):
    b1 = backends.start("b1")
    port = free_port()
    a = albd.start(simple_config(port, [b1], timeouts={"drain": 10}), port=port)
    conn = Conn(port, timeout=10)
    t, res = in_background(lambda: conn.request("GET", "/sleep?ms=1500"))
    wait_until(lambda: b1.stats()["heads"] >= 1, 5, what="the request to reach the target")
    t0 = time.monotonic()
    a.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert new_connection_refused(port) is True, "albd still accepts connections after SIGTERM"
    t.join(10)
    assert "error" not in res, res
    r = res["value"]
    assert r.status == 200 and r.body == b"slept 1500", r
    # the drained connection is closed after its response
    assert conn.closed_by_peer(3), "keep-alive connection left open while stopping"
    conn.close()
    rc = a.proc.wait(timeout=5)
    assert rc == 0
    assert time.monotonic() - t0 < 4.5


def test_sigterm_idle_connections_do_not_delay_exit(albd, backends):
    b1 = backends.start("b1")
    port = free_port()
    a = albd.start(simple_config(port, [b1], timeouts={"drain": 20}), port=port)
    conns = [Conn(port, timeout=5) for _ in range(5)]
    for c in conns:
        assert c.request("GET", "/name").status == 200
    t0 = time.monotonic()
    a.send_signal(signal.SIGTERM)
    rc = a.proc.wait(timeout=10)
    assert rc == 0
    assert time.monotonic() - t0 < 3, "idle keep-alive connections held albd for the drain time"
    for c in conns:
        assert c.closed_by_peer(2)
        c.close()


def test_sigterm_drain_timeout_bounds_exit(albd, backends):
    b1 = backends.start("b1")
    port = free_port()
    a = albd.start(simple_config(port, [b1], timeouts={"drain": 1}), port=port)
    t, res = in_background(lambda: get(port, "/sleep?ms=8000", timeout=15))
    wait_until(lambda: b1.stats()["heads"] >= 1, 5, what="the request to reach the target")
    t0 = time.monotonic()
    a.send_signal(signal.SIGTERM)
    rc = a.proc.wait(timeout=10)
    took = time.monotonic() - t0
    assert rc == 0
    assert 0.8 <= took <= 3.5, "exit %.1f s after SIGTERM with drain = 1" % took
    t.join(5)
    assert not t.is_alive()
    # the client got either an error response or a closed connection, not a hang
    if "value" in res:
        assert res["value"].status != 200


def test_sigint_stops(albd, backends):
    b1 = backends.start("b1")
    port = free_port()
    a = albd.start(simple_config(port, [b1]), port=port)
    assert get(port, "/name").status == 200
    a.send_signal(signal.SIGINT)
    assert a.proc.wait(timeout=5) == 0
    assert not port_accepts(port)


# ---------------------------------------------------------------------------
# reload


def two_sets(backends):
    A = [backends.start("a1"), backends.start("a2")]
    B = [backends.start("b1"), backends.start("b2")]
    return A, B


def served_by(port, names, n=20, timeout=5):
    """Wait until N consecutive requests on new connections come from NAMES."""
    def ok():
        for _ in range(n):
            try:
                r = get(port, "/name")
            except OSError:
                return False
            if r.status != 200 or r.header("X-Backend") not in names:
                return False
        return True
    wait_until(ok, timeout, interval=0.1, what="responses only from %s" % sorted(names))


@pytest.mark.timeout_s(90)
def test_reload_under_load(albd, backends):
    A, B = two_sets(backends)
    port = free_port()
    cfg_a, cfg_b = simple_config(port, A, workers=2), simple_config(port, B, workers=2)
    a = albd.start(cfg_b, port=port)
    stop = threading.Event()
    seen = {}
    errors = []
    counts = [0]
    lock = threading.Lock()

    def keepalive_client(n):
        c = Conn(port, timeout=10)
        try:
            while not stop.is_set():
                try:
                    r = c.request("GET", "/name")
                    assert r.status == 200, r
                    with lock:
                        counts[0] += 1
                        seen[r.header("X-Backend")] = seen.get(r.header("X-Backend"), 0) + 1
                except Exception as e:  # noqa
                    with lock:
                        errors.append("keep-alive client %d: %r" % (n, e))
                    c.close()
                    c = Conn(port, timeout=10)
                time.sleep(0.005)
        finally:
            c.close()

    def fresh_client(n):
        while not stop.is_set():
            try:
                r = get(port, "/name")
                assert r.status == 200, r
                with lock:
                    counts[0] += 1
                    seen[r.header("X-Backend")] = seen.get(r.header("X-Backend"), 0) + 1
            except Exception as e:  # noqa
                with lock:
                    errors.append("new-connection client %d: %r" % (n, e))
            time.sleep(0.005)

    threads = [threading.Thread(target=keepalive_client, args=(i,), daemon=True) for i in range(2)]
    threads += [threading.Thread(target=fresh_client, args=(i,), daemon=True) for i in range(2)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        for i in range(10):  # A, B, A, ..., B
            a.reload(cfg_a if i % 2 == 0 else cfg_b)
            time.sleep(0.3)
        served_by(port, {"b1", "b2"})
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(15)
    assert a.alive(), "albd died during reloads"
    assert not errors, "%d failed requests of %d; first: %s" % (len(errors), counts[0] + len(errors), errors[:10])
    assert counts[0] > 200, counts
    assert seen.get("a1", 0) + seen.get("a2", 0) > 0, "config A never served: %r" % seen


def test_reload_keeps_in_flight_request(albd, backends):
    A, B = two_sets(backends)
    port = free_port()
    a = albd.start(simple_config(port, A), port=port)
    t, res = in_background(lambda: get(port, "/sleep?ms=1500"))
    wait_until(lambda: A[0].stats()["heads"] + A[1].stats()["heads"] >= 1, 5, what="request at target")
    a.reload(simple_config(port, B))
    served_by(port, {"b1", "b2"})
    t.join(10)
    assert "error" not in res, res
    r = res["value"]
    assert r.status == 200 and r.header("X-Backend") in ("a1", "a2"), r


def test_reload_applies_new_fixed_response(albd, backends):
    b1 = backends.start("b1")
    port = free_port()

    def cfg(body):
        rule = dict(PING_RULE, fixed_response=dict(PING_RULE["fixed_response"], body=body))
        return simple_config(port, [b1], rules=[rule])

    a = albd.start(cfg("pong-a\n"), port=port)
    assert get(port, "/ping").body == b"pong-a\n"
    with Conn(port) as kept:
        assert kept.request("GET", "/ping").body == b"pong-a\n"
        a.reload(cfg("pong-b\n"))
        wait_until(lambda: get(port, "/ping").body == b"pong-b\n", 5, what="the new fixed response")
        # the client connection opened before the reload still works
        r = kept.request("GET", "/name")
        assert r.status == 200 and r.body == b"b1", r


@pytest.mark.parametrize("defect", ["syntax", "unknown-target-group"])
def test_reload_invalid_config_keeps_old(albd, backends, defect):
    A, B = two_sets(backends)
    port = free_port()
    a = albd.start(simple_config(port, A), port=port)
    served_by(port, {"a1", "a2"})
    if defect == "syntax":
        lines = simple_config(port, B).split("\n")
        lines.insert(6, "this is = = not valid;")
        bad, bad_line = "\n".join(lines), 7
    else:
        bad = make_config([listener("web", port, "nope")], [target_group("tg", B)])
        bad_line = None
    a.reload(bad)
    pat = "%s:%s" % (a.config_path, bad_line if bad_line else "")
    wait_until(lambda: pat in a.log(), 5, what="%r in albd's log" % pat)
    time.sleep(0.3)
    assert a.alive(), "albd exited on an invalid reload"
    for _ in range(20):
        r = get(port, "/name")
        assert r.status == 200 and r.header("X-Backend") in ("a1", "a2"), r
    # a later valid reload still works
    a.reload(simple_config(port, B))
    served_by(port, {"b1", "b2"})


def test_reload_adds_and_removes_listener(albd, backends):
    b1 = backends.start("b1")
    p1, p2 = free_port(), free_port()
    tg = target_group("tg", [b1])
    one = make_config([listener("web", p1)], [tg])
    two = make_config([listener("web", p1), listener("api", p2)], [tg])
    a = albd.start(one, port=p1)
    assert not port_accepts(p2)
    with Conn(p1) as kept:
        assert kept.request("GET", "/name").status == 200
        a.reload(two)
        wait_until(lambda: port_accepts(p2), 5, what="the new listener on %d" % p2)
        r = get(p2, "/echo-headers")
        assert r.status == 200, r
        xfp = [v for n, v in r.json()["headers"] if n.lower() == "x-forwarded-port"]
        assert xfp == [str(p2)]
        assert kept.request("GET", "/name").status == 200
        a.reload(one)
        wait_until(lambda: not port_accepts(p2), 5, what="the removed listener on %d to close" % p2)
        assert kept.request("GET", "/name").status == 200
        assert get(p1, "/name").status == 200
    assert a.alive()


def test_signal_right_after_listening_is_not_fatal(albd, backends, tmp_path):
    """albd's port accepts as soon as the sockets listen, before start-up
    ends: a SIGHUP sent at that moment must be a reload, never death."""
    b1 = backends.start("b1")
    for i in range(5):
        port = free_port()
        a = albd.start(simple_config(port, [b1]), port=port, name="early%d" % i)
        # albd.start returns once the port accepts: signal at once
        a.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        assert a.alive(), "albd died from a SIGHUP right after listening:\n" + a.log()
        assert get(port, "/name").status == 200
        a.stop()


def test_reload_with_include_of_a_directory_keeps_serving(albd, backends, tmp_path):
    """libconfig 1.5 exits the process when an @include cannot be read as a
    file; albd checks includes first, so such a reload is just refused."""
    b1 = backends.start("b1")
    port = free_port()
    text = simple_config(port, [b1])
    a = albd.start(text, port=port)
    a.write_config('@include "%s"\n' % tmp_path + text)
    a.send_signal(signal.SIGHUP)
    wait_until(lambda: "not a regular file" in a.log(), 5, what="the refused reload in the log")
    assert a.alive(), a.log()
    assert get(port, "/name").status == 200
