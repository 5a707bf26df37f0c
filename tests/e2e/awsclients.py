"""The real AWS clients the AWS API tests drive albd with (issue 14):

- Debian's awscli 2.9 (/usr/bin/aws, installed by scripts/deps.sh): awsQuery
  for ELBv2, CloudWatch and SNS;
- the aws-cli 1.x of the machine's other Python, where there is one (it
  sends CloudWatch's Smithy RPC v2 CBOR protocol): tests skip without it;
- the AWS SDK for JavaScript v3 (tests/e2e/node, pinned by package-lock.json).

Each runs with credentials from the environment only (no ~/.aws), region
"local", and albd's admin listener as the endpoint.
"""
import json
import os
import shutil
import subprocess

import pytest

AKID = "AKIDALBDTEST00000001"
SECRET = "albd/test+secret/0123456789abcdefghijklmnopq"

AWS2 = "/usr/bin/aws"


def aws_admin(tmp_path, port, **extra):
    """The config's admin group: listen on PORT with one AWS credential
    (AKID/SECRET, the secret in a file under TMP_PATH)."""
    sf = os.path.join(str(tmp_path), "aws-secret")
    with open(sf, "w") as f:
        f.write(SECRET + "\n")
    g = {"listen": "127.0.0.1:%d" % port,
         "aws_credentials": ({"access_key_id": AKID, "secret_access_key_file": sf},)}
    g.update(extra)
    return g


def _env(akid=AKID, secret=SECRET):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": akid, "AWS_SECRET_ACCESS_KEY": secret,
                "AWS_DEFAULT_REGION": "local", "AWS_CONFIG_FILE": "/dev/null",
                "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PAGER": "",
                "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1",
                "AWS_RETRY_MODE": "standard"})
    return env


class AwsError(Exception):
    def __init__(self, rc, stderr):
        super().__init__("aws exited %d: %s" % (rc, stderr.strip()[-2000:]))
        self.rc = rc
        self.stderr = stderr


def _run(cmd, a, args, check, akid, secret, timeout):
    full = [cmd, "--endpoint-url", a.admin_url, "--region", "local", "--output", "json"] + list(args)
    p = subprocess.run(full, env=_env(akid, secret), stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    if p.returncode != 0:
        if check:
            raise AwsError(p.returncode, p.stderr)
        return p
    out = p.stdout.strip()
    return json.loads(out) if out else {}


def aws_cli(a, *args, check=True, akid=AKID, secret=SECRET, timeout=60):
    """Run Debian's aws (2.9) against albd A's admin listener: the parsed
    JSON output (or {} when it printed nothing). check=False returns the
    CompletedProcess of a failed run instead of raising AwsError."""
    if not os.access(AWS2, os.X_OK):
        pytest.fail("%s is missing: scripts/deps.sh installs Debian's awscli" % AWS2)
    return _run(AWS2, a, args, check, akid, secret, timeout)


def aws1_path():
    """An aws-cli 1.x other than Debian's (the machine's Python has one), or None."""
    seen = set()
    for d in os.environ.get("PATH", "").split(os.pathsep) + ["/root/.pyenv/shims"]:
        p = os.path.join(d, "aws")
        if p in seen or os.path.realpath(p) == os.path.realpath(AWS2) or not os.access(p, os.X_OK):
            continue
        seen.add(p)
        try:
            v = subprocess.run([p, "--version"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if (v.stdout + v.stderr).startswith("aws-cli/1."):
            return p
    return None


def aws1_cli(a, *args, check=True, akid=AKID, secret=SECRET, timeout=60):
    """As aws_cli() with the aws-cli 1.x (CloudWatch over Smithy RPC v2
    CBOR); skips the test where there is none."""
    p = aws1_path()
    if not p:
        pytest.skip("no aws-cli 1.x besides Debian's awscli on this machine")
    return _run(p, a, args, check, akid, secret, timeout)


NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")


def node_sdk(a, script, *args, timeout=60):
    """Run tests/e2e/node/SCRIPT ARGS... with node: it gets albd's endpoint
    and the credentials in the environment (ALBD_ENDPOINT, AWS_*) and
    prints one JSON document, which is returned."""
    node = shutil.which("node")
    if not node:
        pytest.fail("node is missing: scripts/deps.sh installs it")
    env = _env()
    env["ALBD_ENDPOINT"] = a.admin_url
    p = subprocess.run([node, os.path.join(NODE_DIR, script)] + list(args), env=env, cwd=NODE_DIR,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, "node %s exited %d:\n%s\n%s" % (script, p.returncode, p.stdout[-3000:],
                                                             p.stderr[-3000:])
    return json.loads(p.stdout)
