"""SNS's API on the admin listener (issue 14), driven by Debian's aws CLI
(awsQuery): run-time topics (CreateTopic, DeleteTopic, kept across
restarts), subscriptions made at run time and confirmed as SNS's are (the
endpoint gets a SubscriptionConfirmation; ConfirmSubscription with its
Token), Publish with MessageAttributes and filter policies, the listings,
and SNS's errors. The receivers are test_52's (HTTP servers in this
process); the messages they get are checked field by field, and by
sns-validator, an unmodified receiver-side validator.
"""
import json
import os
import re
import ssl
import time
import urllib.request

import pytest

from awsclients import aws_admin, aws_cli
from conftest import HOST, free_port, wait_until
from test_52_topics import receivers, topic, topics_config, sub, validate_sns, http_get, api  # noqa: F401
from test_90_tls import pki  # noqa: F401  (a fixture)

ACCOUNT = "000000000000"
ARN = "arn:aws:sns:local:%s:" % ACCOUNT
FAST = {"retries": 3, "min_delay": 1, "max_delay": 1, "timeout": 2}


def start(albd, tmp_path, topics, **admin_extra):
    port, aport = free_port(), free_port()
    a = albd.start(topics_config(port, topics, admin=aws_admin(tmp_path, aport, **admin_extra)), port=port)
    return a


def aws_err(a, *args, **kw):
    """Run a call that must fail: (code, message) from the CLI's error line."""
    p = aws_cli(a, *args, check=False, **kw)
    assert not isinstance(p, dict), "expected an error from %s, got %r" % (args, p)
    err = p.stderr.strip()
    # "An error occurred (Code) when calling the Op operation: message"
    assert "An error occurred (" in err, err
    code = err.split("An error occurred (", 1)[1].split(")", 1)[0]
    m = re.search(r"when calling the \w+ operation(?: \([^)]*\))?: (.*)", err, re.S)
    assert m, err
    return code, m.group(1).strip()


def aws_status(a, *args):
    """The HTTP status albd answered a failing call with (from --debug)."""
    p = aws_cli(a, "--debug", *args, check=False)
    assert not isinstance(p, dict)
    m = re.findall(r'"POST / HTTP/1\.1" (\d{3})', p.stderr)
    assert m, p.stderr[-2000:]
    return int(m[-1])


def confirmation(r, n=1):
    """The SubscriptionConfirmations receiver R got (at least N)."""
    wait_until(lambda: len([b for b in r.bodies() if b["Type"] == "SubscriptionConfirmation"]) >= n, 10,
               what="a SubscriptionConfirmation at %s" % r.name)
    return [b for b in r.bodies() if b["Type"] == "SubscriptionConfirmation"]


def notifications(r):
    return [json.loads(g["body"]) for g in r.ok() if g["headers"].get("x-amz-sns-message-type") == "Notification"]


# ---------------------------------------------------------------------------


@pytest.mark.timeout_s(240)
def test_create_list_get_attributes_restart_and_delete(albd, receivers, tmp_path):
    r = receivers("cfg")
    a = start(albd, tmp_path, [topic("ops", [sub(r)], FAST)])
    dp = {"http": {"defaultHealthyRetryPolicy": {"minDelayTarget": 2, "maxDelayTarget": 10, "numRetries": 5,
                                                 "numNoDelayRetries": 1, "backoffFunction": "exponential"},
                   "defaultThrottlePolicy": {"maxReceivesPerSecond": 4}}}
    out = aws_cli(a, "sns", "create-topic", "--name", "deploys",
                  "--attributes", json.dumps({"DisplayName": "Deploys", "DeliveryPolicy": json.dumps(dp)}),
                  "--tags", "Key=team,Value=web")
    assert out == {"TopicArn": ARN + "deploys"}
    # CreateTopic is idempotent (as SNS): the same name answers the same ARN
    assert aws_cli(a, "sns", "create-topic", "--name", "deploys") == {"TopicArn": ARN + "deploys"}
    assert aws_cli(a, "sns", "create-topic", "--name", "deploys", "--attributes",
                   json.dumps({"DisplayName": "Deploys"})) == {"TopicArn": ARN + "deploys"}
    # and the config's topic too
    assert aws_cli(a, "sns", "create-topic", "--name", "ops") == {"TopicArn": ARN + "ops"}
    code, msg = aws_err(a, "sns", "create-topic", "--name", "deploys", "--attributes",
                        json.dumps({"DisplayName": "Other"}))
    assert code == "InvalidParameter" and "already exists with different attributes" in msg, msg
    assert aws_cli(a, "sns", "create-topic", "--name", "empty") == {"TopicArn": ARN + "empty"}

    lt = aws_cli(a, "sns", "list-topics")
    assert lt == {"Topics": [{"TopicArn": ARN + "ops"}, {"TopicArn": ARN + "deploys"},
                             {"TopicArn": ARN + "empty"}]}, lt

    attrs = aws_cli(a, "sns", "get-topic-attributes", "--topic-arn", ARN + "deploys")["Attributes"]
    assert attrs["TopicArn"] == ARN + "deploys"
    assert attrs["Owner"] == ACCOUNT
    assert attrs["DisplayName"] == "Deploys"
    assert attrs["SubscriptionsConfirmed"] == "0" and attrs["SubscriptionsPending"] == "0"
    assert attrs["SubscriptionsDeleted"] == "0"
    assert json.loads(attrs["DeliveryPolicy"]) == dp
    eff = json.loads(attrs["EffectiveDeliveryPolicy"])["http"]
    assert eff["defaultHealthyRetryPolicy"] == {"minDelayTarget": 2, "maxDelayTarget": 10, "numRetries": 5,
                                                "numMaxDelayRetries": 0, "numNoDelayRetries": 1,
                                                "numMinDelayRetries": 0, "backoffFunction": "exponential"}
    assert eff["defaultThrottlePolicy"] == {"maxReceivesPerSecond": 4}
    pol = json.loads(attrs["Policy"])
    assert pol["Statement"][0]["Resource"] == ARN + "deploys"
    assert pol["Statement"][0]["Condition"] == {"StringEquals": {"AWS:SourceOwner": ACCOUNT}}
    # a topic without attributes: SNS's defaults
    e = aws_cli(a, "sns", "get-topic-attributes", "--topic-arn", ARN + "empty")["Attributes"]
    assert e["DisplayName"] == "" and "DeliveryPolicy" not in e
    assert json.loads(e["EffectiveDeliveryPolicy"])["http"]["defaultHealthyRetryPolicy"] == {
        "minDelayTarget": 20, "maxDelayTarget": 20, "numRetries": 3, "numMaxDelayRetries": 0,
        "numNoDelayRetries": 0, "numMinDelayRetries": 0, "backoffFunction": "linear"}
    # the config's topic: its delivery group is its DeliveryPolicy; its subscription counts
    o = aws_cli(a, "sns", "get-topic-attributes", "--topic-arn", ARN + "ops")["Attributes"]
    assert o["SubscriptionsConfirmed"] == "1" and o["SubscriptionsPending"] == "0"
    retry = json.loads(o["DeliveryPolicy"])["http"]["defaultHealthyRetryPolicy"]
    assert retry["numRetries"] == 3 and retry["minDelayTarget"] == 1 and retry["maxDelayTarget"] == 1

    # SNS's errors
    assert aws_err(a, "sns", "get-topic-attributes", "--topic-arn", ARN + "nope") == ("NotFound",
                                                                                      "Topic does not exist")
    assert aws_err(a, "sns", "get-topic-attributes", "--topic-arn", "not-an-arn") == (
        "InvalidParameter", "Invalid parameter: TopicArn")
    assert aws_err(a, "sns", "create-topic", "--name", "bad name")[0] == "InvalidParameter"
    code, msg = aws_err(a, "sns", "create-topic", "--name", "jobs.fifo")
    assert code == "InvalidParameter" and "FIFO" in msg
    code, msg = aws_err(a, "sns", "create-topic", "--name", "x", "--attributes",
                        json.dumps({"DeliveryPolicy": json.dumps({"http": {"defaultHealthyRetryPolicy":
                                                                           {"numRetries": 1000}}})}))
    assert code == "InvalidParameter" and msg.startswith("Invalid parameter: DeliveryPolicy"), msg
    code, msg = aws_err(a, "sns", "create-topic", "--name", "x", "--attributes",
                        json.dumps({"KmsMasterKeyId": "alias/aws/sns"}))
    assert code == "InvalidParameter" and "KmsMasterKeyId" in msg
    code, msg = aws_err(a, "sns", "delete-topic", "--topic-arn", ARN + "ops")
    assert code == "AuthorizationError" and "configuration file" in msg, msg
    assert aws_status(a, "sns", "delete-topic", "--topic-arn", ARN + "ops") == 403

    # kept across a restart, with its attributes
    a.stop()
    a.start()
    lt = aws_cli(a, "sns", "list-topics")
    assert [t["TopicArn"] for t in lt["Topics"]] == [ARN + "ops", ARN + "deploys", ARN + "empty"]
    attrs2 = aws_cli(a, "sns", "get-topic-attributes", "--topic-arn", ARN + "deploys")["Attributes"]
    assert attrs2["DisplayName"] == "Deploys" and json.loads(attrs2["DeliveryPolicy"]) == dp
    # and a reload
    a.reload()
    assert len(aws_cli(a, "sns", "list-topics")["Topics"]) == 3

    assert aws_cli(a, "sns", "delete-topic", "--topic-arn", ARN + "deploys") == {}
    assert [t["TopicArn"] for t in aws_cli(a, "sns", "list-topics")["Topics"]] == [ARN + "ops", ARN + "empty"]
    assert aws_err(a, "sns", "get-topic-attributes", "--topic-arn", ARN + "deploys")[0] == "NotFound"
    # deleting a topic that is not there is no error (as SNS)
    assert aws_cli(a, "sns", "delete-topic", "--topic-arn", ARN + "deploys") == {}
    a.stop()
    a.start()
    assert [t["TopicArn"] for t in aws_cli(a, "sns", "list-topics")["Topics"]] == [ARN + "ops", ARN + "empty"]


@pytest.mark.timeout_s(240)
def test_list_topics_and_subscriptions_pages(albd, receivers, tmp_path):
    """SNS's pages: 100 topics, then NextToken (the CLI follows it)."""
    a = start(albd, tmp_path, [topic("ops", [sub(receivers("r%d" % i)) for i in range(3)], FAST)])
    a.stop()
    # 150 run-time topics, as CreateTopic keeps them (faster than 150 CLI runs)
    names = ["t%03d" % i for i in range(150)]
    with open(os.path.join(a.state_dir, "notify", "topics.json"), "w") as f:
        json.dump({"Topics": [{"Name": n, "Attributes": {}, "Tags": []} for n in names]}, f)
    a.start()
    first = aws_cli(a, "sns", "list-topics", "--no-paginate")
    assert len(first["Topics"]) == 100 and first["Topics"][0] == {"TopicArn": ARN + "ops"}
    assert isinstance(first["NextToken"], str) and first["NextToken"]
    every = aws_cli(a, "sns", "list-topics")
    assert [t["TopicArn"] for t in every["Topics"]] == [ARN + "ops"] + [ARN + n for n in names]
    assert "NextToken" not in every
    assert aws_cli(a, "sns", "list-topics", "--max-items", "120")["Topics"][-1] == {"TopicArn": ARN + names[118]}
    # a token that is not one albd gave
    p = aws_cli(a, "sns", "list-topics", "--no-paginate", "--cli-input-json", json.dumps({"NextToken": "junk"}),
                check=False)
    assert not isinstance(p, dict) and "(InvalidParameter)" in p.stderr and "NextToken" in p.stderr, p.stderr
    subs = aws_cli(a, "sns", "list-subscriptions")["Subscriptions"]
    assert len(subs) == 3 and all(s["TopicArn"] == ARN + "ops" for s in subs)


@pytest.mark.timeout_s(240)
def test_subscribe_confirm_publish_filter_unsubscribe(albd, receivers, tmp_path):
    rf, rr, rc = receivers("filtered"), receivers("raw"), receivers("cfg")
    a = start(albd, tmp_path, [topic("ops", [sub(rc)], FAST)])
    tarn = aws_cli(a, "sns", "create-topic", "--name", "deploys")["TopicArn"]

    # Subscribe: the endpoint is asked first, as SNS asks
    out = aws_cli(a, "sns", "subscribe", "--topic-arn", tarn, "--protocol", "http",
                  "--notification-endpoint", rf.url,
                  "--attributes", json.dumps({"FilterPolicy": json.dumps({"env": ["prod"]})}))
    assert out == {"SubscriptionArn": "pending confirmation"}
    conf = confirmation(rf)[0]
    g = rf.ok()[0]
    assert g["headers"]["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert g["headers"]["x-amz-sns-topic-arn"] == tarn
    assert conf["TopicArn"] == tarn and len(conf["Token"]) == 128
    assert conf["Message"].startswith("You have chosen to subscribe to the topic " + tarn)
    assert conf["SubscribeURL"].startswith(a.admin_url + "/sns?Action=ConfirmSubscription&TopicArn=")
    assert conf["SignatureVersion"] == "2" and conf["Signature"]

    subs = aws_cli(a, "sns", "list-subscriptions-by-topic", "--topic-arn", tarn)
    assert subs == {"Subscriptions": [{"SubscriptionArn": "PendingConfirmation", "Owner": ACCOUNT,
                                       "Protocol": "http", "Endpoint": rf.url, "TopicArn": tarn}]}, subs
    at = aws_cli(a, "sns", "get-topic-attributes", "--topic-arn", tarn)["Attributes"]
    assert at["SubscriptionsPending"] == "1" and at["SubscriptionsConfirmed"] == "0"
    # nothing reaches a subscription that is not confirmed
    aws_cli(a, "sns", "publish", "--topic-arn", tarn, "--message", "too early", "--message-attributes",
            json.dumps({"env": {"DataType": "String", "StringValue": "prod"}}))

    assert aws_err(a, "sns", "confirm-subscription", "--topic-arn", tarn, "--token", "ab" * 64) == (
        "InvalidParameter", "Invalid token")
    assert aws_err(a, "sns", "confirm-subscription", "--topic-arn", ARN + "nope",
                   "--token", conf["Token"])[0] == "NotFound"
    farn = aws_cli(a, "sns", "confirm-subscription", "--topic-arn", tarn, "--token",
                   conf["Token"])["SubscriptionArn"]
    assert farn.startswith(tarn + ":") and len(farn) == len(tarn) + 37

    # the second: raw delivery, its ARN asked for; the endpoint confirms by
    # visiting SubscribeURL, as SNS's receivers do
    out = aws_cli(a, "sns", "subscribe", "--topic-arn", tarn, "--protocol", "http",
                  "--notification-endpoint", rr.url, "--return-subscription-arn",
                  "--attributes", json.dumps({"RawMessageDelivery": "true"}))
    rarn = out["SubscriptionArn"]
    assert rarn.startswith(tarn + ":") and rarn != farn
    st, body = http_get(confirmation(rr)[0]["SubscribeURL"])
    assert st == 200 and rarn in body
    # subscribing again answers the same subscription
    again = aws_cli(a, "sns", "subscribe", "--topic-arn", tarn, "--protocol", "http",
                    "--notification-endpoint", rr.url, "--return-subscription-arn")
    assert again == {"SubscriptionArn": rarn}

    lst = aws_cli(a, "sns", "list-subscriptions")["Subscriptions"]
    assert {"SubscriptionArn": farn, "Owner": ACCOUNT, "Protocol": "http", "Endpoint": rf.url,
            "TopicArn": tarn} in lst
    assert {"SubscriptionArn": rarn, "Owner": ACCOUNT, "Protocol": "http", "Endpoint": rr.url,
            "TopicArn": tarn} in lst
    assert [s["Endpoint"] for s in lst] == [rc.url, rf.url, rr.url]   # the config's topic first
    at = aws_cli(a, "sns", "get-topic-attributes", "--topic-arn", tarn)["Attributes"]
    assert at["SubscriptionsPending"] == "0" and at["SubscriptionsConfirmed"] == "2"

    # Publish: attributes, the filter policy, raw delivery
    mid = aws_cli(a, "sns", "publish", "--topic-arn", tarn, "--subject", "Deploy", "--message", "v42 is out",
                  "--message-attributes", json.dumps({"env": {"DataType": "String", "StringValue": "prod"},
                                                      "build": {"DataType": "Number", "StringValue": "42"}})
                  )["MessageId"]
    assert len(mid) == 36
    wait_until(lambda: notifications(rf), 10, what="the notification")
    n = notifications(rf)
    assert len(n) == 1, n   # "too early" never came
    b = n[0]
    assert list(b) == ["Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "SignatureVersion",
                       "Signature", "SigningCertURL", "UnsubscribeURL", "MessageAttributes"], list(b)
    assert b["Type"] == "Notification" and b["MessageId"] == mid and b["TopicArn"] == tarn
    assert b["Subject"] == "Deploy" and b["Message"] == "v42 is out"
    assert b["MessageAttributes"] == {"env": {"Type": "String", "Value": "prod"},
                                      "build": {"Type": "Number", "Value": "42"}}
    h = [g for g in rf.ok() if g["headers"].get("x-amz-sns-message-type") == "Notification"][0]["headers"]
    assert h["x-amz-sns-subscription-arn"] == farn and h["x-amz-sns-message-id"] == mid
    raw = rr.wait(2)[-1]
    assert raw["body"] == b"v42 is out" and raw["headers"]["x-amz-sns-rawdelivery"] == "true"

    # a message the filter policy does not match is not delivered there
    mid2 = aws_cli(a, "sns", "publish", "--topic-arn", tarn, "--message", "staging only",
                   "--message-attributes", json.dumps({"env": {"DataType": "String", "StringValue": "dev"}})
                   )["MessageId"]
    got = rr.wait(3)
    assert got[-1]["body"] == b"staging only" and got[-1]["headers"]["x-amz-sns-message-id"] == mid2
    # MessageStructure json: http endpoints get the "http" text
    js = json.dumps({"default": "plain", "http": "for http", "email": "unused"})
    aws_cli(a, "sns", "publish", "--topic-arn", tarn, "--message", js, "--message-structure", "json",
            "--message-attributes", json.dumps({"env": {"DataType": "String", "StringValue": "prod"}}))
    rr.wait(4)
    wait_until(lambda: len(notifications(rf)) >= 2, 10, what="the second notification")
    time.sleep(0.5)
    assert [x["Message"] for x in notifications(rf)] == ["v42 is out", "for http"]
    assert rr.ok()[-1]["body"] == b"for http"

    # the run-time subscriptions survive a restart (confirmed, with their
    # settings), and a reload
    a.stop()
    a.start()
    a.reload()
    lst2 = aws_cli(a, "sns", "list-subscriptions-by-topic", "--topic-arn", tarn)["Subscriptions"]
    assert [s["SubscriptionArn"] for s in lst2] == [farn, rarn]
    mid3 = aws_cli(a, "sns", "publish", "--topic-arn", tarn, "--message", "after restart",
                   "--message-attributes", json.dumps({"env": {"DataType": "String", "StringValue": "prod"}})
                   )["MessageId"]
    wait_until(lambda: len(notifications(rf)) >= 3, 10, what="the notification after the restart")
    assert notifications(rf)[-1]["MessageId"] == mid3
    assert rr.wait(5)[-1]["body"] == b"after restart"

    # Unsubscribe: the subscription goes; nothing more reaches it
    assert aws_cli(a, "sns", "unsubscribe", "--subscription-arn", farn) == {}
    lst3 = aws_cli(a, "sns", "list-subscriptions-by-topic", "--topic-arn", tarn)["Subscriptions"]
    assert [s["SubscriptionArn"] for s in lst3] == [rarn]
    aws_cli(a, "sns", "publish", "--topic-arn", tarn, "--message", "after unsubscribe",
            "--message-attributes", json.dumps({"env": {"DataType": "String", "StringValue": "prod"}}))
    assert rr.wait(6)[-1]["body"] == b"after unsubscribe"
    time.sleep(0.5)
    assert len(notifications(rf)) == 3
    # the JSON API sees the same subscriptions
    st, j = api(a, "GET", "/api/v1/topics/deploys")
    assert st == 200 and [s["SubscriptionArn"] for s in j["Subscriptions"]] == [rarn]
    # deleting the topic removes its subscriptions
    aws_cli(a, "sns", "delete-topic", "--topic-arn", tarn)
    assert [s["Endpoint"] for s in aws_cli(a, "sns", "list-subscriptions")["Subscriptions"]] == [rc.url]


@pytest.mark.timeout_s(240)
def test_sns_errors(albd, tmp_path):
    """Bad input gets SNS's codes and messages, and changes nothing."""
    a = start(albd, tmp_path, [])
    tarn = aws_cli(a, "sns", "create-topic", "--name", "deploys")["TopicArn"]
    rf_url = "http://127.0.0.1:1/hook"
    assert aws_err(a, "sns", "publish", "--topic-arn", ARN + "nope", "--message", "x") == (
        "NotFound", "Topic does not exist")
    code, msg = aws_err(a, "sns", "publish", "--topic-arn", tarn, "--message", "x", "--message-attributes",
                        json.dumps({"k": {"DataType": "Blob", "StringValue": "v"}}))
    assert code == "ParameterValueInvalid" and "supported type prefixes is Binary, Number, and String" in msg
    code, msg = aws_err(a, "sns", "publish", "--topic-arn", tarn, "--message", "x", "--message-attributes",
                        json.dumps({"k": {"DataType": "Number", "StringValue": "many"}}))
    assert code == "ParameterValueInvalid" and "'k'" in msg
    code, msg = aws_err(a, "sns", "publish", "--topic-arn", tarn, "--message", "{}", "--message-structure", "json")
    assert code == "InvalidParameter" and "No default entry" in msg
    code, msg = aws_err(a, "sns", "publish", "--topic-arn", tarn, "--message", "x", "--subject", "a\nb")
    assert code == "InvalidParameter" and "Subject" in msg
    code, msg = aws_err(a, "sns", "subscribe", "--topic-arn", tarn, "--protocol", "email",
                        "--notification-endpoint", "ops@example.com")
    assert code == "InvalidParameter" and "http and https" in msg
    assert aws_err(a, "sns", "subscribe", "--topic-arn", tarn, "--protocol", "carrier-pigeon",
                   "--notification-endpoint", "x")[0] == "InvalidParameter"
    assert aws_err(a, "sns", "subscribe", "--topic-arn", tarn, "--protocol", "https",
                   "--notification-endpoint", rf_url) == (
        "InvalidParameter", "Invalid parameter: Endpoint must match the specified protocol")
    code, msg = aws_err(a, "sns", "subscribe", "--topic-arn", tarn, "--protocol", "http",
                        "--notification-endpoint", "http://127.0.0.1:1/x",
                        "--attributes", json.dumps({"FilterPolicy": "{\"env\": \"prod\"}"}))
    assert code == "InvalidParameter" and msg.startswith("Invalid parameter: FilterPolicy"), msg
    assert aws_err(a, "sns", "subscribe", "--topic-arn", ARN + "nope", "--protocol", "http",
                   "--notification-endpoint", "http://127.0.0.1:1/x")[0] == "NotFound"
    assert aws_err(a, "sns", "unsubscribe", "--subscription-arn", tarn + ":nope")[0] == "NotFound"
    assert aws_err(a, "sns", "unsubscribe", "--subscription-arn", "garbage")[0] == "InvalidParameter"

    assert aws_cli(a, "sns", "list-subscriptions") == {"Subscriptions": []}
    assert aws_err(a, "sns", "confirm-subscription", "--topic-arn", tarn, "--token", "ab" * 64) == (
        "InvalidParameter", "Invalid token")
    assert aws_err(a, "sns", "list-subscriptions-by-topic", "--topic-arn", ARN + "nope") == (
        "NotFound", "Topic does not exist")
    # SNS's statuses
    assert aws_status(a, "sns", "get-topic-attributes", "--topic-arn", ARN + "nope") == 404
    assert aws_status(a, "sns", "get-topic-attributes", "--topic-arn", "nope") == 400


@pytest.mark.timeout_s(240)
def test_config_topic_subscribe_and_unsubscribe(albd, receivers, tmp_path):
    """A run-time subscription of the config's topic; Unsubscribe of the
    config's own subscription stops it (the config keeps it, Unsubscribed)
    until it is subscribed again."""
    rc, rn = receivers("cfg"), receivers("new")
    a = start(albd, tmp_path, [topic("ops", [sub(rc)], FAST)])
    tarn = ARN + "ops"
    lst = aws_cli(a, "sns", "list-subscriptions-by-topic", "--topic-arn", tarn)["Subscriptions"]
    assert len(lst) == 1 and lst[0]["Endpoint"] == rc.url and lst[0]["SubscriptionArn"].startswith(tarn + ":")
    carn = lst[0]["SubscriptionArn"]
    assert aws_cli(a, "sns", "subscribe", "--topic-arn", tarn, "--protocol", "http",
                   "--notification-endpoint", rn.url) == {"SubscriptionArn": "pending confirmation"}
    narn = aws_cli(a, "sns", "confirm-subscription", "--topic-arn", tarn, "--token", confirmation(rn)[0]["Token"],
                   "--authenticate-on-unsubscribe", "true")["SubscriptionArn"]
    mid = aws_cli(a, "sns", "publish", "--topic-arn", tarn, "--message", "both")["MessageId"]
    assert [b["MessageId"] for b in (rc.wait(1) and rc.bodies())] == [mid]
    wait_until(lambda: notifications(rn), 10, what="the run-time subscription's message")
    assert notifications(rn)[0]["MessageId"] == mid
    # AuthenticateOnUnsubscribe: its UnsubscribeURL no longer works
    st, body = http_get(notifications(rn)[0]["UnsubscribeURL"])
    assert st == 403 and "AuthorizationError" in body
    assert aws_cli(a, "sns", "unsubscribe", "--subscription-arn", carn) == {}
    assert [s["SubscriptionArn"] for s in aws_cli(a, "sns", "list-subscriptions")["Subscriptions"]] == [narn]
    at = aws_cli(a, "sns", "get-topic-attributes", "--topic-arn", tarn)["Attributes"]
    assert at["SubscriptionsDeleted"] == "1" and at["SubscriptionsConfirmed"] == "1"
    aws_cli(a, "sns", "publish", "--topic-arn", tarn, "--message", "new only")
    wait_until(lambda: len(notifications(rn)) == 2, 10, what="the second message")
    time.sleep(0.5)
    assert len(rc.ok()) == 1
    # subscribed again: confirmed again, as a new subscription
    assert aws_cli(a, "sns", "subscribe", "--topic-arn", tarn, "--protocol", "http",
                   "--notification-endpoint", rc.url) == {"SubscriptionArn": "pending confirmation"}
    tok = confirmation(rc)[0]["Token"]
    assert aws_cli(a, "sns", "confirm-subscription", "--topic-arn", tarn, "--token", tok) == {
        "SubscriptionArn": carn}


@pytest.mark.timeout_s(240)
def test_sns_validator_accepts_what_publish_sends(albd, receivers, pki, tmp_path):
    """A run-time subscription's confirmation and notifications are signed
    as SNS's: sns-validator (fetching SigningCertURL over https) accepts
    them."""
    r = receivers("signed")
    a = start(albd, tmp_path, [], tls={"certificates": (pki.ip.entry(),)})
    ca = ["--ca-bundle", str(pki.ca)]
    tarn = aws_cli(a, *ca, "sns", "create-topic", "--name", "signed")["TopicArn"]
    aws_cli(a, *ca, "sns", "subscribe", "--topic-arn", tarn, "--protocol", "http",
            "--notification-endpoint", r.url)
    conf = confirmation(r)[0]
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    st, _ = http_get(conf["SubscribeURL"], ctx=ctx)
    assert st == 200
    aws_cli(a, *ca, "sns", "publish", "--topic-arn", tarn, "--subject", "Signed", "--message", "h\u00e9llo",
            "--message-attributes", json.dumps({"env": {"DataType": "String", "StringValue": "prod"},
                                                "blob": {"DataType": "Binary", "BinaryValue": "aGk="}}))
    wait_until(lambda: notifications(r), 10, what="the notification")
    n = notifications(r)[0]
    assert n["MessageAttributes"]["blob"] == {"Type": "Binary", "Value": "aGk="}
    res = validate_sns([g["body"] for g in r.ok()], pki.ca)
    assert len(res) == 2 and all(x["ok"] for x in res), res
