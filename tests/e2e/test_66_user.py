"""`user` and `group`: albd started as root binds, then runs as the user
with only CAP_NET_BIND_SERVICE (a reload can still open a port below 1024),
its state_dir given to the user; a user that does not exist is a config
error; a reload cannot change the user."""
import os
import pwd
import grp
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (HOST, Conn, check_albd_bin, free_port, listener, make_config, port_accepts,
                      target_group, wait_until)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")


def status(pid):
    out = {}
    for line in open("/proc/%d/status" % pid):
        k, _, v = line.partition(":")
        out[k] = v.split()
    return out


def low_port():
    for p in range(1000, 600, -7):
        s = socket.socket()
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((HOST, p))
            return p
        except OSError:
            continue
        finally:
            s.close()
    pytest.skip("no free port below 1024")


@pytest.fixture
def world_dir():
    # the user must reach the config and state_dir: not under pytest's 0700 dirs
    d = Path(tempfile.mkdtemp(prefix="albd-user-"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_runs_as_user_with_net_bind_only(backends, world_dir):
    nobody = pwd.getpwnam("nobody")
    gname = grp.getgrgid(nobody.pw_gid).gr_name
    b = backends.start("b1")
    port, aport = free_port(), free_port()
    state = world_dir / "state"
    base = 'user = "nobody";\ngroup = "%s";\nstate_dir = "%s";\nadmin = { listen = "%s:%d"; };\n' % (
        gname, state, HOST, aport)
    conf = world_dir / "albd.conf"
    conf.write_text(make_config([listener("web", port, "tg", rules=())], [target_group("tg", [b])]) + base)
    os.chmod(conf, 0o644)
    log = open(world_dir / "albd.log", "ab")
    p = subprocess.Popen([check_albd_bin(), "-c", str(conf)], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        wait_until(lambda: port_accepts(port) and "running as user nobody" in (world_dir / "albd.log").read_text(),
                   10, what="albd as nobody")
        st = status(p.pid)
        assert st["Uid"] == [str(nobody.pw_uid)] * 4, st["Uid"]
        assert st["Gid"] == [str(nobody.pw_gid)] * 4, st["Gid"]
        assert int(st["CapEff"][0], 16) == 1 << 10 and int(st["CapPrm"][0], 16) == 1 << 10, st["CapEff"]
        with Conn(port) as c:
            assert c.request("GET", "/name").status == 200
        # the state_dir is the user's, and albd writes there
        assert os.stat(state).st_uid == nobody.pw_uid
        wait_until(lambda: any(f.stat().st_uid == nobody.pw_uid for f in state.rglob("*") if f.is_file()), 10,
                   what="a file written by nobody in state_dir")
        # a reload opens a listener below 1024 (CAP_NET_BIND_SERVICE kept)
        lp = low_port()
        conf.write_text(make_config([listener("web", port, "tg", rules=()), listener("low", lp, "tg", rules=())],
                                    [target_group("tg", [b])]) + base)
        p.send_signal(signal.SIGHUP)
        wait_until(lambda: "generation 2 is live" in (world_dir / "albd.log").read_text(), 10, what="reload")
        with Conn(lp) as c:
            assert c.request("GET", "/name").status == 200
        # the user cannot change on reload
        conf.write_text(make_config([listener("web", port, "tg", rules=())], [target_group("tg", [b])])
                        + base.replace('user = "nobody"', 'user = "root"').replace('group = "%s";\n' % gname, ""))
        p.send_signal(signal.SIGHUP)
        wait_until(lambda: "user or group changed" in (world_dir / "albd.log").read_text(), 10,
                   what="the refused reload")
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=15) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_unknown_user_is_a_config_error(tmp_path):
    conf = tmp_path / "albd.conf"
    text = make_config([listener("web", free_port(), "tg", rules=())], [target_group("tg", ["127.0.0.1:9"])])
    conf.write_text(text + 'user = "no-such-user-albd";\n')
    r = subprocess.run([check_albd_bin(), "-t", "-c", str(conf)], capture_output=True, timeout=10)
    assert r.returncode != 0 and b'unknown user "no-such-user-albd"' in r.stderr, r.stderr
    conf.write_text(text + 'user = "nobody";\ngroup = "no-such-group-albd";\n')
    r = subprocess.run([check_albd_bin(), "-t", "-c", str(conf)], capture_output=True, timeout=10)
    assert r.returncode != 0 and b'unknown group "no-such-group-albd"' in r.stderr, r.stderr
