"""Packaging: `make install DESTDIR=...` installs the binary, the man pages,
the logrotate snippet and the sample configuration; the man pages pass
`mandoc -Tlint` with nothing reported; conf/albd.conf is accepted by
`albd -t`."""
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import check_albd_bin

ROOT = Path(__file__).resolve().parents[2]


def test_man_pages_lint_clean():
    mandoc = shutil.which("mandoc")
    if not mandoc:
        pytest.skip("mandoc is not installed (scripts/deps.sh installs it)")
    pages = [ROOT / "man" / "albd.8", ROOT / "man" / "albd.conf.5"]
    r = subprocess.run([mandoc, "-Tlint"] + [str(p) for p in pages], capture_output=True, timeout=60)
    assert r.returncode == 0 and not r.stdout and not r.stderr, (r.stdout + r.stderr).decode()


def test_sample_config_is_valid(tmp_path):
    # the sample names /var/lib/albd; -t creates nothing there
    r = subprocess.run([check_albd_bin(), "-t", "-c", str(ROOT / "conf" / "albd.conf")], capture_output=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr.decode()
    # demo.conf names its AWS secret relative to the repository's root, where demo.sh runs albd
    r = subprocess.run([str(Path(check_albd_bin()).resolve()), "-t", "-c", "conf/demo.conf"], capture_output=True,
                       timeout=30, cwd=str(ROOT))
    assert r.returncode == 0, r.stderr.decode()


def test_make_install_destdir(tmp_path):
    build = Path(check_albd_bin()).resolve().parents[1]
    if not (build / "Makefile").exists():
        pytest.skip("ALBD_BIN is not in a configured build tree")
    dest = tmp_path / "dest"
    r = subprocess.run(["make", "-s", "-C", str(build), "install", "DESTDIR=%s" % dest], capture_output=True,
                       timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr).decode()[-3000:]
    files = {str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()}
    prefix = subprocess.run(["sed", "-n", "s/^prefix = //p", str(build / "Makefile")], capture_output=True,
                            text=True).stdout.strip().lstrip("/")
    sysconf = subprocess.run(["sed", "-n", "s/^sysconfdir = //p", str(build / "Makefile")], capture_output=True,
                             text=True).stdout.strip().replace("${prefix}", "/" + prefix).lstrip("/")
    want = ["%s/sbin/albd" % prefix, "%s/share/man/man8/albd.8" % prefix,
            "%s/share/man/man5/albd.conf.5" % prefix, "%s/logrotate.d/albd" % sysconf,
            "%s/albd/albd.conf.sample" % sysconf]
    unitdir = subprocess.run(["sed", "-n", "s/^systemdsystemunitdir = //p", str(build / "Makefile")],
                             capture_output=True, text=True).stdout.strip()
    if unitdir:
        # configured --with-systemdsystemunitdir: the unit is installed too
        want.append(unitdir.replace("${prefix}", "/" + prefix).lstrip("/") + "/albd.service")
    for w in want:
        assert w in files, (w, sorted(files))
    # the installed binary runs and accepts the installed sample
    r = subprocess.run([str(dest / want[0]), "-t", "-c", str(dest / want[4])], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr.decode()
    rot = (dest / want[3]).read_text()
    assert "/var/log/albd/*.log" in rot and "USR1" in rot
