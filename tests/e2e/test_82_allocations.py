"""No heap allocation per request in a steady state (issue 15), counted.

tests/bench/alloc_count.c is preloaded into the real albd and counts every
malloc, calloc, realloc and aligned allocation; tests/bench/counts.py
starts albd in front of its keep-alive backend and drives it. After a
warm-up, the worker thread must not call the allocator per request: its
buffers come from the per-thread lists of src/core/mempool.c. The same
run with the lists off (ALBD_MEMPOOL=0) must count allocations, so the
counter is seen to work."""
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from conftest import ALBD_BIN, ROOT, sanitized

sys.path.insert(0, str(ROOT / "tests" / "bench"))
import counts  # noqa: E402

pytestmark = pytest.mark.timeout_s(180)


def measure(tmp_path, close=False, env=None, requests=4000):
    so = str(tmp_path / "alloc_count.so")
    if not os.path.exists(so):
        subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", so, str(ROOT / "tests" / "bench" / "alloc_count.c")],
                       check=True)
    cf = str(tmp_path / "counts.bin")
    a = SimpleNamespace(albd=ALBD_BIN, access_log=False, conns=8, close=close)
    with counts.Albd(a, env=dict({"LD_PRELOAD": so, "ALBD_ALLOC_COUNT_FILE": cf}, **(env or {}))) as s:
        def read():
            b = open(cf, "rb").read()
            return [int.from_bytes(b[i:i + 8], "little") for i in range(0, 64, 8)]
        s.run(1000)
        before = read()
        s.run(requests)
        after = read()
    d = [y - x for x, y in zip(before, after)]
    return (d[4] + d[5]) / requests   # the worker threads' allocations and reallocations


def test_keepalive_requests_allocate_nothing(tmp_path):
    if sanitized(ALBD_BIN):
        pytest.skip("a sanitizer build: libevent's memory comes from malloc")
    per_request = measure(tmp_path)
    # one allocation per request would be 1.0; what is left is not per
    # request (a histogram's first use of a bucket, say)
    assert per_request < 0.01, per_request


def test_counter_sees_allocations_without_the_lists(tmp_path):
    if sanitized(ALBD_BIN):
        pytest.skip("a sanitizer build: its runtime must come first, before any preloaded library")
    per_request = measure(tmp_path, env={"ALBD_MEMPOOL": "0"}, requests=2000)
    assert per_request >= 3, per_request


def test_new_connection_costs_its_session_and_connection(tmp_path):
    """A connection per request: the connection and its session are
    allocated (2); its two evbuffers come from the worker's pool, where the
    connection before left them, and the buffers' memory from the lists."""
    if sanitized(ALBD_BIN):
        pytest.skip("a sanitizer build: libevent's memory comes from malloc")
    per_request = measure(tmp_path, close=True, requests=1500)
    assert per_request <= 2.05, per_request
