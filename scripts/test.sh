#!/usr/bin/env bash
# test.sh - install dependencies, build with -Werror, run every test.
#
#   scripts/test.sh      deps, build, then:
#     unit tests (make check)
#     e2e tests (pytest tests/e2e): a parallel pass (pytest-xdist, -n JOBS,
#       -m "not serial"), then the tests marked serial one at a time
#     a second build with --enable-asan --enable-ubsan (in a copy of the
#       tree, so src/albd stays the normal binary): its unit tests and both
#       e2e passes again, albd aborting on the first sanitizer report
#     a libFuzzer smoke run of each tests/fuzz target (clang)
#   ALBD_DISTCHECK=1 scripts/test.sh     ... and `make distcheck`
#
# Knobs (environment):
#   ALBD_E2E_JOBS=N        xdist workers for the parallel passes (default 3 per CPU, 2..8)
#   ALBD_E2E_TIMEOUT=S     cap on each pytest run (default 900)
#   ALBD_SANITIZE=0        skip the ASan+UBSan build and its tests
#   ALBD_FUZZ_SECONDS=S    how long each fuzz target runs (default 60; 0 skips)
#
# Every test counts once: Check's checks from tests/unit/*.log, each pytest
# test of every pass (the sanitizer passes separately), each fuzz target,
# distcheck. The last line printed is the total, "N passed, N failed"
# (", N skipped" when some were skipped); the exit status is non-zero if the
# build or any test failed.
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

t_start=$SECONDS

total() {
	local line="$passed passed, $failed failed"
	[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
	echo "$line"
}

section() { printf '\n==== %s ==== (%d s)\n' "$*" "$((SECONDS - t_start))"; }

# add LABEL P F S: count a result and say so
add() {
	echo "$1: $2 passed, $3 failed, $4 skipped"
	passed=$((passed + $2)) failed=$((failed + $3)) skipped=$((skipped + $4))
}

nproc=$(nproc 2>/dev/null || echo 2)
jobs=${ALBD_E2E_JOBS:-$((nproc * 3))}
[ "$jobs" -lt 2 ] && jobs=2
[ "$jobs" -gt 8 ] && [ -z "${ALBD_E2E_JOBS:-}" ] && jobs=8

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

# unit_tests LABEL DIR: `make -j check` in build tree DIR, then one "P F S"
# from the Check summary lines ("100%: Checks: 12, Failures: 0, Errors: 0")
# of every test log; a test program that ended without such a line counts
# as one test, by its .trs verdict.
unit_tests() {
	local label=$1 dir=$2 check_rc up uf us
	rm -f "$dir"/tests/unit/*.log "$dir"/tests/unit/*.trs "$dir"/test-suite.log
	make -C "$dir" -j"$nproc" check
	check_rc=$?
	if [ "$check_rc" -ne 0 ] && [ -f "$dir/test-suite.log" ]; then
		cat "$dir/test-suite.log"
	fi
	read -r up uf us < <("$PYTHON" - "$dir" <<'PY'
import glob, os, re, sys
os.chdir(sys.argv[1])
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
	add "$label" "$up" "$uf" "$us"
}

section "unit tests (make check)"
unit_tests "unit" "$root"

# -------------------------------------------------------- e2e tests

# junit_count FILE: "P F S" over the test cases of a pytest junit file (a
# test with an error in its teardown, such as a sanitizer report, fails).
junit_count() {
	"$PYTHON" - "$1" <<'PY'
import sys
import xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print(0, 0, 0)
    sys.exit()
rank = {"passed": 0, "skipped": 1, "failed": 2}
cases = {}
for tc in root.iter("testcase"):
    key = (tc.get("classname"), tc.get("name"), tc.get("file"))
    if tc.find("failure") is not None or tc.find("error") is not None:
        v = "failed"
    elif tc.find("skipped") is not None:
        v = "skipped"
    else:
        v = "passed"
    if key not in cases or rank[v] > rank[cases[key]]:
        cases[key] = v
vals = list(cases.values())
print(vals.count("passed"), vals.count("failed"), vals.count("skipped"))
PY
}

have_xdist=0
if "$PYTHON" -c 'import xdist' 2>/dev/null; then
	have_xdist=1
else
	echo "test.sh: pytest-xdist (python3-pytest-xdist) is missing: the parallel passes run serially" >&2
fi

# e2e_pass LABEL ALBD_BIN XML [pytest arguments...]: one pytest run over
# tests/e2e, counted under LABEL.
e2e_pass() {
	local label=$1 bin=$2 xml=$3 rc ep ef es
	shift 3
	if [ "$have_xdist" = 0 ]; then
		# drop "-n N" when xdist is missing
		local args=() skip=0
		for a in "$@"; do
			if [ "$skip" = 1 ]; then skip=0; continue; fi
			if [ "$a" = -n ]; then skip=1; continue; fi
			args+=("$a")
		done
		set -- "${args[@]}"
	fi
	ALBD_BIN="$bin" PYTHONDONTWRITEBYTECODE=1 \
		timeout --kill-after=30 "${ALBD_E2E_TIMEOUT:-900}" \
		"$PYTHON" -m pytest -q -p no:cacheprovider tests/e2e --junitxml="$xml" "$@"
	rc=$?
	if [ "$rc" -eq 5 ]; then
		echo "$label: no tests collected"
		return
	fi
	read -r ep ef es < <(junit_count "$xml")
	ep=${ep:-0} ef=${ef:-0} es=${es:-0}
	if [ "$rc" -ne 0 ] && [ "$ef" -eq 0 ]; then
		# interrupted, timed out, usage or internal error
		echo "test.sh: pytest failed (exit $rc)" >&2
		ef=1
	fi
	add "$label" "$ep" "$ef" "$es"
}

# e2e_all LABEL ALBD_BIN: the parallel pass, then the serial one
e2e_all() {
	local label=$1 bin=$2 name=${1// /-}
	section "$label: parallel (pytest -n $jobs -m 'not serial')"
	e2e_pass "$label (parallel)" "$bin" "$tmp/$name-parallel.xml" -n "$jobs" -m "not serial"
	section "$label: serial (pytest -m serial)"
	e2e_pass "$label (serial)" "$bin" "$tmp/$name-serial.xml" -m serial
}

if [ -d tests/e2e ]; then
	e2e_all "e2e" "$root/src/albd"
else
	echo "e2e: no tests/e2e directory"
fi

# ------------------------------------------- sanitizers and fuzzing

san_dir=$tmp/asan
san_ok=0
if [ "${ALBD_SANITIZE:-1}" != 0 ] || [ "${ALBD_FUZZ_SECONDS:-60}" != 0 ]; then
	section "build with --enable-asan --enable-ubsan (copy of the tree in $san_dir)"
	mkdir -p "$san_dir"
	if tar -C "$root" --exclude=./.git --exclude='*.o' --exclude='*.a' --exclude=./src/albd \
		--exclude=./tests/fuzz/work --exclude=./tests/fuzz/fuzz_config --exclude=./tests/fuzz/fuzz_http1 \
		--exclude=./tests/fuzz/fuzz_http1_diff \
		--exclude=__pycache__ --exclude=.pytest_cache -cf - . | tar -C "$san_dir" -xf - &&
		(cd "$san_dir" && ./configure --enable-werror --enable-asan --enable-ubsan >configure.out &&
			make clean >/dev/null && make -j"$nproc"); then
		san_ok=1
	else
		tail -n 30 "$san_dir/configure.out" 2>/dev/null
		echo "test.sh: SANITIZER BUILD FAILED" >&2
		failed=$((failed + 1))
	fi
fi

if [ "$san_ok" = 1 ] && [ "${ALBD_SANITIZE:-1}" != 0 ]; then
	# abort at the first report (the e2e harness also fails the test whose
	# albd printed one); a smaller quarantine than ASan's 256 MB, which the
	# memory tests would otherwise count as albd's; libconfig's own leak on
	# some syntax errors is suppressed (tests/fuzz/lsan.supp).
	export ASAN_OPTIONS=quarantine_size_mb=16:halt_on_error=1:abort_on_error=1:detect_leaks=1:disable_coredump=1
	export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
	export LSAN_OPTIONS=suppressions=$root/tests/fuzz/lsan.supp
	section "unit tests (ASan+UBSan)"
	unit_tests "unit ASan+UBSan" "$san_dir"
	if [ -d tests/e2e ]; then
		e2e_all "e2e ASan+UBSan" "$san_dir/src/albd"
	fi
	unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
fi

fuzz_seconds=${ALBD_FUZZ_SECONDS:-60}
if [ "$san_ok" = 1 ] && [ "$fuzz_seconds" != 0 ]; then
	section "fuzz smoke (libFuzzer, $fuzz_seconds s per target, in parallel)"
	if (cd "$san_dir" && make fuzz); then
		pids=() names=()
		for t in "$san_dir"/tests/fuzz/fuzz_*; do
			[ -x "$t" ] || continue
			n=${t##*/}
			mkdir -p "$san_dir/tests/fuzz/work/$n"
			seeds=()
			[ "$n" = fuzz_config ] && seeds=("$root/conf")
			[ "$n" = fuzz_http1_diff ] && seeds=(-dict="$root/tests/fuzz/http1.dict" "$root/tests/fuzz/seeds/http1_diff")
			LSAN_OPTIONS=suppressions=$root/tests/fuzz/lsan.supp \
				timeout --kill-after=30 $((fuzz_seconds + 120)) \
				"$t" -max_total_time="$fuzz_seconds" -timeout=10 -print_final_stats=1 \
				-artifact_prefix="$san_dir/tests/fuzz/work/$n-" \
				"$san_dir/tests/fuzz/work/$n" "${seeds[@]}" </dev/null >"$tmp/$n.log" 2>&1 &
			pids+=($!) names+=("$n")
		done
		for i in "${!pids[@]}"; do
			n=${names[$i]}
			if wait "${pids[$i]}"; then
				echo "fuzz $n: passed ($(sed -n 's/^stat::number_of_executed_units: //p' "$tmp/$n.log") runs)"
				passed=$((passed + 1))
			else
				echo "fuzz $n: FAILED; the end of its output:" >&2
				tail -n 60 "$tmp/$n.log" >&2
				# the tree goes away at exit: show the crashing input (base64)
				for a in "$san_dir/tests/fuzz/work/$n-"*; do
					[ -f "$a" ] && echo "  ${a##*/} (base64): $(base64 -w0 "$a" | head -c 4000)" >&2
				done
				failed=$((failed + 1))
			fi
		done
		[ "${#pids[@]}" -eq 0 ] && { echo "test.sh: no fuzz target built" >&2; failed=$((failed + 1)); }
	else
		echo "test.sh: the fuzz targets did not build (clang with libFuzzer: clang, libclang-rt-14-dev)" >&2
		failed=$((failed + 1))
	fi
fi

# -------------------------------------------------------- distcheck
if [ "${ALBD_DISTCHECK:-0}" = 1 ]; then
	section "make distcheck"
	if make -j"$nproc" distcheck; then
		add "distcheck" 1 0 0
	else
		echo "test.sh: make distcheck failed" >&2
		add "distcheck" 0 1 0
	fi
fi

section "done"
echo
total
[ "$failed" -eq 0 ]
