"""Weighted target groups (a forward to several groups, as an ALB's): over
2000 requests each group gets its weight's share within 5% of that share,
and a group of weight 0 gets nothing. Each worker spreads a forward's picks
by a low-discrepancy sequence (router_spread), so a group's count is within
4 requests of its share on each worker, whatever the number of requests;
random picks would miss 5% of a 25% share one run in five."""
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
    # four connections in turn, so that both workers pick
    conns = [Conn(port, timeout=10) for _ in range(4)]
    try:
        for i in range(n):
            r = conns[i % 4].request("GET", "/w/%d" % i)
            assert r.status == 200, r
            seen[r.header("x-backend")] += 1
    finally:
        for conn in conns:
            conn.close()
    assert sum(seen.values()) == n
    assert abs(seen["a"] - n * 0.25) <= 0.05 * n * 0.25, seen
    assert abs(seen["b"] - n * 0.75) <= 0.05 * n * 0.75, seen
    # within 4 a worker
    assert abs(seen["a"] - n * 0.25) <= 8, seen
    assert seen["c"] == 0, seen
