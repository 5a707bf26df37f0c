#!/usr/bin/env python3
"""backend.py - a controllable HTTP/1.1 origin server for albd's e2e tests.

Raw sockets and one thread per connection, so that every byte it sends is the
test's choice (including broken responses). Start it as a subprocess:

    python3 backend.py --port 0 --name b1 [--idle-close SECS] [--delay-ms N]

It binds 127.0.0.1 and prints "PORT <n>" as its first stdout line once it
listens. Behaviour by path (every response carries X-Backend: NAME,
X-Conn-Id: <accept counter>, X-Req-No: <request number on this connection>
and, when the query has tag=T, X-Tag: T; with setcookie=C, Set-Cookie: C):

  /name                 body = NAME
  /stats                JSON {"name", "connections", "accepted", "requests",
                        "heads", "bad", "paths"}: "connections" counts
                        connections that carried at least one request other
                        than /stats, "heads" request heads received,
                        "requests" requests whose body was read completely,
                        "bad" malformed requests received, "paths" completed
                        requests by path. /stats itself is never counted.
  /echo-headers         JSON {"method", "target", "version", "headers":
                        [[name, value], ...] as received, "peer", "body_len"}
  /echo                 the request body (first MiB) back
  /sleep?ms=N           answers "slept N" after N ms
  /status?code=N[&cl=L] answers with status N (204/304: no body; 304 with
                        "Content-Length: L" when cl is given)
  /upload               any method; JSON {"sha256", "length", "chunked"} of
                        the request body (Content-Length or chunked)
  /download?size=N&chunked=0|1&seed=S[&chunk=C]
                        N bytes of the pattern stream of seed S (see
                        pattern_chunks), chunked (chunks of C bytes, default
                        65536) or with Content-Length
                        &ext=1 adds chunk extensions, &trailer=1 trailer fields
  /eof-body?size=N&seed=S
                        N pattern bytes without Content-Length or chunked:
                        the body ends when the connection closes
  any path ?close=1     answers with "Connection: close" and closes
  any path ?hints=1     sends "103 Early Hints" at once, before reading the
                        body (and before any delay: /sleep answers after it)
  /bad?kind=K           an invalid response, see BAD_KINDS; the connection
                        is closed afterwards
  /health               the health check endpoint (any method; also any path
                        requested with User-Agent albd-HealthChecker/*):
                        answers with the current health code (default 200,
                        --health-code N), body "ok" for a 2xx/3xx code, else
                        "unhealthy" (never delayed by --delay-ms); while
                        "hanging" it does not answer at all (for up to 30 s, or
                        until /control?health_hang=0, then it answers)
  /control?health=N     set the health code; &health_hang=1|0 starts/stops
                        hanging; answers JSON {"health", "health_hang"}
  anything else         200, body = NAME

Health checks and /control are never delayed by --delay-ms nor counted in
"connections", "heads", "requests" or "paths" (a connection that carried only
them is not counted either; "accepted" still counts every TCP accept). /stats
has extra counters for them: "health_checks" (answered health checks),
"health_connections" (connections that carried a health check),
"health_last" (the last health check: {"method", "target", "version",
"headers", "peer"}) and "health_code", "health_hang" (current settings).

Options: --listen-count N listens on N ports at once (same behaviour and
counters on all; a second stdout line "PORTS p1 ... pN" lists them), so that
one process can stand for many targets; --health-code N sets the initial
/health status (default 200); --idle-close SECS closes a keep-alive
connection that stays idle SECS between requests (like nginx's
keepalive_timeout), and
--idle-close-delay-ms D widens the race: the close is decided after SECS but
done D ms later, so a request arriving in between is reset unanswered (as if
the FIN had crossed it on the wire); --delay-ms N delays
every response except /stats, /control and health checks by N ms; --no-continue never sends
"100 Continue" (by default it does when the request has
"Expect: 100-continue"); --tls-cert FILE --tls-key FILE make it speak HTTPS
(every accepted connection does a server-side TLS handshake first; a failed
handshake just closes that connection).

This module is also imported by the tests for pattern_chunks() and
pattern_sha256().
"""
import argparse
import hashlib
import json
import socket
import ssl
import struct
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

BLOCK_SIZE = 65536
MAX_SLICE = 1 << 20

_block_cache = {}


def pattern_block(seed):
    """The 64 KiB block that the stream of SEED repeats."""
    seed = str(seed)
    b = _block_cache.get(seed)
    if b is None:
        out = bytearray()
        i = 0
        while len(out) < BLOCK_SIZE:
            out += hashlib.sha256(("%s:%d" % (seed, i)).encode()).digest()
            i += 1
        # 17 blocks: any slice of up to 1 MiB starting inside the first block
        b = bytes(out[:BLOCK_SIZE]) * 17
        _block_cache[seed] = b
    return b


def pattern_slice(seed, offset, n):
    """Bytes [offset, offset+n) of the stream of SEED, n <= 1 MiB."""
    assert n <= MAX_SLICE
    big = pattern_block(seed)
    o = offset % BLOCK_SIZE
    return memoryview(big)[o:o + n]


def pattern_chunks(size, seed, step=MAX_SLICE):
    """Yield the stream of SEED, SIZE bytes in total, in pieces of STEP."""
    step = max(1, min(step, MAX_SLICE))
    off = 0
    while off < size:
        n = min(step, size - off)
        yield pattern_slice(seed, off, n)
        off += n


def pattern_sha256(size, seed):
    h = hashlib.sha256()
    for piece in pattern_chunks(size, seed):
        h.update(piece)
    return h.hexdigest()


# ---------------------------------------------------------------------------

REASONS = {
    100: "Continue", 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
    206: "Partial Content", 301: "Moved Permanently", 302: "Found", 304: "Not Modified",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 413: "Payload Too Large",
    429: "Too Many Requests", 500: "Internal Server Error", 501: "Not Implemented",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}

# kind -> raw response bytes (None: special handling in Conn.bad())
BAD_KINDS = {
    # both framings at once
    "cl_te": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"5\r\nhello\r\n0\r\n\r\n",
    # two different Content-Length values
    "two_cl": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    # Content-Length that is not a number
    "bad_cl": b"HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello",
    "neg_cl": b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nhello",
    # invalid chunk size (the head itself is valid)
    "bad_chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    # a header line ended by a bare LF
    "bare_lf": b"HTTP/1.1 200 OK\r\nX-A: a\nContent-Length: 5\r\n\r\nhello",
    # a bare CR inside a header value
    "bare_cr": b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 5\r\n\r\nhello",
    # obsolete line folding
    "obs_fold": b"HTTP/1.1 200 OK\r\nX-A: a\r\n  folded\r\nContent-Length: 5\r\n\r\nhello",
    # NUL in a header value
    "nul": b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 5\r\n\r\nhello",
    # a header line without a colon
    "no_colon": b"HTTP/1.1 200 OK\r\nX-A-without-colon\r\nContent-Length: 5\r\n\r\nhello",
    # garbage status line
    "garbage_status": b"HTPT/1.1 2OO OK\r\nContent-Length: 5\r\n\r\nhello",
    "bad_status_code": b"HTTP/1.1 2x0 OK\r\nContent-Length: 5\r\n\r\nhello",
    "no_status": b"hello world, this is not HTTP\r\n\r\n",
    # the head is cut short, then the connection closes
    "half_head": b"HTTP/1.1 200 OK\r\nContent-Le",
    # Content-Length 100, 10 bytes sent, then close
    "truncated": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
    # chunked body that ends (close) without the last chunk
    "truncated_chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    # switching protocols when nobody asked to
    "switch": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    # RST before answering
    "reset": None,
    # FIN before answering
    "close": None,
}

# kinds whose head is valid: a proxy may already have forwarded the head when
# it finds the problem in the body
BODY_LEVEL_BAD_KINDS = ("bad_chunk", "truncated", "truncated_chunked")
HEAD_LEVEL_BAD_KINDS = tuple(k for k in BAD_KINDS if k not in BODY_LEVEL_BAD_KINDS)


class BadRequest(Exception):
    pass


class Closed(Exception):
    pass


class Stats:
    def __init__(self, name):
        self.lock = threading.Lock()
        self.name = name
        self.accepted = 0
        self.connections = 0
        self.requests = 0
        self.heads = 0
        self.bad = 0
        self.paths = {}
        self.health_checks = 0
        self.health_connections = 0
        self.health_last = None
        self.health_code = 200
        self.health_hang = False

    def snapshot(self):
        with self.lock:
            return {
                "name": self.name, "accepted": self.accepted, "connections": self.connections,
                "requests": self.requests, "heads": self.heads, "bad": self.bad,
                "paths": dict(self.paths),
                "health_checks": self.health_checks,
                "health_connections": self.health_connections,
                "health_last": self.health_last,
                "health_code": self.health_code, "health_hang": self.health_hang,
            }


class Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def fill(self, n=262144):
        data = self.sock.recv(n)
        if not data:
            raise Closed()
        self.buf += data

    def read_head(self, limit=1 << 20):
        start = 0
        while True:
            i = self.buf.find(b"\r\n\r\n", start)
            if i >= 0:
                head = bytes(self.buf[:i + 4])
                del self.buf[:i + 4]
                return head
            if len(self.buf) > limit:
                raise BadRequest("head too large")
            start = max(0, len(self.buf) - 3)
            self.fill()

    def read_line(self, limit=8192):
        start = 0
        while True:
            i = self.buf.find(b"\n", start)
            if i >= 0:
                line = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return line
            if len(self.buf) > limit:
                raise BadRequest("line too long")
            start = len(self.buf)
            self.fill()

    def read_exact(self, n, sink):
        """Pass exactly n bytes to sink(memoryview)."""
        if self.buf:
            take = min(n, len(self.buf))
            sink(memoryview(self.buf)[:take].tobytes())
            del self.buf[:take]
            n -= take
        if n <= 0:
            return
        scratch = bytearray(min(n, 1 << 20))
        mv = memoryview(scratch)
        while n > 0:
            got = self.sock.recv_into(mv[:min(n, len(scratch))])
            if not got:
                raise Closed()
            sink(mv[:got])
            n -= got


class BodySink:
    def __init__(self, keep=1 << 20):
        self.sha = hashlib.sha256()
        self.length = 0
        self.keep = keep
        self.kept = bytearray()

    def __call__(self, data):
        self.sha.update(data)
        self.length += len(data)
        if len(self.kept) < self.keep:
            self.kept += data[:self.keep - len(self.kept)]


def parse_head(head):
    """-> (method, target, version, headers[list of (name, value)]) or BadRequest."""
    lines = head[:-4].split(b"\r\n")
    try:
        method, target, version = lines[0].decode("latin-1").split(" ")
    except ValueError:
        raise BadRequest("bad request line %r" % lines[0][:200])
    if not version.startswith("HTTP/1."):
        raise BadRequest("bad version")
    headers = []
    for line in lines[1:]:
        if b"\n" in line or b"\r" in line or b"\0" in line:
            raise BadRequest("bad char in header")
        if line[:1] in (b" ", b"\t"):
            raise BadRequest("obs-fold")
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise BadRequest("bad header line %r" % line[:200])
        headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return method, target, version, headers


def hget(headers, name):
    name = name.lower()
    vals = [v for n, v in headers if n.lower() == name]
    return vals


class Conn(threading.Thread):
    def __init__(self, server, sock, peer, conn_id):
        super().__init__(daemon=True)
        self.server = server
        self.sock = sock
        self.peer = peer
        self.conn_id = conn_id
        self.reader = Reader(sock)
        self.req_no = 0
        self.counted = False
        self.health_counted = False

    # -- plumbing ---------------------------------------------------------
    def run(self):
        try:
            if self.server.tls_ctx is not None:
                self.sock.settimeout(30)
                self.sock = self.server.tls_ctx.wrap_socket(self.sock, server_side=True)
                self.reader = Reader(self.sock)
            self.loop()
        except (Closed, ConnectionError, socket.timeout, OSError):
            pass
        except BadRequest as e:
            with self.server.stats.lock:
                self.server.stats.bad += 1
            self.log("bad request: %s" % e)
            try:
                self.sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError:
                pass
        except Exception as e:  # a bug in this file: say so loudly
            self.log("ERROR %r" % (e,))
        finally:
            try:
                self.sock.close()
            except OSError:
                pass

    def log(self, msg):
        sys.stderr.write("[%s conn %d] %s\n" % (self.server.name, self.conn_id, msg))
        sys.stderr.flush()

    def loop(self):
        idle = self.server.idle_close
        while True:
            # wait for the first byte of the next request
            if not self.reader.buf:
                self.sock.settimeout(idle if idle else 300)
                try:
                    self.reader.fill()
                except socket.timeout:
                    # idle close, like nginx's keepalive_timeout. With
                    # --idle-close-delay-ms the close is decided now but done
                    # later, as if the FIN were still on its way: a request
                    # arriving meanwhile is never read and the close resets it.
                    if self.server.idle_close_delay:
                        time.sleep(self.server.idle_close_delay)
                    return
            self.sock.settimeout(120)
            head = self.reader.read_head()
            if not self.handle(head):
                return

    def send(self, data):
        self.sock.sendall(data)

    def respond(self, status, body=b"", headers=(), head_only=False, chunked=False,
                keep_alive=True, reason=None, extra_connection=None):
        if isinstance(body, str):
            body = body.encode()
        lines = ["HTTP/1.1 %d %s" % (status, reason or REASONS.get(status, "Status"))]
        lines += ["X-Backend: %s" % self.server.name, "X-Conn-Id: %d" % self.conn_id,
                  "X-Req-No: %d" % self.req_no]
        if self.tag is not None:
            lines.append("X-Tag: %s" % self.tag)
        if self.setcookie is not None:
            lines.append("Set-Cookie: %s" % self.setcookie)
        for n, v in headers:
            lines.append("%s: %s" % (n, v))
        no_body = status in (204, 304) or 100 <= status < 200
        if not no_body:
            if chunked:
                lines.append("Transfer-Encoding: chunked")
            else:
                lines.append("Content-Length: %d" % len(body))
        if not keep_alive:
            lines.append("Connection: close")
        elif extra_connection:
            lines.append("Connection: %s" % extra_connection)
        out = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if not head_only and not no_body:
            if chunked:
                if body:
                    out += b"%x\r\n" % len(body) + body + b"\r\n"
                out += b"0\r\n\r\n"
            else:
                out += body
        self.send(out)

    # -- one request ------------------------------------------------------
    def handle(self, head):
        stats = self.server.stats
        method, target, version, headers = parse_head(head)
        self.req_no += 1
        u = urlsplit(target)
        path = u.path
        q = {k: v[-1] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        self.tag = q.get("tag")
        self.setcookie = q.get("setcookie")
        is_stats = path == "/stats"
        # albd's health checks: GET /health, or any request from albd's
        # checker (so that checks of another path never count as traffic)
        is_health = path == "/health" or any(
            v.startswith("albd-HealthChecker/") for v in hget(headers, "user-agent"))
        # /stats, /health and /control are not traffic: never counted as such
        uncounted = is_stats or is_health or path == "/control"
        if is_health:
            with stats.lock:
                if not self.health_counted:
                    stats.health_connections += 1
                    self.health_counted = True
        if not uncounted:
            with stats.lock:
                stats.heads += 1
                if not self.counted:
                    stats.connections += 1
                    self.counted = True

        # keep-alive
        conn_tokens = [t.strip().lower() for v in hget(headers, "connection") for t in v.split(",")]
        if version == "HTTP/1.1":
            keep_alive = "close" not in conn_tokens or self.server.ignore_close
            ka_header = None
        else:
            keep_alive = "keep-alive" in conn_tokens
            ka_header = "keep-alive" if keep_alive else None
        if q.get("close") == "1":  # answer with "Connection: close", then close
            keep_alive = False

        # body framing (strict)
        te = hget(headers, "transfer-encoding")
        cl = hget(headers, "content-length")
        if te and cl:
            raise BadRequest("both Transfer-Encoding and Content-Length")
        chunked = False
        length = 0
        if te:
            codings = [t.strip().lower() for v in te for t in v.split(",")]
            if codings[-1] != "chunked" or codings.count("chunked") != 1:
                raise BadRequest("bad transfer-encoding %r" % te)
            chunked = True
        elif cl:
            if len(set(cl)) != 1 or not cl[0].isdigit():
                raise BadRequest("bad content-length %r" % cl)
            length = int(cl[0])
        if version == "HTTP/1.1" and len(hget(headers, "host")) != 1:
            raise BadRequest("need exactly one Host")

        expect = [v.lower() for v in hget(headers, "expect")]
        has_body = chunked or length > 0
        if has_body and "100-continue" in expect and self.server.send_continue:
            self.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        if q.get("hints") == "1":
            self.send(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")

        if q.get("read_delay_ms"):  # a slow target: the body waits in the proxy's path
            time.sleep(int(q["read_delay_ms"]) / 1000.0)
        sink = BodySink()
        if chunked:
            self.read_chunked(sink)
        elif length:
            self.reader.read_exact(length, sink)

        if not uncounted:
            with stats.lock:
                stats.requests += 1
                stats.paths[path] = stats.paths.get(path, 0) + 1
            if self.server.delay_ms:
                time.sleep(self.server.delay_ms / 1000.0)

        head_only = method == "HEAD"
        R = lambda *a, **k: self.respond(*a, head_only=head_only, keep_alive=keep_alive,
                                         extra_connection=ka_header, **k)
        js = [("Content-Type", "application/json")]

        if path == "/stats":
            R(200, json.dumps(stats.snapshot()), js)
        elif is_health:
            code = self.server.health_wait()
            with stats.lock:
                stats.health_checks += 1
                stats.health_last = {"method": method, "target": target, "version": version,
                                     "headers": [[n, v] for n, v in headers],
                                     "peer": "%s:%d" % self.peer[:2]}
            R(code, "ok" if 200 <= code < 400 else "unhealthy",
              [("Content-Type", "text/plain")])
        elif path == "/control":
            try:
                self.server.control(q)
            except ValueError as e:
                R(400, "bad control request: %s" % e)
            else:
                with stats.lock:
                    state = {"health": stats.health_code, "health_hang": stats.health_hang}
                R(200, json.dumps(state), js)
        elif path == "/echo-headers":
            R(200, json.dumps({"method": method, "target": target, "version": version,
                               "headers": [[n, v] for n, v in headers],
                               "peer": "%s:%d" % self.peer[:2], "body_len": sink.length}), js)
        elif path == "/echo":
            ct = (hget(headers, "content-type") or ["application/octet-stream"])[0]
            R(200, bytes(sink.kept), [("Content-Type", ct)])
        elif path == "/sleep":
            ms = int(q.get("ms", "0"))
            time.sleep(ms / 1000.0)
            R(200, "slept %d" % ms)
        elif path == "/status":
            code = int(q.get("code", "200"))
            extra = []
            if "cl" in q:
                extra.append(("Content-Length", q["cl"]))
            R(code, "status %d" % code, extra)
        elif path == "/upload":
            R(200, json.dumps({"sha256": sink.sha.hexdigest(), "length": sink.length,
                               "chunked": chunked}), js)
        elif path == "/download":
            self.download(q, head_only, keep_alive, ka_header)
        elif path == "/eof-body":
            self.eof_body(q, head_only)
            return False
        elif path == "/bad":
            self.bad(q.get("kind", ""))
            return False
        elif path == "/upgrade" and hget(headers, "upgrade") and "upgrade" in conn_tokens:
            self.upgrade_echo(hget(headers, "upgrade")[0], headers)
            return False
        else:
            R(200, self.server.name)
        return keep_alive

    def upgrade_echo(self, proto, headers):
        """Switch protocols (101) and echo every byte back until the peer
        closes; then close. The first bytes sent back are a line naming the
        request headers seen, so a test can check what was forwarded."""
        seen = ",".join("%s=%s" % (n.lower(), v) for n, v in headers
                        if n.lower() in ("connection", "upgrade"))
        self.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: %s\r\nConnection: Upgrade\r\n"
                  b"X-Backend: %s\r\n\r\n" % (proto.encode(), self.server.name.encode()))
        self.send(b"seen " + seen.encode() + b"\n")
        if self.reader.buf:
            self.send(bytes(self.reader.buf))
            self.reader.buf.clear()
        self.sock.settimeout(30)
        while True:
            data = self.sock.recv(65536)
            if not data:
                return
            self.send(data)

    def read_chunked(self, sink):
        while True:
            line = self.reader.read_line()
            if not line.endswith(b"\r\n"):
                raise BadRequest("chunk size line without CRLF")
            size_txt = line[:-2].split(b";", 1)[0].strip()
            if not size_txt or any(c not in b"0123456789abcdefABCDEF" for c in size_txt):
                raise BadRequest("bad chunk size %r" % line[:100])
            size = int(size_txt, 16)
            if size == 0:
                # trailers up to the empty line
                while True:
                    t = self.reader.read_line()
                    if t == b"\r\n":
                        return
                    if not t.endswith(b"\r\n"):
                        raise BadRequest("bad trailer line")
            self.reader.read_exact(size, sink)
            crlf = bytearray()
            self.reader.read_exact(2, crlf.extend)
            if bytes(crlf) != b"\r\n":
                raise BadRequest("chunk data not followed by CRLF")

    def download(self, q, head_only, keep_alive, ka_header):
        size = int(q.get("size", "0"))
        seed = q.get("seed", "0")
        chunked = q.get("chunked", "0") == "1"
        step = int(q.get("chunk", str(BLOCK_SIZE)))
        lines = ["HTTP/1.1 200 OK", "X-Backend: %s" % self.server.name,
                 "X-Conn-Id: %d" % self.conn_id, "X-Req-No: %d" % self.req_no,
                 "Content-Type: application/octet-stream"]
        if self.tag is not None:
            lines.append("X-Tag: %s" % self.tag)
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        else:
            lines.append("Content-Length: %d" % size)
        if not keep_alive:
            lines.append("Connection: close")
        elif ka_header:
            lines.append("Connection: %s" % ka_header)
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode())
        if head_only:
            return
        if chunked:
            ext = b";ext=1;q=\"x\"" if q.get("ext") == "1" else b""
            for piece in pattern_chunks(size, seed, step):
                self.send(b"%x%s\r\n" % (len(piece), ext))
                self.send(piece)
                self.send(b"\r\n")
            if q.get("trailer") == "1":
                self.send(b"0\r\nX-Trailer: done\r\nX-Sum: 1\r\n\r\n")
            else:
                self.send(b"0\r\n\r\n")
        else:
            for piece in pattern_chunks(size, seed):
                self.send(piece)

    def eof_body(self, q, head_only):
        """A response without Content-Length or Transfer-Encoding: the body
        ends when the connection closes."""
        size = int(q.get("size", "0"))
        seed = q.get("seed", "0")
        self.send(("HTTP/1.1 200 OK\r\nX-Backend: %s\r\nX-Conn-Id: %d\r\n"
                   "Content-Type: application/octet-stream\r\n\r\n" % (self.server.name, self.conn_id)).encode())
        if not head_only:
            for piece in pattern_chunks(size, seed):
                self.send(piece)
        self.sock.shutdown(socket.SHUT_WR)

    def bad(self, kind):
        if kind not in BAD_KINDS:
            self.respond(404, "unknown bad kind %r" % kind, keep_alive=False)
            return
        if kind == "reset":
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.close()
            return
        if kind == "close":
            self.sock.shutdown(socket.SHUT_RDWR)
            return
        self.send(BAD_KINDS[kind])
        try:
            self.sock.shutdown(socket.SHUT_WR)
            # wait for the peer to close (up to 5 s) so that no RST races the data
            self.sock.settimeout(5)
            while self.sock.recv(65536):
                pass
        except OSError:
            pass


class Server:
    def __init__(self, args):
        self.name = args.name
        self.idle_close = args.idle_close
        self.idle_close_delay = args.idle_close_delay_ms / 1000.0
        self.delay_ms = args.delay_ms
        self.send_continue = not args.no_continue
        self.ignore_close = args.ignore_close
        self.stats = Stats(args.name)
        self.stats.health_code = args.health_code
        self.hang_release = threading.Event()
        self.hang_release.set()
        self.lsocks = []
        for i in range(max(1, args.listen_count)):
            ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind((args.host, args.port if i == 0 else 0))
            ls.listen(1024)
            self.lsocks.append(ls)
        self.ports = [ls.getsockname()[1] for ls in self.lsocks]
        self.port = self.ports[0]
        self.accept_lock = threading.Lock()
        self.n = 0
        self.tls_ctx = None
        if args.tls_cert:
            self.tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls_ctx.load_cert_chain(args.tls_cert, args.tls_key)

    def accept_loop(self, ls):
        while True:
            sock, peer = ls.accept()
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.stats.lock:
                self.stats.accepted += 1
                self.n += 1
                n = self.n
            Conn(self, sock, peer, n).start()

    # -- /health and /control ---------------------------------------------
    def health_wait(self, hang_max=30.0):
        """The code /health answers with now; while hanging, first wait (up
        to HANG_MAX s) until the hang is stopped."""
        with self.stats.lock:
            hanging = self.stats.health_hang
            release = self.hang_release
        if hanging:
            release.wait(hang_max)
        with self.stats.lock:
            return self.stats.health_code

    def control(self, q):
        with self.stats.lock:
            if "health" in q:
                code = int(q["health"])
                if not 100 <= code <= 999:
                    raise ValueError("health code %d out of range" % code)
                self.stats.health_code = code
            if "health_hang" in q:
                hang = q["health_hang"] not in ("0", "", "false")
                if hang and not self.stats.health_hang:
                    self.hang_release = threading.Event()
                elif not hang:
                    self.hang_release.set()
                self.stats.health_hang = hang

    def serve(self):
        for ls in self.lsocks[1:]:
            threading.Thread(target=self.accept_loop, args=(ls,), daemon=True).start()
        self.accept_loop(self.lsocks[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--name", default="backend")
    ap.add_argument("--idle-close", type=float, default=0.0,
                    help="close keep-alive connections idle for this many seconds")
    ap.add_argument("--idle-close-delay-ms", type=int, default=0,
                    help="with --idle-close: close this much later, resetting requests that arrive meanwhile")
    ap.add_argument("--delay-ms", type=int, default=0, help="delay every response (not /stats)")
    ap.add_argument("--no-continue", action="store_true", help="never send 100 Continue")
    ap.add_argument("--ignore-close", action="store_true",
                    help="keep an HTTP/1.1 connection open although the request says Connection: close")
    ap.add_argument("--health-code", type=int, default=200,
                    help="the initial status of GET /health (change it with /control?health=N)")
    ap.add_argument("--listen-count", type=int, default=1,
                    help="listen on this many ports (the first is --port); a second stdout "
                         "line \"PORTS p1 p2 ...\" lists them all")
    ap.add_argument("--tls-cert", help="speak HTTPS with this certificate (PEM; needs --tls-key)")
    ap.add_argument("--tls-key", help="the private key of --tls-cert (PEM)")
    args = ap.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    if args.host != "127.0.0.1":
        ap.error("only 127.0.0.1")
    threading.stack_size(512 * 1024)
    srv = Server(args)
    out = "PORT %d\n" % srv.port
    if len(srv.ports) > 1:
        out += "PORTS %s\n" % " ".join(map(str, srv.ports))
    sys.stdout.write(out)
    sys.stdout.flush()
    try:
        srv.serve()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
