#!/usr/bin/env bash
# test.sh - install dependencies, build with -Werror, run every test.
#
#   scripts/test.sh            deps + build + unit tests (make check) + e2e (pytest)
#   ALBD_DISTCHECK=1 scripts/test.sh     ... and `make distcheck`
#   ALBD_E2E_TIMEOUT=SECONDS   cap on the whole pytest run (default 1800)
#
# The last line printed is the total, "N passed, N failed" (", N skipped"
# when some were skipped): Check's checks from tests/unit/*.log plus pytest's
# tests. The exit status is non-zero if the build or any test failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
root=$PWD

# pytest must come from Debian's python3-pytest: a pyenv python3 earlier in
# PATH may lack it.
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)

passed=0
failed=0
skipped=0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

total() {
	local line="$passed passed, $failed failed"
	[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
	echo "$line"
}

section() { printf '\n==== %s ====\n' "$*"; }

# ------------------------------------------------------------- deps
section "dependencies"
if ! bash scripts/deps.sh; then
	echo "test.sh: scripts/deps.sh failed; trying to build with what is installed" >&2
fi

# ------------------------------------------------------------ build
section "build (--enable-werror)"
if ! bash scripts/build.sh; then
	echo "test.sh: BUILD FAILED" >&2
	failed=$((failed + 1))
	total
	exit 1
fi

# ------------------------------------------------------- unit tests
section "unit tests (make check)"
rm -f tests/unit/*.log tests/unit/*.trs test-suite.log
make -j"$(nproc)" check
check_rc=$?
if [ "$check_rc" -ne 0 ] && [ -f test-suite.log ]; then
	cat test-suite.log
fi

# One "P F S" triple from the Check summary lines ("100%: Checks: 12,
# Failures: 0, Errors: 0") of every test log; a test program that ended
# without such a line counts as one test, by its .trs verdict.
read -r up uf us < <("$PYTHON" - <<'PY'
import glob, re
line_re = re.compile(r"^\d+%: Checks: (\d+), Failures: (\d+), Errors: (\d+)", re.M)
p = f = s = 0
for trs in sorted(glob.glob("tests/unit/*.trs")):
    log = trs[:-4] + ".log"
    try:
        text = open(log, errors="replace").read()
    except OSError:
        text = ""
    hits = line_re.findall(text)
    if hits:
        for checks, fails, errs in hits:
            checks, fails, errs = int(checks), int(fails), int(errs)
            p += checks - fails - errs
            f += fails + errs
        # a crash after the summary (sanitizer at exit) still fails the program
        verdict = re.search(r"^:test-result: (\w+)", open(trs).read(), re.M)
        if verdict and verdict.group(1) in ("FAIL", "ERROR", "XPASS") and not any(
                int(a) or int(b) for _, a, b in hits):
            f += 1
        continue
    verdict = re.search(r"^:test-result: (\w+)", open(trs).read(), re.M)
    v = verdict.group(1) if verdict else "ERROR"
    if v in ("PASS", "XFAIL"):
        p += 1
    elif v == "SKIP":
        s += 1
    else:
        f += 1
print(p, f, s)
PY
)
up=${up:-0} uf=${uf:-0} us=${us:-0}
if [ "$check_rc" -ne 0 ] && [ "$uf" -eq 0 ]; then
	# make check failed before or around the tests (a test did not compile...)
	echo "test.sh: make check failed (exit $check_rc)" >&2
	uf=1
fi
echo "unit: $up passed, $uf failed, $us skipped"
passed=$((passed + up)) failed=$((failed + uf)) skipped=$((skipped + us))

# -------------------------------------------------------- e2e tests
section "end-to-end tests (pytest tests/e2e)"
ep=0 ef=0 es=0
if [ -d tests/e2e ]; then
	ALBD_BIN="$root/src/albd" PYTHONDONTWRITEBYTECODE=1 \
		timeout --kill-after=30 "${ALBD_E2E_TIMEOUT:-1800}" \
		"$PYTHON" -m pytest -q tests/e2e --junitxml="$tmp/e2e.xml"
	e2e_rc=$?
	if [ "$e2e_rc" -eq 5 ]; then
		echo "e2e: no tests collected"
	else
		if [ -f "$tmp/e2e.xml" ]; then
			read -r ep ef es < <("$PYTHON" - "$tmp/e2e.xml" <<'PY'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
t = f = s = 0
for su in suites:
    t += int(su.get("tests", 0))
    f += int(su.get("failures", 0)) + int(su.get("errors", 0))
    s += int(su.get("skipped", 0))
print(max(t - f - s, 0), f, s)
PY
			)
		fi
		ep=${ep:-0} ef=${ef:-0} es=${es:-0}
		if [ "$e2e_rc" -ne 0 ] && [ "$ef" -eq 0 ]; then
			# interrupted, timed out, usage or internal error
			echo "test.sh: pytest failed (exit $e2e_rc)" >&2
			ef=1
		fi
	fi
else
	echo "e2e: no tests/e2e directory"
fi
echo "e2e: $ep passed, $ef failed, $es skipped"
passed=$((passed + ep)) failed=$((failed + ef)) skipped=$((skipped + es))

# -------------------------------------------------------- distcheck
if [ "${ALBD_DISTCHECK:-0}" = 1 ]; then
	section "make distcheck"
	if make -j"$(nproc)" distcheck; then
		echo "distcheck: passed"
	else
		echo "test.sh: make distcheck failed" >&2
		failed=$((failed + 1))
	fi
fi

echo
total
[ "$failed" -eq 0 ]
