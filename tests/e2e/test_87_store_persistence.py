"""The store's persistence through the real binary when state_dir is
damaged, missing or cannot be written: albd logs it, sets aside what is
damaged, and loses no more than that (tests that need root, such as a
tmpfs, are skipped without it)."""
import os
import shutil
import subprocess
import time
from datetime import datetime, timezone

import pytest

from conftest import free_port, simple_config, wait_until
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


def store_opened(a):
    """Wait until albd's store is open (after its listeners): what a test
    does to state_dir before would be what albd starts with."""
    wait_until(lambda: "info: store: " in a.log(), 10, what="the store open")


def two_minutes_ago():
    return int(time.time()) // 60 * 60 - 120


def test_unwritable_block_kept_and_checkpointed(albd, one_backend):
    """r1/ is a file: the block the late points go into cannot be written.
    Its points stay readable, and the checkpoint at stop holds them: the
    next start (which sets the file aside) writes them."""
    a = one_backend.albd
    sd = a.state_dir
    store_opened(a)
    for _ in range(5):
        # moved, not removed: albd may be writing a block into it
        os.rename(str(sd / "r1"), str(sd / "r1.away"))
        try:
            (sd / "r1").write_text("in the way\n")
            break
        except IsADirectoryError:
            pass  # made again by a block write in between
    assert (sd / "r1").is_file()
    t0 = two_minutes_ago()
    put_seconds(a, "kept", t0, 30)
    wait_until(lambda: "kept in memory" in a.log(), 10, what="the block kept in memory")
    assert seconds(a, "kept", t0, 60) == [(t0 + i, 1.0) for i in range(30)]
    assert a.stop() == 0
    a.start()
    assert seconds(a, "kept", t0, 60) == [(t0 + i, 1.0) for i in range(30)]
    assert (sd / ("r1/%d.blk" % (t0 // 60 * 60))).is_file()


@pytest.mark.serial
@pytest.mark.timeout_s(90)
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_full_disk_keeps_points(albd, backends, tmp_path):
    """state_dir on a 1 MB tmpfs, filled: the blocks, the catalog's append
    and the checkpoint fail; nothing is lost, and once there is room again
    a retry writes it all."""
    tfs = tmp_path / "tfs"
    tfs.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(tfs)], check=True)
    try:
        b1 = backends.start("b1")
        port = free_port()
        sd = tfs / "state"
        a = albd.start(simple_config(port, [b1]) + "state_dir = \"%s\";\n" % sd, port=port)
        store_opened(a)
        filler = tfs / "filler"
        fd = os.open(str(filler), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            for chunk in (65536, 1):
                try:
                    while True:
                        os.write(fd, b"\0" * chunk)
                except OSError:
                    pass
        finally:
            os.close(fd)
        t0 = two_minutes_ago()
        put_seconds(a, "full", t0, 40)
        wait_until(lambda: "kept in memory" in a.log(), 10, what="the block kept in memory")
        assert "No space left on device" in a.log()
        assert seconds(a, "full", t0, 60) == [(t0 + i, 1.0) for i in range(40)]
        filler.unlink()
        wait_until(lambda: "none is left unsaved" in a.log(), 15, what="the retry")
        assert a.stop() == 0
        a.start()
        assert seconds(a, "full", t0, 60) == [(t0 + i, 1.0) for i in range(40)]
        a.stop()
    finally:
        for x in albd.all:
            x.kill()
        subprocess.run(["umount", "-l", str(tfs)], check=False)


def test_state_dir_removed_is_made_again(albd, one_backend):
    """rm -rf state_dir while albd runs: the next block write makes it
    again (logged), the catalog is written again, a directory where the
    checkpoint's temporary file goes is put out of the way, and a restart
    has the points put since."""
    a = one_backend.albd
    sd = a.state_dir
    store_opened(a)
    shutil.rmtree(sd, ignore_errors=True)
    t0 = two_minutes_ago()
    put_seconds(a, "again", t0, 20)
    wait_until(lambda: "was gone: made again" in a.log(), 10, what="state_dir made again")
    wait_until(lambda: (sd / ("r1/%d.blk" % (t0 // 60 * 60))).is_file(), 10, what="the block")
    (sd / "head.ckpt.tmp").mkdir()
    (sd / "head.ckpt.tmp" / "x").write_text("x")
    assert a.stop() == 0
    assert "in the way of a file" in a.log()
    assert (sd / "head.ckpt").is_file() and (sd / "series.cat").is_file()
    a.start()
    assert seconds(a, "again", t0, 60) == [(t0 + i, 1.0) for i in range(20)]


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
