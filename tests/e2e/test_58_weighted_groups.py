"""Weighted target groups (a forward to several groups, as an ALB's): over
2000 requests each group gets its weight's share within 5 points (the pick
is random per request; with 2000 requests one standard deviation of a 25%
share is about 1 point), and a group of weight 0 gets nothing."""
import collections

from conftest import Conn, free_port, listener, make_config, target_group


def test_weighted_target_groups_spread_by_weight(albd, backends):
    a, b, c = backends.start("a"), backends.start("b"), backends.start("c")
    port = free_port()
    rule = {"priority": 1, "path": ["/w/*"],
            "forward": ({"target_group": "ga", "weight": 1}, {"target_group": "gb", "weight": 3},
                        {"target_group": "gc", "weight": 0})}
    cfg = make_config([listener("web", port, "ga", rules=(rule,))],
                      [target_group("ga", [a]), target_group("gb", [b]), target_group("gc", [c])])
    albd.start(cfg, port=port)
    n = 2000
    seen = collections.Counter()
    with Conn(port, timeout=10) as conn:
        for i in range(n):
            r = conn.request("GET", "/w/%d" % i)
            assert r.status == 200, r
            seen[r.header("x-backend")] += 1
    assert sum(seen.values()) == n
    assert abs(seen["a"] / n - 0.25) < 0.05, seen
    assert abs(seen["b"] / n - 0.75) < 0.05, seen
    assert seen["c"] == 0, seen
