"""ELBv2 over AWS's wire (issue 14): Debian's aws CLI (`aws elbv2`, awsQuery)
describes albd as one application load balancer, its listeners, rules and
target groups, their attributes and the health of their targets, and
registers and deregisters targets; every answer is checked field by field
against what ELBv2 documents, filters and pagination included, and unknown
or malformed ARNs get ELBv2's error codes. A target registered with
`aws elbv2 register-targets` gets traffic, survives a restart of albd
(state_dir) and drains when deregistered."""
import collections
import json
import subprocess

import pytest

from awsclients import aws_admin, aws_cli
from conftest import HOST, Conn, free_port, listener, make_config, target_group, wait_until

REGION, ACCOUNT = "local", "000000000000"
PREFIX = "arn:aws:elasticloadbalancing:%s:%s:" % (REGION, ACCOUNT)


def fnv(s):
    """config_name_hash_hex(): 16 hex digits of FNV-1a 64."""
    h = 0xcbf29ce484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return "%016x" % h


def lb_arn(name="edge"):
    return PREFIX + "loadbalancer/app/%s/%s" % (name, fnv(name))


def listener_arn(lname, name="edge"):
    return PREFIX + "listener/app/%s/%s/%s" % (name, fnv(name), fnv(lname))


def rule_arn(lname, prio, name="edge"):
    return PREFIX + "listener-rule/app/%s/%s/%s/%s" % (name, fnv(name), fnv(lname), fnv("%s/%s" % (lname, prio)))


def tg_arn(g):
    return PREFIX + "targetgroup/%s/%s" % (g, fnv(g))


def fails(a, code, *args):
    """Run aws with ARGS: it must fail with ELBv2's error CODE."""
    p = aws_cli(a, *args, check=False)
    assert not isinstance(p, dict), "expected %s, got %r" % (code, p)
    assert p.returncode in (254, 255), (p.returncode, p.stderr)
    assert "An error occurred (%s) when calling the " % code in p.stderr, p.stderr
    return p.stderr


def pages(a, key, size, *args):
    """ARGS run page by page with --page-size SIZE and --marker (Debian's
    CLI passes --page-size through as ELBv2's PageSize and stops paginating
    itself): the items of every page, and the number of pages."""
    items, n, marker = [], 0, None
    while True:
        out = aws_cli(a, *(args + ("--page-size", str(size)) + (("--marker", marker) if marker else ())))
        n += 1
        assert set(out) <= {key, "NextMarker"}, out
        assert len(out[key]) <= size, out
        items += out[key]
        marker = out.get("NextMarker")
        if not marker:
            return items, n
        assert n < 20, "too many pages"


HC = {"enabled": True, "path": "/health", "interval": 2, "timeout": 1, "healthy_threshold": 2,
      "unhealthy_threshold": 3, "matcher": "200-299"}

RULES = (
    {"priority": 10, "path": ["/ping", "/ping/*"],
     "fixed_response": {"status": 200, "content_type": "text/plain", "body": "pong <\u00e9>"}},
    {"priority": 20, "host": ["a.example", "*.b.example"], "method": ["GET", "HEAD"],
     "forward": {"target_groups": ({"target_group": "tg", "weight": 3}, {"target_group": "tg2", "weight": 1}),
                 "stickiness": {"enabled": True, "duration": 300}}},
    {"priority": 30, "http_header": {"name": "X-Canary", "values": ["y*", "beta"]},
     "query_string": ({"key": "v", "value": "2"}, {"value": "x*"}),
     "forward": ({"target_group": "tg2", "weight": 1},)},
    {"priority": 40, "source_ip": ["10.0.0.0/8", "2001:db8::/32"],
     "redirect": {"status": 302, "protocol": "HTTPS", "port": "443"}},
)


def self_signed(tmp_path):
    """A certificate and its key for an HTTPS listener: {cert, key}."""
    cert, key = str(tmp_path / "edge.pem"), str(tmp_path / "edge.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-subj", "/CN=edge.test", "-days", "2"],
                   check=True, capture_output=True, timeout=30)
    return {"cert": cert, "key": key}


def elb_config(ports, aport, tmp_path, b1, b2):
    web, alt, rd, secure = ports
    return make_config(
        [listener("web", web, "tg", RULES),
         listener("alt", alt, default_forward=None, rules=(),
                  default_fixed_response={"status": 503, "content_type": "application/json", "body": "{}"}),
         listener("rd", rd, default_forward=None, rules=(),
                  default_redirect={"status": 301, "host": "www.example.com"}),
         listener("secure", secure, "tg2", rules=(), tls={"certificates": (self_signed(tmp_path),)})],
        [target_group("tg", [b1], algorithm="least_outstanding_requests", health_check=HC,
                      deregistration_delay=7, stickiness={"type": "app_cookie", "cookie_name": "SESS",
                                                          "duration": 600}),
         target_group("tg2", [b2], health_check={"enabled": False, "port": 8081},
                      stickiness={"type": "lb_cookie", "duration": 120}),
         target_group("lonely", [], slow_start=30)],
        name="edge", admin=aws_admin(tmp_path, aport))


@pytest.fixture
def elb(albd, backends, tmp_path):
    b1, b2 = backends.start("b1"), backends.start("b2")
    ports = (free_port(), free_port(), free_port(), free_port())
    aport = free_port()
    a = albd.start(elb_config(ports, aport, tmp_path, b1, b2),
                   ports={"web": ports[0], "alt": ports[1], "rd": ports[2], "secure": ports[3]})
    a.b1, a.b2, a.web = b1, b2, ports
    return a


# ---------------------------------------------------------------- load balancers

def test_describe_load_balancers(elb):
    want = {"LoadBalancerArn": lb_arn(), "DNSName": HOST, "LoadBalancerName": "edge", "Scheme": "internal",
            "State": {"Code": "active"}, "Type": "application", "IpAddressType": "ipv4"}
    assert aws_cli(elb, "elbv2", "describe-load-balancers") == {"LoadBalancers": [want]}
    # the filters: a name, an ARN
    assert aws_cli(elb, "elbv2", "describe-load-balancers", "--names", "edge")["LoadBalancers"] == [want]
    assert aws_cli(elb, "elbv2", "describe-load-balancers",
                   "--load-balancer-arns", lb_arn())["LoadBalancers"] == [want]
    # paginated: one page of one
    assert pages(elb, "LoadBalancers", 1, "elbv2", "describe-load-balancers") == ([want], 1)
    # unknown ones, and a name where an ARN goes
    fails(elb, "LoadBalancerNotFound", "elbv2", "describe-load-balancers", "--names", "other")
    fails(elb, "LoadBalancerNotFound", "elbv2", "describe-load-balancers", "--load-balancer-arns",
          lb_arn("other"))
    fails(elb, "ValidationError", "elbv2", "describe-load-balancers", "--load-balancer-arns", "edge")


# ---------------------------------------------------------------- listeners

def fwd_one(g):
    return {"Type": "forward", "TargetGroupArn": tg_arn(g),
            "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": tg_arn(g), "Weight": 1}],
                              "TargetGroupStickinessConfig": {"Enabled": False}}}


def want_listeners(elb):
    web, alt, rd, secure = elb.web
    return [
        {"ListenerArn": listener_arn("web"), "LoadBalancerArn": lb_arn(), "Port": web, "Protocol": "HTTP",
         "DefaultActions": [fwd_one("tg")]},
        {"ListenerArn": listener_arn("alt"), "LoadBalancerArn": lb_arn(), "Port": alt, "Protocol": "HTTP",
         "DefaultActions": [{"Type": "fixed-response",
                             "FixedResponseConfig": {"MessageBody": "{}", "StatusCode": "503",
                                                     "ContentType": "application/json"}}]},
        {"ListenerArn": listener_arn("rd"), "LoadBalancerArn": lb_arn(), "Port": rd, "Protocol": "HTTP",
         "DefaultActions": [{"Type": "redirect",
                             "RedirectConfig": {"Protocol": "#{protocol}", "Port": "#{port}",
                                                "Host": "www.example.com", "Path": "/#{path}",
                                                "Query": "#{query}", "StatusCode": "HTTP_301"}}]},
        {"ListenerArn": listener_arn("secure"), "LoadBalancerArn": lb_arn(), "Port": secure, "Protocol": "HTTPS",
         "DefaultActions": [fwd_one("tg2")]},
    ]


def test_describe_listeners(elb):
    want = want_listeners(elb)
    got = aws_cli(elb, "elbv2", "describe-listeners", "--load-balancer-arn", lb_arn())
    assert got == {"Listeners": want}
    # by ARN: those listed, in the config's order
    got = aws_cli(elb, "elbv2", "describe-listeners", "--listener-arns", listener_arn("rd"), listener_arn("web"))
    assert got == {"Listeners": [want[0], want[2]]}
    # pages of one, then of two
    assert pages(elb, "Listeners", 1, "elbv2", "describe-listeners", "--load-balancer-arn", lb_arn()) == (want, 4)
    assert pages(elb, "Listeners", 2, "elbv2", "describe-listeners", "--load-balancer-arn", lb_arn()) == (want, 2)
    # --max-items: a NextToken to start from
    first = aws_cli(elb, "elbv2", "describe-listeners", "--load-balancer-arn", lb_arn(), "--max-items", "2")
    assert first["Listeners"] == want[:2] and first.get("NextToken"), first
    rest = aws_cli(elb, "elbv2", "describe-listeners", "--load-balancer-arn", lb_arn(),
                   "--starting-token", first["NextToken"])
    assert rest == {"Listeners": want[2:]}
    # errors
    fails(elb, "ListenerNotFound", "elbv2", "describe-listeners", "--listener-arns", listener_arn("nope"))
    fails(elb, "LoadBalancerNotFound", "elbv2", "describe-listeners", "--load-balancer-arn", lb_arn("x"))
    fails(elb, "ValidationError", "elbv2", "describe-listeners", "--listener-arns", "web")
    fails(elb, "ValidationError", "elbv2", "describe-listeners")
    fails(elb, "ValidationError", "elbv2", "describe-listeners", "--load-balancer-arn", lb_arn(),
          "--page-size", "401")
    fails(elb, "ValidationError", "elbv2", "describe-listeners", "--load-balancer-arn", lb_arn(),
          "--marker", "not-a-marker")


# ---------------------------------------------------------------- rules

def want_web_rules():
    return [
        {"RuleArn": rule_arn("web", 10), "Priority": "10",
         "Conditions": [{"Field": "path-pattern", "Values": ["/ping", "/ping/*"],
                         "PathPatternConfig": {"Values": ["/ping", "/ping/*"]}}],
         "Actions": [{"Type": "fixed-response",
                      # the body's byte 0xe9 (not UTF-8) as '?'
                      "FixedResponseConfig": {"MessageBody": "pong <?>", "StatusCode": "200",
                                              "ContentType": "text/plain"}}],
         "IsDefault": False},
        {"RuleArn": rule_arn("web", 20), "Priority": "20",
         "Conditions": [{"Field": "host-header", "Values": ["a.example", "*.b.example"],
                         "HostHeaderConfig": {"Values": ["a.example", "*.b.example"]}},
                        {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["GET", "HEAD"]}}],
         "Actions": [{"Type": "forward",
                      "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": tg_arn("tg"), "Weight": 3},
                                                         {"TargetGroupArn": tg_arn("tg2"), "Weight": 1}],
                                        "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 300}}}],
         "IsDefault": False},
        {"RuleArn": rule_arn("web", 30), "Priority": "30",
         "Conditions": [{"Field": "http-header",
                         "HttpHeaderConfig": {"HttpHeaderName": "x-canary", "Values": ["y*", "beta"]}},
                        {"Field": "query-string",
                         "QueryStringConfig": {"Values": [{"Key": "v", "Value": "2"}, {"Value": "x*"}]}}],
         "Actions": [fwd_one("tg2")], "IsDefault": False},
        {"RuleArn": rule_arn("web", 40), "Priority": "40",
         "Conditions": [{"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8", "2001:db8::/32"]}}],
         "Actions": [{"Type": "redirect",
                      "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "Host": "#{host}", "Path": "/#{path}",
                                         "Query": "#{query}", "StatusCode": "HTTP_302"}}],
         "IsDefault": False},
        {"RuleArn": rule_arn("web", "default"), "Priority": "default", "Conditions": [],
         "Actions": [fwd_one("tg")], "IsDefault": True},
    ]


def test_describe_rules(elb):
    want = want_web_rules()
    got = aws_cli(elb, "elbv2", "describe-rules", "--listener-arn", listener_arn("web"))
    assert got == {"Rules": want}
    # a listener without rules: its default one
    got = aws_cli(elb, "elbv2", "describe-rules", "--listener-arn", listener_arn("alt"))
    assert [(r["Priority"], r["IsDefault"], r["Actions"][0]["Type"]) for r in got["Rules"]] == \
        [("default", True, "fixed-response")]
    # by ARN, across listeners
    got = aws_cli(elb, "elbv2", "describe-rules", "--rule-arns", rule_arn("web", 30), rule_arn("rd", "default"))
    assert [r["RuleArn"] for r in got["Rules"]] == [rule_arn("web", 30), rule_arn("rd", "default")]
    assert got["Rules"][0] == want[2]
    # pages of two; --max-items and --starting-token (the CLI's own paging)
    assert pages(elb, "Rules", 2, "elbv2", "describe-rules", "--listener-arn", listener_arn("web")) == (want, 3)
    first = aws_cli(elb, "elbv2", "describe-rules", "--listener-arn", listener_arn("web"), "--max-items", "3")
    assert first["Rules"] == want[:3] and first["NextToken"], first
    rest = aws_cli(elb, "elbv2", "describe-rules", "--listener-arn", listener_arn("web"),
                   "--starting-token", first["NextToken"])
    assert rest == {"Rules": want[3:]}
    # errors
    fails(elb, "RuleNotFound", "elbv2", "describe-rules", "--rule-arns", rule_arn("web", 99))
    fails(elb, "ListenerNotFound", "elbv2", "describe-rules", "--listener-arn", listener_arn("nope"))
    fails(elb, "ValidationError", "elbv2", "describe-rules", "--listener-arn", "web")
    fails(elb, "ValidationError", "elbv2", "describe-rules", "--rule-arns", "10")
    fails(elb, "ValidationError", "elbv2", "describe-rules")


def test_arns_survive_a_restart(elb):
    def arns():
        ls = aws_cli(elb, "elbv2", "describe-listeners", "--load-balancer-arn", lb_arn())["Listeners"]
        rs = aws_cli(elb, "elbv2", "describe-rules", "--listener-arn", ls[0]["ListenerArn"])["Rules"]
        tgs = aws_cli(elb, "elbv2", "describe-target-groups")["TargetGroups"]
        return ([x["ListenerArn"] for x in ls], [x["RuleArn"] for x in rs], [x["TargetGroupArn"] for x in tgs])
    before = arns()
    assert before == ([listener_arn(n) for n in ("web", "alt", "rd", "secure")],
                      [rule_arn("web", p) for p in (10, 20, 30, 40, "default")],
                      [tg_arn(g) for g in ("tg", "tg2", "lonely")])
    elb.stop()
    elb.start()
    assert arns() == before


# ---------------------------------------------------------------- target groups

def want_groups(elb):
    return [
        {"TargetGroupArn": tg_arn("tg"), "TargetGroupName": "tg", "Protocol": "HTTP", "Port": elb.b1.port,
         "HealthCheckProtocol": "HTTP", "HealthCheckPort": "traffic-port", "HealthCheckEnabled": True,
         "HealthCheckIntervalSeconds": 2, "HealthCheckTimeoutSeconds": 1, "HealthyThresholdCount": 2,
         "UnhealthyThresholdCount": 3, "HealthCheckPath": "/health", "Matcher": {"HttpCode": "200-299"},
         "LoadBalancerArns": [lb_arn()], "TargetType": "ip", "ProtocolVersion": "HTTP1"},
        {"TargetGroupArn": tg_arn("tg2"), "TargetGroupName": "tg2", "Protocol": "HTTP", "Port": elb.b2.port,
         "HealthCheckProtocol": "HTTP", "HealthCheckPort": "8081", "HealthCheckEnabled": False,
         "HealthCheckIntervalSeconds": 30, "HealthCheckTimeoutSeconds": 5, "HealthyThresholdCount": 5,
         "UnhealthyThresholdCount": 2, "HealthCheckPath": "/", "Matcher": {"HttpCode": "200"},
         "LoadBalancerArns": [lb_arn()], "TargetType": "ip", "ProtocolVersion": "HTTP1"},
        # no targets (no Port), no listener sends to it
        {"TargetGroupArn": tg_arn("lonely"), "TargetGroupName": "lonely", "Protocol": "HTTP",
         "HealthCheckProtocol": "HTTP", "HealthCheckPort": "traffic-port", "HealthCheckEnabled": True,
         "HealthCheckIntervalSeconds": 30, "HealthCheckTimeoutSeconds": 5, "HealthyThresholdCount": 5,
         "UnhealthyThresholdCount": 2, "HealthCheckPath": "/", "Matcher": {"HttpCode": "200"},
         "LoadBalancerArns": [], "TargetType": "ip", "ProtocolVersion": "HTTP1"},
    ]


def test_describe_target_groups(elb):
    want = want_groups(elb)
    # lonely's health check is the default one (enabled): but the fixture's
    # DEFAULT_TG turns checks off unless a test gives its own
    want[2]["HealthCheckEnabled"] = False
    assert aws_cli(elb, "elbv2", "describe-target-groups") == {"TargetGroups": want}
    # the admin JSON API's answer is the same TargetGroup, member for member
    r = elb.admin_request("GET", "/api/v1/target-groups")
    assert r.status == 200, r
    assert r.json() == {"TargetGroups": want}
    assert [list(g) for g in r.json()["TargetGroups"]] == [list(g) for g in aws_cli(
        elb, "elbv2", "describe-target-groups", "--output", "json")["TargetGroups"]]
    assert aws_cli(elb, "elbv2", "describe-target-groups", "--names", "tg2", "tg") == {"TargetGroups": want[:2]}
    assert aws_cli(elb, "elbv2", "describe-target-groups",
                   "--target-group-arns", tg_arn("lonely")) == {"TargetGroups": [want[2]]}
    # those the load balancer sends traffic to
    assert aws_cli(elb, "elbv2", "describe-target-groups",
                   "--load-balancer-arn", lb_arn()) == {"TargetGroups": want[:2]}
    # pagination
    assert pages(elb, "TargetGroups", 1, "elbv2", "describe-target-groups") == (want, 3)
    assert pages(elb, "TargetGroups", 2, "elbv2", "describe-target-groups", "--load-balancer-arn",
                 lb_arn()) == (want[:2], 1)
    first = aws_cli(elb, "elbv2", "describe-target-groups", "--max-items", "1")
    assert first["TargetGroups"] == want[:1] and first["NextToken"], first
    rest = aws_cli(elb, "elbv2", "describe-target-groups", "--starting-token", first["NextToken"])
    assert rest == {"TargetGroups": want[1:]}
    # errors
    fails(elb, "TargetGroupNotFound", "elbv2", "describe-target-groups", "--names", "tg", "nope")
    fails(elb, "TargetGroupNotFound", "elbv2", "describe-target-groups", "--target-group-arns", tg_arn("nope"))
    fails(elb, "ValidationError", "elbv2", "describe-target-groups", "--target-group-arns", "tg")
    fails(elb, "LoadBalancerNotFound", "elbv2", "describe-target-groups", "--load-balancer-arn", lb_arn("x"))
    fails(elb, "ValidationError", "elbv2", "describe-target-groups", "--names", "tg",
          "--target-group-arns", tg_arn("tg"))


def test_describe_target_group_attributes(elb):
    def attrs(g):
        got = aws_cli(elb, "elbv2", "describe-target-group-attributes", "--target-group-arn", tg_arn(g))
        assert list(got) == ["Attributes"]
        kv = {x["Key"]: x["Value"] for x in got["Attributes"]}
        assert len(kv) == len(got["Attributes"])
        return kv
    assert attrs("tg") == {
        "stickiness.enabled": "true", "deregistration_delay.timeout_seconds": "7",
        "stickiness.type": "app_cookie", "stickiness.app_cookie.cookie_name": "SESS",
        "stickiness.app_cookie.duration_seconds": "600", "stickiness.lb_cookie.duration_seconds": "86400",
        "slow_start.duration_seconds": "0", "load_balancing.algorithm.type": "least_outstanding_requests"}
    assert attrs("tg2") == {
        "stickiness.enabled": "true", "deregistration_delay.timeout_seconds": "300",
        "stickiness.type": "lb_cookie", "stickiness.app_cookie.cookie_name": "",
        "stickiness.app_cookie.duration_seconds": "86400", "stickiness.lb_cookie.duration_seconds": "120",
        "slow_start.duration_seconds": "0", "load_balancing.algorithm.type": "round_robin"}
    assert attrs("lonely") == {
        "stickiness.enabled": "false", "deregistration_delay.timeout_seconds": "300",
        "stickiness.type": "lb_cookie", "stickiness.app_cookie.cookie_name": "",
        "stickiness.app_cookie.duration_seconds": "86400", "stickiness.lb_cookie.duration_seconds": "86400",
        "slow_start.duration_seconds": "30", "load_balancing.algorithm.type": "round_robin"}
    fails(elb, "TargetGroupNotFound", "elbv2", "describe-target-group-attributes", "--target-group-arn",
          tg_arn("nope"))
    fails(elb, "ValidationError", "elbv2", "describe-target-group-attributes", "--target-group-arn", "tg")


# ---------------------------------------------------------------- target health

def health(a, g="tg", *targets):
    args = ["elbv2", "describe-target-health", "--target-group-arn", tg_arn(g)]
    if targets:
        args += ["--targets"] + ["Id=%s,Port=%d" % t if t[1] else "Id=%s" % t[0] for t in targets]
    got = aws_cli(a, *args)
    assert list(got) == ["TargetHealthDescriptions"], got
    return got["TargetHealthDescriptions"]


def test_describe_target_health(elb):
    b1, b2 = elb.b1, elb.b2
    healthy = {"Target": {"Id": HOST, "Port": b1.port}, "HealthCheckPort": str(b1.port),
               "TargetHealth": {"State": "healthy"}}
    wait_until(lambda: health(elb) == [healthy], 20, interval=0.5, what="b1 healthy")
    # health checks off: the target takes requests, and ALB's state and
    # reason say so; the health check port is the group's
    assert health(elb, "tg2") == [
        {"Target": {"Id": HOST, "Port": b2.port}, "HealthCheckPort": "8081",
         "TargetHealth": {"State": "unavailable", "Reason": "Target.HealthCheckDisabled",
                          "Description": "Health checks are disabled for the target group"}}]
    assert health(elb, "lonely") == []
    # the targets asked for, in that order; one not in the group is unused;
    # without a Port, the group's (all its targets share one)
    assert health(elb, "tg", (HOST, 9), (HOST, None)) == [
        {"Target": {"Id": HOST, "Port": 9},
         "TargetHealth": {"State": "unused", "Reason": "Target.NotRegistered",
                          "Description": "Target is not registered to the target group"}},
        healthy]
    fails(elb, "TargetGroupNotFound", "elbv2", "describe-target-health", "--target-group-arn", tg_arn("nope"))
    fails(elb, "ValidationError", "elbv2", "describe-target-health", "--target-group-arn", "tg")
    fails(elb, "InvalidTarget", "elbv2", "describe-target-health", "--target-group-arn", tg_arn("tg"),
          "--targets", "Id=i-0123456789abcdef0,Port=80")


# ---------------------------------------------------------------- registering

REG_HC = {"enabled": True, "path": "/health", "interval": 1, "timeout": 0.5, "healthy_threshold": 2,
          "unhealthy_threshold": 2}


def spread(port, n=12):
    c = collections.Counter()
    for _ in range(n):
        with Conn(port) as conn:
            r = conn.request("GET", "/name")
            assert r.status == 200, r
            c[r.header("x-backend")] += 1
    return c


@pytest.fixture
def reg(albd, backends, tmp_path):
    b1, b2 = backends.start("b1"), backends.start("b2")
    port, aport = free_port(), free_port()
    text = make_config([listener("web", port, "tg", rules=())],
                       [target_group("tg", [b1], health_check=REG_HC, deregistration_delay=1),
                        target_group("other", [], health_check=REG_HC)],
                       admin=aws_admin(tmp_path, aport))
    a = albd.start(text, port=port)
    a.b1, a.b2 = b1, b2
    return a


def states(a, g="tg"):
    return {(d["Target"]["Id"], d["Target"]["Port"]): d["TargetHealth"]["State"] for d in health(a, g)}


def test_register_serve_restart_deregister(reg):
    a, b1, b2 = reg, reg.b1, reg.b2
    wait_until(lambda: states(a) == {(HOST, b1.port): "healthy"}, 15, interval=0.3, what="b1 healthy")
    assert aws_cli(a, "elbv2", "register-targets", "--target-group-arn", tg_arn("tg"),
                   "--targets", "Id=%s,Port=%d" % (HOST, b2.port)) == {}
    # health-checked at once, then in the rotation
    wait_until(lambda: states(a).get((HOST, b2.port)) == "healthy", 15, interval=0.3, what="b2 healthy")
    assert set(spread(a.port)) == {"b1", "b2"}
    # kept in state_dir, as the JSON API keeps it, and seen by it as "api"
    saved = json.loads((a.state_dir / "targets.json").read_text())
    assert saved["TargetGroups"] == {"tg": [{"Id": HOST, "Port": b2.port, "Weight": 1}]}
    # registering again changes nothing
    assert aws_cli(a, "elbv2", "register-targets", "--target-group-arn", tg_arn("tg"),
                   "--targets", "Id=%s,Port=%d" % (HOST, b2.port)) == {}
    assert len(health(a)) == 2
    # a restart keeps it
    a.stop()
    a.start()
    wait_until(lambda: states(a) == {(HOST, b1.port): "healthy", (HOST, b2.port): "healthy"}, 15, interval=0.3,
               what="both healthy after the restart")
    assert set(spread(a.port)) == {"b1", "b2"}
    # deregistered: it drains (ELBv2's draining state and reason), then goes
    assert aws_cli(a, "elbv2", "deregister-targets", "--target-group-arn", tg_arn("tg"),
                   "--targets", "Id=%s,Port=%d" % (HOST, b2.port)) == {}
    assert spread(a.port) == {"b1": 12}
    seen = []

    def gone():
        d = {(x["Target"]["Id"], x["Target"]["Port"]): x["TargetHealth"] for x in health(a)}
        seen.append(d.get((HOST, b2.port)))
        return (HOST, b2.port) not in d
    wait_until(gone, 15, interval=0.2, what="b2 drained and gone")
    drains = [s for s in seen if s]
    assert all(s == {"State": "draining", "Reason": "Target.DeregistrationInProgress",
                     "Description": "Target deregistration is in progress"} for s in drains), drains
    assert json.loads((a.state_dir / "targets.json").read_text())["TargetGroups"] == {}


def test_register_without_port_takes_the_groups(reg):
    a = reg
    # "tg"'s targets all listen on b1's port: a target without Port gets it
    assert aws_cli(a, "elbv2", "register-targets", "--target-group-arn", tg_arn("tg"),
                   "--targets", "Id=127.0.0.2") == {}
    assert (("127.0.0.2", a.b1.port)) in states(a)
    # "other" has no targets, so no port: Port is required
    err = fails(a, "ValidationError", "elbv2", "register-targets", "--target-group-arn", tg_arn("other"),
                "--targets", "Id=127.0.0.2")
    assert "Port" in err


def test_register_and_deregister_errors(reg):
    a, b1 = reg, reg.b1
    arn = tg_arn("tg")
    fails(a, "TargetGroupNotFound", "elbv2", "register-targets", "--target-group-arn", tg_arn("nope"),
          "--targets", "Id=127.0.0.1,Port=80")
    fails(a, "TargetGroupNotFound", "elbv2", "deregister-targets", "--target-group-arn", tg_arn("nope"),
          "--targets", "Id=127.0.0.1,Port=80")
    fails(a, "ValidationError", "elbv2", "register-targets", "--target-group-arn", "tg",
          "--targets", "Id=127.0.0.1,Port=80")
    # ip targets only
    fails(a, "InvalidTarget", "elbv2", "register-targets", "--target-group-arn", arn,
          "--targets", "Id=i-0123456789abcdef0,Port=80")
    fails(a, "InvalidTarget", "elbv2", "register-targets", "--target-group-arn", arn,
          "--targets", "Id=224.0.0.1,Port=80")
    fails(a, "ValidationError", "elbv2", "register-targets", "--target-group-arn", arn,
          "--targets", "Id=127.0.0.1,Port=70000")
    # deregistering: only what the API registered, all or nothing
    assert aws_cli(a, "elbv2", "register-targets", "--target-group-arn", arn,
                   "--targets", "Id=127.0.0.3,Port=81") == {}
    err = fails(a, "InvalidTarget", "elbv2", "deregister-targets", "--target-group-arn", arn,
                "--targets", "Id=127.0.0.3,Port=81", "Id=127.0.0.4,Port=81")
    assert "127.0.0.4:81" in err
    fails(a, "InvalidTarget", "elbv2", "deregister-targets", "--target-group-arn", arn,
          "--targets", "Id=%s,Port=%d" % (HOST, b1.port))
    assert ("127.0.0.3", 81) in states(a)
    # nothing was written for the refused calls
    saved = json.loads((a.state_dir / "targets.json").read_text())
    assert saved["TargetGroups"] == {"tg": [{"Id": "127.0.0.3", "Port": 81, "Weight": 1}]}
    # the same target twice in one call is one target
    assert aws_cli(a, "elbv2", "deregister-targets", "--target-group-arn", arn,
                   "--targets", "Id=127.0.0.3,Port=81", "Id=127.0.0.3,Port=81") == {}
    assert json.loads((a.state_dir / "targets.json").read_text())["TargetGroups"] == {}


def test_json_api_and_elbv2_share_the_registrations(reg):
    a, arn = reg, tg_arn("tg")
    # registered by the JSON API with a weight: ELBv2 sees it; registering
    # it again through ELBv2 (which has no weights) keeps the weight
    r = a.admin_request("POST", "/api/v1/target-groups/tg/targets", headers={"Content-Type": "application/json"},
                        body=json.dumps({"Targets": [{"Id": "127.0.0.5", "Port": 82, "Weight": 5}]}).encode())
    assert r.status == 200, r
    assert ("127.0.0.5", 82) in states(a)
    assert aws_cli(a, "elbv2", "register-targets", "--target-group-arn", arn,
                   "--targets", "Id=127.0.0.5,Port=82", "Id=127.0.0.6,Port=82") == {}
    saved = json.loads((a.state_dir / "targets.json").read_text())["TargetGroups"]["tg"]
    assert saved == [{"Id": "127.0.0.5", "Port": 82, "Weight": 5}, {"Id": "127.0.0.6", "Port": 82, "Weight": 1}]
    # registered through ELBv2: the JSON API lists it as the API's
    r = a.admin_request("GET", "/api/v1/target-groups/tg/health")
    src = {(d["Target"]["Id"], d["Target"]["Port"]): d["Source"] for d in r.json()["TargetHealthDescriptions"]}
    assert src[("127.0.0.6", 82)] == "api" and src[(HOST, a.b1.port)] == "config", src
    # and deregistering through either is the same
    r = a.admin_request("DELETE", "/api/v1/target-groups/tg/targets", headers={"Content-Type": "application/json"},
                        body=json.dumps({"Targets": [{"Id": "127.0.0.6", "Port": 82}]}).encode())
    assert r.status == 200, r
    assert aws_cli(a, "elbv2", "deregister-targets", "--target-group-arn", arn,
                   "--targets", "Id=127.0.0.5,Port=82") == {}
    assert json.loads((a.state_dir / "targets.json").read_text())["TargetGroups"] == {}
