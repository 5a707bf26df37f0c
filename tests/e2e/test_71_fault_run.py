"""A fault run that loses nothing.

3000 numbered requests (every other one a POST whose body carries its
number), paced over about 20 s by 24 client threads on keep-alive
connections, go through albd (2 workers, round robin over 3 targets) while
a driver kills targets with SIGKILL and restarts them on the same port,
makes one reset its connections mid-response, one close them without
answering, slows them down (under and over the group's response_timeout)
and reloads albd four times. The targets (fault_backend.py) append one line
per request they execute to their log before they answer.

Afterwards:
  1. every number got exactly one outcome at the client: a response (for a
     200, one naming that number and method) or a connection error, never
     a malformed response nor bytes nobody asked for;
  2. no POST ran twice (across all targets and their restarts);
  3. a GET that ran more than once was retried by albd, and its access log
     line says so: its target:port_list lists at least as many attempts as
     there were executions, and every target that executed it;
  4. every 200 ran at least once, on the target that answered it;
  5. albd logged each request at most once, with the status the client got,
     is still alive and serving, and its log has no crash (the albd fixture
     fails the test on a sanitizer report).
"""
import json
import os
import select
import signal
import socket
import subprocess
import threading
import time
from collections import Counter, defaultdict

import pytest

from conftest import (HOST, PYTHON, Conn, IncompleteResponse, ProtocolError, free_port, listener,
                      make_config, target_group, wait_until)

FAULT_BACKEND = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fault_backend.py")

N = 3000          # numbered requests
THREADS = 24      # client threads, each on its own keep-alive connection
RATE = 150.0      # requests a second, all threads together (about 20 s)
EXTRA_ID = 100000  # numbers of the requests after the run


class FaultTarget:
    """One fault_backend.py on a fixed port; kill() is SIGKILL by pid,
    start() (re)starts it on the same port."""

    def __init__(self, name, tmp_path):
        self.name = name
        self.port = free_port()
        self.log_path = tmp_path / ("exec-%s.log" % name)
        self.control = tmp_path / ("control-%s" % name)
        self.stderr = open(tmp_path / ("fault-backend-%s.err" % name), "ab")
        self.proc = None
        self.set_mode("ok")

    @property
    def addr(self):
        return "%s:%d" % (HOST, self.port)

    def start(self, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            self.proc = subprocess.Popen(
                [PYTHON, FAULT_BACKEND, "--port", str(self.port), "--name", self.name,
                 "--log", str(self.log_path), "--control", str(self.control)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.stderr)
            fd = self.proc.stdout.fileno()
            buf = b""
            while b"\n" not in buf and self.proc.poll() is None and time.monotonic() < deadline:
                r, _, _ = select.select([fd], [], [], 0.2)
                if r:
                    chunk = os.read(fd, 100)
                    if not chunk:
                        break
                    buf += chunk
            if buf.startswith(b"PORT %d" % self.port):
                return
            self.kill()   # the port was not free yet: try again
            assert time.monotonic() < deadline, "%s did not start on port %d" % (self.name, self.port)
            time.sleep(0.1)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        if self.proc is not None:
            self.proc.stdout.close()
        self.proc = None

    def set_mode(self, mode):
        tmp = self.control.with_suffix(".tmp")
        tmp.write_text(mode + "\n")
        os.replace(tmp, self.control)

    def executions(self):
        """[(id, method, pid, port, mode)] from the log."""
        out = []
        if self.log_path.exists():
            for line in self.log_path.read_text().splitlines():
                rid, method, pid, port, mode = line.split(" ")
                out.append((rid, method, int(pid), int(port), mode))
        return out


@pytest.fixture
def fault_targets(tmp_path):
    """Three fault targets, started; all stopped by pid at teardown."""
    ts = [FaultTarget("t%d" % k, tmp_path) for k in range(1, 4)]
    try:
        for t in ts:
            t.start()
        yield ts
    finally:
        for t in ts:
            t.kill()
            t.stderr.close()


def albd_config(port, targets, log_path, version):
    rules = ({"priority": 10, "path": ["/version"],
              "fixed_response": {"status": 200, "content_type": "text/plain", "body": "v%d\n" % version}},)
    return make_config([listener("web", port, "tg", rules=rules)],
                       [target_group("tg", [t.addr for t in targets], connect_timeout=1, response_timeout=2)],
                       workers=2, access_log={"path": str(log_path), "format": "json"})


def method_of(i):
    return "GET" if i % 2 == 0 else "POST"


def client_thread(port, ids, t0, outcomes, lock):
    """Send requests IDS (no sooner than t0 + id / RATE), one at a time on a
    keep-alive connection, a new connection after any error. Every id gets
    exactly one entry in OUTCOMES: ("response", status, detail) or
    ("error", kind, detail)."""
    c = None

    def record(i, o):
        with lock:
            outcomes[i].append(o)

    for i in ids:
        delay = t0 + i / RATE - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        m = method_of(i)
        try:
            if c is None:
                c = Conn(port, timeout=10)
        except OSError as e:
            record(i, ("error", "connect", repr(e)))
            continue
        body = ("req=%d" % i).encode() if m == "POST" else None
        try:
            r = c.request(m, "/n/%d" % i, headers=[("X-Req-Id", str(i))], body=body)
        except IncompleteResponse as e:
            record(i, ("error", "incomplete" if e.partial is not None else "closed", str(e)))
            c.close()
            c = None
            continue
        except ProtocolError as e:
            record(i, ("error", "protocol", str(e)))
            c.close()
            c = None
            continue
        except socket.timeout as e:
            record(i, ("error", "timeout", repr(e)))
            c.close()
            c = None
            continue
        except OSError as e:   # reset, broken pipe
            record(i, ("error", "reset", repr(e)))
            c.close()
            c = None
            continue
        detail = {"body": r.body.decode("latin-1"), "backend": r.header("X-Backend"),
                  "req_id": r.header("X-Req-Id"), "stray": bytes(c.buf)}
        record(i, ("response", r.status, detail))
        if c.buf or c.eof or r.has_token("Connection", "close"):
            c.close()
            c = None
    if c is not None:
        # nothing more may come on a connection after its last answer
        c.settimeout(0.3)
        try:
            extra = c.sock.recv(4096)
        except socket.timeout:
            extra = b""
        except OSError:
            extra = b""
        c.close()
        if extra:
            with lock:
                outcomes["stray"].append(extra)


def read_access_log(path):
    recs = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                recs.append(json.loads(line))
    return recs


def id_of(rec):
    """The request number in an access log record's request line, or None."""
    parts = rec["request"].split(" ")
    if len(parts) != 3 or "/n/" not in parts[1]:
        return None
    return int(parts[1].rsplit("/n/", 1)[1])


@pytest.mark.slow
@pytest.mark.timeout_s(110)
def test_fault_run_loses_nothing(albd, fault_targets, tmp_path):
    t_begin = time.monotonic()
    targets = fault_targets
    by_port = {t.port: t for t in targets}
    port = free_port()
    alog = tmp_path / "access.json"
    version = [1]
    a = albd.start(albd_config(port, targets, alog, version[0]), port=port)
    pid = a.proc.pid

    faults = []
    t1, t2, t3 = targets

    def kill(t):
        t.kill()

    def restart(t):
        t.start()

    def reload():
        version[0] += 1
        gen = version[0]
        a.reload(albd_config(port, targets, alog, gen))
        wait_until(lambda: "generation %d is live" % gen in a.log(), 10, what="generation %d" % gen)

    # (seconds after the start of the traffic, what, function, arguments)
    schedule = [
        (1.5, "kill -9 t1", kill, t1),
        (3.0, "restart t1", restart, t1),
        (4.0, "t2 resets mid-response", t2.set_mode, "reset"),
        (5.0, "reload", reload, None),
        (6.5, "t2 answers", t2.set_mode, "ok"),
        (7.0, "t3 slow (150 ms)", t3.set_mode, "slow:150"),
        (8.0, "kill -9 t3 (slow, requests in flight)", kill, t3),
        (9.0, "restart t3 (still slow)", restart, t3),
        (9.5, "t1 closes without answering", t1.set_mode, "close"),
        (10.0, "reload", reload, None),
        (11.0, "t3 answers", t3.set_mode, "ok"),
        (11.5, "t1 answers", t1.set_mode, "ok"),
        (12.0, "t2 slower than response_timeout (3 s)", t2.set_mode, "slow:3000"),
        (13.0, "t2 answers", t2.set_mode, "ok"),
        (14.5, "reload (504s under way)", reload, None),
        (16.5, "kill -9 t2", kill, t2),
        (16.5, "restart t2 at once", restart, t2),
        (17.0, "t3 resets mid-response", t3.set_mode, "reset"),
        (17.5, "kill -9 t1", kill, t1),
        (18.0, "t3 answers", t3.set_mode, "ok"),
        (18.5, "restart t1", restart, t1),
        (19.0, "reload", reload, None),
    ]
    assert schedule[-1][0] < N / RATE

    outcomes = defaultdict(list)
    lock = threading.Lock()
    t0 = time.monotonic() + 0.2
    clients = [threading.Thread(target=client_thread,
                                args=(port, range(k, N, THREADS), t0, outcomes, lock), daemon=True)
               for k in range(THREADS)]
    driver_error = []

    def driver():
        try:
            for at, what, fn, arg in schedule:
                delay = t0 + at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                fn() if arg is None else fn(arg)
                faults.append((round(time.monotonic() - t0, 2), what))
        except BaseException as e:  # noqa: B902 (reported by the main thread)
            driver_error.append(e)

    d = threading.Thread(target=driver, daemon=True)
    for th in clients:
        th.start()
    d.start()
    d.join(timeout=60)
    for th in clients:
        th.join(timeout=60)
    assert not d.is_alive() and not any(th.is_alive() for th in clients), "the run did not end"
    assert not driver_error, driver_error
    t_traffic = time.monotonic() - t0
    for t in targets:
        t.set_mode("ok")
        if t.proc is None:
            t.start()

    # 5. albd is alive and serving: a few more requests, all answered
    assert a.alive(), "albd died (exit %s); log:\n%s" % (a.proc.returncode, a.log()[-5000:])
    assert a.proc.pid == pid
    after = []
    with Conn(port, timeout=10) as c:
        for k in range(30):
            i = EXTRA_ID + k
            r = c.request("GET", "/n/%d" % i, headers=[("X-Req-Id", str(i))])
            after.append(r.status)
            assert r.status != 200 or r.body.decode().split(" ")[1] == str(i), r
    # a pooled connection to a restarted target may still cost one resend,
    # never an error
    assert after == [200] * 30, after

    # 1. exactly one outcome for every number
    stray = outcomes.pop("stray", [])
    assert not stray, "bytes after the last response: %r" % stray
    assert sorted(outcomes) == list(range(N)), "numbers without an outcome: %s" % (
        sorted(set(range(N)) - set(outcomes))[:20])
    twice = {i: o for i, o in outcomes.items() if len(o) != 1}
    assert not twice, "numbers with %d outcomes" % len(twice)
    outcome = {i: o[0] for i, o in outcomes.items()}
    bad = []
    for i, o in outcome.items():
        if o[0] == "error":
            if o[1] in ("protocol", "connect"):
                bad.append((i, o))
            continue
        status, det = o[1], o[2]
        if det["stray"]:
            bad.append((i, "bytes after the response", det["stray"][:200]))
        if status == 200:
            want = "%s %d %s\n" % (method_of(i), i, det["backend"])
            if det["body"] != want or det["req_id"] != str(i):
                bad.append((i, "answer to another request", det))
        elif status not in (502, 503, 504):
            bad.append((i, "unexpected status", status, det))
    assert not bad, "wrong outcomes:\n%s" % "\n".join(map(repr, bad[:20]))

    # executions in the targets' logs
    execs = defaultdict(list)      # id -> [(method, port, pid, mode)]
    for t in targets:
        for rid, method, epid, eport, mode in t.executions():
            assert not rid.startswith("bad:"), "a POST body carried another number: %s" % rid
            execs[int(rid)].append((method, eport, epid, mode))
    for i, ex in execs.items():
        assert i in outcome or i >= EXTRA_ID, "a request nobody sent ran: %d" % i
        assert all(m == method_of(i) for m, _, _, _ in ex if i < EXTRA_ID), (i, ex)

    # albd's access log: every request it handled, once
    def logged():
        recs = read_access_log(alog)
        ids = {id_of(r) for r in recs}
        missing = [i for i, o in outcome.items() if o[0] == "response" and i not in ids]
        return (recs, missing) if not missing and EXTRA_ID + 29 in ids else None
    try:
        recs, _ = wait_until(logged, 10, 0.2, "an access log line for every answered request")
    except AssertionError:
        recs = read_access_log(alog)
        ids = {id_of(r) for r in recs}
        missing = [i for i, o in outcome.items() if o[0] == "response" and i not in ids]
        raise AssertionError("%d answered requests have no access log line: %s" % (len(missing), missing[:20]))
    access = defaultdict(list)
    for r in recs:
        i = id_of(r)
        if i is not None:
            access[i].append(r)
    multi = {i: rs for i, rs in access.items() if len(rs) > 1}
    assert not multi, "requests logged more than once: %s" % list(multi.items())[:3]
    for i, o in outcome.items():
        if o[0] == "response":
            assert access[i][0]["elb_status_code"] == o[1], (i, o, access[i][0])

    def tried(i):
        """The attempts albd's access log lists for request I (ports)."""
        rs = access.get(i)
        if not rs or rs[0]["target:port_list"] in ("-", None):
            return []
        return [int(x.rsplit(":", 1)[1]) for x in rs[0]["target:port_list"].split(" ")]

    # 2. no POST ran twice
    dup_posts = {i: ex for i, ex in execs.items() if method_of(i) == "POST" and len(ex) > 1}
    assert not dup_posts, "POSTs that ran more than once:\n%s" % "\n".join(
        "%d: %s; client %r; access log %s" % (i, ex, outcome.get(i), access.get(i))
        for i, ex in list(dup_posts.items())[:10])

    # 3. a GET that ran twice was retried, and the access log says so
    unmarked = []
    retried_gets = 0
    for i, ex in execs.items():
        if len(ex) < 2:
            continue
        retried_gets += 1
        ports = tried(i)
        if len(ports) < len(ex) or not {p for _, p, _, _ in ex} <= set(ports):
            unmarked.append("%d ran %d times %s; access log target:port_list %r, error %r, status %r; client %r"
                            % (i, len(ex), [(by_port[p].name, pid_, mode) for _, p, pid_, mode in ex],
                               access[i][0]["target:port_list"] if access.get(i) else None,
                               access[i][0]["error_reason"] if access.get(i) else None,
                               access[i][0]["elb_status_code"] if access.get(i) else None,
                               outcome.get(i, ("extra",))[:2]))
    assert not unmarked, "requests that ran more often than albd's access log shows:\n%s" % "\n".join(unmarked[:15])

    # 4. every 200 ran at least once, on the target that answered it; a
    # response cut short ran on a target that cut its answer short
    for i, o in outcome.items():
        if o[0] == "response" and o[1] == 200:
            names = {by_port[p].name for _, p, _, _ in execs.get(i, [])}
            assert o[2]["backend"] in names, (i, o, execs.get(i))
        if o[0] == "error" and o[1] == "incomplete":
            assert any(mode == "reset" for _, _, _, mode in execs.get(i, [])), (i, o, execs.get(i))

    # 5. no crash in albd's log
    log = a.log()
    for word in ("Segmentation fault", "Assertion", "abort", "FATAL", "panic"):
        assert word not in log, "%r in albd's log" % word

    kinds = Counter(("%s %s" % (o[0], o[1])) for o in outcome.values())
    retried_in_log = sum(1 for i in outcome if len(tried(i)) > 1)
    resent_in_log = sum(1 for i in outcome if len(set(tried(i))) < len(tried(i)))
    summary = {
        "requests": N, "gets": N // 2 + N % 2, "posts": N // 2,
        "outcomes": dict(sorted(kinds.items())),
        "executions": sum(len(ex) for i, ex in execs.items() if i < EXTRA_ID),
        "gets_run_more_than_once": retried_gets,
        "access_log_retried": retried_in_log, "access_log_target_listed_twice": resent_in_log,
        "access_log_errors": dict(Counter(r["error_reason"] for r in recs if r["error_reason"] != "-")),
        "faults": faults,
        "traffic_s": round(t_traffic, 1), "total_s": round(time.monotonic() - t_begin, 1),
    }
    (tmp_path / "summary.json").write_text(json.dumps(summary, indent=1))
    print("fault run:", json.dumps(summary))


def test_a_request_that_may_have_run_twice_is_listed_twice(albd, fault_targets, tmp_path):
    """A GET on a pooled connection that the target closes after reading
    it (the request ran, its answer was lost) is resent on a fresh
    connection to the same target, which runs it again: the access log
    lists that target twice. Both targets do that here, so the GET runs
    four times (t1, t1 again, the retry on t2, t2 again) and gets a 502,
    and its target:port_list has the four attempts. A POST in the same
    spot is neither resent nor retried: it runs once, one attempt."""
    t1, t2, _ = fault_targets
    port = free_port()
    alog = tmp_path / "access.json"
    albd.start(make_config([listener("web", port, "tg", rules=())],
                           [target_group("tg", [t1.addr, t2.addr], connect_timeout=1, response_timeout=2)],
                           workers=1, access_log={"path": str(alog), "format": "json"}), port=port)

    def warm(c, first):
        # one pooled connection to each target
        for t in (t1, t2):
            t.set_mode("ok")
        for i in (first, first + 1):
            r = c.request("GET", "/n/%d" % i, headers=[("X-Req-Id", str(i))])
            assert r.status == 200, r
        assert {c.request("GET", "/warm").status for _ in range(2)} == {200}
        for t in (t1, t2):
            t.set_mode("close")

    with Conn(port, timeout=10) as c:
        warm(c, 1)
        r = c.request("GET", "/n/10", headers=[("X-Req-Id", "10")])
        assert r.status == 502, r
    with Conn(port, timeout=10) as c:
        warm(c, 3)
        r = c.request("POST", "/n/11", headers=[("X-Req-Id", "11")], body=b"req=11")
        assert r.status == 502, r

    recs = wait_until(lambda: (lambda rs: rs if {10, 11} <= {id_of(x) for x in rs} else None)(read_access_log(alog)),
                      10, 0.1, "the access log lines")
    by_id = {id_of(x): x for x in recs}
    runs = Counter()
    for t in (t1, t2):
        for rid, method, _, eport, _ in t.executions():
            runs[(rid, eport)] += 1

    get = by_id[10]
    ports = [int(x.rsplit(":", 1)[1]) for x in get["target:port_list"].split(" ")]
    assert sorted(ports) == sorted([t1.port, t1.port, t2.port, t2.port]), get
    assert ports[0] == ports[1] and ports[2] == ports[3], get
    assert get["target_status_code_list"] == "- - - -", get
    assert get["elb_status_code"] == 502 and get["error_reason"] == "TargetConnectionClosed", get
    assert runs[("10", t1.port)] == 2 and runs[("10", t2.port)] == 2, runs

    post = by_id[11]
    assert post["target:port_list"] in (t1.addr, t2.addr), post
    assert post["target_status_code_list"] == "-", post
    assert sum(n for (rid, _), n in runs.items() if rid == "11") == 1, runs
