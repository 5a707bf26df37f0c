"""Round robin, weights, least outstanding requests."""
import collections
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import Conn, free_port, simple_config


def spread(port, total, clients, path="/name"):
    """TOTAL requests over CLIENTS keep-alive connections -> Counter of X-Backend."""
    per = total // clients

    def worker(_):
        seen = collections.Counter()
        with Conn(port, timeout=10) as c:
            for _ in range(per):
                r = c.request("GET", path)
                assert r.status == 200, r
                seen[r.header("X-Backend")] += 1
        return seen

    with ThreadPoolExecutor(clients) as ex:
        total_seen = collections.Counter()
        for s in ex.map(worker, range(clients), timeout=60):
            total_seen += s
    return total_seen


@pytest.mark.parametrize("workers", [1, 2])
def test_round_robin_even(albd, backends, workers):
    b1, b2 = backends.start("b1"), backends.start("b2")
    port = free_port()
    albd.start(simple_config(port, [b1, b2], workers=workers), port=port)
    seen = spread(port, 1000, 4)
    assert sum(seen.values()) == 1000
    assert abs(seen["b1"] - 500) <= 25 and abs(seen["b2"] - 500) <= 25, seen


@pytest.mark.parametrize("workers", [1, 2])
def test_round_robin_weights(albd, backends, workers):
    b1, b2 = backends.start("b1"), backends.start("b2")
    port = free_port()
    albd.start(simple_config(port, [(b1, 1), (b2, 3)], workers=workers), port=port)
    seen = spread(port, 1000, 4)
    assert abs(seen["b1"] - 250) <= 30 and abs(seen["b2"] - 750) <= 30, seen


def test_round_robin_three_targets(albd, backends):
    bs = [backends.start("b%d" % i) for i in range(1, 4)]
    port = free_port()
    albd.start(simple_config(port, bs), port=port)
    seen = spread(port, 900, 3)
    for b in bs:
        assert abs(seen[b.name] - 300) <= 20, seen


def lor_run(port, clients=20, duration=3.0):
    stop = time.monotonic() + duration
    seen = collections.Counter()
    lock = threading.Lock()
    errors = []

    def worker(_):
        try:
            with Conn(port, timeout=10) as c:
                while time.monotonic() < stop:
                    r = c.request("GET", "/name")
                    assert r.status == 200, r
                    with lock:
                        seen[r.header("X-Backend")] += 1
        except Exception as e:  # noqa
            errors.append(repr(e))

    with ThreadPoolExecutor(clients) as ex:
        list(ex.map(worker, range(clients), timeout=duration + 30))
    assert not errors, errors[:5]
    return seen


@pytest.mark.parametrize("workers", [1, 2])
def test_least_outstanding_prefers_fast_target(albd, backends, workers):
    slow = backends.start("slow", "--delay-ms", "200")
    fast = backends.start("fast")
    port = free_port()
    albd.start(simple_config(port, [slow, fast], algorithm="least_outstanding_requests",
                             workers=workers), port=port)
    seen = lor_run(port)
    assert seen["fast"] > 3 * seen["slow"], seen
    assert seen["slow"] > 0, seen  # it is not excluded either


def test_round_robin_ignores_slowness(albd, backends):
    # contrast for the LOR test: round robin gives the slow target its share
    slow = backends.start("slow", "--delay-ms", "200")
    fast = backends.start("fast")
    port = free_port()
    albd.start(simple_config(port, [slow, fast]), port=port)
    seen = spread(port, 40, 4)
    assert abs(seen["slow"] - 20) <= 2, seen
