"""Sticky sessions, as an ALB's: a target group's lb_cookie (AWSALB and
AWSALBCORS) and app_cookie (AWSALBAPP beside the application's cookie)
stickiness, a forward's group stickiness across weighted target groups
(AWSALBTG), tampered and foreign cookies ignored, and a sticky client
moved when its target is stopped, unhealthy or deregistered."""
import collections
import os
import re
import stat
import subprocess
import time

import pytest

from conftest import (Conn, HOST, free_port, listener, make_config, target_group, wait_until)


def set_cookies(r):
    """{name: (value, attributes)} of the response's Set-Cookie fields."""
    out = {}
    for v in r.all("set-cookie"):
        parts = [p.strip() for p in v.split(";")]
        name, _, value = parts[0].partition("=")
        attrs = {}
        for p in parts[1:]:
            k, _, a = p.partition("=")
            attrs[k.lower()] = a
        out[name] = (value, attrs)
    return out


def lb_config(port, backs, stickiness, **tg):
    return make_config([listener("web", port, "tg", rules=())],
                       [target_group("tg", backs, stickiness=stickiness, **tg)])


def fetch(port, path="/name", cookie=None, headers=None):
    h = list(headers or [])
    if cookie:
        h.append(("Cookie", cookie))
    with Conn(port) as c:
        r = c.request("GET", path, headers=h)
    assert r.status == 200, r
    return r


def spread(port, n, cookie=None):
    return collections.Counter(fetch(port, cookie=cookie).header("x-backend") for _ in range(n))


def test_lb_cookie_pins_and_is_refreshed(albd, backends):
    backs = [backends.start(n) for n in ("a", "b", "c")]
    port = free_port()
    albd.start(lb_config(port, backs, {"type": "lb_cookie", "duration": 120}), port=port)
    r = fetch(port)
    ck = set_cookies(r)
    assert set(ck) == {"AWSALB", "AWSALBCORS"}, r
    value, attrs = ck["AWSALB"]
    assert len(value) == 52 and attrs.get("path") == "/" and "expires" in attrs, ck
    assert "samesite" not in attrs and "max-age" not in attrs
    cors_value, cors = ck["AWSALBCORS"]
    assert cors_value == value and cors.get("samesite") == "None" and "secure" in cors, ck
    # Expires (an IMF-fixdate) is 7 days away, as ALB's: the duration is
    # inside the cookie, and each response starts it again
    exp = time.mktime(time.strptime(attrs["expires"], "%a, %d %b %Y %H:%M:%S GMT")) - time.timezone
    assert abs(exp - (time.time() + 7 * 86400)) < 5, attrs
    first = r.header("x-backend")
    # pinned: every request, each on a new connection, goes to the same one
    for _ in range(12):
        r = fetch(port, cookie="AWSALB=" + value)
        assert r.header("x-backend") == first
        value = set_cookies(r)["AWSALB"][0]      # refreshed every time
    # the CORS twin alone is honoured too
    assert spread(port, 6, cookie="AWSALBCORS=" + cors_value) == {first: 6}
    # without a cookie: round robin over the three
    assert len(spread(port, 6)) == 3


def test_cookie_found_in_every_position(albd, backends):
    backs = [backends.start(n) for n in ("a", "b", "c")]
    port = free_port()
    albd.start(lb_config(port, backs, {"type": "lb_cookie", "duration": 120}), port=port)
    r = fetch(port)
    first, value = r.header("x-backend"), set_cookies(r)["AWSALB"][0]
    mine = "AWSALB=" + value
    variants = [
        [("Cookie", mine)],
        [("Cookie", "a=1; " + mine)],
        [("Cookie", mine + "; z=2")],
        [("Cookie", "a=1;" + mine + ";z=2")],
        [("Cookie", 'AWSALB="%s"' % value)],
        [("Cookie", "a=1"), ("Cookie", mine)],
        [("Cookie", mine), ("X-Other", "x")],
        [("X-Other", "x"), ("cookie", "x=AWSALB; " + mine)],
        [("Accept", "*/*"), ("Cookie", "AWSALBX=1; " + mine), ("User-Agent", "t")],
    ]
    for hs in variants:
        with Conn(port) as c:
            r = c.request("GET", "/name", headers=hs)
        assert r.header("x-backend") == first, hs


def test_tampered_stale_and_foreign_cookies_are_ignored(albd, backends):
    backs = [backends.start(n) for n in ("a", "b", "c")]
    port = free_port()
    cfg = make_config([listener("web", port, "tg", rules=(
        {"priority": 1, "path": ["/other/*"], "forward": ({"target_group": "tg2"},)},))],
        [target_group("tg", backs, stickiness={"type": "lb_cookie", "duration": 120}),
         target_group("tg2", backs, stickiness={"type": "lb_cookie", "duration": 120})])
    albd.start(cfg, port=port)
    value = set_cookies(fetch(port))["AWSALB"][0]
    flips = []
    for i in (0, 5, 10, 20, 39):
        ch = "A" if value[i] != "A" else "B"
        flips.append(value[:i] + ch + value[i + 1:])
    bad = flips + ["", "x", value[:-1], value + "A", "=" * 40, "%" * 40, value.lower(), value.upper()]
    for v in bad:
        seen = spread(port, 6, cookie="AWSALB=" + v)
        assert len(seen) == 3, (v, seen)   # not pinned: round robin
        r = fetch(port, cookie="AWSALB=" + v)
        assert set_cookies(r)["AWSALB"][0] != v   # a new, valid one replaces it
    # a cookie of tg does not pin in tg2 (it names tg's target)
    other = set_cookies(fetch(port, "/other/x"))["AWSALB"][0]
    assert other != value
    seen = collections.Counter(fetch(port, "/other/x", cookie="AWSALB=" + value).header("x-backend")
                               for _ in range(6))
    assert len(seen) == 3, seen


def test_an_expired_cookie_is_ignored(albd, backends):
    backs = [backends.start(n) for n in ("a", "b", "c")]
    port = free_port()
    albd.start(lb_config(port, backs, {"type": "lb_cookie", "duration": 1}), port=port)
    value = set_cookies(fetch(port))["AWSALB"][0]
    time.sleep(2.5)
    assert len(spread(port, 6, cookie="AWSALB=" + value)) == 3   # a second past its duration


def test_curl_cookie_jar_stays_on_one_target(albd, backends, tmp_path):
    backs = [backends.start(n) for n in ("a", "b")]
    port = free_port()
    albd.start(lb_config(port, backs, {"type": "lb_cookie", "duration": 300}), port=port)
    jar = str(tmp_path / "jar")
    seen = collections.Counter()
    for _ in range(8):
        out = subprocess.run(["curl", "-sS", "--max-time", "5", "-c", jar, "-b", jar,
                              "http://%s:%d/name" % (HOST, port)], capture_output=True, timeout=10)
        assert out.returncode == 0, out.stderr
        seen[out.stdout.decode()] += 1
    assert len(seen) == 1, seen
    assert "AWSALB" in open(jar).read()


def test_sticky_client_moves_when_its_target_stops(albd, backends):
    backs = [backends.start(n) for n in ("a", "b", "c")]
    port = free_port()
    albd.start(lb_config(port, backs, {"type": "lb_cookie", "duration": 120}), port=port)
    r = fetch(port)
    first, value = r.header("x-backend"), set_cookies(r)["AWSALB"][0]
    next(b for b in backs if b.name == first).stop()
    # the connection fails, the GET is retried elsewhere, the cookie follows
    r = fetch(port, cookie="AWSALB=" + value)
    moved = r.header("x-backend")
    assert moved != first
    value = set_cookies(r)["AWSALB"][0]
    assert spread(port, 8, cookie="AWSALB=" + value) == {moved: 8}


def test_sticky_client_moves_when_unhealthy_and_stays_moved(albd, backends):
    backs = [backends.start(n) for n in ("a", "b", "c")]
    port = free_port()
    hc = {"enabled": True, "path": "/health", "interval": 1, "timeout": 0.5,
          "healthy_threshold": 2, "unhealthy_threshold": 2}
    a = albd.start(lb_config(port, backs, {"type": "lb_cookie", "duration": 120}, health_check=hc),
                   port=port)

    def healthy(n):
        r = a.admin_request("GET", "/api/v1/target-groups/tg/health")
        states = [d["TargetHealth"]["State"] for d in r.json()["TargetHealthDescriptions"]]
        return states.count("healthy") == n

    wait_until(lambda: healthy(3), 15, what="three healthy targets")
    r = fetch(port)
    first, value = r.header("x-backend"), set_cookies(r)["AWSALB"][0]
    victim = next(b for b in backs if b.name == first)
    with Conn(victim.port) as c:
        assert c.request("GET", "/control?health=500").status == 200
    wait_until(lambda: healthy(2), 15, what="the sticky target unhealthy")
    r = fetch(port, cookie="AWSALB=" + value)
    moved = r.header("x-backend")
    assert moved != first
    value = set_cookies(r)["AWSALB"][0]
    # it comes back; the client stays where it was moved
    with Conn(victim.port) as c:
        assert c.request("GET", "/control?health=200").status == 200
    wait_until(lambda: healthy(3), 15, what="the target healthy again")
    assert spread(port, 6, cookie="AWSALB=" + value) == {moved: 6}


def test_sticky_client_moves_when_deregistered(albd, backends):
    backs = [backends.start(n) for n in ("a", "b", "c")]
    port = free_port()
    sticky = {"type": "lb_cookie", "duration": 120}
    a = albd.start(lb_config(port, backs, sticky, deregistration_delay=0), port=port)
    r = fetch(port)
    first, value = r.header("x-backend"), set_cookies(r)["AWSALB"][0]
    rest = [b for b in backs if b.name != first]
    a.reload(lb_config(port, rest, sticky, deregistration_delay=0))
    wait_until(lambda: "generation 2 is live" in a.log(), 10, what="the reload")
    seen = spread(port, 6, cookie="AWSALB=" + value)
    assert first not in seen and len(seen) == 2, seen
    # the others keep theirs across the reload
    r = fetch(port)
    kept, v2 = r.header("x-backend"), set_cookies(r)["AWSALB"][0]
    a.reload(lb_config(port, rest, sticky, deregistration_delay=0, connect_timeout=3))
    wait_until(lambda: "generation 3 is live" in a.log(), 10, what="the second reload")
    assert spread(port, 4, cookie="AWSALB=" + v2) == {kept: 4}


def test_cookies_survive_a_restart_key_in_state_dir(albd, backends):
    backs = [backends.start(n) for n in ("a", "b", "c")]
    port = free_port()
    a = albd.start(lb_config(port, backs, {"type": "lb_cookie", "duration": 120}), port=port)
    r = fetch(port)
    first, value = r.header("x-backend"), set_cookies(r)["AWSALB"][0]
    key = a.state_dir / "sticky.key"
    st = os.stat(key)
    assert st.st_size == 32 and stat.S_IMODE(st.st_mode) == 0o600
    a.stop()
    a.start()
    assert spread(port, 6, cookie="AWSALB=" + value) == {first: 6}


def test_app_cookie_follows_the_applications_cookie(albd, backends):
    backs = [backends.start(n) for n in ("a", "b", "c")]
    port = free_port()
    albd.start(lb_config(port, backs, {"type": "app_cookie", "cookie_name": "SESSION", "duration": 120}),
               port=port)
    # no application cookie: nothing from albd
    r = fetch(port)
    assert "AWSALBAPP" not in set_cookies(r)
    # the target sets it: albd adds AWSALBAPP (7 days)
    r = fetch(port, "/name?setcookie=SESSION%3Dabc%3B%20Path%3D%2F")
    ck = set_cookies(r)
    assert ck["SESSION"][0] == "abc" and "AWSALBAPP" in ck, r
    first, app = r.header("x-backend"), ck["AWSALBAPP"][0]
    exp = time.mktime(time.strptime(ck["AWSALBAPP"][1]["expires"], "%a, %d %b %Y %H:%M:%S GMT")) - time.timezone
    assert abs(exp - (time.time() + 7 * 86400)) < 5
    both = "SESSION=abc; AWSALBAPP=" + app
    for _ in range(8):
        r = fetch(port, cookie=both)
        assert r.header("x-backend") == first
        assert "AWSALBAPP" in set_cookies(r)     # refreshed while the session lasts
    # AWSALBAPP without the application's cookie does not pin
    assert len(spread(port, 6, cookie="AWSALBAPP=" + app)) == 3
    # a changed AWSALBAPP does not either
    bad = app[:10] + ("A" if app[10] != "A" else "B") + app[11:]
    assert len(spread(port, 6, cookie="SESSION=abc; AWSALBAPP=" + bad)) == 3


def test_group_stickiness_across_weighted_groups(albd, backends):
    a1, a2, b1, b2 = (backends.start(n) for n in ("a1", "a2", "b1", "b2"))
    port = free_port()
    rule = {"priority": 1, "path": ["/w/*"],
            "forward": {"target_groups": ({"target_group": "ga", "weight": 1},
                                          {"target_group": "gb", "weight": 1}),
                        "stickiness": {"enabled": True, "duration": 300}}}
    sticky = {"type": "lb_cookie", "duration": 300}
    cfg = make_config([listener("web", port, "ga", rules=(rule,))],
                      [target_group("ga", [a1, a2], stickiness=sticky),
                       target_group("gb", [b1, b2], stickiness=sticky)])
    albd.start(cfg, port=port)
    # without cookies both groups get traffic
    seen = collections.Counter(fetch(port, "/w/x").header("x-backend") for _ in range(40))
    assert {n[0] for n in seen} == {"a", "b"}, seen
    r = fetch(port, "/w/x")
    ck = set_cookies(r)
    assert {"AWSALBTG", "AWSALBTGCORS", "AWSALB", "AWSALBCORS"} <= set(ck), r
    assert ck["AWSALBTGCORS"][1].get("samesite") == "None"
    first = r.header("x-backend")
    cookie = "AWSALBTG=%s; AWSALB=%s" % (ck["AWSALBTG"][0], ck["AWSALB"][0])
    for _ in range(20):
        assert fetch(port, "/w/x", cookie=cookie).header("x-backend") == first
    # the group cookie alone keeps the group, the balancer picks inside it
    seen = collections.Counter(fetch(port, "/w/x", cookie="AWSALBTG=" + ck["AWSALBTG"][0]).header("x-backend")
                               for _ in range(8))
    assert {n[0] for n in seen} == {first[0]} and len(seen) == 2, seen


def test_an_lb_cookie_is_not_an_app_cookie(albd, backends):
    backs = [backends.start(n) for n in ("a", "b", "c")]
    port = free_port()
    cfg = make_config([listener("web", port, "lb", rules=(
        {"priority": 1, "path": ["/app/*"], "forward": ({"target_group": "app"},)},))],
        [target_group("lb", backs, stickiness={"type": "lb_cookie", "duration": 120}),
         target_group("app", backs, stickiness={"type": "app_cookie", "cookie_name": "S", "duration": 120})])
    albd.start(cfg, port=port)
    lb = set_cookies(fetch(port))["AWSALB"][0]
    seen = collections.Counter(fetch(port, "/app/x", cookie="S=1; AWSALBAPP=" + lb).header("x-backend")
                               for _ in range(6))
    assert len(seen) == 3, seen


def test_two_sticky_groups_keep_both(albd, backends):
    """One AWSALB (and one AWSALBTG) serves every group: a client that goes
    back and forth between two sticky groups stays put in both."""
    backs = [backends.start(n) for n in ("a", "b", "c")]
    g1, g2, h1, h2 = (backends.start(n) for n in ("g1", "g2", "h1", "h2"))
    port = free_port()
    sticky = {"type": "lb_cookie", "duration": 300}
    fwd = lambda x, y: {"target_groups": ({"target_group": x}, {"target_group": y}),
                        "stickiness": {"enabled": True, "duration": 300}}
    cfg = make_config([listener("web", port, "tg", rules=(
        {"priority": 1, "path": ["/other/*"], "forward": ({"target_group": "tg2"},)},
        {"priority": 2, "path": ["/p/*"], "forward": fwd("pa", "pb")},
        {"priority": 3, "path": ["/q/*"], "forward": fwd("qa", "qb")}))],
        [target_group("tg", backs, stickiness=sticky), target_group("tg2", backs, stickiness=sticky),
         target_group("pa", [g1]), target_group("pb", [g2]), target_group("qa", [h1]), target_group("qb", [h2])])
    albd.start(cfg, port=port)
    jar = {}
    seen = collections.defaultdict(collections.Counter)
    for i in range(24):
        path = ("/name", "/other/x", "/p/x", "/q/x")[i % 4]
        cookie = "; ".join("%s=%s" % kv for kv in jar.items())
        r = fetch(port, path, cookie=cookie or None)
        for name, (value, _) in set_cookies(r).items():
            jar[name] = value
        seen[path][r.header("x-backend")] += 1
    for path, c in seen.items():
        assert len(c) == 1, seen


def test_the_first_valid_of_several_cookies_counts(albd, backends):
    backs = [backends.start(n) for n in ("a", "b", "c")]
    port = free_port()
    albd.start(lb_config(port, backs, {"type": "lb_cookie", "duration": 120}), port=port)
    r = fetch(port)
    first, value = r.header("x-backend"), set_cookies(r)["AWSALB"][0]
    # another path's or the target's own AWSALB comes first: albd's still counts
    for cookie in ("AWSALB=fromtarget; AWSALB=" + value, "AWSALB=%s; AWSALB=junk" % value):
        assert spread(port, 4, cookie=cookie) == {first: 4}, cookie


def test_many_repeated_cookies_cost_one_pass(albd, backends):
    """Requests whose Cookie field holds 9500 empty AWSALB pairs and the
    valid one last (76 KB, about what a head can be): each occurrence is
    looked at once, so they are answered at once and pinned. Looking up
    the nth occurrence from the start for every nth took 0.45 s of the
    worker's time per request."""
    backs = [backends.start(n) for n in ("a", "b", "c")]
    port = free_port()
    albd.start(make_config([listener("web", port, "tg", rules=())],
                           [target_group("tg", backs, stickiness={"type": "lb_cookie", "duration": 120})],
                           limits={"max_header_size": 1 << 20}), port=port)
    r = fetch(port)
    first, value = r.header("x-backend"), set_cookies(r)["AWSALB"][0]
    cookie = "AWSALB=;" * 9500 + "AWSALB=" + value
    t0 = time.monotonic()
    with Conn(port) as c:
        for _ in range(8):
            r = c.request("GET", "/name", headers=[("Cookie", cookie)])
            assert r.status == 200 and r.header("x-backend") == first, r
    took = time.monotonic() - t0
    assert took < 1.5, took


def test_a_targets_own_awsalb_is_dropped(albd, backends):
    backs = [backends.start(n) for n in ("a", "b")]
    port = free_port()
    albd.start(lb_config(port, backs, {"type": "lb_cookie", "duration": 120}), port=port)
    r = fetch(port, "/name?setcookie=AWSALB%3Dfromtarget")
    values = [v for v in r.all("set-cookie") if v.startswith("AWSALB=")]
    assert len(values) == 1 and "fromtarget" not in values[0], r
    # other cookies of the target pass
    r = fetch(port, "/name?setcookie=mine%3D1")
    assert "mine" in set_cookies(r) and "AWSALB" in set_cookies(r)


def test_an_upgrade_gets_its_cookie(albd, backends):
    backs = [backends.start(n) for n in ("a", "b", "c")]
    port = free_port()
    albd.start(lb_config(port, backs, {"type": "lb_cookie", "duration": 120}), port=port)
    r = fetch(port)
    first, value = r.header("x-backend"), set_cookies(r)["AWSALB"][0]
    with Conn(port) as c:
        c.send(Conn.build("GET", "/upgrade", [("Connection", "Upgrade"), ("Upgrade", "websocket"),
                                              ("Cookie", "AWSALB=" + value)]))
        r = c.read_response(allow_interim=True)
    assert r.status == 101, r
    assert r.header("x-backend") == first
    assert "AWSALB" in set_cookies(r), r


def test_group_stickiness_unequal_weights_tampering_and_weight_zero(albd, backends):
    a, b = backends.start("a"), backends.start("b")
    port = free_port()

    def cfg(wa, wb, groups=("ga", "gb")):
        tgs = tuple({"target_group": g, "weight": w} for g, w in zip(("ga", "gb"), (wa, wb)) if g in groups)
        rule = {"priority": 1, "path": ["/w/*"],
                "forward": {"target_groups": tgs, "stickiness": {"enabled": True, "duration": 300}}}
        return make_config([listener("web", port, "ga", rules=(rule,))],
                           [target_group("ga", [a]), target_group("gb", [b])])

    al = albd.start(cfg(1, 9), port=port)
    # find a client of the light group
    for _ in range(200):
        r = fetch(port, "/w/x")
        if r.header("x-backend") == "a":
            break
    assert r.header("x-backend") == "a"
    tg = set_cookies(r)["AWSALBTG"][0]
    assert spread_path(port, "/w/x", 20, "AWSALBTG=" + tg) == {"a": 20}
    # a changed one is ignored: the weights decide (9 in 10 to b)
    bad = tg[:30] + ("A" if tg[30] != "A" else "B") + tg[31:]
    seen = spread_path(port, "/w/x", 40, "AWSALBTG=" + bad)
    assert seen["b"] > 20, seen
    # the group's weight drops to 0: its clients move, and stay moved
    al.reload(cfg(0, 1))
    wait_until(lambda: "generation 2 is live" in al.log(), 10, what="reload")
    r = fetch(port, "/w/x", cookie="AWSALBTG=" + tg)
    assert r.header("x-backend") == "b"
    moved = set_cookies(r)["AWSALBTG"][0]
    al.reload(cfg(1, 1))
    wait_until(lambda: "generation 3 is live" in al.log(), 10, what="reload")
    assert spread_path(port, "/w/x", 10, "AWSALBTG=" + moved) == {"b": 10}
    # a group no longer in the forward: the same
    al.reload(cfg(1, 1, groups=("gb",)))
    wait_until(lambda: "generation 4 is live" in al.log(), 10, what="reload")
    assert spread_path(port, "/w/x", 5, "AWSALBTG=" + tg) == {"b": 5}


def spread_path(port, path, n, cookie):
    return collections.Counter(fetch(port, path, cookie=cookie).header("x-backend") for _ in range(n))


def test_app_cookie_session_moves_when_its_target_stops(albd, backends):
    backs = [backends.start(n) for n in ("a", "b", "c")]
    port = free_port()
    albd.start(lb_config(port, backs, {"type": "app_cookie", "cookie_name": "SESSION", "duration": 120}),
               port=port)
    r = fetch(port, "/name?setcookie=SESSION%3Dabc")
    first, app = r.header("x-backend"), set_cookies(r)["AWSALBAPP"][0]
    next(x for x in backs if x.name == first).stop()
    r = fetch(port, cookie="SESSION=abc; AWSALBAPP=" + app)
    moved = r.header("x-backend")
    assert moved != first
    app = set_cookies(r)["AWSALBAPP"][0]
    assert spread(port, 6, cookie="SESSION=abc; AWSALBAPP=" + app) == {moved: 6}


@pytest.mark.parametrize("sticky, tg_extra, message", [
    ({"type": "app_cookie", "duration": 60}, {}, "app_cookie needs cookie_name"),
    ({"type": "app_cookie", "cookie_name": "AWSALBAPP"}, {}, "are the load balancer's"),
    ({"type": "lb_cookie", "cookie_name": "AWSALBX"}, {}, "are the load balancer's"),
    ({"type": "lb_cookie", "cookie_name": "bad name"}, {}, "invalid cookie name"),
    ({"type": "lb_cookie", "duration": 0}, {}, "duration"),
    ({"type": "lb_cookie", "duration": 604801}, {}, "duration"),
    ({"type": "source_ip"}, {}, "unknown stickiness type"),
    ({"duration": 60}, {}, "needs a type"),
])
def test_stickiness_config_errors(albd, tmp_path, sticky, tg_extra, message):
    from conftest import check_albd_bin
    port = free_port()
    text = lb_config(port, ["127.0.0.1:9"], sticky, **tg_extra)
    path = tmp_path / "bad.conf"
    path.write_text(text)
    out = subprocess.run([check_albd_bin(), "-t", "-c", str(path)], capture_output=True, timeout=10)
    assert out.returncode != 0
    err = out.stderr.decode()
    assert message in err and "stickiness" in err, err
    lines = text.splitlines()
    line = next(i for i, l in enumerate(lines, 1) if "stickiness" in l)
    m = re.search(re.escape(str(path)) + r":(\d+):", err)
    assert m and line <= int(m.group(1)) <= line + 5, err


def test_sticky_group_in_a_weighted_forward_needs_group_stickiness(tmp_path):
    from conftest import check_albd_bin
    port = free_port()
    rule = {"priority": 1, "path": ["/w/*"],
            "forward": ({"target_group": "ga", "weight": 1}, {"target_group": "gb", "weight": 1})}
    text = make_config([listener("web", port, "ga", rules=(rule,))],
                       [target_group("ga", ["127.0.0.1:9"], stickiness={"type": "lb_cookie"}),
                        target_group("gb", ["127.0.0.1:10"])])
    path = tmp_path / "bad.conf"
    path.write_text(text)
    out = subprocess.run([check_albd_bin(), "-t", "-c", str(path)], capture_output=True, timeout=10)
    assert out.returncode != 0
    assert "needs group stickiness" in out.stderr.decode(), out.stderr
    # with it, the same is valid
    rule["forward"] = {"target_groups": rule["forward"], "stickiness": {"enabled": True, "duration": 60}}
    path.write_text(make_config([listener("web", port, "ga", rules=(rule,))],
                                [target_group("ga", ["127.0.0.1:9"], stickiness={"type": "lb_cookie"}),
                                 target_group("gb", ["127.0.0.1:10"])]))
    out = subprocess.run([check_albd_bin(), "-t", "-c", str(path)], capture_output=True, timeout=10)
    assert out.returncode == 0, out.stderr
