"""Health checks: active checks, passive ejection, fail-open, flapping
hold-down, slow start, draining on reload, and their config checks.

Every state change is asserted through albd's log, one line each:
  health: target_group=TG target=IP:PORT state=NEW previous=OLD reason=R description="TEXT"
  health: target_group=TG fail_open=on|off healthy=K total=N
and a new reason for a state that stays (flapping hold-down) without previous=:
  health: target_group=TG target=IP:PORT state=STATE reason=R description="TEXT"
The backends answer GET /health with a code set through /control (backend.py).
"""
import collections
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from conftest import (Conn, free_port, get, listener, make_config,
                      target_group, wait_until)

# Fast checks: a state change takes about 2 intervals (thresholds 2).
HC = {"enabled": True, "protocol": "HTTP", "port": "traffic-port", "path": "/health",
      "interval": 1, "timeout": 0.5, "healthy_threshold": 2, "unhealthy_threshold": 2,
      "matcher": "200-399"}

UA = "albd-HealthChecker/1.0"

# 2 failed checks at interval 1 (slightly jittered) + the timeout + slack
STATE_CHANGE_TIMEOUT = 8


def hc_config(port, targets, hc=None, algorithm="round_robin", workers=1, limits=None,
              name="tg", **tg_opts):
    """One listener "web" on PORT forwarding to target group NAME, checked
    with HC (defaults above; a None value leaves the setting out)."""
    h = dict(HC)
    h.update(hc or {})
    tg = target_group(name, targets, algorithm, health_check=h, **tg_opts)
    return make_config([listener("web", port, name)], [tg], workers=workers, limits=limits)


# ---------------------------------------------------------------------------
# albd's log

STATE_RE = re.compile(r'health: target_group=(?P<tg>\S+) target=(?P<target>\S+) state=(?P<state>\S+) '
                      r'previous=(?P<previous>\S+) reason=(?P<reason>\S+) '
                      r'description="(?P<description>(?:[^"\\]|\\.)*)"\s*$')
REASON_RE = re.compile(r'health: target_group=(?P<tg>\S+) target=(?P<target>\S+) state=(?P<state>\S+) '
                       r'reason=(?P<reason>\S+) description="(?P<description>(?:[^"\\]|\\.)*)"\s*$')
FAIL_OPEN_RE = re.compile(r'health: target_group=(?P<tg>\S+) fail_open=(?P<fail_open>on|off) '
                          r'healthy=(?P<healthy>\d+) total=(?P<total>\d+)\s*$')


class HealthLog:
    """The "health:" lines of one albd's log. Positions (mark()) are offsets
    in the log text, so a test can look only at what came after a point."""

    def __init__(self, albd):
        self.a = albd

    def _complete(self):
        text = self.a.log()
        return text[:text.rfind("\n") + 1]

    def mark(self):
        return len(self._complete())

    def _parse(self, regex, since):
        out = []
        for line in self._complete()[since:].split("\n"):
            m = regex.search(line)
            if m:
                d = m.groupdict()
                d["line"] = line
                out.append(d)
        return out

    def events(self, since=0, **want):
        """State-change lines after SINCE whose fields match WANT (a string:
        equal; a compiled regex: search)."""
        return [e for e in self._parse(STATE_RE, since) if _match(e, want)]

    def reasons(self, since=0, **want):
        """Lines after SINCE that give a new reason for an unchanged state."""
        return [e for e in self._parse(REASON_RE, since) if _match(e, want)]

    def fail_open(self, since=0, **want):
        return [e for e in self._parse(FAIL_OPEN_RE, since) if _match(e, want)]

    def wait(self, timeout=STATE_CHANGE_TIMEOUT, since=0, **want):
        """The first state-change line after SINCE matching WANT (waits)."""
        def find():
            ev = self.events(since, **want)
            return ev[0] if ev else None
        try:
            return wait_until(find, timeout, interval=0.05)
        except AssertionError:
            raise AssertionError("no health line %s within %.1f s; health lines so far:\n%s"
                                 % (_fmt(want), timeout, self.dump(since)))

    def wait_fail_open(self, timeout=STATE_CHANGE_TIMEOUT, since=0, **want):
        def find():
            ev = self.fail_open(since, **want)
            return ev[0] if ev else None
        try:
            return wait_until(find, timeout, interval=0.05)
        except AssertionError:
            raise AssertionError("no fail_open line %s within %.1f s; health lines so far:\n%s"
                                 % (_fmt(want), timeout, self.dump(since)))

    def dump(self, since=0):
        lines = [l for l in self._complete()[since:].split("\n") if "health:" in l]
        return "\n".join(lines[-40:]) or "(none)"

    def wait_reload(self, since, timeout=5):
        """Wait for the "configuration generation N is live" line after SINCE."""
        wait_until(lambda: "configuration generation" in self._complete()[since:], timeout,
                   what="the reload to go live")


def _match(ev, want):
    for k, v in want.items():
        if isinstance(v, re.Pattern):
            if not v.search(ev[k]):
                return False
        elif ev[k] != str(v):
            return False
    return True


def _fmt(want):
    return " ".join("%s=%s" % (k, v.pattern if isinstance(v, re.Pattern) else v)
                    for k, v in want.items()) or "(any)"


# ---------------------------------------------------------------------------
# helpers


def control(b, **q):
    """Set backend B's /health behaviour: control(b, health=500), health_hang=1."""
    query = "&".join("%s=%s" % kv for kv in q.items())
    with Conn(b.port, timeout=5) as c:
        r = c.request("GET", "/control?" + query)
    assert r.status == 200, r
    return r.json()


def spread(port, n, path="/name"):
    """N requests on one keep-alive connection -> Counter of X-Backend;
    every one must be a 200 from a backend."""
    seen = collections.Counter()
    with Conn(port, timeout=10) as c:
        for i in range(n):
            r = c.request("GET", path)
            assert r.status == 200 and r.header("X-Backend"), "request %d: %r" % (i, r)
            seen[r.header("X-Backend")] += 1
    return seen


def names(n):
    return n.get("/name", 0)


def start_healthy(albd, targets, port, text):
    """Start albd with TEXT and wait until every target in TARGETS is logged
    healthy (the first check is sent at once and one pass is enough)."""
    a = albd.start(text, port=port)
    hl = HealthLog(a)
    for b in targets:
        hl.wait(timeout=5, target=b.addr, state="healthy")
    return a, hl


def kill(b):
    """SIGKILL backend B by pid (its listening socket closes: connections refused)."""
    os.kill(b.proc.pid, signal.SIGKILL)
    b.proc.wait(timeout=5)


class Load:
    """CLIENTS threads sending GET PATH on keep-alive connections until
    stop(); counts answers by backend and keeps every error."""

    def __init__(self, port, clients=4, path="/name"):
        self.port, self.path = port, path
        self.stop_ev = threading.Event()
        self.lock = threading.Lock()
        self.seen = collections.Counter()
        self.errors = []
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(clients)]
        for t in self.threads:
            t.start()

    def run(self, n):
        c = None
        while not self.stop_ev.is_set():
            try:
                if c is None:
                    c = Conn(self.port, timeout=10)
                r = c.request("GET", self.path)
                if r.status != 200:
                    raise AssertionError("status %d from %s: %r" % (r.status, r.header("X-Backend"), r))
                with self.lock:
                    self.seen[r.header("X-Backend")] += 1
            except Exception as e:  # noqa
                with self.lock:
                    self.errors.append("client %d at %.3f: %r" % (n, time.monotonic(), e))
                if c is not None:
                    c.close()
                c = None
                time.sleep(0.01)
        if c is not None:
            c.close()

    def snapshot(self):
        with self.lock:
            return collections.Counter(self.seen)

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(15)
        assert not any(t.is_alive() for t in self.threads), "load threads hung"


def in_background(fn):
    res = {}

    def run():
        try:
            res["value"] = fn()
        except BaseException as e:  # noqa
            res["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, res


# ---------------------------------------------------------------------------
# the check itself


@pytest.mark.timeout_s(30)
def test_check_request_format_and_first_check_at_once(albd, backends):
    """GET <path> HTTP/1.1, Host = target, User-Agent albd-HealthChecker/1.0,
    Connection: close; the first check goes out at once, the next only
    after the interval."""
    b1 = backends.start("b1")
    port = free_port()
    a = albd.start(hc_config(port, [b1], hc={"interval": 30, "timeout": 5}), port=port)
    t0 = time.monotonic()
    wait_until(lambda: b1.stats()["health_checks"] >= 1, 2, interval=0.02,
               what="the first health check (sent at once)")
    assert time.monotonic() - t0 < 1.0, "first check %.2f s after start" % (time.monotonic() - t0)
    hl = HealthLog(a)
    ev = hl.wait(timeout=3, target=b1.addr, state="healthy")
    assert ev["tg"] == "tg" and ev["previous"] == "initial" and ev["reason"] == "-", ev["line"]
    s = b1.stats()
    last = s["health_last"]
    assert last["method"] == "GET" and last["target"] == "/health" and last["version"] == "HTTP/1.1", last
    hdr = collections.defaultdict(list)
    for n, v in last["headers"]:
        hdr[n.lower()].append(v)
    assert hdr["host"] == [b1.addr], last
    assert hdr["user-agent"] == [UA], last
    assert [t.strip().lower() for v in hdr["connection"] for t in v.split(",")] == ["close"], last
    # the checks are not traffic
    assert s["requests"] == 0 and s["connections"] == 0, s
    time.sleep(1.5)
    assert b1.stats()["health_checks"] == 1, "a second check before interval = 30 s elapsed"
    # traffic flows
    assert spread(port, 5) == {"b1": 5}


@pytest.mark.timeout_s(30)
def test_check_port_override(albd, backends):
    """health_check.port sends the checks to another port than the traffic."""
    t = backends.start("t", "--health-code", "500")   # the traffic port would fail
    h = backends.start("h")                           # the checked port passes
    port = free_port()
    a = albd.start(hc_config(port, [t], hc={"port": h.port}), port=port)
    hl = HealthLog(a)
    hl.wait(timeout=5, target=t.addr, state="healthy")
    assert h.stats()["health_checks"] >= 1
    assert t.stats()["health_checks"] == 0, "the traffic port was checked"
    assert spread(port, 5) == {"t": 5}
    assert not hl.events(target=t.addr, state="unhealthy")


@pytest.mark.timeout_s(30)
def test_check_disabled_sends_nothing(albd, backends):
    """enabled = false: no checks, every target takes requests as a healthy
    one; DescribeTargetHealth says unavailable, Target.HealthCheckDisabled
    (ALB's), and HealthyHostCount / UnHealthyHostCount are not reported
    (ALB's: "Reported if health checks are enabled")."""
    b1 = backends.start("b1", "--health-code", "500")
    b2 = backends.start("b2", "--health-code", "500")
    port = free_port()
    a = albd.start(hc_config(port, [b1, b2], hc={"enabled": False}), port=port)
    seen = spread(port, 20)
    assert seen == {"b1": 10, "b2": 10}, seen
    time.sleep(1.5)
    assert b1.stats()["health_checks"] == 0 and b2.stats()["health_checks"] == 0
    hl = HealthLog(a)
    assert not hl.events() and not hl.fail_open(), hl.dump()
    assert tg_health(a) == {b.addr: {"State": "unavailable", "Reason": "Target.HealthCheckDisabled",
                                     "Description": "Health checks are disabled for the target group"}
                            for b in (b1, b2)}
    text = a.admin_request("GET", "/metrics").body.decode()
    assert re.search(r'^albd_fail_open\{load_balancer="[^"]*",target_group="tg"\} 0$', text, re.M), text
    assert "albd_healthy_hosts{" not in text and "albd_unhealthy_hosts{" not in text, text


def tg_health(a, name="tg"):
    """{target: TargetHealth} of GET /api/v1/target-groups/NAME/health."""
    r = a.admin_request("GET", "/api/v1/target-groups/%s/health" % name)
    assert r.status == 200, r
    return {"%s:%d" % (d["Target"]["Id"], d["Target"]["Port"]): d["TargetHealth"]
            for d in r.json()["TargetHealthDescriptions"]}


UNUSED = {"State": "unused", "Reason": "Target.NotInUse",
          "Description": "Target group is not configured to receive traffic from the load balancer"}


@pytest.mark.timeout_s(60)
def test_group_no_listener_uses_is_unused_and_not_checked(albd, backends):
    """A target group no listener's default action or rule forwards to:
    its targets are unused (Target.NotInUse), not checked, not in its
    gauges; a reload that uses it starts them at initial, as new targets,
    while the other group's states stay; one that stops using it stops
    the checks."""
    b1, b2 = backends.start("b1"), backends.start("b2")
    port = free_port()
    hc = dict(HC, interval=1, timeout=0.5)
    side_rule = {"priority": 10, "path": ["/side/*"], "forward": ({"target_group": "side", "weight": 1},)}

    def cfg(rules):
        return make_config([listener("web", port, "tg", rules=rules)],
                           [target_group("tg", [b1], health_check=hc), target_group("side", [b2], health_check=hc)])
    a = albd.start(cfg(()), port=port)
    hl = HealthLog(a)
    hl.wait(target=b1.addr, state="healthy")
    assert tg_health(a, "side") == {b2.addr: UNUSED}
    time.sleep(2.5)
    assert b2.stats()["health_checks"] == 0
    assert tg_health(a, "side") == {b2.addr: UNUSED}
    assert not hl.events(target=b2.addr) and not hl.fail_open(tg="side"), hl.dump()
    text = a.admin_request("GET", "/metrics").body.decode()
    for g in ("albd_healthy_hosts", "albd_unhealthy_hosts", "albd_fail_open"):
        assert not re.search(r'^%s\{[^}]*target_group="side"' % g, text, re.M), text
    assert re.search(r'^albd_healthy_hosts\{load_balancer="[^"]*",target_group="tg"\} 1$', text, re.M), text
    # a rule forwards to it: initial (ALB's text), then checked to healthy
    mark = hl.mark()
    a.reload(cfg((side_rule,)))
    hl.wait_reload(mark)
    ev = hl.wait(since=mark, timeout=5, target=b2.addr, state="initial")
    assert ev["previous"] == "unused" and ev["reason"] == "Elb.InitialHealthChecking", ev["line"]
    assert ev["description"] == "Initial health checks in progress", ev["line"]
    hl.wait(since=mark, timeout=10, target=b2.addr, state="healthy")
    assert b2.stats()["health_checks"] >= 1
    assert get(port, "/side/x").status == 200
    assert not hl.events(since=mark, target=b1.addr), "b1 changed state on reload:\n" + hl.dump(mark)
    # no rule any more: unused again, and no more checks
    mark = hl.mark()
    a.reload(cfg(()))
    hl.wait_reload(mark)
    ev = hl.wait(since=mark, timeout=5, target=b2.addr, state="unused")
    assert ev["previous"] == "healthy" and ev["reason"] == "Target.NotInUse", ev["line"]
    assert tg_health(a, "side") == {b2.addr: UNUSED}
    time.sleep(0.5)
    n = b2.stats()["health_checks"]
    time.sleep(2.5)
    assert b2.stats()["health_checks"] == n
    assert not hl.events(since=mark, target=b1.addr), hl.dump(mark)


# ---------------------------------------------------------------------------
# failure reasons


@pytest.mark.timeout_s(40)
def test_response_code_mismatch_takes_target_out(albd, backends):
    b1, b2 = backends.start("b1"), backends.start("b2")
    port = free_port()
    a, hl = start_healthy(albd, [b1, b2], port, hc_config(port, [b1, b2], workers=2))
    mark = hl.mark()
    control(b2, health=500)
    ev = hl.wait(since=mark, target=b2.addr, state="unhealthy")
    assert ev["tg"] == "tg" and ev["previous"] == "healthy", ev["line"]
    assert ev["reason"] == "Target.ResponseCodeMismatch", ev["line"]
    assert ev["description"] == "Health checks failed with these codes: [500]", ev["line"]
    time.sleep(0.5)  # every worker has the new state
    before = names(b2.stats()["paths"])
    seen = spread(port, 100)
    assert seen == {"b1": 100}, seen
    assert names(b2.stats()["paths"]) == before
    assert not hl.events(since=mark, target=b1.addr), hl.dump(mark)
    assert not hl.fail_open(since=mark), hl.dump(mark)


@pytest.mark.timeout_s(40)
def test_matcher_list(albd, backends):
    """matcher = "201,202": 201 and 202 pass, 200 is a mismatch."""
    b1 = backends.start("b1", "--health-code", "202")
    b2 = backends.start("b2", "--health-code", "201")
    port = free_port()
    a, hl = start_healthy(albd, [b1, b2], port,
                          hc_config(port, [b1, b2], hc={"matcher": "201,202"}))
    mark = hl.mark()
    control(b1, health=200)
    ev = hl.wait(since=mark, target=b1.addr, state="unhealthy")
    assert ev["reason"] == "Target.ResponseCodeMismatch", ev["line"]
    assert ev["description"] == "Health checks failed with these codes: [200]", ev["line"]


@pytest.mark.timeout_s(40)
def test_hanging_check_is_timeout(albd, backends):
    b1, b2 = backends.start("b1"), backends.start("b2")
    port = free_port()
    a, hl = start_healthy(albd, [b1, b2], port, hc_config(port, [b1, b2]))
    mark = hl.mark()
    t0 = time.monotonic()
    control(b2, health_hang=1)
    ev = hl.wait(since=mark, target=b2.addr, state="unhealthy")
    took = time.monotonic() - t0
    assert ev["previous"] == "healthy" and ev["reason"] == "Target.Timeout", ev["line"]
    # 2 checks, each given up after timeout = 0.5 s: not before ~1 interval
    assert took >= 0.9, "unhealthy %.2f s after the target started hanging" % took
    time.sleep(0.5)
    assert spread(port, 20) == {"b1": 20}
    assert a.alive()
    control(b2, health_hang=0)


# ---------------------------------------------------------------------------
# a target dies and comes back


@pytest.mark.timeout_s(60)
def test_killed_target_under_load_costs_no_error_and_comes_back(albd, backends):
    b1, b2 = backends.start("b1"), backends.start("b2")
    b2_port = b2.port
    port = free_port()
    a, hl = start_healthy(albd, [b1, b2], port,
                          hc_config(port, [b1, b2], workers=2, hc={"passive_failures": 5}))
    mark = hl.mark()
    load = Load(port, clients=4)
    try:
        time.sleep(1.0)
        before_kill = load.snapshot()
        kill(b2)
        t_kill = time.monotonic()
        time.sleep(2.0)
    finally:
        load.stop()
    seen = load.snapshot()
    assert not load.errors, "%d errors (%r); first: %s" % (len(load.errors), seen, load.errors[:10])
    assert before_kill["b2"] > 0, before_kill
    assert seen["b1"] - before_kill["b1"] > 100, "little load after the kill: %r" % seen
    ev = hl.wait(since=mark, timeout=max(1, STATE_CHANGE_TIMEOUT - (time.monotonic() - t_kill)),
                 target=b2.addr, state="unhealthy")
    assert ev["previous"] == "healthy" and ev["reason"] == "Target.FailedHealthChecks", ev["line"]
    assert not hl.events(since=mark, target=b1.addr), hl.dump(mark)

    # back on the same port
    mark = hl.mark()
    nb2 = backends.start("b2", "--port", str(b2_port))
    assert nb2.port == b2_port
    ev = hl.wait(since=mark, target=nb2.addr, state="healthy")
    assert ev["previous"] == "unhealthy", ev["line"]
    time.sleep(0.5)
    seen = spread(port, 40)
    assert seen["b2"] >= 10 and seen["b1"] >= 10, seen
    assert names(nb2.stats()["paths"]) == seen["b2"]


@pytest.mark.timeout_s(45)
def test_recovery_after_healthy_threshold_passes(albd, backends):
    b1, b2 = backends.start("b1"), backends.start("b2")
    port = free_port()
    a, hl = start_healthy(albd, [b1, b2], port,
                          hc_config(port, [b1, b2], workers=2, hc={"healthy_threshold": 3}))
    mark = hl.mark()
    control(b2, health=500)
    hl.wait(since=mark, target=b2.addr, state="unhealthy", reason="Target.ResponseCodeMismatch")
    time.sleep(0.5)
    assert spread(port, 20) == {"b1": 20}

    mark = hl.mark()
    checks0 = b2.stats()["health_checks"]
    t0 = time.monotonic()
    control(b2, health=200)
    ev = hl.wait(since=mark, target=b2.addr, state="healthy")
    took = time.monotonic() - t0
    assert ev["previous"] == "unhealthy" and ev["reason"] == "-", ev["line"]
    passes = b2.stats()["health_checks"] - checks0
    assert passes >= 3, "healthy after %d passing checks (healthy_threshold = 3)" % passes
    assert took >= 1.5, "healthy %.2f s after the first passing check could come" % took
    time.sleep(0.5)
    seen = spread(port, 100)
    assert 35 <= seen["b2"] <= 65, "traffic did not return to b2: %r" % seen


# ---------------------------------------------------------------------------
# fail-open


@pytest.mark.timeout_s(45)
def test_fail_open_when_no_target_is_healthy(albd, backends):
    b1, b2 = backends.start("b1"), backends.start("b2")
    port = free_port()
    a, hl = start_healthy(albd, [b1, b2], port, hc_config(port, [b1, b2]))
    mark = hl.mark()
    control(b1, health=500)
    control(b2, health=500)
    for b in (b1, b2):
        hl.wait(since=mark, target=b.addr, state="unhealthy")
    ev = hl.wait_fail_open(since=mark, tg="tg", fail_open="on")
    assert ev["healthy"] == "0" and ev["total"] == "2", ev["line"]
    seen = spread(port, 40)
    assert seen["b1"] > 0 and seen["b2"] > 0, "fail-open must use every target: %r" % seen
    time.sleep(2.0)  # checks keep failing: still one fail_open=on line
    assert len(hl.fail_open(since=mark, fail_open="on")) == 1, hl.dump(mark)
    assert sum(spread(port, 10).values()) == 10

    mark = hl.mark()
    control(b1, health=200)
    hl.wait(since=mark, target=b1.addr, state="healthy", previous="unhealthy")
    ev = hl.wait_fail_open(since=mark, timeout=2, tg="tg", fail_open="off")
    assert ev["healthy"] == "1" and ev["total"] == "2", ev["line"]
    time.sleep(0.5)
    assert spread(port, 40) == {"b1": 40}


@pytest.mark.timeout_s(30)
def test_start_up_serves_before_first_checks_pass(albd, backends):
    """All targets are initial at start-up: albd fails open, no request is
    refused while the first checks are still out."""
    b1, b2 = backends.start("b1"), backends.start("b2")
    for b in (b1, b2):
        control(b, health_hang=1)
    port = free_port()
    a = albd.start(hc_config(port, [b1, b2], hc={"interval": 2, "timeout": 1.5}), port=port)
    t0 = time.monotonic()
    seen = spread(port, 40)
    assert time.monotonic() - t0 < 1.0, "test too slow to stay within the first check"
    assert seen["b1"] > 0 and seen["b2"] > 0, seen
    hl = HealthLog(a)
    assert not hl.events(state="healthy"), hl.dump()
    for b in (b1, b2):
        control(b, health_hang=0)
    for b in (b1, b2):
        hl.wait(target=b.addr, state="healthy")


# ---------------------------------------------------------------------------
# slow start


@pytest.mark.timeout_s(60)
@pytest.mark.parametrize("algorithm", ["round_robin", "least_outstanding_requests"])
def test_slow_start_ramps_share(albd, backends, algorithm, tmp_path, albd_bin):
    """The real-time test of slow start (30 s, the shortest allowed): b2,
    registered by a reload, gets a small share at first and a growing one
    later. The ramp start on recovery and after a passive ejection is
    unit-tested with an injected clock (tests/unit/test_health.c)."""
    b1 = backends.start("b1", "--delay-ms", "5")
    b2 = backends.start("b2", "--delay-ms", "5")
    port = free_port()
    plain = hc_config(port, [b1], algorithm=algorithm)
    ramped = hc_config(port, [b1, b2], algorithm=algorithm, slow_start=30)
    if algorithm != "round_robin":
        p = tmp_path / "ss.conf"
        p.write_text(ramped)
        r = run_check(albd_bin, p)
        if r.returncode != 0 and b"slow_start" in r.stderr:
            pytest.skip("albd rejects slow_start with %s (as ALB does): %s"
                        % (algorithm, r.stderr.decode(errors="replace").strip()))
    # b1 is healthy (and past any ramp) before slow start is switched on
    a, hl = start_healthy(albd, [b1], port, plain)
    mark = hl.mark()
    a.reload(ramped)
    hl.wait_reload(mark)
    # b2 is new: initial, then healthy after its first check (at once)
    hl.wait(since=mark, timeout=5, target=b2.addr, state="healthy")
    t_healthy = time.monotonic()
    assert not hl.events(since=mark, target=b1.addr), "the reload changed b1's state:\n" + hl.dump(mark)

    def share(seconds):
        load = Load(port, clients=8)
        try:
            time.sleep(seconds)
        finally:
            load.stop()
        assert not load.errors, load.errors[:5]
        seen = load.snapshot()
        total = seen["b1"] + seen["b2"]
        assert total > 150, "too few requests to measure: %r" % seen
        return seen["b2"] / total, seen

    early, early_seen = share(2.0)
    time.sleep(max(0.0, t_healthy + 7.0 - time.monotonic()))
    late, late_seen = share(2.0)
    print("b2 share: %.1f%% in 0-2 s %r, %.1f%% in 7-9 s %r"
          % (early * 100, dict(early_seen), late * 100, dict(late_seen)))
    # linear ramp over 30 s: ~0-7% of the full weight in the first 2 s
    # (share < 7%), ~23-30% at 7-9 s (share ~20%)
    assert early < 0.2, "b2 got %.0f%% right after becoming healthy: %r" % (early * 100, early_seen)
    assert late > early + 0.07, ("share did not ramp up: %.0f%% early %r, %.0f%% 7 s later %r"
                                 % (early * 100, early_seen, late * 100, late_seen))
    assert late < 0.45, late_seen


# ---------------------------------------------------------------------------
# draining on reload


def request_on(b, port, path, timeout=15):
    """Send two concurrent requests for PATH (round robin puts one on each of
    the two targets) and return (thread, result) of the one that reached B."""
    started = []
    for i in range(2):
        t, res = in_background(lambda i=i: get(port, path + "&tag=%d" % i, timeout=timeout))
        started.append((t, res))
        time.sleep(0.05)
    wait_until(lambda: b.stats()["heads"] >= 1, 5, what="a request to reach %s" % b.name)
    return started


@pytest.mark.timeout_s(45)
def test_draining_on_reload(albd, backends):
    b1, b2 = backends.start("b1"), backends.start("b2")
    port = free_port()
    a, hl = start_healthy(albd, [b1, b2], port,
                          hc_config(port, [b1, b2], deregistration_delay=5))
    reqs = request_on(b2, port, "/sleep?ms=2500")
    mark = hl.mark()
    t_reload = time.monotonic()
    a.reload(hc_config(port, [b1], deregistration_delay=5))
    ev = hl.wait(since=mark, timeout=3, target=b2.addr, state="draining")
    assert ev["previous"] == "healthy" and ev["reason"] == "Target.DeregistrationInProgress", ev["line"]
    n2 = names(b2.stats()["paths"])
    seen = spread(port, 30)
    assert seen == {"b1": 30}, "a new request went to the draining target: %r" % seen
    # still in flight: not unused yet
    if time.monotonic() - t_reload < 1.5:
        assert not hl.events(since=mark, target=b2.addr, state="unused"), hl.dump(mark)
    # the in-flight requests finish normally
    got = {}
    for t, res in reqs:
        t.join(10)
        assert "error" not in res, res
        r = res["value"]
        assert r.status == 200 and r.body == b"slept 2500", r
        got[r.header("X-Backend")] = r
    assert set(got) == {"b1", "b2"}, got
    ev = hl.wait(since=mark, timeout=max(1, t_reload + 5 + 3 - time.monotonic()),
                 target=b2.addr, state="unused")
    assert ev["previous"] == "draining" and ev["reason"] == "Target.NotRegistered", ev["line"]
    assert not hl.events(since=mark, target=b1.addr), hl.dump(mark)
    assert spread(port, 20) == {"b1": 20}
    assert names(b2.stats()["paths"]) == n2


@pytest.mark.timeout_s(30)
def test_deregistration_delay_bounds_in_flight_request(albd, backends):
    b1, b2 = backends.start("b1"), backends.start("b2")
    port = free_port()
    a, hl = start_healthy(albd, [b1, b2], port,
                          hc_config(port, [b1, b2], deregistration_delay=1))
    reqs = request_on(b2, port, "/sleep?ms=8000", timeout=20)
    mark = hl.mark()
    t_reload = time.monotonic()
    a.reload(hc_config(port, [b1], deregistration_delay=1))
    hl.wait(since=mark, timeout=3, target=b2.addr, state="draining")
    hl.wait(since=mark, timeout=5, target=b2.addr, state="unused")
    # the request on b2 is cut after ~1 s: an error or a closed connection
    cut = None
    for t, res in reqs:
        t.join(max(0.1, t_reload + 4 - time.monotonic()))
        if t.is_alive():
            continue  # the one on b1 (sleeps 8 s)
        r = res.get("value")
        assert r is None or r.status != 200, "the request outlived deregistration_delay: %r" % r
        cut = res
    assert cut is not None, "no request ended within 4 s of the reload (deregistration_delay = 1)"
    assert a.alive()


# ---------------------------------------------------------------------------
# reloads keep the state


@pytest.mark.timeout_s(40)
def test_reload_keeps_health_state(albd, backends):
    b1, b2, b3 = backends.start("b1"), backends.start("b2"), backends.start("b3")
    port = free_port()
    a, hl = start_healthy(albd, [b1, b2], port, hc_config(port, [b1, b2], workers=2))
    control(b2, health=500)
    hl.wait(target=b2.addr, state="unhealthy")
    time.sleep(0.3)
    mark = hl.mark()
    a.reload(hc_config(port, [b1, b2, b3], workers=2))
    hl.wait_reload(mark)
    # at once after the reload: b1 still healthy, b2 still out
    seen = spread(port, 20)
    assert seen["b2"] == 0, "the unhealthy target got traffic after the reload: %r" % seen
    assert seen["b1"] > 0, seen
    ev = hl.wait(since=mark, timeout=5, target=b3.addr, state="healthy")
    assert ev["previous"] == "initial", ev["line"]
    time.sleep(1.5)
    assert not hl.events(since=mark, target=b1.addr), "b1 changed state on reload:\n" + hl.dump(mark)
    assert not hl.events(since=mark, target=b2.addr), "b2 changed state on reload:\n" + hl.dump(mark)
    assert not hl.events(since=mark, previous="initial", target=re.compile(
        "^(%s|%s)$" % (re.escape(b1.addr), re.escape(b2.addr))))
    # one initial->healthy line per target over the whole run
    for b in (b1, b2, b3):
        assert len(hl.events(target=b.addr, state="healthy", previous="initial")) == 1, hl.dump()
        assert len(hl.events(target=b.addr, state="initial")) <= 1, hl.dump()
    seen = spread(port, 30)
    assert seen["b2"] == 0 and seen["b1"] > 0 and seen["b3"] > 0, seen


# ---------------------------------------------------------------------------
# passive ejection


@pytest.mark.timeout_s(30)
def test_passive_ejection_on_connection_failures(albd, backends):
    b1, b2 = backends.start("b1"), backends.start("b2")
    port = free_port()
    # interval 30: after the first checks, none comes during the test
    a, hl = start_healthy(albd, [b1, b2], port,
                          hc_config(port, [b1, b2], hc={"interval": 30, "timeout": 5,
                                                        "passive_failures": 3}))
    spread(port, 100)  # earns retry budget
    mark = hl.mark()
    checks = b2.stats()["health_checks"]
    assert checks == 1, checks
    kill(b2)
    t0 = time.monotonic()
    statuses = collections.Counter()
    for i in range(20):
        r = get(port, "/name")  # new connections: each pick is a fresh connect
        statuses[(r.status, r.header("X-Backend"))] += 1
    assert statuses == {(200, "b1"): 20}, statuses
    ev = hl.wait(since=mark, timeout=max(1, 3 - (time.monotonic() - t0)),
                 target=b2.addr, state="unhealthy")
    assert ev["previous"] == "healthy" and ev["reason"] == "Target.FailedHealthChecks", ev["line"]
    assert "consecutive connection failures" in ev["description"], ev["line"]
    with Conn(port) as c:
        for _ in range(20):
            r = c.request("GET", "/name")
            assert r.status == 200 and r.header("X-Backend") == "b1", r


# ---------------------------------------------------------------------------
# flapping


@pytest.mark.timeout_s(60)
def test_flapping_target_is_held_down(albd, backends):
    """The one real-time test of flap damping (tests/unit/test_health.c
    covers the window and the hold-down with an injected clock):
    flap_transitions 3 counts the first initial -> healthy, so unhealthy and
    healthy again is the third change and is held for flap_hold."""
    b1, b2 = backends.start("b1"), backends.start("b2")
    port = free_port()
    hold = 4
    a, hl = start_healthy(albd, [b1, b2], port,
                          hc_config(port, [b1, b2], hc={"flap_transitions": 3, "flap_window": 60,
                                                        "flap_hold": hold}))
    flap = re.compile(r"^flapping")
    mark = hl.mark()
    code = 200
    for _ in range(4):  # toggle until the damping steps in
        if hl.reasons(since=mark, target=b2.addr, description=flap):
            break
        code = 500 if code == 200 else 200
        want = "unhealthy" if code == 500 else "healthy"
        m = hl.mark()
        control(b2, health=code)
        # the transition, or the hold-down (a held target does not become healthy)
        wait_until(lambda: (hl.events(since=m, target=b2.addr, state=want)
                            or hl.reasons(since=m, target=b2.addr, description=flap)),
                   STATE_CHANGE_TIMEOUT, what="b2 %s or flapping:\n%s" % (want, hl.dump(mark)))
    flapped = wait_until(lambda: hl.reasons(since=mark, target=b2.addr, description=flap), 3,
                         what="a flapping line after %d transitions:\n%s" % (3, hl.dump(mark)))[0]
    t_flap = time.monotonic()
    assert flapped["state"] == "unhealthy", flapped["line"]
    assert flapped["reason"] == "Target.FailedHealthChecks", flapped["line"]
    assert "held out for %d s" % hold in flapped["description"], flapped["line"]
    # the hold-down is not a state change: no "state=X previous=X" line
    same = [e["line"] for e in hl.events() if e["state"] == e["previous"]]
    assert not same, "transition lines where nothing changed:\n" + "\n".join(same)
    flap_mark = hl.mark()
    # held out although its checks pass
    while time.monotonic() < t_flap + hold - 1.5:
        seen = spread(port, 10)
        assert seen == {"b1": 10}, "a held-down target got traffic: %r" % seen
        assert not hl.events(since=flap_mark, target=b2.addr, state="healthy"), hl.dump(mark)
        time.sleep(0.5)
    # and back after flap_hold
    hl.wait(since=flap_mark, timeout=hold + 5, target=b2.addr, state="healthy", previous="unhealthy")
    assert time.monotonic() - t_flap >= hold - 1.5
    time.sleep(0.5)
    seen = spread(port, 40)
    assert seen["b2"] >= 10, seen


# ---------------------------------------------------------------------------
# config checks (albd -t)


def run_check(albd_bin, path):
    return subprocess.run([albd_bin, "-t", "-c", str(path)], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=15)


def setting_line(text, name, after):
    """1-based number of the first line "NAME = ..." after the line containing AFTER."""
    lines = text.split("\n")
    start = next(i for i, l in enumerate(lines) if after in l)
    for i in range(start, len(lines)):
        if re.match(r"^\s*%s = " % re.escape(name), lines[i]):
            return i + 1
    raise AssertionError("%s not in config" % name)


def test_check_full_health_config_accepted(albd_bin, tmp_path):
    p = tmp_path / "full.conf"
    hc = dict(HC, port=8080, timeout=0.5, interval=1.5, passive_failures=5, flap_transitions=6,
              flap_window=60, flap_hold=120)
    p.write_text(hc_config(free_port(), ["127.0.0.1:%d" % free_port()], hc=hc,
                           slow_start=30, deregistration_delay=2))
    r = run_check(albd_bin, p)
    assert r.returncode == 0, r


BAD_SETTINGS = [
    ("timeout", {"interval": 2, "timeout": 2}, {}),
    ("timeout", {"interval": 1, "timeout": 1.5}, {}),
    ("matcher", {"matcher": "abc"}, {}),
    ("matcher", {"matcher": "200-"}, {}),
    ("healthy_threshold", {"healthy_threshold": 1}, {}),
    ("unhealthy_threshold", {"unhealthy_threshold": 11}, {}),
    ("interval", {"interval": 0.5, "timeout": 0.2}, {}),
    ("timeout", {"timeout": 0.05}, {}),
    ("path", {"path": "health"}, {}),
    ("port", {"port": 70000}, {}),
    ("slow_start", {}, {"slow_start": 10}),
    ("slow_start", {}, {"slow_start": 901}),
    ("deregistration_delay", {}, {"deregistration_delay": 3601}),
]


@pytest.mark.parametrize("setting,hc,tg", BAD_SETTINGS, ids=[
    "%s=%s" % (s, ",".join("%s" % v for v in list(h.values()) + list(t.values()))) for s, h, t in BAD_SETTINGS])
def test_check_rejects_bad_health_settings(albd_bin, tmp_path, setting, hc, tg):
    p = tmp_path / "bad.conf"
    text = hc_config(free_port(), ["127.0.0.1:%d" % free_port()], hc=hc, **tg)
    p.write_text(text)
    r = run_check(albd_bin, p)
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 1, "albd -t accepted %s=%r: %r\n%s" % (setting, hc or tg, r, text)
    m = re.search(re.escape(str(p)) + r":(\d+): ?(.*)", err)
    assert m, "no %s:LINE: in stderr:\n%s" % (p, err)
    line, rest = int(m.group(1)), m.group(2)
    after = "health_check = {" if hc else "target_groups = ("
    lines = {setting_line(text, setting, after)}
    if setting == "timeout" and "interval" in hc:  # either end of the comparison
        lines.add(setting_line(text, "interval", after))
    assert line in lines, "error at line %d, expected %s:\n%s\n%s" % (line, sorted(lines), err, text)
    assert setting in rest, rest
