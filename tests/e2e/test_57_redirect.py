"""Redirect actions (ALB's RedirectActionConfig) through the real binary:
each status, the Location header exactly as the templates make it,
default_redirect, keep-alive after a redirect, HTTP_Redirect_Count (and
HTTPCode_ELB_3XX_Count, RuleEvaluations) through the statistics API and
/metrics, and the configs that `albd -t` refuses with FILE:LINE.
"""
import re
import subprocess

import pytest

from conftest import (HOST, Conn, check_albd_bin, free_port, line_of, listener, make_config,
                      target_group)
from test_48_metrics import prom_samples, total, wait_total
from test_90_tls import pki  # noqa: F401 (a fixture)


BODY_301 = (b"<html>\r\n<head><title>301 Moved Permanently</title></head>\r\n<body>\r\n"
            b"<center><h1>301 Moved Permanently</h1></center>\r\n</body>\r\n</html>\r\n")

RULES = (
    {"priority": 10, "path": ["/old/*"],
     "redirect": {"status": 301, "path": "/new/#{path}"}},
    {"priority": 20, "path": ["/secure/*"],
     "redirect": {"status": 302, "protocol": "HTTPS", "port": "443"}},
    {"priority": 30, "path": ["/moved"],
     "redirect": {"status": 301, "host": "www.#{host}", "path": "/p/#{port}/#{host}",
                  "query": "#{query}&from=#{protocol}"}},
    {"priority": 40, "path": ["/drop"],
     "redirect": {"status": 302, "host": "other.example", "port": 8443, "query": ""}},
    {"priority": 50, "path": ["/fwd"], "forward": ({"target_group": "tg", "weight": 1},)},
)


@pytest.fixture
def rd(albd, backends):
    class P:
        pass
    p = P()
    p.b1 = backends.start("b1")
    p.port = free_port()
    p.port2 = free_port()
    cfg = make_config(
        [listener("web", p.port, "tg", RULES),
         listener("web2", p.port2, None, None,
                  default_redirect={"status": 302, "protocol": "https", "port": "443"})],
        [target_group("tg", [p.b1])], name="lbr")
    p.albd = albd.start(cfg, ports={"web": p.port, "web2": p.port2})
    return p


def loc(port, path, host="albd.test", method="GET"):
    with Conn(port) as c:
        r = c.request(method, path, host=host)
    return r


def test_each_status_and_location(rd):
    p = rd.port
    r = loc(p, "/old/a/b%20c?x=1&y")
    assert r.status == 301 and r.reason == "Moved Permanently"
    assert r.header("location") == "http://albd.test:%d/new/old/a/b%%20c?x=1&y" % p
    assert r.header("content-type") == "text/html"
    assert r.header("content-length") == str(len(BODY_301))
    assert r.body == BODY_301

    r = loc(p, "/secure/x?q", host="shop.example:%d" % p)
    assert r.status == 302 and r.reason == "Found"
    assert r.header("location") == "https://shop.example:443/secure/x?q"

    # every placeholder; the listener's port, not Host's
    r = loc(p, "/moved?k=v", host="a.example:1234")
    assert r.header("location") == "http://www.a.example:%d/p/%d/a.example?k=v&from=http" % (p, p)
    # no query: the template's literal part still makes one
    r = loc(p, "/moved", host="a.example")
    assert r.header("location") == "http://www.a.example:%d/p/%d/a.example?&from=http" % (p, p)

    # an emptied query: no '?'
    r = loc(p, "/drop?secret=1")
    assert r.header("location") == "http://other.example:8443/drop"
    # an empty query in the request: no '?' either
    r = loc(p, "/secure/y?")
    assert r.header("location") == "https://albd.test:443/secure/y"


def test_ipv6_host_and_absolute_form(rd):
    p = rd.port
    r = loc(p, "/secure/v6", host="[2001:db8::1]:%d" % p)
    assert r.header("location") == "https://[2001:db8::1]:443/secure/v6"
    # absolute-form: its authority is the host
    with Conn(p) as c:
        c.send(b"GET http://abs.example:9/old/z?q=1 HTTP/1.1\r\nHost: ignored\r\n\r\n")
        r = c.read_response()
    assert r.status == 301
    assert r.header("location") == "http://abs.example:%d/new/old/z?q=1" % p


def test_empty_host(rd):
    """An empty Host is valid (RFC 9112 3.2), but a host of #{host} has
    nothing to write then: a 400, not "http://:PORT/"; a redirect that
    does not use it goes as usual, and so does a target's request."""
    p = rd.port
    for host in ("", ":%d" % p):
        with Conn(p) as c:
            r = c.request("GET", "/moved", host=host)
            assert r.status == 400 and r.header("location") is None, (host, r)
            r = c.request("GET", "/drop", host=host)     # the same connection goes on
            assert r.status == 302 and r.header("location") == "http://other.example:8443/drop", r
            r = c.request("GET", "/fwd", host=host)
            assert r.status == 200, r
    # a userinfo trick never reaches a Location
    r = loc(p, "/moved", host="good.example@evil.example")
    assert r.status == 400 and r.header("location") is None, r


def test_head_has_no_body(rd):
    r = loc(rd.port, "/old/h", method="HEAD")
    assert r.status == 301
    assert r.header("content-length") == str(len(BODY_301))
    assert r.body == b""
    assert r.header("location") == "http://albd.test:%d/new/old/h" % rd.port


def test_default_redirect(rd):
    r = loc(rd.port2, "/any/where?a=b", host="site.example")
    assert r.status == 302
    assert r.header("location") == "https://site.example:443/any/where?a=b"
    r = loc(rd.port2, "/")
    assert r.header("location") == "https://albd.test:443/"


def test_keep_alive_after_redirect(rd):
    with Conn(rd.port) as c:
        r = c.request("GET", "/old/1")
        assert r.status == 301
        assert not r.has_token("connection", "close")
        r = c.request("GET", "/fwd")            # the same connection goes on to a target
        assert r.status == 200
        r = c.request("GET", "/secure/2")
        assert r.status == 302
        # pipelined
        c.send(Conn.build("GET", "/old/a") + Conn.build("GET", "/old/b"))
        assert c.read_response().header("location").endswith("/new/old/a")
        assert c.read_response().header("location").endswith("/new/old/b")
    # HTTP/1.0 with keep-alive asked for
    with Conn(rd.port) as c:
        r = c.request("GET", "/old/x", headers={"Connection": "keep-alive"}, version="HTTP/1.0")
        assert r.status == 301 and r.has_token("connection", "keep-alive")
        r = c.request("GET", "/old/y", version="HTTP/1.0", host=None)
        assert r.status == 301
        # no Host: the address the client reached
        assert r.header("location") == "http://%s:%d/new/old/y" % (HOST, rd.port)


def test_redirects_counted(rd):
    a = rd.albd
    n1, n2 = 7, 3
    with Conn(rd.port) as c:
        for i in range(n1):
            assert c.request("GET", "/old/%d" % i).status == 301
        for i in range(2):
            assert c.request("GET", "/fwd").status == 200
    with Conn(rd.port2) as c:
        for i in range(n2):
            assert c.request("GET", "/x").status == 302
    wait_total(a, "HTTP_Redirect_Count", n1 + n2)
    assert total(a, "HTTPCode_ELB_3XX_Count") == n1 + n2
    assert total(a, "HTTP_Fixed_Response_Count") == 0
    assert total(a, "RequestCount") == n1 + n2 + 2
    # /old/*: the first rule; /fwd: the fifth; the default of web2: no rule
    assert total(a, "RuleEvaluations") == n1 + 2 * 5
    r = a.admin_request("GET", "/metrics")
    assert r.status == 200
    s = prom_samples(r.text)
    got = [v for (name, _), v in s.items() if name == "albd_redirects_total"]
    assert got == [n1 + n2], [k for k in s if "redirect" in k[0]]


# ---------------------------------------------------------------------------
# configs albd -t refuses


def check(tmp_path, rules=None, default_redirect=None, default_forward="tg", **lopts):
    port = free_port()
    text = make_config([listener("web", port, default_forward, rules, default_redirect=default_redirect,
                                 **lopts)],
                       [target_group("tg", ["127.0.0.1:%d" % free_port()])])
    p = tmp_path / "r.conf"
    p.write_text(text)
    r = subprocess.run([check_albd_bin(), "-t", "-c", str(p)], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=15)
    return r, text, p, port


def first_error(r, p):
    m = re.search(re.escape(str(p)) + r":(\d+): (.*)", r.stderr.decode())
    assert m, r.stderr
    return int(m.group(1)), m.group(2)


@pytest.mark.parametrize("redirect,needle,want", [
    ({"status": 301}, "redirect = {", "redirect loop"),
    ({"status": 302, "protocol": "HTTP", "query": "x=1"}, "redirect = {", "redirect loop"),
    ({"status": 303, "port": 1}, "status = 303", "must be 301 or 302"),
    ({"status": 301, "path": "new/#{path}"}, "path = \"new", "must start with '/'"),
    ({"status": 301, "port": "99999"}, "port = \"99999\"", "expected 1 to 65535"),
    ({"status": 301, "port": 0}, "port = 0", "expected 1 to 65535"),
    ({"status": 301, "host": "#{path}.example"}, "host = \"#{path}", "only #{host}"),
    ({"status": 301, "port": 1, "query": "?a=1"}, "query = \"?a=1\"", "leading '?'"),
    # an IPv6 literal: [address] and nothing after it
    ({"status": 301, "host": "[::1]:8080"}, "host = \"[", "a port goes in port"),
    ({"status": 301, "host": "[::1]x"}, "host = \"[", "nothing may follow"),
    ({"status": 301, "host": "[::1]#{host}"}, "host = \"[", "nothing may follow"),
    ({"status": 301, "host": "[::1"}, "host = \"[", "an IPv6 literal is [address]"),
    ({"status": 301, "host": "[]"}, "host = \"[", "an IPv6 literal is [address]"),
    ({"status": 301, "host": "[1.2.3.4]"}, "host = \"[", "not an IPv6 address"),
    ({"status": 301, "host": "[::g]"}, "host = \"[", "not an IPv6 address"),
    ({"status": 301, "host": "[#{host}]"}, "host = \"[", "not an IPv6 address"),
    ({"status": 301, "host": "a[::1]"}, "host = \"a[", "a port goes in port"),
    ({"status": 301, "host": "a]"}, "host = \"a]", "']' is not allowed"),
    # a literal that the rule's only path or host must already be: the same URL
    ({"status": 301, "path": "/x"}, "redirect = {", "redirect loop"),
    ({"status": 302, "host": "A.Example", "path": "/x"}, "redirect = {", "redirect loop"),
    # the path as the router reads it: %78 is x
    ({"status": 301, "path": "/%78"}, "redirect = {", "redirect loop"),
])
def test_bad_rule_redirect_refused(tmp_path, redirect, needle, want):
    rules = ({"priority": 10, "path": ["/x"], "host": ["a.example"], "redirect": redirect},)
    r, text, p, _ = check(tmp_path, rules=rules)
    assert r.returncode == 1, r
    line, msg = first_error(r, p)
    assert line == line_of(text, needle, line_of(text, "rules = (")), (line, msg, text)
    assert "listeners.[0].rules.[0].redirect" in msg and want in msg, msg


def test_literal_redirect_elsewhere_accepted(tmp_path):
    """A literal path or host is a loop only when it is the one the rule's
    condition allows (one value, no wildcard)."""
    for cond, redirect in (({"path": ["/x"]}, {"status": 301, "path": "/y"}),
                           ({"path": ["/x*"]}, {"status": 301, "path": "/x"}),
                           ({"path": ["/x", "/y"]}, {"status": 301, "path": "/x"}),
                           ({"host": ["a.example"]}, {"status": 301, "host": "b.example"}),
                           ({"host": ["a.example"]}, {"status": 301, "host": "[2001:db8::1]"}),
                           ({"host": ["a.example"]}, {"status": 301, "host": "[::ffff:192.0.2.1]"}),
                           ({"host": ["a.example"], "path": ["/x"]},
                            {"status": 301, "host": "a.example", "path": "/z"}),
                           # another condition may not hold once redirected (dropping tracking parameters)
                           ({"path": ["/x"], "query_string": ({"key": "utm_source", "value": "*"},)},
                            {"status": 301, "path": "/x", "query": ""}),
                           ({"path": ["/x"], "http_header": {"name": "X-Old", "values": ["1"]}},
                            {"status": 301, "path": "/x"})):
        rule = {"priority": 10, "redirect": redirect}
        rule.update(cond)
        r, *_ = check(tmp_path, rules=(rule,))
        assert r.returncode == 0, (cond, redirect, r.stderr)


def test_default_redirect_loop_refused(tmp_path):
    r, text, p, port = check(tmp_path, rules=None, default_forward=None,
                             default_redirect={"status": 301, "port": "#{port}"})
    assert r.returncode == 1, r
    line, msg = first_error(r, p)
    assert line == line_of(text, "default_redirect = {")
    assert msg.startswith("listeners.[0].default_redirect: redirect loop"), msg
    # the listener's own port written out is a loop too; another port is not
    r, *_ = check(tmp_path, rules=None, default_forward=None,
                  default_redirect={"status": 301, "port": 1})
    assert r.returncode == 0, r.stderr


def test_two_defaults_refused(tmp_path):
    r, text, p, _ = check(tmp_path, rules=None, default_redirect={"status": 301, "port": 1})
    assert r.returncode == 1
    _, msg = first_error(r, p)
    assert "needs only one of default_forward, default_fixed_response and default_redirect" in msg


# ---------------------------------------------------------------------------
# HTTPS: #{protocol} and #{port} are the listener's own


def test_http_to_https_and_https_listener(albd, backends, pki):
    from test_90_tls import TLSConn, client_ctx
    b1 = backends.start("b1")
    port, tport = free_port(), free_port()
    tls = {"certificates": (pki.a.entry(),)}
    cfg = make_config(
        [listener("web", port, None, None,
                  default_redirect={"status": 301, "protocol": "HTTPS", "port": tport}),
         listener("secure", tport, "tg",
                  ({"priority": 1, "host": ["a.test"], "path": ["/www/*"],
                    "redirect": {"status": 302, "host": "www.#{host}"}},), tls=tls)],
        [target_group("tg", [b1])])
    albd.start(cfg, ports={"web": port, "secure": tport})
    r = loc(port, "/name?z=1", host="a.test:%d" % port)
    assert r.status == 301
    assert r.header("location") == "https://a.test:%d/name?z=1" % tport
    # follow it
    with TLSConn(tport, "a.test", client_ctx(pki)) as c:
        r = c.request("GET", "/name?z=1", host="a.test:%d" % tport)
        assert r.status == 200 and r.body == b"b1", r
        r = c.request("GET", "/www/x?y", host="a.test")
        assert r.status == 302
        assert r.header("location") == "https://www.a.test:%d/www/x?y" % tport
        r = c.request("GET", "/name", host="a.test")      # kept alive over TLS
        assert r.status == 200 and r.body == b"b1", r


def test_https_to_http_refused(tmp_path, pki):
    tls = {"certificates": (pki.a.entry(),)}
    r, text, p, _ = check(tmp_path, rules=None, default_forward=None, tls=tls,
                          default_redirect={"status": 301, "protocol": "HTTP", "port": 80})
    assert r.returncode == 1, r
    line, msg = first_error(r, p)
    assert line == line_of(text, 'protocol = "HTTP"')
    assert msg == "listeners.[0].default_redirect.protocol: an HTTPS listener cannot redirect to HTTP (as ALB)"
