#!/usr/bin/env bash
# demo.sh - albd in front of two tiny backends, in one terminal.
#
# Installs the dependencies, builds, starts scripts/demo_backend.py on
# 127.0.0.1:8081 ("a") and 127.0.0.1:8082 ("b"), then runs
# `src/albd -c conf/demo.conf` in the foreground: albd listens on
# 127.0.0.1:8080 and round-robins over the two, with its admin API on
# 127.0.0.1:9100. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3

bash scripts/deps.sh
bash scripts/build.sh

pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_backend() { # PORT NAME
	"$PYTHON" scripts/demo_backend.py --port "$1" --name "$2" &
	pids+=("$!")
}

wait_ready() { # PORT
	for _ in $(seq 1 50); do
		if curl -fsS -o /dev/null "http://127.0.0.1:$1/health" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "demo.sh: backend on 127.0.0.1:$1 did not come up (port in use?)" >&2
	return 1
}

start_backend 8081 a
start_backend 8082 b
wait_ready 8081
wait_ready 8082

cat <<'MSG'

albd demo: listening on http://127.0.0.1:8080/, round robin over
  backend a (127.0.0.1:8081) and backend b (127.0.0.1:8082).

Try it from another terminal (repeat to see both backends answer):

  curl -s http://127.0.0.1:8080/

The admin API (127.0.0.1:9100; the demo's state goes to /tmp/albd-demo-state):

  curl -s http://127.0.0.1:9100/api/v1/target-groups
  curl -s http://127.0.0.1:9100/api/v1/target-groups/demo/health

The same through AWS's own tools (Debian's aws CLI; the demo's key, in
conf/demo.conf):

  export AWS_ACCESS_KEY_ID=AKIDALBDDEMO00000001 AWS_DEFAULT_REGION=local
  export AWS_SECRET_ACCESS_KEY=albd-demo-secret-not-for-production
  aws --endpoint-url http://127.0.0.1:9100 elbv2 describe-target-groups
  aws --endpoint-url http://127.0.0.1:9100 cloudwatch list-metrics --namespace AWS/ApplicationELB

Press Ctrl-C to stop albd and the backends.

MSG

# Not exec: the EXIT trap must still run to stop the backends.
src/albd -c conf/demo.conf
