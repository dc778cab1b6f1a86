#!/bin/bash
# Functional tests: real programs through the shim and the daemon of BUILD
# (an ASan build's daemon reports memory errors and leaks into a log, which
# fails the run).
set -u
BUILD=$(cd "${1:-build}" && pwd)
logdir=$(mktemp -d)
export ASAN_OPTIONS="log_path=$logdir/asan:detect_leaks=1"
export UBSAN_OPTIONS="print_stacktrace=1:log_path=$logdir/ubsan"
"$BUILD/ioasid-run" -- "$BUILD/tests/fd-semantics"
rc=$?
if ls "$logdir"/* >/dev/null 2>&1; then
	echo "sanitizer reports from the daemon:"
	cat "$logdir"/*
	echo "0 passed, 1 failed, 0 skipped"
	rc=1
fi
rm -rf "$logdir"
exit $rc
