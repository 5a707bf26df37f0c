// aws_sdk.js - drive albd's AWS APIs with the AWS SDK for JavaScript v3
// (CloudWatch over awsJson 1.0, SNS and ELBv2 over awsQuery), unmodified.
// Run by tests/e2e/test_81_aws_sdk_js.py: node aws_sdk.js SCENARIO [JSON-ARGS]
// with ALBD_ENDPOINT and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY set;
// prints one JSON document: each step's output (as the SDK parsed it, its
// $metadata removed) or its error's name, code and status.
"use strict";

const cw = require("@aws-sdk/client-cloudwatch");
const sns = require("@aws-sdk/client-sns");
const elb = require("@aws-sdk/client-elastic-load-balancing-v2");

const endpoint = process.env.ALBD_ENDPOINT;
const common = { endpoint, region: "local", maxAttempts: 1 };
const scenario = process.argv[2];
const args = JSON.parse(process.argv[3] || "{}");

async function step(out, name, client, command) {
  try {
    const r = await client.send(command);
    delete r.$metadata;
    out[name] = r;
  } catch (e) {
    out[name] = { error: e.name, code: e.Code || e.code, status: e.$metadata && e.$metadata.httpStatusCode,
                  message: e.message };
  }
}

async function cloudwatch() {
  const c = new cw.CloudWatchClient(common);
  const out = {};
  const now = new Date(Math.floor(Date.now() / 60000) * 60000 - 60000);
  const dims = [{ Name: "Host", Value: "js-1" }];
  await step(out, "put", c, new cw.PutMetricDataCommand({
    Namespace: args.namespace,
    MetricData: [
      { MetricName: "Latency", Dimensions: dims, Timestamp: now, Values: [10, 20, 30], Counts: [1, 2, 1], Unit: "Milliseconds" },
      { MetricName: "Latency", Dimensions: dims, Timestamp: now, Value: 40, Unit: "Milliseconds" },
    ],
  }));
  const start = new Date(now.getTime() - 60000), end = new Date(now.getTime() + 120000);
  await step(out, "stats", c, new cw.GetMetricStatisticsCommand({
    Namespace: args.namespace, MetricName: "Latency", Dimensions: dims, StartTime: start, EndTime: end,
    Period: 60, Statistics: ["SampleCount", "Sum", "Minimum", "Maximum", "Average"], ExtendedStatistics: ["p50"],
  }));
  await step(out, "data", c, new cw.GetMetricDataCommand({
    StartTime: start, EndTime: end,
    MetricDataQueries: [
      { Id: "m1", MetricStat: { Metric: { Namespace: args.namespace, MetricName: "Latency", Dimensions: dims },
                                Period: 60, Stat: "Sum" }, ReturnData: false },
      { Id: "e1", Expression: "m1 * 2", Label: "twice" },
    ],
  }));
  await step(out, "list", c, new cw.ListMetricsCommand({ Namespace: args.namespace }));
  await step(out, "alarms", c, new cw.DescribeAlarmsCommand({}));
  await step(out, "bad", c, new cw.PutMetricDataCommand({ Namespace: "AWS/Nope", MetricData: [{ MetricName: "x", Value: 1 }] }));
  const wrong = new cw.CloudWatchClient({ ...common, credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: "wrong" } });
  await step(out, "wrong_secret", wrong, new cw.ListMetricsCommand({}));
  return out;
}

async function topics() {
  const c = new sns.SNSClient(common);
  const out = {};
  await step(out, "create", c, new sns.CreateTopicCommand({ Name: args.topic, Attributes: { DisplayName: "From JS" } }));
  await step(out, "list", c, new sns.ListTopicsCommand({}));
  const arn = out.create.TopicArn;
  await step(out, "attrs", c, new sns.GetTopicAttributesCommand({ TopicArn: arn }));
  await step(out, "publish", c, new sns.PublishCommand({
    TopicArn: arn, Subject: "hello", Message: "from the JS SDK",
    MessageAttributes: { color: { DataType: "String", StringValue: "red" } },
  }));
  await step(out, "delete", c, new sns.DeleteTopicCommand({ TopicArn: arn }));
  await step(out, "missing", c, new sns.GetTopicAttributesCommand({ TopicArn: arn }));
  return out;
}

async function elbv2() {
  const c = new elb.ElasticLoadBalancingV2Client(common);
  const out = {};
  await step(out, "lbs", c, new elb.DescribeLoadBalancersCommand({}));
  await step(out, "groups", c, new elb.DescribeTargetGroupsCommand({}));
  const tg = out.groups.TargetGroups && out.groups.TargetGroups[0];
  if (tg) {
    await step(out, "health", c, new elb.DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn }));
    await step(out, "attrs", c, new elb.DescribeTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn }));
  }
  const lb = out.lbs.LoadBalancers && out.lbs.LoadBalancers[0];
  if (lb)
    await step(out, "listeners", c, new elb.DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
  await step(out, "missing", c, new elb.DescribeTargetHealthCommand({
    TargetGroupArn: "arn:aws:elasticloadbalancing:local:000000000000:targetgroup/nope/0000000000000000" }));
  return out;
}

const scenarios = { cloudwatch, sns: topics, elbv2 };

process.removeAllListeners("warning"); // the SDK's note about Node.js versions goes to stderr only
if (!scenarios[scenario]) {
  console.error("usage: node aws_sdk.js cloudwatch|sns|elbv2 [JSON-ARGS]");
  process.exit(2);
}
scenarios[scenario]().then(
  (out) => process.stdout.write(JSON.stringify(out) + "\n"),
  (e) => { console.error(e); process.exit(1); });
