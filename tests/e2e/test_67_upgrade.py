"""Binary upgrade without a refused connection (SIGUSR2, as nginx's): the
new binary starts with the listening sockets (workers' and admin's)
inherited, the old one stops accepting once the new one is ready, hands
its state over and drains. Under steady wrk load, two upgrades in a row
cause no socket error and no failed request. A new binary that fails
leaves the old one serving."""
import os
import re
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (HOST, Conn, admin_settings, check_albd_bin, free_port, get, listener, make_config,
                      port_accepts, target_group, wait_until)
from test_48_metrics import total

WRK = shutil.which("wrk")


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


class Upgradable:
    """albd run from a copy of the binary that the test can replace."""

    def __init__(self, tmp_path, backend):
        self.dir = tmp_path
        self.exe = tmp_path / "albd"
        self.install()
        self.port = free_port()
        text, self.aport = admin_settings(tmp_path / "state")
        rule = {"priority": 1, "path": ["/fixed"], "fixed_response": {"status": 200, "body": "ok"}}
        self.conf = tmp_path / "albd.conf"
        self.conf.write_text(make_config([listener("web", self.port, "tg", rules=(rule,))],
                                         [target_group("tg", [backend])], workers=2, name="upg") + text)
        self.log_path = tmp_path / "albd.log"
        log = open(self.log_path, "ab")
        self.first = subprocess.Popen([str(self.exe), "-c", str(self.conf)], stdin=subprocess.DEVNULL,
                                      stdout=log, stderr=log)
        self.pids = [self.first.pid]
        wait_until(lambda: port_accepts(self.port) and port_accepts(self.aport), 10, what="albd listening")

    def install(self, src=None):
        """A new binary at the same path (a new inode, as a package upgrade)."""
        tmp = self.dir / "albd.new"
        if src is None:
            shutil.copy(check_albd_bin(), tmp)
        else:
            tmp.write_text(src)
        os.chmod(tmp, 0o755)
        os.replace(tmp, self.exe)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def admin_request(self, method, path, token=None, headers=None, body=None, timeout=10):
        return get(self.aport, path, method=method, headers=headers, body=body, timeout=timeout)

    def upgrade(self):
        old = self.pids[-1]
        n = self.log().count("is albd now")
        os.kill(old, signal.SIGUSR2)
        wait_until(lambda: self.log().count("is albd now") > n, 20, what="the new process taking over")
        new = int(re.findall(r"this process \(pid (\d+)\) is albd now", self.log())[-1])
        assert new != old
        self.pids.append(new)
        wait_until(lambda: not pid_alive(old), 20, what="the old process exiting")
        return new

    def close(self):
        for pid in self.pids:
            if pid_alive(pid):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for pid in self.pids:
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.first.wait(timeout=5)


@pytest.fixture
def upg(tmp_path, backends):
    u = Upgradable(tmp_path, backends.start("b1"))
    yield u
    u.close()


@pytest.mark.skipif(not WRK, reason="wrk is not installed (scripts/deps.sh installs it)")
def test_two_upgrades_under_wrk_lose_nothing(upg):
    for path in ("/fixed", "/name"):
        with Conn(upg.port) as c:
            assert c.request("GET", path).status == 200
    t0 = time.monotonic()
    wrk = subprocess.Popen([WRK, "-t", "2", "-c", "32", "-d", "12s", "--timeout", "5s",
                            "http://%s:%d/name" % (HOST, upg.port)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(2)
    upg.install()
    first = upg.upgrade()
    time.sleep(1)
    upg.install()
    second = upg.upgrade()
    # both happened (the new process serving, the old one gone) under load
    assert time.monotonic() - t0 < 11, "the upgrades took longer than the load"
    out, _ = wrk.communicate(timeout=40)
    assert wrk.returncode == 0, out
    m = re.search(r"(\d+) requests in", out)
    assert m and int(m.group(1)) > 1000, out
    assert "Socket errors" not in out, out
    assert "Non-2xx" not in out, out
    # the last one serves, on the same ports, with the state handed over
    assert pid_alive(second) and not pid_alive(first) and not pid_alive(upg.pids[0])
    with Conn(upg.port) as c:
        assert c.request("GET", "/fixed").body == b"ok"
    # the store went from process to process: its RequestCount holds (nearly)
    # all of wrk's requests; the last process alone served about 8 of its 12 s
    wrk_requests = int(m.group(1))
    wait_until(lambda: total(upg, "RequestCount", {"LoadBalancer": "upg"}) >= 0.85 * wrk_requests, 15,
               what="RequestCount of every process (%d requests)" % wrk_requests)
    log = upg.log()
    assert log.count("inherited)") >= 2 and "binary upgrade failed" not in log


def test_a_failing_new_binary_leaves_the_old_one_serving(upg):
    old = upg.pids[0]
    upg.install("#!/bin/sh\nexit 3\n")
    os.kill(old, signal.SIGUSR2)
    wait_until(lambda: "binary upgrade failed" in upg.log(), 20, what="the failure")
    assert "exited (status 3)" in upg.log()
    assert pid_alive(old)
    with Conn(upg.port) as c:
        assert c.request("GET", "/fixed").status == 200
    # a new binary that cannot read the configuration: the same
    upg.install()
    good = upg.conf.read_text()
    upg.conf.write_text("listeners = ( oops\n")
    os.kill(old, signal.SIGUSR2)
    wait_until(lambda: upg.log().count("binary upgrade failed") >= 2, 20, what="the second failure")
    assert pid_alive(old)
    with Conn(upg.port) as c:
        assert c.request("GET", "/fixed").status == 200
    # and then one that works
    upg.conf.write_text(good)
    new = upg.upgrade()
    with Conn(upg.port) as c:
        assert c.request("GET", "/fixed").status == 200
    assert pid_alive(new)


def test_reloads_wait_while_an_upgrade_is_under_way(upg):
    # a reload while the new process starts is refused (the state is
    # between processes); albd keeps serving
    old = upg.pids[0]
    # a new binary that takes a second to start: the reload lands inside
    real = upg.dir / "albd.real"
    shutil.copy(check_albd_bin(), real)
    upg.install('#!/bin/sh\nsleep 1\nexec "%s" "$@"\n' % real)
    os.kill(old, signal.SIGUSR2)
    wait_until(lambda: "SIGUSR2: starting" in upg.log(), 10, what="the upgrade starting")
    os.kill(old, signal.SIGHUP)
    wait_until(lambda: "albd[%d] error: reload failed, the running configuration stays: a binary upgrade is under "
                       "way" % old in upg.log(), 10, what="the reload refused")
    assert "is albd now" not in upg.log()
    wait_until(lambda: "is albd now" in upg.log(), 20, what="the take-over")
    new = int(re.findall(r"this process \(pid (\d+)\) is albd now", upg.log())[-1])
    upg.pids.append(new)
    with Conn(upg.port) as c:
        assert c.request("GET", "/fixed").status == 200
    os.kill(new, signal.SIGHUP)
    # the new process's own line (both write to one log)
    wait_until(lambda: re.search(r"albd\[%d\] info: configuration generation \d+ is live" % new, upg.log()), 10,
               what="a reload of the new process")
