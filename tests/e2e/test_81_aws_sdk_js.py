"""The AWS SDK for JavaScript v3, unmodified (tests/e2e/node/aws_sdk.js,
pinned by package-lock.json), against albd: CloudWatch over awsJson 1.0
(put, statistics, metric math, list, alarms, a refused namespace, a wrong
secret), SNS and ELBv2 over awsQuery. The SDK parses every answer with its
own models: a field in the wrong shape or type fails here."""
import time

import pytest

from awsclients import aws_admin, node_sdk
from conftest import HOST, Backend, free_port, listener, make_config, target_group


@pytest.fixture
def lb(albd, backends, tmp_path):
    b1 = backends.start("b1")
    port, aport = free_port(), free_port()
    hc = {"enabled": True, "path": "/health", "interval": 1, "timeout": 0.5, "healthy_threshold": 2,
          "unhealthy_threshold": 2}
    text = make_config([listener("web", port, "web", rules=())],
                       [target_group("web", [b1], health_check=hc)],
                       admin=aws_admin(tmp_path, aport), name="js-lb")
    a = albd.start(text, port=port)
    a.b1 = b1
    return a


def test_cloudwatch(lb):
    out = node_sdk(lb, "aws_sdk.js", "cloudwatch", '{"namespace": "JsApp"}')
    assert out["put"] == {}, out["put"]
    dps = out["stats"]["Datapoints"]
    assert out["stats"]["Label"] == "Latency"
    assert len(dps) == 1, dps
    d = dps[0]
    # Values [10, 20, 30] with Counts [1, 2, 1], and Value 40
    assert d["SampleCount"] == 5 and d["Sum"] == 10 + 40 + 30 + 40
    assert d["Minimum"] == 10 and d["Maximum"] == 40 and d["Average"] == 24
    assert d["Unit"] == "Milliseconds"
    assert isinstance(d["Timestamp"], str) and d["Timestamp"].endswith("Z")
    assert set(d["ExtendedStatistics"]) == {"p50"}
    res = out["data"]["MetricDataResults"]
    assert [r["Id"] for r in res] == ["e1"]
    assert res[0]["Label"] == "twice" and res[0]["StatusCode"] == "Complete"
    assert res[0]["Values"] == [240]
    assert len(res[0]["Timestamps"]) == 1
    assert out["list"]["Metrics"] == [{"Namespace": "JsApp", "MetricName": "Latency",
                                       "Dimensions": [{"Name": "Host", "Value": "js-1"}]}]
    assert out["alarms"]["MetricAlarms"] == [] and out["alarms"]["CompositeAlarms"] == []
    # the exception class is the Smithy shape; its Code the awsQuery code (x-amzn-query-error)
    assert out["bad"]["error"] == "InvalidParameterValueException" and out["bad"]["status"] == 400
    assert out["bad"]["code"] == "InvalidParameterValue", out["bad"]
    assert out["wrong_secret"]["error"] == "SignatureDoesNotMatch" and out["wrong_secret"]["status"] == 403


def test_sns(lb):
    out = node_sdk(lb, "aws_sdk.js", "sns", '{"topic": "js-topic"}')
    arn = "arn:aws:sns:local:000000000000:js-topic"
    assert out["create"] == {"TopicArn": arn}
    assert {"TopicArn": arn} in out["list"]["Topics"]
    attrs = out["attrs"]["Attributes"]
    assert attrs["TopicArn"] == arn and attrs["DisplayName"] == "From JS"
    assert attrs["Owner"] == "000000000000"
    assert len(out["publish"]["MessageId"]) == 36
    assert out["delete"] == {}
    assert out["missing"]["error"] == "NotFoundException" or out["missing"]["code"] == "NotFound", out["missing"]
    assert out["missing"]["status"] == 404


def test_elbv2(lb):
    from conftest import wait_until
    out = {}

    def healthy():
        out.update(node_sdk(lb, "aws_sdk.js", "elbv2"))
        d = out.get("health", {}).get("TargetHealthDescriptions", [])
        return d and d[0]["TargetHealth"]["State"] == "healthy"
    wait_until(healthy, 20, interval=0.5, what="the target to be healthy through the SDK")
    lbs = out["lbs"]["LoadBalancers"]
    assert len(lbs) == 1 and lbs[0]["LoadBalancerName"] == "js-lb"
    assert lbs[0]["LoadBalancerArn"].startswith("arn:aws:elasticloadbalancing:local:000000000000:loadbalancer/app/js-lb/")
    assert lbs[0]["Type"] == "application"
    tg = out["groups"]["TargetGroups"][0]
    assert tg["TargetGroupName"] == "web"
    assert tg["TargetGroupArn"].startswith("arn:aws:elasticloadbalancing:local:000000000000:targetgroup/web/")
    assert tg["HealthCheckPath"] == "/health"
    d = out["health"]["TargetHealthDescriptions"][0]
    assert d["Target"] == {"Id": "127.0.0.1", "Port": lb.b1.port} or \
        (d["Target"]["Id"] == "127.0.0.1" and d["Target"]["Port"] == lb.b1.port)
    keys = {a["Key"]: a["Value"] for a in out["attrs"]["Attributes"]}
    assert "deregistration_delay.timeout_seconds" in keys
    ls = out["listeners"]["Listeners"]
    assert len(ls) == 1 and ls[0]["Port"] == lb.port and ls[0]["Protocol"] == "HTTP"
    assert out["missing"]["error"] == "TargetGroupNotFoundException" or \
        out["missing"]["code"] == "TargetGroupNotFound", out["missing"]
    assert out["missing"]["status"] in (400, 404)
