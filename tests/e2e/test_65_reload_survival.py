"""Reloads leave unrelated connections alone: an upgraded (WebSocket)
tunnel and a long download both survive 20 reloads, byte for byte; every
generation but the one they hold is released as soon as it is replaced,
the one they hold when they end, and the memory does not grow with the
reloads (VmRSS)."""
import hashlib

from conftest import Conn, free_port, listener, make_config, rss_kb, target_group, wait_until
from backend import pattern_sha256


def config(port, b, i, nrules=3000):
    # a big generation (3000 rules, about 2 MB) makes a leak visible in
    # VmRSS; rules, unlike targets, add no metric series that grow by
    # themselves
    rules = [{"priority": 1, "path": ["/version"],
              "fixed_response": {"status": 200, "content_type": "text/plain", "body": "v%d" % i}}]
    for k in range(nrules):
        rules.append({"priority": 10 + k, "host": ["h%d-%d.example.com" % (k, j) for j in range(4)],
                      "path": ["/p%d/*" % k],
                      "fixed_response": {"status": 200, "body": "rule %d of generation %d" % (k, i) * 4}})
    return make_config([listener("web", port, "tg", rules=rules)], [target_group("tg", [b])])


def test_tunnel_and_download_survive_20_reloads(albd, backends):
    b = backends.start("b1")
    port = free_port()
    a = albd.start(config(port, b, 0), port=port)
    pid = a.proc.pid
    # an upgraded tunnel on generation 1
    ws = Conn(port, timeout=20)
    ws.send(b"GET /upgrade HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
    assert ws.read_response(allow_interim=True).status == 101
    seen = bytes(ws.buf)
    while not seen.endswith(b"\n"):
        seen += ws.sock.recv(4096)
    ws.buf.clear()
    # a long download on generation 1, read a little at a time
    size = 8 * 1024 * 1024
    dl = Conn(port, timeout=20, rcvbuf=16384)
    dl.send(Conn.build("GET", "/download?size=%d&seed=7&chunked=1" % size, host="dl.test"))
    head = b""
    while b"\r\n\r\n" not in head:
        head += dl.sock.recv(1)
    assert head.startswith(b"HTTP/1.1 200")
    raw = bytearray()
    rss0 = rss_kb(pid)
    for i in range(1, 21):
        a.reload(config(port, b, i))
        wait_until(lambda: "generation %d is live" % (i + 1) in a.log(), 10, what="generation %d" % (i + 1))
        # new requests get the new config at once, and the new generation's
        # compiled rules route as its rules say
        with Conn(port) as c:
            assert c.request("GET", "/version").body == b"v%d" % i
            k = (i * 149) % 3000
            r = c.request("GET", "/p%d/x" % k, host="h%d-2.example.com" % k)
            assert r.body == (b"rule %d of generation %d" % (k, i)) * 4, r
        # the tunnel echoes, the download moves on
        msg = b"ping %d\n" % i
        ws.send(msg)
        got = b""
        while len(got) < len(msg):
            got += ws.sock.recv(4096)
        assert got == msg
        raw += dl.sock.recv(65536)
    # generations 2..20 were released when replaced; 1 is held
    wait_until(lambda: "generation 20 released" in a.log(), 10, what="generation 20 released")
    log = a.log()
    for g in range(2, 21):
        assert "generation %d released" % g in log, g
    assert "generation 1 released" not in log
    # (ASan keeps freed memory in its quarantine, TSan in its own
    # allocator's caches: RSS says nothing in those builds)
    if not any("libasan" in line or "libtsan" in line for line in open("/proc/%d/maps" % pid)):
        assert rss_kb(pid) < rss0 + 20 * 1024, (rss0, rss_kb(pid))
    # the download completes, byte for byte
    while True:
        d = dl.sock.recv(65536)
        if not d:
            break
        raw += d
        if raw.endswith(b"\r\n0\r\n\r\n"):
            break
    body, rest = bytearray(), bytes(raw)
    while True:
        line, _, rest = rest.partition(b"\r\n")
        n = int(line.split(b";")[0], 16)
        if n == 0:
            break
        body += rest[:n]
        rest = rest[n + 2:]
    assert len(body) == size and hashlib.sha256(body).hexdigest() == pattern_sha256(size, "7")
    dl.close()
    ws.close()
    # the last connection on generation 1 ended: it goes
    wait_until(lambda: "generation 1 released" in a.log(), 10, what="generation 1 released")
