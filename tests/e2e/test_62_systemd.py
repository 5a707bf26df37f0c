"""systemd: the notify protocol (READY=1 once listening, RELOADING=1 and
READY=1 around a reload, STOPPING=1, STATUS=, WATCHDOG=1 while the workers
answer), to a path and to an abstract socket, and `systemd-analyze verify`
of the shipped unit."""
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (admin_settings, check_albd_bin, free_port, listener, make_config, port_accepts,
                      target_group, wait_until)

ROOT = Path(__file__).resolve().parents[2]


class Notify:
    """A datagram socket standing in for systemd's $NOTIFY_SOCKET."""

    def __init__(self, address):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.2)
        self.msgs = []

    def read(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.msgs.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass

    def wait_for(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, m in enumerate(self.msgs):
                if pred(m):
                    del self.msgs[:i + 1]
                    return m
            self.read(0.2)
        pytest.fail("no %s from albd; got %r" % (what, self.msgs))

    def close(self):
        self.sock.close()


def start(tmp_path, port, env_extra, cfg_text):
    text, _ = admin_settings(tmp_path / "state")
    path = tmp_path / "albd.conf"
    path.write_text(cfg_text + text)
    env = dict(os.environ)
    env.update(env_extra)
    log = open(tmp_path / "albd.log", "ab")
    p = subprocess.Popen([check_albd_bin(), "-c", str(path)], env=env, stdin=subprocess.DEVNULL, stdout=log,
                         stderr=log)
    return p, path, text


def config(port, backend):
    return make_config([listener("web", port, "tg", rules=())], [target_group("tg", [backend])])


@pytest.mark.parametrize("abstract", [False, True])
def test_notify_protocol(tmp_path, backends, abstract):
    b = backends.start("b1")
    port = free_port()
    name = "@albd-test-%d-%d" % (os.getpid(), port) if abstract else str(tmp_path / "notify.sock")
    n = Notify("\0" + name[1:] if abstract else name)
    p, path, admin = start(tmp_path, port, {"NOTIFY_SOCKET": name, "WATCHDOG_USEC": "400000",
                                            "WATCHDOG_PID": ""}, config(port, b))
    try:
        m = n.wait_for(lambda m: "READY=1" in m, 10, "READY=1")
        assert "STATUS=generation 1 live: 1 listeners, 1 target groups, 1 workers" in m, m
        assert port_accepts(port), "READY=1 before the listener accepts"
        # the watchdog: twice per interval while the workers tick
        n.read(1.0)
        assert sum(m == "WATCHDOG=1" for m in n.msgs) >= 3, n.msgs
        n.msgs.clear()
        # a reload: RELOADING=1, then READY=1 with the new generation
        p.send_signal(signal.SIGHUP)
        n.wait_for(lambda m: m.startswith("RELOADING=1"), 10, "RELOADING=1")
        m = n.wait_for(lambda m: "READY=1" in m, 10, "READY=1 after the reload")
        assert "generation 2 live" in m and "failed" not in m, m
        # a refused reload: READY=1 all the same, and STATUS says so
        path.write_text("listeners = ( oops\n" + admin)
        p.send_signal(signal.SIGHUP)
        n.wait_for(lambda m: m.startswith("RELOADING=1"), 10, "RELOADING=1")
        m = n.wait_for(lambda m: "READY=1" in m, 10, "READY=1 after the refused reload")
        assert "generation 2 live" in m and "the last reload failed" in m, m
        p.send_signal(signal.SIGTERM)
        m = n.wait_for(lambda m: m.startswith("STOPPING=1"), 10, "STOPPING=1")
        assert "STATUS=draining" in m
        assert p.wait(timeout=15) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        n.close()


def test_no_watchdog_for_another_pid(tmp_path, backends):
    b = backends.start("b1")
    port = free_port()
    n = Notify(str(tmp_path / "notify.sock"))
    p, _, _ = start(tmp_path, port, {"NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "200000",
                                     "WATCHDOG_PID": "1"}, config(port, b))
    try:
        n.wait_for(lambda m: "READY=1" in m, 10, "READY=1")
        n.read(0.8)
        assert "WATCHDOG=1" not in n.msgs, n.msgs
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=15)
        n.close()


def test_unit_verifies(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze is not installed (package systemd)")
    unit = (ROOT / "systemd" / "albd.service").read_text()
    assert "Type=notify" in unit and "WatchdogSec=" in unit and "ExecReload=" in unit
    # the unit as installed names /usr/sbin/albd: point it at the binary built here
    (tmp_path / "albd.service").write_text(unit.replace("/usr/sbin/albd", check_albd_bin()))
    r = subprocess.run([analyze, "verify", "--man=no", str(tmp_path / "albd.service")],
                       capture_output=True, timeout=60)
    out = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode == 0 and "albd.service" not in out, out
