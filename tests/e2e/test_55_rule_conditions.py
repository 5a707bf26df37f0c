"""Listener rule conditions beyond host, path and method: http_header,
query_string and source_ip, and percent-encoded paths, through real
backends; and the configs albd -t refuses for them, with file:line."""
import json
import re
import socket
import subprocess
import time

import pytest

from conftest import (Conn, HOST, free_port, get, line_of, listener, make_config, target_group)


def fwd(group):
    return ({"target_group": group, "weight": 1},)


RULES = (
    {"priority": 10, "http_header": {"name": "X-Canary", "values": ["y*", "beta"]},
     "forward": fwd("hdr")},
    {"priority": 20, "query_string": ({"key": "v", "value": "2"}, {"value": "x*"}),
     "forward": fwd("qs")},
    {"priority": 30, "source_ip": ["10.0.0.0/8", "2001:db8::/32"], "forward": fwd("ten")},
    {"priority": 40, "source_ip": ["::1/128"], "path": ["/six/*"], "forward": fwd("six")},
    {"priority": 50, "source_ip": ["127.0.0.1/32"], "path": ["/lo/*"], "forward": fwd("lo")},
    {"priority": 60, "source_ip": ["0.0.0.0/0"], "path": ["/any4/*"], "forward": fwd("lo")},
    {"priority": 70, "path": ["/~enc/*"], "forward": fwd("enc")},
    {"priority": 80, "path": ["/sl%2fash"], "forward": fwd("enc")},
)
GROUPS = ("def", "hdr", "qs", "ten", "six", "lo", "enc")


def wait_port6(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.settimeout(0.2)
        try:
            s.connect(("::1", port))
            return
        except OSError:
            time.sleep(0.05)
        finally:
            s.close()
    raise AssertionError("nothing listens on [::1]:%d" % port)


def have_ipv6():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


@pytest.fixture
def routed(albd, backends):
    """albd with RULES on 127.0.0.1 ("web") and, if the host has IPv6, on
    [::1] ("web6"); one backend per group, named as the group."""
    class P:
        pass
    p = P()
    bs = {g: backends.start(g) for g in GROUPS}
    p.port = free_port()
    p.port6 = free_port() if have_ipv6() else None
    lsts = [listener("web", p.port, "def", RULES)]
    if p.port6:
        l6 = listener("web6", p.port6, "def", RULES)
        l6["listen"] = "[::1]:%d" % p.port6
        lsts.append(l6)
    text = make_config(lsts, [target_group(g, [bs[g]]) for g in GROUPS])
    p.albd = albd.start(text, port=p.port)
    if p.port6:
        wait_port6(p.port6)
    return p


def who(port, path="/", headers=None):
    r = get(port, path, headers=headers)
    assert r.status == 200, r
    return r.header("X-Backend")


def who6(port, path="/"):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect(("::1", port))
        s.sendall(("GET %s HTTP/1.1\r\nHost: albd.test\r\nConnection: close\r\n\r\n" % path).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    assert head.startswith("HTTP/1.1 200"), head
    m = re.search(r"(?im)^X-Backend: *(\S+)", head)
    return m.group(1) if m else None


H = "albd.test"


def test_header_any_position(routed):
    port = routed.port
    # first, middle and last field of the head; any case of name and value
    assert who(port, "/", [("X-Canary", "yes"), ("Host", H), ("Accept", "*/*")]) == "hdr"
    assert who(port, "/", [("Host", H), ("x-canary", "YES"), ("Accept", "*/*")]) == "hdr"
    assert who(port, "/", [("Host", H), ("Accept", "*/*"), ("User-Agent", "t"),
                           ("X-CANARY", "Beta")]) == "hdr"
    # several values: any one matches
    assert who(port, "/", [("X-Canary", "y")]) == "hdr"
    # the field sent twice: any occurrence matches
    assert who(port, "/", [("X-Canary", "no"), ("Accept", "*/*"), ("X-Canary", "yes")]) == "hdr"


def test_header_no_match(routed):
    port = routed.port
    assert who(port, "/") == "def"
    assert who(port, "/", [("X-Canary", "no")]) == "def"
    assert who(port, "/", [("X-Canary", "betas")]) == "def"
    assert who(port, "/", [("X-Canary-Old", "yes"), ("Canary", "yes")]) == "def"
    assert who(port, "/", [("X-Other", "X-Canary: yes")]) == "def"


def test_query_string(routed):
    port = routed.port
    assert who(port, "/?v=2") == "qs"
    assert who(port, "/p?a=1&v=2&b") == "qs"
    assert who(port, "/?V=2") == "qs"                 # case-insensitive
    assert who(port, "/?v=1&v=2") == "qs"             # repeated keys: any
    assert who(port, "/?q=xylophone") == "qs"         # a value under any key
    assert who(port, "/?%76=%32") == "qs"             # percent-decoded
    assert who(port, "/?q=%58") == "qs"
    assert who(port, "/?v=3") == "def"
    assert who(port, "/?v=22") == "def"
    assert who(port, "/?v") == "def"
    assert who(port, "/?a=1%26v=2") == "def"          # an encoded '&' does not split
    assert who(port, "/v=2") == "def"                 # the path is not the query
    assert who(port, "/") == "def"


def test_source_ip(routed):
    port = routed.port
    assert who(port, "/lo/x") == "lo"
    assert who(port, "/any4/x") == "lo"
    # 10.0.0.0/8 is not the client, whatever X-Forwarded-For says
    assert who(port, "/", [("X-Forwarded-For", "10.1.2.3")]) == "def"
    assert who(port, "/six/x") == "def"


def test_source_ip_v6(routed):
    if not routed.port6:
        pytest.skip("no IPv6 loopback")
    assert who6(routed.port6, "/six/x") == "six"
    assert who6(routed.port6, "/lo/x") == "def"
    assert who6(routed.port6, "/any4/x") == "def"
    assert who6(routed.port6, "/?v=2") == "qs"


def test_encoded_path(routed):
    port = routed.port
    assert who(port, "/~enc/a") == "enc"
    assert who(port, "/%7Eenc/a") == "enc"
    assert who(port, "/%7eenc/%61") == "enc"
    assert who(port, "/%7E%65nc/a") == "enc"
    # reserved characters stay encoded: %2F is not a '/'
    assert who(port, "/~enc%2Fa") == "def"
    # ... and their hex digits match in either case (RFC 3986 6.2.2.1)
    assert who(port, "/sl%2Fash") == "enc"
    assert who(port, "/sl%2fash") == "enc"
    assert who(port, "/sl/ash") == "def"
    assert who(port, "/SL%2fash") == "def"
    # the target gets the path as the client sent it
    with Conn(port) as c:
        r = c.request("GET", "/%7Eenc/echo-headers")
        assert r.header("X-Backend") == "enc"


def test_path_index_decoded_hex_letter(albd, backends):
    """Ten path rules (the router indexes a list of 8 or more in a trie):
    "/%%61" (the pattern "/%a": %61 decoded) and "/100%free" match
    "/%%61" and "/100%%66ree" as the one rule alone does."""
    d = backends.start("def")
    port = free_port()

    def fixed(prio, path, body):
        return {"priority": prio, "path": [path],
                "fixed_response": {"status": 200, "content_type": "text/plain", "body": body}}
    rules = tuple(fixed(i + 1, "/p%d" % i, "p%d" % i) for i in range(8))
    rules += (fixed(20, "/%%61", "pct-a"), fixed(21, "/100%free", "free"))
    albd.start(make_config([listener("web", port, "def", rules)], [target_group("def", [d])]), port=port)
    for path, body in (("/%%61", "pct-a"), ("/%a", "pct-a"), ("/%A", "pct-a"), ("/100%%66ree", "free"),
                       ("/100%free", "free"), ("/100%Free", "free"), ("/p3", "p3")):
        r = get(port, path)
        assert (r.status, r.body.decode()) == (200, body), (path, r)
    # a letter decoding made keeps its case
    assert who(port, "/%%41") == "def"
    assert who(port, "/100%%46ree") == "def"


def test_conditions_and(albd, backends):
    b = backends.start("both")
    d = backends.start("def")
    port = free_port()
    rules = ({"priority": 1, "http_header": {"name": "X-A", "values": ["1"]},
              "query_string": ({"key": "k", "value": "v"},), "source_ip": ["127.0.0.0/8"],
              "forward": fwd("both")},)
    albd.start(make_config([listener("web", port, "def", rules)],
                           [target_group("both", [b]), target_group("def", [d])]), port=port)
    assert who(port, "/?k=v", [("X-A", "1")]) == "both"
    assert who(port, "/?k=w", [("X-A", "1")]) == "def"
    assert who(port, "/?k=v", [("X-A", "2")]) == "def"
    assert who(port, "/?k=v") == "def"


def test_several_query_conditions_and_methods(albd, backends):
    """Two query-string conditions in one rule must both match (ALB's
    several query-string conditions); any pair of one condition matches it.
    Methods may hold '-' and '_' (M-SEARCH)."""
    b = backends.start("both")
    m = backends.start("m")
    d = backends.start("def")
    port = free_port()
    rules = ({"priority": 1, "query_string": (({"key": "a", "value": "1"}, {"key": "a", "value": "2"}),
                                              ({"key": "b", "value": "x*"},)),
              "forward": fwd("both")},
             {"priority": 2, "method": ["M-SEARCH", "PURGE_ALL"], "forward": fwd("m")})
    albd.start(make_config([listener("web", port, "def", rules)],
                           [target_group("both", [b]), target_group("m", [m]), target_group("def", [d])]),
               port=port)
    assert who(port, "/?a=1&b=xy") == "both"
    assert who(port, "/?b=x&z=0&a=2") == "both"
    assert who(port, "/?a=1") == "def"
    assert who(port, "/?b=x") == "def"
    assert who(port, "/?a=3&b=x") == "def"
    # PURGE_ALL is a custom method (ALB's A-Z - _), which albd receives too
    for method, want in (("M-SEARCH", "m"), ("PURGE_ALL", "m"), ("MKCALENDAR", "def"), ("GET", "def")):
        with Conn(port) as c:
            r = c.request(method, "/")
            assert r.status == 200 and r.header("X-Backend") == want, (method, r)


def test_custom_method_routed_and_forwarded(albd, backends):
    """ALB's custom methods (HttpRequestMethodConditionConfig: A-Z, '-' and
    '_', up to 40, case-sensitive): a rule naming one matches it, a request
    with one that no rule names takes the default action, each reaches the
    target as sent, body and all, on a kept-alive connection; any other
    method (lower case, a digit, 41 characters) is still a 400."""
    m = backends.start("m")
    d = backends.start("def")
    port = free_port()
    long_m = "X" * 40
    rules = ({"priority": 1, "method": ["FOO_BAR", long_m], "forward": fwd("m")},
             {"priority": 2, "method": ["GET"], "path": ["/fixed"],
              "fixed_response": {"status": 200, "body": "fixed"}})
    albd.start(make_config([listener("web", port, "def", rules)],
                           [target_group("m", [m]), target_group("def", [d])]), port=port)
    with Conn(port) as c:
        for method, want in (("FOO_BAR", "m"), (long_m, "m"), ("FOO-BAR", "def"), ("BAZ_QUX", "def"),
                             ("FOO_BAR", "m")):
            r = c.request(method, "/echo-headers?x=1")
            assert r.status == 200 and r.header("X-Backend") == want, (method, r)
            got = json.loads(r.body)
            assert got["method"] == method and got["target"] == "/echo-headers?x=1", got
        r = c.request("FOO_BAR", "/upload", body=b"hello")
        assert r.status == 200 and json.loads(r.body)["length"] == 5, r
        assert c.request("GET", "/fixed").body == b"fixed"
    for method in ("foo_bar", "FOO1", "X" * 41):
        with Conn(port) as c:
            assert c.request(method, "/").status == 400, method


# ---------------------------------------------------------------------------
# refused configs


def check(albd_bin, tmp_path, rule):
    text = make_config([listener("web", free_port(), "tg", (rule,))],
                       [target_group("tg", ["127.0.0.1:%d" % free_port()])])
    p = tmp_path / "bad.conf"
    p.write_text(text)
    r = subprocess.run([albd_bin, "-t", "-c", str(p)], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=15)
    err = r.stderr.decode(errors="replace")
    m = re.search(re.escape(str(p)) + r":(\d+): (.*)", err)
    assert r.returncode == 1 and m, (r.returncode, err)
    return text, int(m.group(1)), m.group(2)


BASE = {"priority": 1, "forward": ({"target_group": "tg", "weight": 1},)}


@pytest.mark.parametrize("cond,needle,words", [
    ({"http_header": {"name": "X-A", "values": []}}, "values = (", "expected at least one value"),
    ({"http_header": {"name": "X A", "values": ["1"]}}, 'name = "X A"', "invalid header name"),
    ({"http_header": {"name": "Host", "values": ["1"]}}, 'name = "Host"', "host condition"),
    ({"http_header": {"name": "X" * 41, "values": ["1"]}}, 'name = "XXX', "longer than 40"),
    ({"query_string": ({"key": "k"},)}, ("query_string = (", 1), 'missing required setting "value"'),
    ({"query_string": ({"value": ""},)}, 'value = ""', "empty query value"),
    ({"source_ip": ["10.0.0.0/33"]}, "source_ip", "invalid CIDR"),
    ({"source_ip": ["10.0.0.1/8"]}, "source_ip", "host bits set"),
    ({"source_ip": ["2001:db8::"]}, "source_ip", "invalid CIDR"),
    ({"source_ip": []}, "source_ip", "expected at least one CIDR"),
    ({"source_ip": ["10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16"], "path": ["/a", "/b", "/c"]},
     ("rules = (", 1), "more than ALB's 5 per rule"),
    ({"path": ["/a*b*c*", "/d*e*f*"]}, ("rules = (", 1), "wildcards, more than ALB's 5"),
    ({"method": ["GE T"]}, "method", "invalid method"),
    # ALB's host patterns: A-Z a-z 0-9 - . * ?, a '.', letters after the last
    ({"host": ["localhost"]}, "host", "needs at least one '.'"),
    ({"host": ["10.0.0.1"]}, "host", "only letters may follow the last '.'"),
    ({"host": ["example.c0m"]}, "host", "only letters may follow the last '.'"),
    ({"host": ["a_b.example.com"]}, "host", 'invalid host pattern "a_b.example.com"'),
    # ALB's path characters (and albd's %-escapes): a '#' never reaches a rule
    ({"path": ["/a#b"]}, "path", "'#' is not allowed"),
    ({"path": ["/x<y"]}, "path", "'<' is not allowed"),
    ({"path": ["/a b"]}, "path", "spaces and control characters"),
    # ALB's methods are upper case, compared case-sensitively
    ({"method": ["GET", "get"]}, "method", 'invalid method "get" (expected upper-case'),
    ({"path": ["/" + "p" * 128]}, "path = ", "longer than ALB's 128"),
    ({"forward": tuple({"target_group": "tg", "weight": 1} for _ in range(6))}, "forward = ",
     "6 target groups, more than ALB's 5 per forward"),
])
def test_refused(albd_bin, tmp_path, cond, needle, words):
    rule = dict(BASE)
    rule.update(cond)
    text, line, msg = check(albd_bin, tmp_path, rule)
    assert words in msg, msg
    lo = line_of(text, "rules = (")
    # the setting's line, or (NEEDLE, N): N lines below it (a group's "{")
    needle, below = needle if isinstance(needle, tuple) else (needle, 0)
    assert line == line_of(text, needle, lo) + below, (line, msg, text)


@pytest.mark.parametrize("fixed,needle,words", [
    ({"status": 302, "body": "x"}, "status", "302: expected a 2XX, 4XX or 5XX status"),
    ({"status": 304}, "status", "304: expected a 2XX, 4XX or 5XX status"),
    ({"status": 200, "content_type": "image/png"}, "content_type", 'invalid content type "image/png"'),
    ({"status": 503, "body": "x" * 1025}, "body", "body of 1025 bytes, longer than ALB's 1024"),
    ({"status": 204, "body": "x"}, "body", "a 204 response has no body"),
    ({"status": 205, "body": "x"}, "body", "a 205 response has no body"),
])
def test_refused_fixed_response(albd_bin, tmp_path, fixed, needle, words):
    """ALB's FixedResponseActionConfig: StatusCode 2XX, 4XX or 5XX (a 302
    without a Location is no redirect), one of its five content types, a
    MessageBody of at most 1024; and no body where the status has no content
    (RFC 9110: 204, 205; 304 is a 3XX). Each is refused at its setting."""
    text, line, msg = check(albd_bin, tmp_path, {"priority": 1, "path": ["/"], "fixed_response": fixed})
    assert words in msg, msg
    assert line == line_of(text, needle, line_of(text, "fixed_response")), (line, msg, text)
