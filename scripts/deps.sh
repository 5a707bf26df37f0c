#!/usr/bin/env bash
# deps.sh - install what building and testing albd needs (Debian 12).
#
# Idempotent: when every package is already installed it does nothing (no
# network); otherwise `apt-get update` and one `apt-get install`. Set
# ALBD_DEPS_FORCE=1 to run apt-get anyway. Uses sudo only when not root.
set -euo pipefail

packages=(
	build-essential autoconf automake libtool pkg-config
	libevent-dev libssl-dev libhttp-parser-dev libconfig-dev libjansson-dev
	check python3 python3-pytest python3-pytest-xdist curl openssl ca-certificates procps
	# /metrics is checked by promtool and scraped by a real Prometheus
	prometheus
	# the man pages are linted (mandoc -Tlint); the unit is verified
	# (systemd-analyze, in package systemd)
	mandoc systemd
	# the binary upgrade is tested under load
	wrk
	# slow readers are tested with a slow-read attack (slowhttptest -X)
	slowhttptest
	# the libFuzzer smoke run (clang's fuzzer, ASan and UBSan runtimes);
	# gcc's own ASan/UBSan runtimes come with build-essential
	clang libclang-rt-14-dev
	# the dashboard is tested in headless Chromium (tests/e2e/test_73_dashboard.py)
	chromium chromium-driver python3-selenium
	# the AWS APIs are driven by Debian's aws CLI (awsQuery for ELBv2, CloudWatch, SNS)
	awscli
)
# the e2e tests check albd's SNS messages with the npm package sns-validator
# and drive its AWS APIs with the AWS SDK for JavaScript (tests/e2e/node): Debian's nodejs and npm, unless a node and an npm are
# installed already (NodeSource's nodejs package provides npm itself and
# conflicts with Debian's)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	packages+=(nodejs npm)
fi

# npm_ci: tests/e2e/node/node_modules as package-lock.json pins it (the
# registry is needed only when it is missing or older than the lock file)
npm_ci() {
	local d=tests/e2e/node
	cd "$(dirname "$0")/.."
	if [ -d "$d/node_modules/sns-validator" ] && [ -d "$d/node_modules/@aws-sdk/client-cloudwatch" ] &&
		[ "$d/node_modules/.package-lock.json" -nt "$d/package-lock.json" ]; then
		echo "deps.sh: $d/node_modules is up to date"
		return 0
	fi
	echo "deps.sh: npm ci in $d"
	(cd "$d" && npm ci --no-audit --no-fund)
}

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -eq 0 ] && [ "${ALBD_DEPS_FORCE:-0}" != 1 ]; then
	echo "deps.sh: all ${#packages[@]} packages already installed"
	npm_ci
	exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "deps.sh: not root and no sudo; install as root: ${missing[*]:-${packages[*]}}" >&2
		exit 1
	fi
	sudo=(sudo)
fi

echo "deps.sh: installing: ${missing[*]:-${packages[*]}}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends "${packages[@]}"
npm_ci
