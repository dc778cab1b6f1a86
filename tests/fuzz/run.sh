#!/bin/bash
# The libFuzzer harnesses of fuzz/, each for IOASID_FUZZ_SECONDS seconds
# (60 by default; `make fuzz` runs them longer) from a corpus generated
# from the ioctl table.  A crash, a leak, a sanitizer report or a hang
# fails the run; what made it is kept under FUZZ_BUILD/fuzz-artifacts/.
# Ends with "N passed, N failed, N skipped".
set -u
FUZZ=$(cd "${1:-build-fuzz}" && pwd)
BUILD=$(cd "${2:-build}" && pwd)
secs=${IOASID_FUZZ_SECONDS:-60}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
artifacts=$FUZZ/fuzz-artifacts
mkdir -p "$artifacts"
passed=0 failed=0 skipped=0

mkdir -p "$work/seed-dispatch" "$work/seed-wire"
if ! "$BUILD/fuzz/fuzz-seeds" "$work/seed-dispatch" "$work/seed-wire"; then
	echo "FAIL: fuzz: no seeds"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export ASAN_OPTIONS="detect_leaks=1"
for h in dispatch wire; do
	bin=$FUZZ/fuzz/fuzz-$h
	log=$work/$h.log
	mkdir -p "$work/corpus-$h"
	if [ ! -x "$bin" ]; then
		echo "FAIL: fuzz-$h: not built ($bin)"
		failed=$((failed + 1))
		continue
	fi
	if "$bin" -max_total_time="$secs" -timeout=30 -rss_limit_mb=4096 \
		-print_final_stats=1 -artifact_prefix="$artifacts/$h-" \
		"$work/corpus-$h" "$work/seed-$h" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		cov=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | grep -oE 'cov: [0-9]+' | tail -1)
		echo "ok: fuzz-$h: $runs runs in $secs s, $cov, nothing found"
		passed=$((passed + 1))
	else
		echo "FAIL: fuzz-$h (kept in $artifacts):"
		grep -vE '^ioasidd: ' "$log" | grep -A30 -E 'ERROR|runtime error|SUMMARY|deadly|timeout' | head -60 | sed 's/^/   /'
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
