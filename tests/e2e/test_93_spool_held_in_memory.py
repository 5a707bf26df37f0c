"""Notifications are never dropped because the spool cannot be written
(through the real binary): the message is held in memory and delivered,
retried as any other, and moves to the spool once it can be written; an
alarm's action is not "Failed" for it.

albd runs as root here, which ignores file modes: a spool that cannot be
written is made with chattr +i (immutable: no file can be created in it);
the tests skip when not root or when the file system has no immutable
flag.
"""
import contextlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import free_port, listener, make_config, target_group, wait_until
from test_49_alarms import ACCOUNT, REGION, history, metric_alarm, set_state
from test_52_topics import publish, receivers, spool_files, sub, topic, topics_config  # noqa: F401

pytestmark = pytest.mark.timeout_s(90)

FAST = {"retries": 30, "min_delay": 1, "max_delay": 1, "timeout": 2}


def alarm_config(port, backend, receiver=None):
    """One alarm, busy, whose actions publish to topic ops (RECEIVER, raw)."""
    subs = ({"endpoint": receiver.url if receiver else "http://127.0.0.1:9/hook", "format": "raw"},)
    return make_config([listener("web", port, "web")], [target_group("web", [backend])],
                       region=REGION, account_id=ACCOUNT, topics=(topic("ops", subs, FAST),),
                       alarms=(metric_alarm("busy"),))


def state_up(a, n=1):
    """A once its Nth start has its state (store, topics, alarms) up."""
    wait_until(lambda: len(re.findall(r"info: albd \S+ started: ", a.log())) >= n, 10, what="albd's state up")
    return a


@contextlib.contextmanager
def immutable(path):
    """PATH (a directory) with chattr +i: nothing can be created in it,
    not even by root."""
    if os.geteuid() != 0:
        pytest.skip("chattr +i needs root")
    chattr = shutil.which("chattr")
    if not chattr or subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("this file system has no immutable flag (chattr +i)")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def spool_dir(a):
    """The one subscription's spool (made once albd's state is up)."""
    wait_until(lambda: len(list(Path(a.state_dir, "notify").glob("sub-*/spool"))) == 1, 10, what="the spool")
    return list(Path(a.state_dir, "notify").glob("sub-*/spool"))[0]


def test_a_spool_that_cannot_be_written_holds_the_message_and_delivers_it(albd, receivers):
    r = receivers("r")
    port = free_port()
    a = state_up(albd.start(topics_config(port, [topic("ops", [sub(r)], FAST)]), port=port))
    sp = spool_dir(a)
    with immutable(sp):
        # published, and delivered from memory
        mid = publish(a, "ops", "the spool is read-only")
        got = r.wait(1)
        assert json.loads(got[0]["body"])["MessageId"] == mid
        assert "the spool cannot be written" in a.log()
        assert "message %s is held in memory" % mid in a.log()
        # a receiver that is down meanwhile: retried from memory
        r.stop()
        mid2 = publish(a, "ops", "held while the receiver is down")
        wait_until(lambda: "attempt failed" in a.log(), 10, what="a failed attempt")
        assert not spool_files(a)
    # the spool can be written again: the held message goes there, then out
    wait_until(lambda: len(spool_files(a)) == 1, 10, what="the held message in the spool")
    assert mid2 in spool_files(a)[0].name
    assert "the spool can be written again" in a.log()
    r.start()
    got = r.wait(2, timeout=15)
    assert json.loads(got[1]["body"])["MessageId"] == mid2
    wait_until(lambda: not spool_files(a), 5, what="an empty spool")


def test_an_alarm_notification_is_not_dropped_when_the_spool_cannot_be_written(albd, receivers, backends):
    r = receivers("r")
    port = free_port()
    a = state_up(albd.start(alarm_config(port, backends.start("b1"), r), port=port))
    with immutable(spool_dir(a)):
        assert set_state(a, "busy", "ALARM").status == 200
        got = r.wait(1)
        assert json.loads(got[0]["body"])["AlarmName"] == "busy"
        wait_until(lambda: any(h["HistoryItemType"] == "Action" for h in history(a, "busy")), 10,
                   what="the action in the history")
        actions = [h for h in history(a, "busy") if h["HistoryItemType"] == "Action"]
        assert "Failed" not in actions[0]["HistorySummary"], actions
        assert "was not published" not in a.log()


