"""The store's persistence through the real binary when state_dir is
damaged, missing or cannot be written: albd logs it, sets aside what is
damaged, and loses no more than that (tests that need root, such as a
tmpfs, are skipped without it)."""
import os
import time
from datetime import datetime, timezone

import pytest

from conftest import wait_until
from test_48_metrics import put, stats

NS = "Persist"


def put_seconds(a, name, t0, n, value=1.0):
    """N points of VALUE, one a second from T0, in series NS/NAME."""
    r = put(a, {"Namespace": NS, "MetricData": [
        {"MetricName": name, "Value": value, "Timestamp": t0 + i, "StorageResolution": 1} for i in range(n)]})
    assert r.status == 200, r.body


def seconds(a, name, t0, n):
    """The 1-second datapoints of NS/NAME in [T0, T0 + N): [(t, SampleCount)]
    ([] for an unknown metric)."""
    r = stats(a, name, ns=NS, start=t0, end=t0 + n, period=1, statistics="SampleCount")
    if r.status == 404:
        return []
    assert r.status == 200, r.body
    return sorted((int(datetime.strptime(dp["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=timezone.utc).timestamp()), dp["SampleCount"]) for dp in r.json()["Datapoints"])


def two_minutes_ago():
    return int(time.time()) // 60 * 60 - 120


def test_catalog_bit_flip_costs_one_record(albd, one_backend):
    """A bit flip in the first record's length of series.cat: the records
    after it are still read (the loader finds the next record by its
    length and CRC), so every other series keeps its history."""
    a = one_backend.albd
    t0 = two_minutes_ago()
    for k in range(5):
        put_seconds(a, "m%d" % k, t0, 5, float(k + 1))
    a.stop()
    cat = a.state_dir / "series.cat"
    data = bytearray(cat.read_bytes())
    data[8] ^= 0x5a
    cat.write_bytes(bytes(data))
    a.start()
    wait_until(lambda: "damaged records" in a.log(), 10, what="the damage logged")
    kept = [k for k in range(5) if seconds(a, "m%d" % k, t0, 60)]
    assert len(kept) >= 4, kept


@pytest.mark.timeout_s(150)
def test_kill_between_block_and_checkpoint(albd, one_backend):
    """albd stops (checkpoint: half a minute's points), starts, gets the
    other half, writes the minute's block and is killed before its next
    checkpoint: the restart merges the older checkpoint into the block
    instead of writing over it, every second once."""
    a = one_backend.albd
    # a minute W with the stop in it, 2 s or more after its start and
    # early enough that the kill (after W + 60) comes before the second
    # run's first checkpoint (a minute after its start)
    wait_until(lambda: 5 <= time.time() % 60 <= 30, 40, interval=0.2, what="the start of a minute")
    w = int(time.time()) // 60 * 60
    put_seconds(a, "kill", w, 30)
    assert a.stop() == 0
    a.start()
    put_seconds(a, "kill", w + 30, 30)
    blk = a.state_dir / ("r1/%d.blk" % w)
    wait_until(blk.is_file, 75, interval=0.2, what="the minute's block")
    a.kill()
    a.start()
    assert seconds(a, "kill", w, 60) == [(w + i, 1.0) for i in range(60)]


def test_dangling_symlinks_set_aside(albd, one_backend):
    """series.cat and head.ckpt as dangling symbolic links are damage,
    logged and set aside, not "no file"."""
    a = one_backend.albd
    put_seconds(a, "link", two_minutes_ago(), 3)
    a.stop()
    sd = a.state_dir
    for name in ("series.cat", "head.ckpt"):
        (sd / name).unlink()
        os.symlink(str(sd / "nowhere" / name), str(sd / name))
    a.start()
    for name in ("series.cat", "head.ckpt"):
        wait_until(lambda: "%s is damaged (a dangling symbolic link)" % name in a.log(), 10, what=name)
        assert os.path.islink(str(sd / (name + ".corrupt")))
