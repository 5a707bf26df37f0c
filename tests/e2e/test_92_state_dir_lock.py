"""One albd per state_dir, through the real binary: a second albd on the
same state_dir is refused at start and told who holds it (the pid in
state_dir/albd.lock); `albd -t` takes no lock; a binary upgrade (SIGUSR2)
hands the lock to the new process without a gap, and a failed one leaves it
with the old.
"""
import os
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import admin_settings, check_albd_bin, free_port, listener, make_config, port_accepts, wait_until
from test_67_upgrade import Upgradable, pid_alive

pytestmark = pytest.mark.timeout_s(90)


def fixed_config(port, **extra):
    lst = listener("web", port, default_forward=None, rules=None,
                   default_fixed_response={"status": 200, "content_type": "text/plain", "body": "ok\n"})
    return make_config([lst], [], **extra)


def second_albd(tmp_path, state_dir, *args):
    """albd ARGS with its own ports on STATE_DIR: (returncode, output);
    one that starts is stopped."""
    port = free_port()
    text, aport = admin_settings(state_dir)
    conf = tmp_path / ("second-%d.conf" % port)
    conf.write_text(fixed_config(port) + text)
    p = subprocess.Popen([check_albd_bin(), *args, "-c", str(conf)], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = p.communicate(timeout=5)
        return p.returncode, out
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=15)
        return "running", out


def test_a_second_albd_on_one_state_dir_is_refused_naming_the_first(albd, tmp_path):
    port = free_port()
    a = albd.start(fixed_config(port), port=port)
    rc, out = second_albd(tmp_path, a.state_dir)
    assert rc == 1, out
    assert "state_dir %s is in use by another albd (pid %d" % (a.state_dir, a.proc.pid) in out, out
    assert (Path(a.state_dir) / "albd.lock").read_text().strip() == str(a.proc.pid)
    # -t checks the file and takes no lock
    rc, out = second_albd(tmp_path, a.state_dir, "-t")
    assert rc == 0 and "configuration is valid" in out, out
    assert a.alive() and port_accepts(port)
    # the first one's exit releases it
    assert a.stop() == 0
    rc, out = second_albd(tmp_path, a.state_dir)
    assert rc == "running", out
    assert "in use" not in out


@pytest.mark.timeout_s(200)
def test_a_state_dir_made_again_is_locked_again(albd, tmp_path):
    """rm -rf state_dir while albd runs takes albd.lock with it; the write
    that makes the directory again takes the lock again, so a second albd
    is still refused."""
    port = free_port()
    a = albd.start(fixed_config(port), port=port)
    import shutil
    shutil.rmtree(a.state_dir)
    # the store's next block or checkpoint (within a minute; more on a
    # loaded machine) makes it again
    wait_until(lambda: "its lock" in a.log() and "taken again" in a.log(), 150, interval=0.5,
               what="the lock taken again")
    assert (Path(a.state_dir) / "albd.lock").read_text().strip() == str(a.proc.pid)
    rc, out = second_albd(tmp_path, a.state_dir)
    assert rc == 1 and "(pid %d holds" % a.proc.pid in out, out
    assert a.alive() and port_accepts(port)


@pytest.fixture
def upg(tmp_path, backends):
    u = Upgradable(tmp_path, backends.start("b1"))
    yield u
    u.close()


def test_the_lock_goes_with_a_binary_upgrade(upg, tmp_path):
    state = tmp_path / "state"
    old = upg.pids[0]
    # a new binary that fails: the old one keeps the lock
    upg.install("#!/bin/sh\nexit 3\n")
    os.kill(old, signal.SIGUSR2)
    wait_until(lambda: "binary upgrade failed" in upg.log(), 20, what="the failure")
    rc, out = second_albd(tmp_path, state)
    assert rc == 1 and "(pid %d holds" % old in out, out
    # one that works: the lock is never free in between, and the new one has it
    upg.install()
    new = upg.upgrade()
    assert not pid_alive(old)
    assert (state / "albd.lock").read_text().strip() == str(new)
    rc, out = second_albd(tmp_path, state)
    assert rc == 1 and "(pid %d holds" % new in out, out
    # and hands it on again
    upg.install()
    third = upg.upgrade()
    rc, out = second_albd(tmp_path, state)
    assert rc == 1 and "(pid %d holds" % third in out, out


