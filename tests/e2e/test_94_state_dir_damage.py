"""Damaged or missing pieces of state_dir, through the real binary: a
notify/ or a spool/ that is a file is set aside (*.corrupt) and made again
instead of stopping albd; a directory named as albd's temporary file
(alarms.json.tmp) is set aside at start and at the next write instead of
blocking every write; a state_dir deleted while albd runs is made again by
the alarm and notification writers (logged once); alarms.json carries a
checksum, so a flipped byte that still parses is found and set aside.
"""
import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import free_port, wait_until
from test_49_alarms import alarm, set_state
from test_52_topics import publish, receivers, sub, topic, topics_config, spool_files  # noqa: F401
from test_93_spool_held_in_memory import FAST, alarm_config, spool_dir, state_up

pytestmark = pytest.mark.timeout_s(90)


def test_notify_or_spool_that_is_a_file_is_set_aside(albd, receivers):
    r = receivers("r")
    port = free_port()
    cfg = topics_config(port, [topic("ops", [sub(r)], FAST)])
    a = state_up(albd.start(cfg, port=port))
    sp = spool_dir(a)
    assert a.stop() == 0
    # spool/ replaced by a file
    shutil.rmtree(sp)
    sp.write_text("not a directory")
    state_up(a.start(), 2)
    assert sp.is_dir() and Path(str(sp) + ".corrupt").read_text() == "not a directory"
    assert "%s is damaged (not a directory): set aside as %s.corrupt" % (sp, sp) in a.log()
    mid = publish(a, "ops", "after the spool was a file")
    assert json.loads(r.wait(1)[0]["body"])["MessageId"] == mid
    assert a.stop() == 0
    # notify/ replaced by a file: albd starts
    notify = Path(a.state_dir, "notify")
    shutil.rmtree(notify)
    notify.write_text("not a directory either")
    state_up(a.start(), 3)
    assert notify.is_dir() and Path(str(notify) + ".corrupt").is_file()
    assert "set aside as %s.corrupt" % notify in a.log()
    mid = publish(a, "ops", "after notify was a file")
    wait_until(lambda: any(b["MessageId"] == mid for b in r.bodies()), 10, what="the message")


def test_a_directory_named_as_a_temporary_file_is_set_aside(albd, backends):
    port = free_port()
    a = albd.start(alarm_config(port, backends.start("b1")), port=port)
    state = Path(a.state_dir)
    assert a.stop() == 0
    (state / "alarms.json").unlink()
    (state / "alarms.json.tmp").mkdir()
    (state / "alarms.json.tmp" / "x").write_text("in the way")
    state_up(a.start(), 2)
    assert "alarms.json.tmp is not a file albd wrote (a directory in the way of" in a.log()
    assert set_state(a, "busy", "ALARM").status == 200
    wait_until(lambda: (state / "alarms.json").is_file(), 10, what="alarms.json written")
    assert json.loads((state / "alarms.json").read_text())["alarms"]["busy"]["state"] == "ALARM"
    assert (state / "alarms.json.tmp.corrupt" / "x").read_text() == "in the way"
    # one that appears while albd runs: set aside at the next write
    (state / "alarms.json.tmp").mkdir()
    assert set_state(a, "busy", "OK").status == 200
    wait_until(lambda: json.loads((state / "alarms.json").read_text())["alarms"]["busy"]["state"] == "OK", 10,
               what="alarms.json written again")
    assert "create: Is a directory" not in a.log()


def test_a_state_dir_deleted_while_albd_runs_is_made_again(albd, receivers, backends):
    r = receivers("r")
    port = free_port()
    a = state_up(albd.start(alarm_config(port, backends.start("b1"), r), port=port))
    shutil.rmtree(a.state_dir)
    r.stop()
    mid = publish(a, "ops", "after rm -rf state_dir")
    # (the alarm's first evaluation may have published its OK meanwhile)
    assert any(mid in p.name for p in spool_files(a)), spool_files(a)
    assert set_state(a, "busy", "ALARM").status == 200
    wait_until(lambda: Path(a.state_dir, "alarms.json").is_file(), 10, what="alarms.json written again")
    assert len(re.findall(r"was missing \(deleted while albd runs\?\): created again", a.log())) == 1
    r.start()
    wait_until(lambda: any(g["body"] == b"after rm -rf state_dir" for g in r.ok()), 15, what="the message")


def alarm_state(a, name):
    return alarm(a, name)["StateValue"]


def test_a_flipped_byte_in_alarms_json_is_found_and_set_aside(albd, backends):
    port = free_port()
    a = state_up(albd.start(alarm_config(port, backends.start("b1")), port=port))
    assert set_state(a, "busy", "ALARM").status == 200
    assert a.stop() == 0
    path = Path(a.state_dir, "alarms.json")
    text = path.read_text()
    saved = json.loads(text)
    assert saved["version"] == 2 and re.fullmatch(r"[0-9a-f]{8}", saved["crc32c"])
    # version 1 (no checksum, as albd before it wrote): still read
    path.write_text(json.dumps({"version": 1, "alarms": saved["alarms"]}))
    state_up(a.start(), 2)
    assert alarm_state(a, "busy") == "ALARM"
    assert a.stop() == 0
    # one digit of a time changed: still JSON, but not what albd wrote
    text = path.read_text()
    m = re.search(r'"state_updated":(\d)', text)
    flipped = text[:m.start(1)] + ("2" if m.group(1) == "1" else "1") + text[m.end(1):]
    json.loads(flipped)
    path.write_text(flipped)
    state_up(a.start(), 3)
    assert re.search(r"alarms\.json is not a state file albd wrote \(checksum mismatch", a.log())
    assert Path(str(path) + ".corrupt").read_text() == flipped
    assert alarm_state(a, "busy") != "ALARM"
