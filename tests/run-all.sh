#!/bin/bash
# Every test suite of the project, with one closing line:
#   N passed, N failed, N skipped
# Exits non-zero if anything failed.
set -u
BUILD=${1:-build}
BUILD_ASAN=${2:-build-asan}
BUILD_FUZZ=${3:-build-fuzz}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
cd "$top"

passed=0 failed=0 skipped=0
failures=()

# Run a meson test invocation and add its counts to the totals.
meson_suite() {
	local label=$1
	shift
	local log
	log=$(mktemp)
	echo "== $label"
	meson test "$@" --print-errorlogs >"$log" 2>&1
	local ok fail skip to xpass
	ok=$(awk '/^Ok:/{print $2}' "$log")
	fail=$(awk '/^Fail:/{print $2}' "$log")
	to=$(awk '/^Timeout:/{print $2}' "$log")
	xpass=$(awk '/^Unexpected Pass:/{print $3}' "$log")
	skip=$(awk '/^Skipped:/{print $2}' "$log")
	grep -E '^ *[0-9]+/[0-9]+ ' "$log" | sed 's/^/   /'
	if [ -z "$ok" ]; then
		echo "   (meson test did not run)"
		tail -20 "$log"
		failed=$((failed + 1))
		failures+=("$label")
	else
		# A TAP test counts its cases: "N subtests passed" each, and a
		# case it skipped ("# SKIP" in its output) as skipped.
		local sub plain subskip dir
		sub=$(grep -oE '[0-9]+ subtests passed' "$log" | awk '{ n += $1 } END { print n + 0 }')
		plain=$(grep -E '^ *[0-9]+/[0-9]+ .* OK ' "$log" | grep -vc 'subtests passed')
		dir=$(echo "$*" | sed -n 's/.*-C \([^ ]*\).*/\1/p')
		subskip=$(grep -cE '^ok [0-9]+ .*# SKIP' "$dir/meson-logs/testlog.txt" 2>/dev/null)
		passed=$((passed + sub + plain))
		failed=$((failed + fail + to + xpass))
		skipped=$((skipped + skip + ${subskip:-0}))
		if [ $((fail + to + xpass)) -ne 0 ]; then
			failures+=("$label")
			grep -A40 -E 'stderr|Summary of Failures' "$log" | head -80
		fi
	fi
	rm -f "$log"
}

# Add the counts a script printed on its own closing line.
script_suite() {
	local label=$1
	shift
	local log rc
	log=$(mktemp)
	echo "== $label"
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	local line
	line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		failures+=("$label (no result line)")
	else
		local p f s
		p=$(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')
		f=$(echo "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
		s=$(echo "$line" | grep -oE '[0-9]+ skipped' | grep -oE '[0-9]+' || echo 0)
		passed=$((passed + p))
		failed=$((failed + f))
		skipped=$((skipped + ${s:-0}))
		if [ "$f" -ne 0 ] || [ "$rc" -ne 0 ]; then
			failures+=("$label")
			[ "$f" -eq 0 ] && failed=$((failed + 1))
		fi
	fi
	rm -f "$log"
}

meson_suite "unit tests" -C "$BUILD" --suite unit
# Checks of the tree and the built files (exports, the shim's calls,
# manual pages): once, not under each sanitizer.
meson_suite "static checks" -C "$BUILD" --suite static
# Undefined behaviour fails a test, as a leak or a bad access does.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
meson_suite "unit tests under ASan+UBSan" -C "$BUILD_ASAN" --suite unit
unset UBSAN_OPTIONS
meson_suite "unit tests under valgrind" -C "$BUILD" --suite unit \
	--wrapper 'valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect' \
	--timeout-multiplier 10

meson_suite "the DMA stress test under TSan" -C "$BUILD" --suite tsan

script_suite "functional tests (shim + daemon)" tests/functional/run.sh "$BUILD"
script_suite "functional tests, daemon under ASan+UBSan" tests/functional/run.sh "$BUILD_ASAN"
script_suite "fuzzers (60 s each)" tests/fuzz/run.sh "$BUILD_FUZZ" "$BUILD"
script_suite "make install into a fresh prefix" tests/install/run.sh "$BUILD"
script_suite "upstream conformance" tests/conformance/run.sh "$BUILD"
script_suite "unmodified QEMU on a VFIO device" tests/qemu/run.sh "$BUILD"

echo
if [ ${#failures[@]} -ne 0 ]; then
	echo "failed suites: ${failures[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
