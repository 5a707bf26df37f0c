"""Fixtures and helpers for albd's end-to-end tests.

Everything talks to 127.0.0.1 only. Every blocking call has a timeout, and an
autouse guard fails a test that runs longer than its budget (120 s unless it
is marked @pytest.mark.timeout_s(N)).

The suite runs in parallel (pytest-xdist, `-n N`): every test starts its own
albd and backends on its own ports (free_port() hands each xdist worker its
own slice of ports below the kernel's ephemeral range) and in its own
tmp_path, and stops them by pid. A test that cannot share the machine (it
measures memory or needs the whole CPU, or sets ulimits) is marked
@pytest.mark.serial; scripts/test.sh runs those in a second pass, one at a
time (`-m serial`), after the parallel one (`-m "not serial"`).

A sanitizer report in albd's log (an ASan/UBSan build, ALBD_BIN=...) fails
the test that started that albd, at teardown.

  backends      factory: backends.start("b1", "--idle-close", "1") -> Backend
  albd          factory: albd.start(config_text, ports={"web": port}) -> Albd
  free_port()   an unused TCP port on 127.0.0.1
  make_config() render a config (libconfig syntax) from Python values
  admin_settings() the "admin" and "state_dir" lines a config run outside Albd needs
  Conn          raw HTTP/1.1 client connection (keep-alive, pipelining, strict parser)

albd's admin listener is on by default (127.0.0.1:9100), which parallel
tests cannot share: Albd appends "admin = { listen = "127.0.0.1:<free
port>"; };" and "state_dir = "<tmp_path>/<name>-state";" to every config it
writes that has no top-level admin / state_dir setting of its own (at the
end, so line numbers in error messages stay), keeping the same port across
reloads, and waits for the admin port at start. It exposes .admin_port
(None when the admin listener is off), .admin_url, .state_dir (created
empty) and .admin_request(method, path, token=None, ...). A test that
starts albd itself adds admin_settings(...)[0] to its config.
"""
import faulthandler
import hashlib
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import backend as backend_mod  # noqa: E402

ALBD_BIN = os.environ.get("ALBD_BIN", str(ROOT / "src" / "albd"))
PYTHON = sys.executable
BACKEND_PY = str(HERE / "backend.py")
HOST = "127.0.0.1"
DEFAULT_TEST_TIMEOUT = 120


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    # A private base directory for tmp_path: pytest's shared default
    # (/tmp/pytest-of-USER) keeps only the 3 newest runs, so a concurrent
    # pytest session would delete this one's files (albd logs, configs).
    if config.option.basetemp is None:
        config.option.basetemp = tempfile.mkdtemp(prefix="albd-e2e-")
        config._albd_own_basetemp = config.option.basetemp
    config.addinivalue_line("markers", "timeout_s(n): per-test time budget in seconds (default 120)")
    config.addinivalue_line("markers", "slow: takes tens of seconds (keep-alive races)")
    config.addinivalue_line("markers", "serial: cannot share the machine with other tests (memory, "
                            "CPU, ulimits): run in the serial pass, not under xdist")


def pytest_sessionfinish(session, exitstatus):
    """Remove our private tmp directory after a green run; keep it (albd and
    backend logs, configs) when something failed."""
    own = getattr(session.config, "_albd_own_basetemp", None)
    if own and exitstatus == 0:
        shutil.rmtree(own, ignore_errors=True)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    own = getattr(config, "_albd_own_basetemp", None)
    if own and exitstatus != 0 and os.path.isdir(own):
        terminalreporter.write_line("albd e2e: logs and configs kept in %s" % own)


# ---------------------------------------------------------------------------
# time guard


class TestTimeout(Exception):
    pass


@pytest.fixture(autouse=True)
def _time_guard(request):
    m = request.node.get_closest_marker("timeout_s")
    limit = int(m.args[0]) if m else DEFAULT_TEST_TIMEOUT

    def on_alarm(signum, frame):
        raise TestTimeout("test exceeded its %d s budget" % limit)

    # soft: an exception in the main thread; hard: dump stacks and exit
    faulthandler.dump_traceback_later(limit + 60, exit=True)
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(limit)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        faulthandler.cancel_dump_traceback_later()


# ---------------------------------------------------------------------------
# ports


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


# free_port() picks ports from [PORT_LOW, ephemeral low): the kernel never
# hands those out for bind(port 0) or outgoing connections, so a port chosen
# here cannot be taken by a backend or a client socket of a parallel test
# before albd binds it. Each xdist worker walks its own slice, from a random
# point (so that two sessions at once rarely meet), and every port is
# checked with a bind() before it is returned.
PORT_LOW = 10000
_EPHEMERAL_LOW = _ephemeral_low()


def _port_slice():
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    m = re.match(r"^gw(\d+)$", worker)
    index = int(m.group(1)) if m else 0
    size = (_EPHEMERAL_LOW - PORT_LOW) // max(count, 1)
    lo = PORT_LOW + index * size
    return lo, size


_PORT_SLICE = _port_slice()
_port_next = [None]


def _bind_ok(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((HOST, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now (outside
    the ephemeral range, from this xdist worker's own slice)."""
    lo, size = _PORT_SLICE
    if size >= 100:
        if _port_next[0] is None:
            _port_next[0] = int.from_bytes(os.urandom(4), "little") % size
        for _ in range(size):
            port = lo + _port_next[0]
            _port_next[0] = (_port_next[0] + 1) % size
            if _bind_ok(port):
                return port
    # no room below the ephemeral range: let the kernel choose
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((HOST, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def port_accepts(port, timeout=0.5):
    try:
        s = socket.create_connection((HOST, port), timeout=timeout)
    except OSError:
        return False
    s.close()
    return True


def wait_until(pred, timeout, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(interval)


# ---------------------------------------------------------------------------
# backends


class Backend:
    def __init__(self, name, args, log_dir):
        self.name = name
        self.args = list(args)
        self.log_path = Path(log_dir) / ("backend-%s.log" % name)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [PYTHON, BACKEND_PY, "--port", "0", "--name", name] + self.args,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log)
        lines = self._read_lines(2 if "--listen-count" in self.args else 1, 10)
        assert lines[0].startswith("PORT "), lines
        self.port = int(lines[0].split()[1])
        self.ports = [self.port]
        if len(lines) > 1:
            assert lines[1].startswith("PORTS "), lines
            self.ports = [int(p) for p in lines[1].split()[1:]]

    def _read_lines(self, n, timeout):
        fd = self.proc.stdout.fileno()
        buf = b""
        deadline = time.monotonic() + timeout
        while buf.count(b"\n") < n:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("backend %s did not start: %r\n%s" % (self.name, buf, self.log()))
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    continue
                buf += chunk
        return buf.decode().split("\n")[:n]

    @property
    def addr(self):
        return "%s:%d" % (HOST, self.port)

    def stats(self):
        c = Conn(self.port, timeout=5)
        try:
            r = c.request("GET", "/stats")
        finally:
            c.close()
        assert r.status == 200, r
        return json.loads(r.body)

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        try:
            self.proc.stdout.close()
        except Exception:
            pass
        self._log.close()


class BackendFactory:
    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.all = []

    def start(self, name, *args):
        b = Backend(name, args, self.log_dir)
        self.all.append(b)
        return b

    def stop_all(self):
        for b in self.all:
            b.stop()


@pytest.fixture
def backends(tmp_path):
    f = BackendFactory(tmp_path)
    yield f
    f.stop_all()


# ---------------------------------------------------------------------------
# config rendering (libconfig syntax; one setting per line so that line
# numbers in error messages can be checked)


class Raw(str):
    """Inserted verbatim into the config text."""


def _scalar(v):
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v) if -2**31 <= v < 2**31 else "%dL" % v
    if isinstance(v, float):
        r = repr(v)
        return r if ("." in r or "e" in r) else r + ".0"
    if isinstance(v, str):
        out = []
        for ch in v:
            if ch == "\\":
                out.append("\\\\")
            elif ch == '"':
                out.append('\\"')
            elif ch == "\n":
                out.append("\\n")
            elif ch == "\r":
                out.append("\\r")
            elif ch == "\t":
                out.append("\\t")
            elif ord(ch) < 0x20 or ord(ch) > 0x7e:
                out.append("\\x%02x" % ord(ch))
            else:
                out.append(ch)
        return '"' + "".join(out) + '"'
    raise TypeError("cannot render %r" % (v,))


def _render_groups(v, indent):
    """The elements of a list of groups, one level in: {..} for a dict, a
    nested list ( {..}, .. ) for a tuple of dicts."""
    pad = "  " * indent
    lines = []
    for i, item in enumerate(v):
        comma = "," if i < len(v) - 1 else ""
        if isinstance(item, (list, tuple)):
            lines.append("%s(" % pad)
            lines += _render_groups(item, indent + 1)
            lines.append("%s)%s" % (pad, comma))
        else:
            lines.append("%s{" % pad)
            lines += _render(item, indent + 1)
            lines.append("%s}%s" % (pad, comma))
    return lines


def _render(obj, indent):
    pad = "  " * indent
    lines = []
    for k, v in obj.items():
        if v is None:
            continue
        if isinstance(v, dict):
            lines.append("%s%s = {" % (pad, k))
            lines += _render(v, indent + 1)
            lines.append("%s};" % pad)
        elif isinstance(v, (list, tuple)) and (not v or isinstance(v[0], dict) or isinstance(v, tuple)):
            # list of groups: ( {..}, {..} ); a tuple is always a list
            lines.append("%s%s = (" % (pad, k))
            lines += _render_groups(v, indent + 1)
            lines.append("%s);" % pad)
        elif isinstance(v, list):
            lines.append("%s%s = [ %s ];" % (pad, k, ", ".join(_scalar(x) for x in v)))
        else:
            lines.append("%s%s = %s;" % (pad, k, _scalar(v)))
    return lines


def render_config(obj):
    return "\n".join(["# generated by tests/e2e"] + _render(obj, 0)) + "\n"


DEFAULT_TIMEOUTS = {"client_header": 10, "client_keepalive": 60, "idle": 60, "drain": 5}
DEFAULT_LIMITS = {"max_request_line": 8192, "max_header_size": 65536, "max_headers": 100,
                  "max_body_size": 0}
# Health checks are on by default in albd (as on an ALB). The proxying tests
# turn them off so that no check request lands among the requests they
# count; tests of health checks pass their own health_check group.
DEFAULT_TG = {"connect_timeout": 2, "response_timeout": 10, "keepalive_timeout": 4,
              "keepalive_max_idle": 64, "health_check": {"enabled": False}}


def target_group(name, targets, algorithm="round_robin", **opts):
    """targets: list of "ip:port" strings, Backend objects, or (addr, weight) pairs."""
    ts = []
    for t in targets:
        weight = 1
        if isinstance(t, tuple):
            t, weight = t
        addr = t.addr if isinstance(t, Backend) else t
        ts.append({"address": addr, "weight": weight})
    g = {"name": name, "algorithm": algorithm, "targets": tuple(ts)}
    for k, v in DEFAULT_TG.items():
        g[k] = v
    g.update(opts)
    return g


PING_RULE = {"priority": 10, "path": ["/ping"],
             "fixed_response": {"status": 200, "content_type": "text/plain", "body": "pong\n"}}


def listener(name, port, default_forward="tg", rules=(PING_RULE,), **opts):
    lst = {"name": name, "listen": "%s:%d" % (HOST, port)}
    if default_forward is not None:
        lst["default_forward"] = default_forward
    if rules is not None:
        lst["rules"] = tuple(rules)
    lst.update(opts)
    return lst


def make_config(listeners, target_groups, workers=1, timeouts=None, limits=None, **extra):
    t = dict(DEFAULT_TIMEOUTS)
    t.update(timeouts or {})
    lim = dict(DEFAULT_LIMITS)
    lim.update(limits or {})
    obj = {"workers": workers, "timeouts": t, "limits": lim,
           "listeners": tuple(listeners), "target_groups": tuple(target_groups)}
    obj.update(extra)
    return render_config(obj)


def simple_config(port, targets, algorithm="round_robin", workers=1, timeouts=None,
                  limits=None, tg_opts=None, rules=(PING_RULE,)):
    """One listener "web" on PORT forwarding to target group "tg"."""
    return make_config([listener("web", port, "tg", rules)],
                       [target_group("tg", targets, algorithm, **(tg_opts or {}))],
                       workers=workers, timeouts=timeouts, limits=limits)


def admin_settings(state_dir, port=None):
    """Config text for an admin listener on PORT (default: a free one) and
    STATE_DIR, for configs that albd runs outside the Albd fixture.
    Returns (text, port)."""
    port = port or free_port()
    return ('\nadmin = { listen = "%s:%d"; };\nstate_dir = %s;\n' % (HOST, port, _scalar(str(state_dir))),
            port)


_TOP_ADMIN_RE = re.compile(r"^[ \t]*admin[ \t]*[=:]", re.M)
_TOP_STATE_RE = re.compile(r"^[ \t]*state_dir[ \t]*[=:]", re.M)


def _strip_comments(text):
    """TEXT with libconfig comments (#, //, /* */) blanked, strings kept."""
    out, i, n = [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif ch == "#" or text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _admin_group(text):
    """The body of the top-level "admin = { ... }" group of TEXT, or None."""
    text = _strip_comments(text)
    m = re.search(r"(?m)^[ \t]*admin[ \t]*[=:][ \t\n]*\{", text)
    if not m:
        return None
    depth, i = 1, m.end()
    start = i
    while i < len(text) and depth:
        if text[i] == '"':
            i += 1
            while i < len(text) and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
        i += 1
    return text[start:i - 1]


def admin_address(text):
    """(port, tls) of the admin listener TEXT configures, or (None, False)
    when it is off. Only the admin group's own top-level keys count."""
    body = _admin_group(text)
    if body is None:
        return 9100, False
    # drop nested groups (tls = { ... }) to look at admin's own keys
    flat, depth, tls = [], 0, False
    for ch in body:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0:
            flat.append(ch)
    flat = "".join(flat)
    if re.search(r"\btls[ \t]*[=:]", flat):
        tls = True
    if re.search(r"\benabled[ \t]*[=:][ \t]*false\b", flat):
        return None, False
    m = re.search(r'\blisten[ \t]*[=:][ \t]*"[^"]*:(\d+)"', flat)
    return (int(m.group(1)) if m else 9100), tls


def line_of(text, needle, start=1):
    """1-based number of the first line at or after START containing NEEDLE."""
    for i, line in enumerate(text.split("\n"), 1):
        if i >= start and needle in line:
            return i
    raise AssertionError("%r not in config" % needle)


# ---------------------------------------------------------------------------
# albd


def check_albd_bin():
    if not os.path.isfile(ALBD_BIN) or not os.access(ALBD_BIN, os.X_OK):
        pytest.fail("albd binary not found or not executable: %s (build it, or set ALBD_BIN)" % ALBD_BIN,
                    pytrace=False)
    return ALBD_BIN


@pytest.fixture
def albd_bin():
    return check_albd_bin()


class Albd:
    def __init__(self, tmp_path, config_text, ports, name="albd"):
        self.bin = check_albd_bin()
        self.dir = Path(tmp_path)
        self.name = name
        self.config_path = self.dir / ("%s.conf" % name)
        self.log_path = self.dir / ("%s.log" % name)
        self.ports = dict(ports)
        self._admin_port = free_port()      # the port appended to configs without an admin group
        self.state_dir = self.dir / ("%s-state" % name)
        self.state_dir.mkdir(exist_ok=True)
        self.admin_port = None
        self.admin_tls = False
        self.write_config(config_text)
        self._log = open(self.log_path, "ab")
        self.proc = None

    @property
    def port(self):
        return next(iter(self.ports.values()))

    def with_admin(self, text):
        """TEXT with this albd's admin listener and state_dir appended when
        it sets neither itself (see the module's docstring)."""
        plain = _strip_comments(text)
        extra = ""
        if not _TOP_ADMIN_RE.search(plain):
            extra += 'admin = { listen = "%s:%d"; };\n' % (HOST, self._admin_port)
        if not _TOP_STATE_RE.search(plain):
            extra += "state_dir = %s;\n" % _scalar(str(self.state_dir))
        if extra:
            text = text + ("" if text.endswith("\n") or not text else "\n") + \
                "# added by tests/e2e/conftest.py (Albd)\n" + extra
        return text

    @property
    def admin_url(self):
        if self.admin_port is None:
            return None
        return "%s://%s:%d" % ("https" if self.admin_tls else "http", HOST, self.admin_port)

    def admin_request(self, method, path, token=None, headers=None, body=None, timeout=10):
        """One request to the (plain HTTP) admin listener on a new connection;
        TOKEN goes in "Authorization: Bearer". Returns a Response."""
        assert self.admin_port is not None, "the admin listener is off in this config"
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer %s" % token
        return get(self.admin_port, path, method=method, headers=h, body=body, timeout=timeout,
                   host="%s:%d" % (HOST, self.admin_port))

    def write_config(self, text):
        text = self.with_admin(text)
        self.admin_port, self.admin_tls = admin_address(text)
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.config_path)
        self.config_text = text

    def start(self, timeout=10):
        self.proc = subprocess.Popen([self.bin, "-c", str(self.config_path)],
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + timeout
        pending = set(self.ports.values())
        if self.admin_port is not None:
            pending.add(self.admin_port)
        while pending:
            if self.proc.poll() is not None:
                pytest.fail("albd exited with %s during start-up; log:\n%s" % (self.proc.returncode, self.log()),
                            pytrace=False)
            for p in list(pending):
                if port_accepts(p, timeout=0.2):
                    pending.discard(p)
            if pending and time.monotonic() > deadline:
                self.kill()
                pytest.fail("albd did not listen on %s within %d s; log:\n%s" % (sorted(pending), timeout, self.log()),
                            pytrace=False)
            if pending:
                time.sleep(0.02)
        return self

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        assert self.alive(), "albd is not running (exit %s); log:\n%s" % (self.proc.returncode, self.log())
        os.kill(self.proc.pid, sig)

    def reload(self, text=None):
        if text is not None:
            self.write_config(text)
        self.send_signal(signal.SIGHUP)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Signal albd and wait; returns its exit status (kill -9 after TIMEOUT)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return "timeout"
        return self.proc.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def close(self):
        self.stop()
        self._log.close()


# What AddressSanitizer, LeakSanitizer, UndefinedBehaviorSanitizer and
# ThreadSanitizer print when they find something.
SANITIZER_RE = re.compile(r"^.*(?:(?:ERROR|WARNING): (?:Address|Leak|Thread|Memory|UndefinedBehavior)Sanitizer"
                          r"|: runtime error: |^SUMMARY: \w+Sanitizer).*$", re.M)


def sanitizer_reports(text):
    """The first lines of the sanitizer reports in TEXT (albd's log)."""
    return SANITIZER_RE.findall(text)


class AlbdFactory:
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.all = []

    def start(self, config_text, ports=None, name="albd", port=None):
        """Start albd with CONFIG_TEXT; PORTS {listener: port} are waited for."""
        if ports is None:
            ports = {"web": port}
        a = Albd(self.tmp_path, config_text, ports, name)
        self.all.append(a)
        return a.start()

    def close_all(self):
        for a in self.all:
            a.close()

    def sanitizer_reports(self):
        """[(albd, report lines)] for every albd whose log has a sanitizer report."""
        out = []
        for a in self.all:
            found = sanitizer_reports(a.log())
            if found:
                out.append((a, found))
        return out


@pytest.fixture
def albd(tmp_path, request):
    check_albd_bin()
    f = AlbdFactory(tmp_path)
    request.node._albd_factory = f
    yield f
    f.close_all()
    reports = f.sanitizer_reports()
    if reports:
        pytest.fail("sanitizer report in albd's log:\n" + "\n\n".join(
            "%s (exit %s):\n%s\n...\n%s" % (a.log_path, a.proc.returncode if a.proc else None,
                                            "\n".join(found[:5]), a.log()[-6000:])
            for a, found in reports), pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach albd's log (and the backends' logs) to a failed test's report."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        f = getattr(item, "_albd_factory", None)
        for a in (f.all if f else []):
            rep.sections.append(("%s log (%s)" % (a.name, a.log_path), a.log()[-20000:]))


@pytest.fixture
def proxy(albd, backends, request):
    """albd in front of two plain backends b1, b2 (round robin): an object
    with .albd, .port, .b1, .b2."""
    class P:
        pass
    p = P()
    p.b1 = backends.start("b1")
    p.b2 = backends.start("b2")
    p.port = free_port()
    p.albd = albd.start(simple_config(p.port, [p.b1, p.b2]), port=p.port)
    return p


@pytest.fixture
def one_backend(albd, backends):
    """albd in front of one backend b1: .albd, .port, .b1."""
    class P:
        pass
    p = P()
    p.b1 = backends.start("b1")
    p.port = free_port()
    p.albd = albd.start(simple_config(p.port, [p.b1]), port=p.port)
    return p


# ---------------------------------------------------------------------------
# raw HTTP/1.1 client


class ProtocolError(Exception):
    pass


class IncompleteResponse(ProtocolError):
    def __init__(self, msg, partial=None):
        super().__init__(msg)
        self.partial = partial


class Response:
    def __init__(self, version, status, reason, headers, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value)
        self.raw_head = raw_head
        self.body = b""
        self.body_len = 0
        self.sha256 = None
        self.chunked = False
        self.interim = []  # 1xx responses seen before this one

    def header(self, name, default=None):
        vals = self.all(name)
        return vals[0] if vals else default

    def all(self, name):
        name = name.lower()
        return [v for n, v in self.headers if n.lower() == name]

    def has_token(self, name, token):
        token = token.lower()
        return any(t.strip().lower() == token for v in self.all(name) for t in v.split(","))

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode("latin-1")

    def __repr__(self):
        return "<Response %s %s %r body=%r>" % (self.status, self.reason, self.headers, self.body[:300])


class Conn:
    """One client connection. request() sends and reads one response;
    send()/read_response() for pipelining and malformed input."""

    def __init__(self, port, timeout=10, host=HOST, rcvbuf=None):
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.eof = False
        self.reset = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def settimeout(self, t):
        self.sock.settimeout(t)

    def send(self, data):
        self.sock.sendall(data)

    @staticmethod
    def build(method, path, headers=None, body=None, host="albd.test", version="HTTP/1.1"):
        lines = ["%s %s %s" % (method, path, version)]
        hdrs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        names = {n.lower() for n, _ in hdrs}
        if host is not None and "host" not in names:
            lines.append("Host: %s" % host)
        for n, v in hdrs:
            lines.append("%s: %s" % (n, v))
        if body is not None and "content-length" not in names and "transfer-encoding" not in names:
            lines.append("Content-Length: %d" % len(body))
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if body is not None:
            data += body if isinstance(body, bytes) else body.encode()
        return data

    def request(self, method, path, headers=None, body=None, host="albd.test", version="HTTP/1.1", **kw):
        self.send(self.build(method, path, headers, body, host, version))
        return self.read_response(method=method, **kw)

    # -- reading ----------------------------------------------------------
    def _fill(self, n=262144):
        try:
            data = self.sock.recv(n)
        except ConnectionResetError:
            data = b""
            self.reset = True
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _read_head(self, limit=1 << 20):
        start = 0
        while True:
            i = self.buf.find(b"\r\n\r\n", start)
            if i >= 0:
                head = bytes(self.buf[:i + 4])
                del self.buf[:i + 4]
                return head
            if len(self.buf) > limit:
                raise ProtocolError("response head too large")
            start = max(0, len(self.buf) - 3)
            if not self._fill():
                if self.buf:
                    raise IncompleteResponse("connection closed inside a response head: %r" % bytes(self.buf[:300]))
                raise IncompleteResponse("connection closed before any response byte")

    def _read_line(self, limit=4096):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            if len(self.buf) > limit:
                raise ProtocolError("line too long")
            if not self._fill():
                raise IncompleteResponse("connection closed inside a chunk size line")

    def _read_exact(self, n, sink):
        while n > 0:
            if not self.buf and not self._fill(min(max(n, 65536), 1 << 20)):
                raise IncompleteResponse("connection closed with %d body bytes missing" % n)
            take = min(n, len(self.buf))
            sink(memoryview(self.buf)[:take])
            del self.buf[:take]
            n -= take

    def read_response(self, method="GET", keep_body=True, allow_interim=False, sink=None,
                      expect_body=None):
        """Read one response. 1xx responses are collected in .interim (or
        returned when allow_interim). Raises ProtocolError on bad framing and
        IncompleteResponse when the connection ends early."""
        interim = []
        while True:
            head = self._read_head()
            lines = head[:-4].split(b"\r\n")
            m = re.match(rb"^(HTTP/1\.[01]) (\d{3})(?: (.*))?$", lines[0])
            if not m:
                raise ProtocolError("bad status line %r" % lines[0][:200])
            headers = []
            for line in lines[1:]:
                name, sep, value = line.partition(b":")
                if not sep or not name or name != name.strip() or b"\r" in line or b"\n" in line or b"\0" in line:
                    raise ProtocolError("bad header line %r" % line[:200])
                headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
            r = Response(m.group(1).decode(), int(m.group(2)), (m.group(3) or b"").decode("latin-1"),
                         headers, head)
            if 100 <= r.status < 200 and r.status != 101:
                if allow_interim:
                    return r
                interim.append(r)
                continue
            break
        r.interim = interim
        h = hashlib.sha256()
        kept = bytearray()
        total = [0]

        def collect(data):
            h.update(data)
            total[0] += len(data)
            if keep_body:
                kept.extend(data)
            if sink is not None:
                sink(data)

        te = r.all("transfer-encoding")
        cl = r.all("content-length")
        no_body = method == "HEAD" or r.status in (204, 304) or (100 <= r.status < 200)
        try:
            if no_body:
                pass
            elif te:
                codings = [t.strip().lower() for v in te for t in v.split(",")]
                if codings[-1] != "chunked":
                    raise ProtocolError("response Transfer-Encoding not ending in chunked: %r" % te)
                if cl:
                    raise ProtocolError("response with both Content-Length and Transfer-Encoding")
                r.chunked = True
                while True:
                    line = self._read_line()
                    size_txt = line.split(b";", 1)[0].strip()
                    if not re.match(rb"^[0-9a-fA-F]+$", size_txt):
                        raise ProtocolError("bad chunk size line %r" % line[:100])
                    size = int(size_txt, 16)
                    if size == 0:
                        while self._read_line() != b"":
                            pass
                        break
                    self._read_exact(size, collect)
                    if self._read_line() != b"":
                        raise ProtocolError("chunk data not followed by CRLF")
            elif cl:
                if len(set(cl)) != 1 or not re.match(r"^[0-9]+$", cl[0]):
                    raise ProtocolError("bad response Content-Length %r" % cl)
                self._read_exact(int(cl[0]), collect)
            else:
                # delimited by close
                r.close_delimited = True
                while True:
                    if self.buf:
                        collect(memoryview(self.buf))
                        self.buf.clear()
                    if not self._fill():
                        break
        except IncompleteResponse as e:
            r.body = bytes(kept)
            r.body_len = total[0]
            e.partial = r
            raise
        r.body = bytes(kept)
        r.body_len = total[0]
        r.sha256 = h.hexdigest()
        return r

    def closed_by_peer(self, timeout=5.0):
        """True when the peer closes (FIN or RST) within TIMEOUT and sends
        nothing more; False when it is still open after TIMEOUT. Extra data
        raises ProtocolError."""
        if self.buf:
            raise ProtocolError("unexpected extra bytes: %r" % bytes(self.buf[:300]))
        if self.eof:
            return True
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        finally:
            self.sock.settimeout(old)
        if data:
            raise ProtocolError("unexpected extra bytes: %r" % data[:300])
        self.eof = True
        return True


def get(port, path, method="GET", headers=None, body=None, timeout=10, **kw):
    """One request on a new connection."""
    with Conn(port, timeout=timeout) as c:
        return c.request(method, path, headers=headers, body=body, **kw)


def rss_kb(pid):
    """The resident memory of process PID in KB (VmRSS)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def sanitized(path):
    """Whether the binary at PATH is a sanitizer build (ASan, TSan, UBSan)."""
    out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
    return any(lib in out for lib in ("libasan", "libtsan", "libubsan"))


def expected_sha(size, seed):
    return backend_mod.pattern_sha256(size, seed)
