"""Runtime target registration, as ELBv2's RegisterTargets and
DeregisterTargets on the admin API: a registered target is health-checked
at once and gets traffic, survives reloads and restarts (state_dir), is
told apart from the file's targets, drains when deregistered, and goes
with its group when a reload removes the group. Bad requests get a clear
error; the token is required."""
import collections
import json
import os

from conftest import (HOST, Conn, free_port, listener, make_config, target_group, wait_until)

TOKEN = "reg-token-0123456789"
HC = {"enabled": True, "path": "/health", "interval": 1, "timeout": 0.5, "healthy_threshold": 2,
      "unhealthy_threshold": 2}


def cfg(port, aport, tok, file_targets, groups=("tg",), **tg):
    tgs = [target_group(g, file_targets, health_check=HC, deregistration_delay=1, **tg) for g in groups]
    return make_config([listener("web", port, groups[0], rules=())], tgs,
                       admin={"listen": "%s:%d" % (HOST, aport), "token_file": str(tok)})


def api(a, method, path, body=None, token=TOKEN):
    r = a.admin_request(method, path, token=token,
                        body=json.dumps(body).encode() if isinstance(body, (dict, list)) else body,
                        headers={"Content-Type": "application/json"} if body is not None else None)
    return r


def health(a, group="tg"):
    r = api(a, "GET", "/api/v1/target-groups/%s/health" % group)
    assert r.status == 200, r
    return {"%s:%d" % (d["Target"]["Id"], d["Target"]["Port"]): (d["TargetHealth"]["State"], d.get("Source"))
            for d in r.json()["TargetHealthDescriptions"]}


def spread(port, n=12):
    c = collections.Counter()
    for _ in range(n):
        with Conn(port) as conn:
            r = conn.request("GET", "/name")
            assert r.status == 200, r
            c[r.header("x-backend")] += 1
    return c


def start_reg(albd, backends, tmp_path, **kw):
    b1, b2 = backends.start("b1"), backends.start("b2")
    port, aport = free_port(), free_port()
    tok = tmp_path / "token"
    tok.write_text(TOKEN + "\n")
    a = albd.start(cfg(port, aport, tok, [b1], **kw), port=port)
    return a, b1, b2, port, aport, tok


def register(a, b, weight=None, group="tg"):
    t = {"Id": "127.0.0.1", "Port": b.port}
    if weight:
        t["Weight"] = weight
    return api(a, "POST", "/api/v1/target-groups/%s/targets" % group, {"Targets": [t]})


def test_register_serve_reload_restart_deregister(albd, backends, tmp_path):
    a, b1, b2, port, aport, tok = start_reg(albd, backends, tmp_path)
    wait_until(lambda: health(a) == {b1.addr: ("healthy", "config")}, 15, what="b1 healthy")
    r = register(a, b2)
    assert r.status == 200 and r.json() == {}, r
    # checked at once, then in the rotation
    wait_until(lambda: health(a).get(b2.addr) == ("healthy", "api"), 15, what="b2 healthy")
    assert set(spread(port)) == {"b1", "b2"}
    # registering again changes nothing
    assert register(a, b2).status == 200
    assert len(health(a)) == 2
    saved = json.loads((a.state_dir / "targets.json").read_text())
    assert saved["TargetGroups"] == {"tg": [{"Id": "127.0.0.1", "Port": b2.port, "Weight": 1}]}
    # a reload keeps it
    a.reload()
    wait_until(lambda: "generation 3 is live" in a.log(), 10, what="reload")
    assert health(a).get(b2.addr) == ("healthy", "api")
    # so does a restart
    a.stop()
    a.start()
    wait_until(lambda: health(a) == {b1.addr: ("healthy", "config"), b2.addr: ("healthy", "api")}, 15,
               what="both healthy after the restart")
    assert set(spread(port)) == {"b1", "b2"}
    # deregistered: it drains, then goes; traffic goes to b1 alone
    r = api(a, "DELETE", "/api/v1/target-groups/tg/targets", {"Targets": [{"Id": "127.0.0.1", "Port": b2.port}]})
    assert r.status == 200, r
    assert spread(port) == {"b1": 12}
    wait_until(lambda: b2.addr not in health(a), 15, what="b2 drained and gone")
    assert json.loads((a.state_dir / "targets.json").read_text())["TargetGroups"] == {}
    assert "deregistered from group tg" in a.log()


def test_weights_and_ipv6_ids_are_accepted(albd, backends, tmp_path):
    a, b1, b2, port, aport, tok = start_reg(albd, backends, tmp_path)
    assert register(a, b2, weight=5).status == 200
    saved = json.loads((a.state_dir / "targets.json").read_text())
    assert saved["TargetGroups"]["tg"][0]["Weight"] == 5
    # the weight is the live group's: 5 of every 6 requests
    wait_until(lambda: health(a) == {b1.addr: ("healthy", "config"), b2.addr: ("healthy", "api")}, 15,
               what="both healthy")
    c = spread(port, 60)
    assert c["b2"] == 50 and c["b1"] == 10, c
    # the weight again, another value: updated
    assert register(a, b2, weight=2).status == 200
    assert json.loads((a.state_dir / "targets.json").read_text())["TargetGroups"]["tg"][0]["Weight"] == 2
    r = api(a, "POST", "/api/v1/target-groups/tg/targets", {"Targets": [{"Id": "::1", "Port": 9}]})
    assert r.status == 200, r
    assert health(a)["::1:9"] == ("initial", "api")


def test_bad_requests(albd, backends, tmp_path):
    a, b1, b2, port, aport, tok = start_reg(albd, backends, tmp_path)
    path = "/api/v1/target-groups/tg/targets"
    cases = [
        (None, 400, "ValidationError"),
        (b"{not json", 400, "ValidationError"),
        ([], 400, "ValidationError"),
        ({"Targets": []}, 400, "ValidationError"),
        ({"Targets": [{"Id": "127.0.0.1"}]}, 400, "ValidationError"),
        ({"Targets": [{"Id": "example.com", "Port": 80}]}, 400, "ValidationError"),
        ({"Targets": [{"Id": "0.0.0.0", "Port": 80}]}, 400, "ValidationError"),
        ({"Targets": [{"Id": "255.255.255.255", "Port": 80}]}, 400, "ValidationError"),
        ({"Targets": [{"Id": "224.0.0.1", "Port": 80}]}, 400, "ValidationError"),
        ({"Targets": [{"Id": "::", "Port": 80}]}, 400, "ValidationError"),
        ({"Targets": [{"Id": "ff02::1", "Port": 80}]}, 400, "ValidationError"),
        ({"Targets": [{"Id": "127.0.0.1", "Port": 0}]}, 400, "ValidationError"),
        ({"Targets": [{"Id": "127.0.0.1", "Port": 70000}]}, 400, "ValidationError"),
        ({"Targets": [{"Id": "127.0.0.1", "Port": 80, "Weight": 0}]}, 400, "ValidationError"),
        ({"Targets": [{"Id": "127.0.0.1", "Port": 80, "Bogus": 1}]}, 400, "ValidationError"),
        ({"Targets": [{"Id": "127.0.0.1", "Port": 80}, {"Id": "127.0.0.1", "Port": 80}]}, 400, "ValidationError"),
        ({"Targets": [{"Id": 5, "Port": 80}]}, 400, "ValidationError"),
        ({"Targets": [{"Id": "127.0.0.1", "Port": "80"}]}, 400, "ValidationError"),
    ]
    for body, status, code in cases:
        r = api(a, "POST", path, body)
        assert r.status == status and r.json()["Error"]["Code"] == code, (body, r)
    r = api(a, "POST", "/api/v1/target-groups/nope/targets", {"Targets": [{"Id": "127.0.0.1", "Port": 80}]})
    assert r.status == 404 and r.json()["Error"]["Code"] == "TargetGroupNotFound"
    r = api(a, "POST", "/api/v1/target-groups/tg/other", {"Targets": [{"Id": "127.0.0.1", "Port": 80}]})
    assert r.status == 404
    r = api(a, "GET", path)
    assert r.status == 405 and r.header("Allow") == "POST, DELETE", r
    r = api(a, "DELETE", "/api/v1/target-groups/tg/health", {})
    assert r.status == 405 and r.header("Allow") == "GET, HEAD", r
    # the file's targets and unknown ones cannot be deregistered
    host, p = b1.addr.split(":")
    r = api(a, "DELETE", path, {"Targets": [{"Id": host, "Port": int(p)}]})
    assert r.status == 400 and "configuration file" in r.json()["Error"]["Message"], r
    r = api(a, "DELETE", path, {"Targets": [{"Id": "127.0.0.9", "Port": 80}]})
    assert r.status == 400 and r.json()["Error"]["Code"] == "InvalidTarget"
    # the token is required
    r = api(a, "POST", path, {"Targets": [{"Id": "127.0.0.1", "Port": 80}]}, token=None)
    assert r.status == 401
    r = api(a, "POST", path, {"Targets": [{"Id": "127.0.0.1", "Port": 80}]}, token="wrong")
    assert r.status == 401
    assert not (a.state_dir / "targets.json").exists()
    assert a.alive()


def test_reload_that_removes_the_group_drops_its_registrations(albd, backends, tmp_path):
    b1, b2 = backends.start("b1"), backends.start("b2")
    port, aport = free_port(), free_port()
    tok = tmp_path / "token"
    tok.write_text(TOKEN + "\n")
    a = albd.start(cfg(port, aport, tok, [b1], groups=("tg", "other")), port=port)
    assert register(a, b2, group="other").status == 200
    assert register(a, b2, group="tg").status == 200
    a.reload(cfg(port, aport, tok, [b1], groups=("tg",)))
    wait_until(lambda: list(json.loads((a.state_dir / "targets.json").read_text())["TargetGroups"]) == ["tg"],
               10, what="the registration dropped")
    assert "target group other is gone" in a.log()
    # a target the file now names itself: its registration goes too
    a.reload(cfg(port, aport, tok, [b1, b2], groups=("tg",)))
    wait_until(lambda: json.loads((a.state_dir / "targets.json").read_text())["TargetGroups"] == {}, 10,
               what="the registration dropped")
    assert "is in the configuration file now" in a.log()
    assert health(a)[b2.addr][1] == "config"


def test_a_damaged_registry_stops_the_start(albd, backends, tmp_path):
    a, b1, b2, port, aport, tok = start_reg(albd, backends, tmp_path)
    a.stop()
    (a.state_dir / "targets.json").write_text('{"Version": 1, "TargetGroups": {"tg": [{"Id": "x"}]}}')
    import subprocess
    from conftest import check_albd_bin
    r = subprocess.run([check_albd_bin(), "-c", str(a.config_path)], capture_output=True, timeout=20)
    assert r.returncode != 0 and b"targets.json" in r.stderr, r.stderr
