"""Per-client limits (limits.per_client, beyond ALB): one abusive client
(127.0.0.2) is limited, to its connections and its request rate (429 with
Retry-After), while another (127.0.0.1) is served; both are counted in
/metrics."""
import socket
import time

from conftest import HOST, free_port, listener, make_config, target_group, wait_until
from test_48_metrics import prom_samples


def conn_from(src, port):
    s = socket.socket()
    s.settimeout(10)
    s.bind((src, 0))
    s.connect((HOST, port))
    return s


def request(s, path="/name"):
    s.sendall(("GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % path).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        d = s.recv(65536)
        if not d:
            return None, {}
        data += d
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
    n = int(hdrs.get("content-length", "0"))
    while len(body) < n:
        body += s.recv(65536)
    return status, hdrs


def refused(s):
    """Closed by albd without an answer."""
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        return s.recv(100) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


def test_abusive_client_limited_others_served(albd, backends):
    b = backends.start("b1")
    port = free_port()
    limits = {"per_client": {"max_connections": 3, "requests_per_second": 5, "burst": 5}}
    a = albd.start(make_config([listener("web", port, "tg", rules=())], [target_group("tg", [b])],
                               workers=2, limits=limits), port=port)
    # connections: the abuser's fourth is closed at once; the other client's are not
    held = [conn_from("127.0.0.2", port) for _ in range(3)]
    for s in held:
        assert request(s)[0] == 200
    extra = conn_from("127.0.0.2", port)
    assert refused(extra)
    others = [conn_from("127.0.0.1", port) for _ in range(3)]
    for s in others:
        assert request(s)[0] == 200
    # a closed connection frees its place
    held.pop().close()
    time.sleep(0.3)
    held.append(conn_from("127.0.0.2", port))
    assert request(held[-1])[0] == 200
    # the rate: 6 at once (burst 5), then 429 with Retry-After; the other client is served
    statuses, after = [], None
    t0 = time.monotonic()
    for i in range(30):
        st, h = request(held[i % 3])
        statuses.append(st)
        if st == 429:
            after = h.get("retry-after")
    # at most 6 + 5 a second get through: in under 2 s, 14 of 30 are refused
    assert time.monotonic() - t0 < 2.0, "the requests took too long to test a rate"
    assert statuses.count(429) >= 10 and 200 in statuses, statuses
    assert after and int(after) >= 1
    for s in others:
        assert request(s)[0] == 200
    # the connection stays usable, and after a pause the client is served again
    time.sleep(1.5)
    assert request(held[0])[0] == 200

    def counted():
        sm = prom_samples(a.admin_request("GET", "/metrics").text)
        get = lambda n: sum(v for (k, _), v in sm.items() if k == n)
        return get("albd_client_limited_connections_total") >= 1 and get("albd_client_limited_requests_total") >= 10

    wait_until(counted, 10, what="the limits counted in /metrics")
    for s in held + others:
        s.close()


def test_limits_are_off_by_default(albd, backends):
    b = backends.start("b1")
    port = free_port()
    albd.start(make_config([listener("web", port, "tg", rules=())], [target_group("tg", [b])]), port=port)
    conns = [conn_from("127.0.0.2", port) for _ in range(20)]
    for s in conns:
        for _ in range(5):
            assert request(s)[0] == 200
        s.close()
