"""AWS's wire protocols on the admin listener (issue 14), independent of
any one service: SigV4 verified exactly (a wrong secret, an unknown key, a
tampered body or query, a skewed clock are refused with AWS's codes and
statuses), the three protocols (awsQuery, awsJson 1.0, Smithy RPC v2 CBOR)
and their error shapes, the endpoint off without credentials, the bearer
token not needed (nor enough), credentials that follow a reload, and the
config's errors. Requests are signed with the botocore inside Debian's
awscli (the same signer the CLI uses), then sent as they are or altered."""
import datetime
import gzip
import http.client
import json
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest

from awsclients import AKID, SECRET, aws_admin, aws_cli, aws1_cli
from conftest import HOST, free_port, listener, make_config, target_group

try:  # Debian's awscli 2 carries its own botocore, which "import awscli" puts in place
    import awscli  # noqa: F401
    import botocore.auth as botocore_auth
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:  # pragma: no cover - scripts/deps.sh installs awscli
    SigV4Auth = None

CW_NS = "{http://monitoring.amazonaws.com/doc/2010-08-01/}"
CW_TARGET = "GraniteServiceVersion20100801"


def cfg(tmp_path, port, aport, **admin):
    return make_config([listener("web", port, "tg", rules=())], [target_group("tg", ["127.0.0.1:9"])],
                       admin=aws_admin(tmp_path, aport, **admin), name="lb1")


@pytest.fixture
def api(albd, tmp_path):
    port, aport = free_port(), free_port()
    return albd.start(cfg(tmp_path, port, aport), port=port)


def signed(a, service, body, headers=None, path="/", secret=SECRET, akid=AKID, when=None, query=""):
    """(path with query, headers, body) of a POST signed like botocore signs."""
    if SigV4Auth is None:
        pytest.fail("awscli.botocore is missing: scripts/deps.sh installs Debian's awscli")
    url = "%s%s%s" % (a.admin_url, path, ("?" + query) if query else "")
    req = AWSRequest(method="POST", url=url, data=body, headers=dict(headers or {}))
    auth = SigV4Auth(Credentials(akid, secret), service, "local")
    if when is not None:
        # botocore takes the time from datetime.datetime.utcnow(): sign at WHEN
        ba = botocore_auth
        real = ba.datetime.datetime

        class Fixed(real):
            @classmethod
            def utcnow(cls):
                return when
        ba.datetime.datetime = Fixed
        try:
            auth.add_auth(req)
        finally:
            ba.datetime.datetime = real
    else:
        auth.add_auth(req)
    return path + (("?" + query) if query else ""), dict(req.headers.items()), body


def send(a, target, headers, body, method="POST"):
    c = http.client.HTTPConnection(HOST, a.admin_port, timeout=10)
    try:
        c.request(method, target, body=body, headers=headers)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def query(a, service, params, **kw):
    body = "&".join("%s=%s" % (k, v) for k, v in params)
    t, h, b = signed(a, service, body.encode(),
                     {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, **kw)
    return send(a, t, h, b)


def xml_error(body):
    root = ET.fromstring(body)
    assert root.tag.endswith("ErrorResponse"), body
    ns = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    err = root.find(ns + "Error")
    return (err.find(ns + "Type").text, err.find(ns + "Code").text, err.find(ns + "Message").text,
            root.find(ns + "RequestId").text)


LIST_METRICS = [("Action", "ListMetrics"), ("Version", "2010-08-01")]


def test_query_answer_shape(api):
    st, h, body = query(api, "monitoring", LIST_METRICS)
    assert st == 200, body
    assert h["content-type"].startswith("text/xml")
    root = ET.fromstring(body)
    assert root.tag == CW_NS + "ListMetricsResponse"
    assert root.find(CW_NS + "ListMetricsResult") is not None
    rid = root.find(CW_NS + "ResponseMetadata/" + CW_NS + "RequestId").text
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", rid)
    assert h["x-amzn-requestid"] == rid
    st2, h2, _ = query(api, "monitoring", LIST_METRICS)
    assert h2["x-amzn-requestid"] != rid


@pytest.mark.parametrize("service,args", [
    ("monitoring", ["cloudwatch", "list-metrics"]),
    ("sns", ["sns", "list-topics"]),
    ("elasticloadbalancing", ["elbv2", "describe-load-balancers"]),
])
def test_wrong_secret_and_unknown_key_with_the_cli(api, service, args):
    p = aws_cli(api, *args, check=False, secret=SECRET + "x")
    assert p.returncode != 0
    assert "(SignatureDoesNotMatch)" in p.stderr, p.stderr
    p = aws_cli(api, *args, check=False, akid="AKIDALBDUNKNOWN00001")
    assert "(InvalidClientTokenId)" in p.stderr, p.stderr
    assert "refused (InvalidClientTokenId)" in api.log()
    aws_cli(api, *args)  # and the right ones pass


def test_statuses_and_types_of_signature_errors(api):
    st, h, body = query(api, "monitoring", LIST_METRICS, secret="wrong")
    assert st == 403
    typ, code, msg, rid = xml_error(body)
    assert (typ, code) == ("Sender", "SignatureDoesNotMatch")
    assert "does not match" in msg and rid == h["x-amzn-requestid"]
    st, _, body = query(api, "monitoring", LIST_METRICS, akid="AKIDALBDUNKNOWN00001")
    assert st == 403 and xml_error(body)[1] == "InvalidClientTokenId"
    # no signature at all, or the bearer token's header
    body = b"Action=ListMetrics&Version=2010-08-01"
    st, _, rb = send(api, "/", {"Content-Type": "application/x-www-form-urlencoded"}, body)
    assert st == 400 and xml_error(rb)[1] == "IncompleteSignature"
    st, _, rb = send(api, "/", {"Content-Type": "application/x-www-form-urlencoded",
                                "Authorization": "Bearer something"}, body)
    assert st == 400 and xml_error(rb)[1] == "IncompleteSignature"


def test_tampered_body_and_query(api):
    body = b"Action=ListMetrics&Version=2010-08-01&Namespace=App"
    t, h, b = signed(api, "monitoring", body, {"Content-Type": "application/x-www-form-urlencoded"})
    st, _, rb = send(api, t, h, b)
    assert st == 200, rb
    st, _, rb = send(api, t, h, b.replace(b"App", b"Apq"))
    assert st == 403 and xml_error(rb)[1] == "SignatureDoesNotMatch"
    # a header that was signed, changed
    h2 = dict(h)
    h2["Content-Type"] = "application/x-www-form-urlencoded; charset=latin1"
    st, _, rb = send(api, t, h2, b)
    assert st == 403 and xml_error(rb)[1] == "SignatureDoesNotMatch"
    # the query string is signed too
    t, h, b = signed(api, "monitoring", body, {"Content-Type": "application/x-www-form-urlencoded"}, query="a=1")
    assert send(api, t, h, b)[0] == 200
    st, _, rb = send(api, t.replace("a=1", "a=2"), h, b)
    assert st == 403 and xml_error(rb)[1] == "SignatureDoesNotMatch"


def test_skewed_clock(api):
    now = datetime.datetime.utcnow()
    for minutes, ok in ((-10, False), (10, False), (-4, True), (4, True)):
        st, _, rb = query(api, "monitoring", LIST_METRICS, when=now + datetime.timedelta(minutes=minutes))
        if ok:
            assert st == 200, rb
        else:
            assert st == 403, rb
            assert xml_error(rb)[1] == "RequestTimeTooSkewed"


def test_query_errors(api):
    st, _, rb = query(api, "monitoring", [("Version", "2010-08-01")])
    assert st == 400 and xml_error(rb)[1] == "MissingAction"
    st, _, rb = query(api, "monitoring", [("Action", "ListMetrics"), ("Version", "2011-01-01")])
    assert st == 400 and xml_error(rb)[1] == "InvalidParameterValue"
    st, _, rb = query(api, "monitoring", [("Action", "ListMetrics")])
    assert st == 400 and xml_error(rb)[1] == "MissingParameter"
    st, _, rb = query(api, "monitoring", [("Action", "Nope"), ("Version", "2010-08-01")])
    assert st == 400 and xml_error(rb)[1] == "InvalidAction"
    # CloudWatch's action at SNS's endpoint: the scope tells the service
    st, _, rb = query(api, "sns", [("Action", "ListMetrics"), ("Version", "2010-03-31")])
    assert st == 400 and xml_error(rb)[1] == "InvalidAction"
    st, _, rb = query(api, "ec2", [("Action", "DescribeInstances"), ("Version", "2016-11-15")])
    assert st == 400 and xml_error(rb)[1] == "InvalidAction"
    # malformed forms
    for params in ([("Action", "ListMetrics"), ("Version", "2010-08-01"), ("Dimensions.member.2.Name", "x")],
                   [("Action", "ListMetrics"), ("Version", "2010-08-01"), ("Namespace", "%zz")],
                   [("Action", "ListMetrics"), ("Version", "2010-08-01"), ("A%01", "x")]):
        st, _, rb = query(api, "monitoring", params)
        assert st == 400 and xml_error(rb)[1] == "MalformedQueryString", rb
    # a body that is no form
    t, h, b = signed(api, "monitoring", b"{}", {"Content-Type": "application/json"})
    st, _, rb = send(api, t, h, b)
    assert st == 400 and xml_error(rb)[1] == "InvalidAction"


def test_json_protocol(api):
    body = json.dumps({"Namespace": "App"}).encode()
    hdrs = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": CW_TARGET + ".ListMetrics"}
    t, h, b = signed(api, "monitoring", body, hdrs)
    st, rh, rb = send(api, t, h, b)
    assert st == 200, rb
    assert rh["content-type"] == "application/x-amz-json-1.0"
    assert json.loads(rb) == {"Metrics": []}
    hdrs["X-Amz-Target"] = CW_TARGET + ".NoSuchThing"
    st, rh, rb = send(api, *signed(api, "monitoring", body, hdrs))
    assert st == 404
    e = json.loads(rb)
    assert e["__type"].endswith("#UnknownOperationException")
    assert rh["x-amzn-query-error"] == "UnknownOperationException;Sender"
    hdrs["X-Amz-Target"] = CW_TARGET + ".ListMetrics"
    st, rh, rb = send(api, *signed(api, "monitoring", b"[1,2", hdrs))
    assert st == 400 and json.loads(rb)["__type"].endswith("#SerializationException")
    st, rh, rb = send(api, *signed(api, "monitoring", body, hdrs, secret="bad"))
    assert st == 403 and rh["x-amzn-query-error"] == "SignatureDoesNotMatch;Sender"
    assert json.loads(rb)["__type"] == "com.amazonaws.cloudwatch#SignatureDoesNotMatch"
    # awsJson is CloudWatch's only: not SNS's
    hdrs["X-Amz-Target"] = "AmazonSimpleNotificationService.ListTopics"
    st, rh, rb = send(api, *signed(api, "sns", b"{}", hdrs))
    assert st == 404 and "UnknownOperationException" in rh["x-amzn-query-error"]


def test_cbor_protocol_errors(api):
    path = "/service/%s/operation/ListMetrics" % CW_TARGET
    hdrs = {"Content-Type": "application/cbor", "Accept": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}
    st, rh, rb = send(api, *signed(api, "monitoring", b"\xa1\x61", hdrs, path=path))
    assert st == 400 and rh["x-amzn-query-error"] == "SerializationException;Sender"
    assert rh["smithy-protocol"] == "rpc-v2-cbor" and rh["content-type"] == "application/cbor"
    st, rh, rb = send(api, *signed(api, "monitoring", b"\xa0", hdrs, path="/service/Other/operation/ListMetrics"))
    assert st == 404
    st, rh, rb = send(api, *signed(api, "monitoring", b"\xa0", hdrs, path=path))
    assert st == 200 and rh["smithy-protocol"] == "rpc-v2-cbor"


def test_json_with_the_python_cli(api):
    # aws-cli 1.45 (botocore 1.43) picks awsJson 1.0 for CloudWatch
    out = aws1_cli(api, "cloudwatch", "list-metrics", "--namespace", "App")
    assert out == {"Metrics": []}
    p = aws1_cli(api, "cloudwatch", "list-metrics", check=False, secret="wrong")
    assert "(SignatureDoesNotMatch)" in p.stderr


def test_gzip_bodies(api, tmp_path):
    # the SDKs gzip PutMetricData bodies of 10 KB and more (CloudWatch's
    # request compression); the signature covers the compressed bytes
    data = [{"MetricName": "Big", "Dimensions": [{"Name": "Shard", "Value": "s%03d" % i}], "Value": i}
            for i in range(300)]
    f = tmp_path / "data.json"
    f.write_text(json.dumps(data))
    aws1_cli(api, "cloudwatch", "put-metric-data", "--namespace", "Gz", "--metric-data", "file://%s" % f)
    out = aws1_cli(api, "cloudwatch", "list-metrics", "--namespace", "Gz")
    assert len(out["Metrics"]) == 300
    hdrs = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": CW_TARGET + ".ListMetrics",
            "Content-Encoding": "gzip"}
    body = gzip.compress(json.dumps({"Namespace": "Gz", "MetricName": "Big",
                                     "Dimensions": [{"Name": "Shard", "Value": "s007"}]}).encode())
    st, _, rb = send(api, *signed(api, "monitoring", body, hdrs))
    assert st == 200, rb
    assert json.loads(rb)["Metrics"] == [{"Namespace": "Gz", "MetricName": "Big",
                                          "Dimensions": [{"Name": "Shard", "Value": "s007"}]}]
    # awsQuery too
    qh = {"Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": "gzip"}
    st, _, rb = send(api, *signed(api, "monitoring", gzip.compress(b"Action=ListMetrics&Version=2010-08-01"
                                                                   b"&Namespace=Gz&MetricName=Nope"), qh))
    assert st == 200, rb
    # truncated, not gzip, a bomb, another encoding
    for bad, code in ((body[:-8], "SerializationException"), (b"plain", "SerializationException"),
                      (gzip.compress(b"[" * (9 << 20)), "SerializationException")):
        st, rh, rb = send(api, *signed(api, "monitoring", bad, hdrs))
        assert st == 400 and rh["x-amzn-query-error"] == code + ";Sender", rb
    hdrs["Content-Encoding"] = "br"
    st, rh, rb = send(api, *signed(api, "monitoring", b"{}", hdrs))
    assert st == 415 and rh["x-amzn-query-error"].startswith("UnsupportedMediaType;"), rb
    assert api.alive()


def test_endpoint_off_without_credentials(albd, tmp_path):
    port, aport = free_port(), free_port()
    a = albd.start(make_config([listener("web", port, "tg", rules=())], [target_group("tg", ["127.0.0.1:9"])],
                               admin={"listen": "%s:%d" % (HOST, aport)}), port=port)
    st, _, rb = send(a, "/", {"Content-Type": "application/x-www-form-urlencoded"},
                     b"Action=ListMetrics&Version=2010-08-01")
    assert st == 404
    assert "aws_credentials" in json.loads(rb)["Error"]["Message"]
    p = aws_cli(a, "cloudwatch", "list-metrics", check=False)
    assert p.returncode != 0


def test_bearer_token_not_needed_for_signed_calls(albd, tmp_path):
    port, aport = free_port(), free_port()
    tok = tmp_path / "token"
    tok.write_text("admintoken0123456789\n")
    a = albd.start(cfg(tmp_path, port, aport, token_file=str(tok)), port=port)
    assert aws_cli(a, "cloudwatch", "list-metrics", "--namespace", "App") == {"Metrics": []}
    # the JSON API still needs the token
    assert a.admin_request("GET", "/api/v1/metrics").status == 401


def test_credentials_follow_reload(albd, tmp_path):
    port, aport = free_port(), free_port()
    a = albd.start(cfg(tmp_path, port, aport), port=port)
    other = tmp_path / "other-secret"
    other.write_text("another-secret-key-0123456789\n")
    p = aws_cli(a, "cloudwatch", "list-metrics", check=False, akid="AKIDALBDSECOND000001",
                secret="another-secret-key-0123456789")
    assert "(InvalidClientTokenId)" in p.stderr
    text = cfg(tmp_path, port, aport).replace(
        "secret_access_key_file = \"%s\";" % (tmp_path / "aws-secret"),
        "secret_access_key_file = \"%s\";\n    },\n    {\n      access_key_id = \"AKIDALBDSECOND000001\";\n"
        "      secret_access_key_file = \"%s\";" % (tmp_path / "aws-secret", other))
    assert "AKIDALBDSECOND000001" in text
    a.reload(text)
    from conftest import wait_until
    wait_until(lambda: aws_cli(a, "cloudwatch", "list-metrics", "--namespace", "App", check=False,
                               akid="AKIDALBDSECOND000001",
                               secret="another-secret-key-0123456789") == {"Metrics": []}, 10,
               what="the new key to work after the reload")
    assert aws_cli(a, "cloudwatch", "list-metrics", "--namespace", "App") == {"Metrics": []}


@pytest.mark.parametrize("cred,needle", [
    ({"access_key_id": "short", "secret_access_key_file": "S"}, "not an access key id"),
    ({"access_key_id": "AKIDALBDTEST00000001"}, "secret_access_key_file is required"),
    ({"secret_access_key_file": "S"}, "access_key_id is required"),
    ({"access_key_id": "AKIDALBDTEST00000001", "secret_access_key_file": "/nonexistent/x"}, "cannot read"),
    ({"access_key_id": "AKID-ALBD-TEST-0001", "secret_access_key_file": "S"}, "not an access key id"),
    ({"access_key_id": "AKIDALBDTEST00000001", "secret_access_key_file": "S", "region": "x"},
     "unknown setting \"region\""),
])
def test_config_errors(albd_bin, tmp_path, cred, needle):
    s = tmp_path / "s"
    s.write_text("secret\n")
    cred = {k: (str(s) if v == "S" else v) for k, v in cred.items()}
    text = make_config([listener("web", free_port(), "tg", rules=())], [target_group("tg", ["127.0.0.1:9"])],
                       admin={"listen": "127.0.0.1:%d" % free_port(), "aws_credentials": (cred,)})
    path = tmp_path / "bad.conf"
    path.write_text(text)
    p = subprocess.run([albd_bin, "-t", "-c", str(path)], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "aws_credentials" in l)
    assert re.search(r"bad\.conf:(%s):" % "|".join(str(line + i) for i in range(6)), p.stderr), p.stderr
    assert needle in p.stderr, p.stderr


def test_duplicate_key_is_an_error(albd_bin, tmp_path):
    s = tmp_path / "s"
    s.write_text("secret\n")
    c = {"access_key_id": "AKIDALBDTEST00000001", "secret_access_key_file": str(s)}
    text = make_config([listener("web", free_port(), "tg", rules=())], [target_group("tg", ["127.0.0.1:9"])],
                       admin={"listen": "127.0.0.1:%d" % free_port(), "aws_credentials": (c, dict(c))})
    path = tmp_path / "dup.conf"
    path.write_text(text)
    p = subprocess.run([albd_bin, "-t", "-c", str(path)], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "given twice" in p.stderr, p.stderr


def test_guessing_secrets_is_throttled(api):
    # 20 wrong signatures within a minute lock the address out for a minute
    # (the admin token's lockout; both kinds of failure count together)
    for _ in range(20):
        st, _, rb = query(api, "monitoring", LIST_METRICS, secret="guess")
        assert st == 403 and xml_error(rb)[1] == "SignatureDoesNotMatch"
    st, _, rb = query(api, "monitoring", LIST_METRICS)
    assert st == 400
    typ, code, msg, _ = xml_error(rb)
    assert code == "Throttling" and "Rate exceeded" in msg
    p = aws_cli(api, "cloudwatch", "list-metrics", check=False)
    assert "(Throttling)" in p.stderr
    assert "credential failures from 127.0.0.1" in api.log()


def test_wrongly_typed_lists_are_refused(api):
    # a JSON client that sends a string where a list goes gets an error,
    # never the answer for "no filter"
    hdrs = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": CW_TARGET + ".DescribeAlarms"}
    st, rh, rb = send(api, *signed(api, "monitoring", json.dumps({"AlarmNames": "x"}).encode(), hdrs))
    assert st == 400 and rh["x-amzn-query-error"] == "ValidationError;Sender", rb
    hdrs["X-Amz-Target"] = CW_TARGET + ".ListMetrics"
    st, rh, rb = send(api, *signed(api, "monitoring", json.dumps({"Dimensions": {"Name": "x"}}).encode(), hdrs))
    assert st == 400, rb


def test_alarm_definitions_not_kept_are_not_made(api):
    # PutMetricAlarm and DeleteAlarms change nothing when state_dir cannot
    # take the change (here: a directory where alarms_runtime.json goes)
    block = api.state_dir / "alarms_runtime.json"
    # albd reads state_dir once started (its ports accept a little earlier)
    from conftest import wait_until
    wait_until(lambda: " started: " in api.log(), 10, what="albd to have read its state_dir")
    put = ["cloudwatch", "put-metric-alarm", "--alarm-name", "kept", "--namespace", "App", "--metric-name", "M",
           "--statistic", "Sum", "--period", "60", "--evaluation-periods", "1", "--threshold", "1",
           "--comparison-operator", "GreaterThanThreshold"]
    block.mkdir()
    (block / "x").write_text("x")
    p = aws_cli(api, *put, check=False)
    assert "(InternalFailure)" in p.stderr or "(InternalServiceError)" in p.stderr, p.stderr
    assert aws_cli(api, "cloudwatch", "describe-alarms")["MetricAlarms"] == []
    (block / "x").unlink()
    block.rmdir()
    aws_cli(api, *put)
    assert [a["AlarmName"] for a in aws_cli(api, "cloudwatch", "describe-alarms")["MetricAlarms"]] == ["kept"]
    block.unlink()
    block.mkdir()
    (block / "x").write_text("x")
    p = aws_cli(api, "cloudwatch", "delete-alarms", "--alarm-names", "kept", check=False)
    assert p.returncode != 0, p.stderr
    assert [a["AlarmName"] for a in aws_cli(api, "cloudwatch", "describe-alarms")["MetricAlarms"]] == ["kept"]
