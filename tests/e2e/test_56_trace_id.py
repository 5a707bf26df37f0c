"""Request ids: albd forwards exactly one X-Amzn-Trace-Id in ALB's format and
writes the id into the log lines of that request.

ALB's rules (Elastic Load Balancing, "Request tracing for your Application
Load Balancer"): no header -> "Root=1-<8 hex epoch>-<24 hex>"; a header
with a Root field -> kept, with "Self=<albd's id>" inserted in front (or an
existing Self field updated); fields albd does not know are kept. A
well-formed header without a Root keeps its fields too, behind
"Root=<albd's id>;" (a Self among them updated, none added). albd replaces
a malformed header (not Name=value fields, a Root that is not an id, two
Roots or two Selfs) with a new Root, keeps only the first of several
X-Amzn-Trace-Id fields, and rewrites the header when the request head is
over 7 KB, as ALB does. albd runs with -d here, so that the
"exchange end:" debug line of every request is in its log."""
import re
import socket
import subprocess
import threading
import time

import pytest

from conftest import (Albd, Conn, free_port, get, listener, make_config, port_accepts, sanitizer_reports,
                      target_group, wait_until)

ID = r"1-[0-9a-f]{8}-[0-9a-f]{24}"
ROOT_ONLY = re.compile(r"^Root=(%s)$" % ID)
CLIENT_ROOT = "1-67891233-abcdef012345678912345678"
END = re.compile(r"exchange end: .* \"(\S+) (\S+)\" status=(\d+) .* retries=(\d+) .* trace=(.*)$", re.M)


class DebugAlbd(Albd):
    def start(self, timeout=10):
        self.proc = subprocess.Popen([self.bin, "-d", "-c", str(self.config_path)],
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log)
        wait_until(lambda: self.proc.poll() is not None or all(port_accepts(p, 0.2) for p in self.ports.values()),
                   timeout, what="albd listening")
        assert self.proc.poll() is None, self.log()
        return self

    def ends(self):
        return [{"method": m.group(1), "uri": m.group(2), "status": int(m.group(3)), "retries": int(m.group(4)),
                 "trace": m.group(5)} for m in END.finditer(self.log())]

    def end_of(self, uri, timeout=10):
        wait_until(lambda: any(e["uri"] == uri for e in self.ends()), timeout, what="exchange end of " + uri)
        found = [e for e in self.ends() if e["uri"] == uri]
        assert len(found) == 1, found
        return found[0]


@pytest.fixture
def talbd(tmp_path, backends):
    started = []

    def start(targets=None, tg_opts=None, **lst_opts):
        b1 = backends.start("b1") if targets is None else None
        port = free_port()
        cfg = make_config([listener("web", port, "tg", **lst_opts)],
                          [target_group("tg", targets if targets is not None else [b1], **(tg_opts or {}))])
        a = DebugAlbd(tmp_path, cfg, {"web": port}, name="albd%d" % len(started))
        started.append(a)
        a.start()
        a.b1 = b1
        return a

    yield start
    for a in started:
        a.stop()
    reports = [(a.log_path, sanitizer_reports(a.log())) for a in started]
    reports = [r for r in reports if r[1]]
    assert not reports, reports


def traces_received(a, uri="/echo-headers", headers=None, host="albd.test"):
    """Send one request through albd; the X-Amzn-Trace-Id values the target got."""
    r = get(a.port, uri, headers=headers, host=host)
    assert r.status == 200, r
    return [v for n, v in r.json()["headers"] if n.lower() == "x-amzn-trace-id"]


def log_trace(a, uri):
    return a.end_of(uri)["trace"]


def test_new_id_when_none_came(talbd):
    a = talbd()
    got = traces_received(a, "/echo-headers?n=1")
    assert len(got) == 1 and ROOT_ONLY.match(got[0]), got
    # the epoch part is now
    epoch = int(got[0][7:15], 16)
    assert abs(epoch - time.time()) < 120, got
    # the same id in the request's log line
    assert log_trace(a, "/echo-headers?n=1") == got[0]
    # every request gets its own
    ids = {traces_received(a, "/echo-headers?n=%d" % i)[0] for i in range(2, 22)}
    assert len(ids) == 20 and got[0] not in ids


def test_valid_root_kept_with_self(talbd):
    a = talbd()
    got = traces_received(a, "/echo-headers?k=1", headers=[("X-Amzn-Trace-Id", "Root=" + CLIENT_ROOT)])
    assert len(got) == 1, got
    m = re.match(r"^Self=(%s);Root=%s$" % (ID, CLIENT_ROOT), got[0])
    assert m, got
    assert log_trace(a, "/echo-headers?k=1") == got[0]
    # custom fields stay, in their order
    got = traces_received(a, "/echo-headers?k=2",
                          headers=[("X-Amzn-Trace-Id", "Root=%s;CalledFrom=app;Sampled=1" % CLIENT_ROOT)])
    assert re.match(r"^Self=%s;Root=%s;CalledFrom=app;Sampled=1$" % (ID, CLIENT_ROOT), got[0]), got
    # an incoming Self is updated where it stands
    old_self = "1-67891233-12456789abcdef0123456789"
    got = traces_received(a, "/echo-headers?k=3",
                          headers=[("X-Amzn-Trace-Id", "Root=%s;Self=%s;CalledFrom=app" % (CLIENT_ROOT, old_self))])
    m = re.match(r"^Root=%s;Self=(%s);CalledFrom=app$" % (CLIENT_ROOT, ID), got[0])
    assert m and m.group(1) != old_self, got
    # the log has the value forwarded, as it is
    assert log_trace(a, "/echo-headers?k=3") == got[0]


@pytest.mark.parametrize("value", [
    "garbage",
    "Root=1-67891233-abcdef01234567891234567",           # 23 digits
    "Root=2-67891233-abcdef012345678912345678",          # version 2
    "Root=%s;Root=%s" % (CLIENT_ROOT, CLIENT_ROOT),       # two Roots
    "Root=%s;junk" % CLIENT_ROOT,                          # a field without =
    "",
])
def test_malformed_replaced(talbd, value):
    a = talbd()
    got = traces_received(a, headers=[("X-Amzn-Trace-Id", value)])
    assert len(got) == 1 and ROOT_ONLY.match(got[0]), (value, got)
    assert CLIENT_ROOT not in got[0]
    assert log_trace(a, "/echo-headers") == got[0]


@pytest.mark.parametrize("value, want", [
    ("CalledFrom=app", r"^Root=(?P<id>%s);CalledFrom=app$" % ID),
    ("Sampled=1; Parent=53995c3f42cd8ad8", r"^Root=(?P<id>%s);Sampled=1; Parent=53995c3f42cd8ad8$" % ID),
    # an incoming Self is updated where it stands (ALB); none is added
    ("Self=" + CLIENT_ROOT, r"^Root=(?P<id>%s);Self=(?P=id)$" % ID),
    ("Sampled=1;Self=1-67891233-000000000000000000000001;Parent=x",
     r"^Root=(?P<id>%s);Sampled=1;Self=(?P=id);Parent=x$" % ID),
])
def test_no_root_fields_kept(talbd, value, want):
    """ALB generates a Root when there is none and keeps what an application
    added: a well-formed header without a Root gets albd's id as its Root,
    in front, and keeps its fields, in their order."""
    a = talbd()
    got = traces_received(a, headers=[("X-Amzn-Trace-Id", value)])
    assert len(got) == 1, got
    m = re.match(want, got[0])
    assert m and CLIENT_ROOT not in got[0], (value, got)
    assert log_trace(a, "/echo-headers") == got[0]


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("valid", [True, False])
def test_every_position(talbd, where, valid):
    a = talbd()
    trace = ("X-Amzn-Trace-Id", "Root=" + CLIENT_ROOT if valid else "nonsense")
    others = [("Host", "albd.test"), ("X-A", "1"), ("Accept", "*/*")]
    pos = {"first": 0, "middle": 2, "last": len(others)}[where]
    hdrs = others[:pos] + [trace] + others[pos:]
    r = get(a.port, "/echo-headers", headers=hdrs, host=None)
    assert r.status == 200, r
    recv = r.json()["headers"]
    got = [v for n, v in recv if n.lower() == "x-amzn-trace-id"]
    assert len(got) == 1, recv
    if valid:
        assert re.match(r"^Self=%s;Root=%s$" % (ID, CLIENT_ROOT), got[0]), got
    else:
        assert ROOT_ONLY.match(got[0]), got
    # the other fields arrive, in their order
    names = [n.lower() for n, _ in recv]
    assert names.index("x-a") < names.index("accept")


def test_several_incoming_first_counts(talbd):
    a = talbd()
    other = "1-67891233-000000000000000000000001"
    # the first is valid: kept; the second is dropped
    got = traces_received(a, "/echo-headers?s=1", headers=[("X-Amzn-Trace-Id", "Root=" + CLIENT_ROOT),
                                                           ("x-amzn-trace-id", "Root=" + other)])
    assert len(got) == 1 and re.match(r"^Self=%s;Root=%s$" % (ID, CLIENT_ROOT), got[0]), got
    # the first is malformed: replaced, whatever follows
    got = traces_received(a, "/echo-headers?s=2", headers=[("X-Amzn-Trace-Id", "bad"),
                                                           ("X-Amzn-Trace-Id", "Root=" + other)])
    assert len(got) == 1 and ROOT_ONLY.match(got[0]) and other not in got[0], got
    # one a Connection field names is hop-by-hop: not kept, a new Root goes
    got = traces_received(a, "/echo-headers?s=3", headers=[("Connection", "X-Amzn-Trace-Id"),
                                                           ("X-Amzn-Trace-Id", "Root=" + CLIENT_ROOT)])
    assert len(got) == 1 and ROOT_ONLY.match(got[0]), got


def test_big_head_rewritten(talbd):
    """ALB: over 7 KB of headers, the header is rewritten with a Root field."""
    a = talbd()
    hdrs = [("X-Amzn-Trace-Id", "Root=" + CLIENT_ROOT), ("X-Filler", "f" * 7200)]
    got = traces_received(a, headers=hdrs)
    assert len(got) == 1 and ROOT_ONLY.match(got[0]) and CLIENT_ROOT not in got[0], got
    # just under: kept
    hdrs = [("X-Amzn-Trace-Id", "Root=" + CLIENT_ROOT), ("X-Filler", "f" * 6000)]
    got = traces_received(a, headers=hdrs)
    assert re.match(r"^Self=%s;Root=%s$" % (ID, CLIENT_ROOT), got[0]), got


def test_off(talbd):
    a = talbd(trace_id=False)
    assert traces_received(a, "/echo-headers?o=1") == []
    assert log_trace(a, "/echo-headers?o=1") == "-"
    # what the client sent passes untouched, every field of it
    hdrs = [("X-Amzn-Trace-Id", "garbage"), ("X-Amzn-Trace-Id", "Root=" + CLIENT_ROOT)]
    assert traces_received(a, "/echo-headers?o=2", headers=hdrs) == ["garbage", "Root=" + CLIENT_ROOT]


@pytest.mark.parametrize("value", ["Root=%s;CalledFrom=app" % CLIENT_ROOT,
                                   "Sampled=1;Root=%s;Parent=53995c3f42cd8ad8" % CLIENT_ROOT,
                                   "CalledFrom=app; Sampled=1", "Self=x;Parent=1", "garbage"])
def test_log_has_the_forwarded_value(talbd, value):
    """The request's log line shows the X-Amzn-Trace-Id value the target
    got, every field of it in its order, not a summary of albd's ids."""
    a = talbd()
    got = traces_received(a, headers=[("X-Amzn-Trace-Id", value)])
    assert len(got) == 1, got
    assert log_trace(a, "/echo-headers") == got[0]

    def others(v):
        return [f for f in v.split(";") if not f.strip().startswith(("Root=", "Self="))]
    assert others(got[0]) == ([] if value == "garbage" else others(value)), got


def test_fixed_response_logged_with_id(talbd):
    a = talbd()
    assert get(a.port, "/ping").status == 200
    assert ROOT_ONLY.match(log_trace(a, "/ping"))
    # what albd would have forwarded, the client's fields with it
    assert get(a.port, "/ping?c=1", headers=[("X-Amzn-Trace-Id", "Root=%s;CalledFrom=app" % CLIENT_ROOT)]).status == 200
    assert re.match(r"^Self=%s;Root=%s;CalledFrom=app$" % (ID, CLIENT_ROOT), log_trace(a, "/ping?c=1"))


class SilentTarget:
    """A target that reads one request head per connection, keeps it, and
    then closes (CLOSE) or never answers."""

    def __init__(self, close):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.close_after = close
        self.heads = []
        self.conns = []
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            buf = b""
            c.settimeout(5)
            try:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        break
                    buf += d
            except OSError:
                pass
            self.heads.append(buf.decode("latin-1"))
            if self.close_after:
                c.close()
            else:
                self.conns.append(c)

    def traces(self):
        out = []
        for h in self.heads:
            out += [l.split(":", 1)[1].strip() for l in h.split("\r\n") if l.lower().startswith("x-amzn-trace-id:")]
        return out

    def close(self):
        self.stop = True
        self.sock.close()
        for c in self.conns:
            c.close()


def test_retry_carries_same_id(talbd, backends):
    """A target that closes without answering: the request is retried on the
    other target with the same header, and one id is logged throughout."""
    silent = SilentTarget(close=True)
    b1 = backends.start("b1")
    try:
        a = talbd(targets=[silent.addr, b1])
        retried = None
        for i in range(6):
            uri = "/echo-headers?r=%d" % i
            r = get(a.port, uri, headers=[("X-Amzn-Trace-Id", "Root=" + CLIENT_ROOT)])
            assert r.status == 200, r
            got = [v for n, v in r.json()["headers"] if n.lower() == "x-amzn-trace-id"]
            assert len(got) == 1
            end = a.end_of(uri)
            assert end["trace"] == got[0]
            if end["retries"]:
                retried = got[0]
                break
        assert retried, a.log()
        # the failed attempt carried the very same header
        assert retried in silent.traces(), (retried, silent.traces())
        # and the log line about the failed attempt names it too
        self_id = retried.split(";")[0]
        assert re.search(r"target %s: .* trace=%s;Root=%s" % (re.escape(silent.addr), re.escape(self_id),
                                                              CLIENT_ROOT), a.log()), a.log()
    finally:
        silent.close()


def test_504_line_has_id(talbd):
    """The info line about a target that did not answer names the request."""
    silent = SilentTarget(close=False)
    try:
        a = talbd(targets=[silent.addr], tg_opts={"response_timeout": 1})
        assert get(a.port, "/slow").status == 504
        wait_until(lambda: silent.traces(), 5, what="the request at the target")
        sent = silent.traces()
        assert len(sent) == 1 and ROOT_ONLY.match(sent[0]), sent
        wait_until(lambda: "answering 504" in a.log(), 5, what="the 504 line")
        line = [l for l in a.log().splitlines() if "no response within" in l]
        assert len(line) == 1 and line[0].endswith("trace=" + sent[0]), line
        assert a.end_of("/slow")["trace"] == sent[0]
    finally:
        silent.close()
