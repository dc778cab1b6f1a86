#!/bin/bash
# Functional tests: real programs through the shim and the daemon of BUILD
# (an ASan build's daemon reports memory errors and leaks into a log, which
# fails the run).  Ends with "N passed, N failed, N skipped" over all runs.
set -u
BUILD=$(cd "${1:-build}" && pwd)
logdir=$(mktemp -d)
export ASAN_OPTIONS="log_path=$logdir/asan:detect_leaks=1"
export UBSAN_OPTIONS="print_stacktrace=1:log_path=$logdir/ubsan"
passed=0 failed=0 skipped=0 rc=0
if ldd "$BUILD/ioasidd" 2>/dev/null | grep -q libasan; then
	export IOASID_DAEMON_SANITIZED=1
fi

# Run one program (its last line is its counts) and add up.
run() {
	local out line
	out=$("$@" 2>&1)
	[ $? -eq 0 ] || rc=1
	echo "$out" | grep -v -E '^[0-9]+ passed, [0-9]+ failed'
	line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		return
	fi
	set -- $line
	passed=$((passed + $1)) failed=$((failed + $3)) skipped=$((skipped + $5))
}

run "$BUILD/ioasid-run" --selftest -- "$BUILD/tests/fd-semantics"
# Random sequences of every ioctl, through the shim and the wire.
echo "-- random ioctl sequences:"
run "$BUILD/ioasid-run" --selftest -- "$BUILD/tests/random-via-shim"
# Both again with every connection's requests through its request slot
# from its second on (wire/slot.h), not from its sixteenth.
echo "-- the same through request slots from the start:"
run env IOASID_SLOT_AFTER=1 "$BUILD/ioasid-run" --selftest -- \
	"$BUILD/tests/fd-semantics"
run env IOASID_SLOT_AFTER=1 "$BUILD/ioasid-run" --selftest -- \
	"$BUILD/tests/random-via-shim"
run env IOASID_SLOT_AFTER=1 "$BUILD/ioasid-run" --device ioat --device dsa -- \
	"$BUILD/tests/vfio-device"
# A VFIO device (the I/OAT model) as a userspace driver uses one.
echo "-- a VFIO device through the shim and the daemon:"
run "$BUILD/ioasid-run" --device ioat --device dsa -- "$BUILD/tests/vfio-device"
# Unmodified lspci finds it where the kernel puts it.
if out=$("$BUILD/ioasid-run" --device ioat --device ioat,bdf=0000:00:07.0,group=5 -- \
	lspci -nn -v 2>&1) &&
	echo "$out" | grep -q '00:04.0 .*\[8086:2021\]' &&
	echo "$out" | grep -q '00:07.0 .*\[8086:2021\]' &&
	echo "$out" | grep -q 'IOMMU group 5' &&
	echo "$out" | grep -q 'Kernel driver in use: vfio-pci'; then
	echo "ok: lspci -v lists the devices"
	passed=$((passed + 1))
else
	echo "FAIL: lspci -v lists the devices"
	echo "$out" | sed 's/^/  /'
	failed=$((failed + 1))
	rc=1
fi
# The test hooks: served in test mode only, by the daemon and the shim.
echo "-- test mode and normal mode:"
run "$BUILD/ioasid-run" --selftest -- "$BUILD/tests/mode-check" selftest
run "$BUILD/ioasid-run" -- "$BUILD/tests/mode-check" normal
run "$BUILD/ioasid-run" -- env IOASID_SELFTEST=1 \
	"$BUILD/tests/mode-check" normal-daemon
# A daemon whose users each get 8 of its descriptors, 100 objects and
# 1 MiB of its memory.
echo "-- a user's share of the daemon's descriptors, objects and memory:"
qdir=$(mktemp -d)
mkfifo "$qdir/ready"
IOASID_READY_FD=9 "$BUILD/ioasidd" --selftest --socket "$qdir/q.sock" \
	--max-user-files 8 --max-user-objects 100 --max-user-memory 1M \
	9>"$qdir/ready" &
qpid=$!
read -r -n1 _ <"$qdir/ready"
run env IOASID_TEST_USER_FILES=8 IOASID_TEST_USER_OBJECTS=100 \
	IOASID_TEST_USER_MEMORY=1 \
	"$BUILD/ioasid-run" --selftest --socket "$qdir/q.sock" -- \
	"$BUILD/tests/fd-semantics" "a user's share" "a user's objects" \
	"a user's memory"
kill -TERM "$qpid"
wait "$qpid"
rm -rf "$qdir"

# A system daemon two unprivileged users share (made for the run).
echo "-- a daemon shared by two users:"
run "$(dirname "$0")/shared.sh" "$BUILD"

# The load test: another client is served while one user churns 1000
# connections, stalls the daemon's question about its memory, and makes
# objects until its limit (a daemon that asks every client about its
# memory, so that the stall exists).
echo "-- a daemon under load:"
ldir=$(mktemp -d)
mkfifo "$ldir/ready"
IOASID_MEMORY_CALLBACK=always IOASID_READY_FD=9 "$BUILD/ioasidd" \
	--socket "$ldir/l.sock" --max-user-objects 2000 9>"$ldir/ready" &
lpid=$!
read -r -n1 _ <"$ldir/ready"
run "$BUILD/ioasid-run" --socket "$ldir/l.sock" -- \
	"$BUILD/bench/bench-contention" --check
kill -TERM "$lpid"
wait "$lpid" || { echo "FAIL: the loaded daemon did not stop cleanly"; failed=$((failed + 1)); }
rm -rf "$ldir"

# The daemon under ThreadSanitizer (the plain build has it): the programs
# whose clients and files it serves from many threads at once; any race
# or lock-order report it writes fails the run.
if [ -x "$BUILD/tests/ioasidd-tsan" ]; then
	echo "-- the daemon under ThreadSanitizer:"
	tdir=$(mktemp -d)
	mkfifo "$tdir/ready"
	TSAN_OPTIONS="log_path=$tdir/tsan second_deadlock_stack=1" \
		IOASID_READY_FD=9 "$BUILD/tests/ioasidd-tsan" --selftest \
		--socket "$tdir/t.sock" --max-user-objects 2000 --device ioat --device dsa,mdev=1 \
		9>"$tdir/ready" &
	tpid=$!
	read -r -n1 _ <"$tdir/ready"
	for prog in fd-semantics random-via-shim; do
		run env IOASID_DAEMON_SANITIZED=1 IOASID_DAEMON_PID="$tpid" \
			IOASID_SLOT_AFTER=1 \
			"$BUILD/ioasid-run" --selftest --socket "$tdir/t.sock" -- \
			"$BUILD/tests/$prog"
	done
	# A device's engine, interrupts and binding, from many threads (the
	# DSA here is mediated: its DMA goes by the access).
	run "$BUILD/ioasid-run" --socket "$tdir/t.sock" -- "$BUILD/tests/vfio-device"
	kill -TERM "$tpid"
	wait "$tpid"
	if ls "$tdir"/tsan* >/dev/null 2>&1; then
		echo "FAIL: ThreadSanitizer reports from the daemon:"
		cat "$tdir"/tsan*
		failed=$((failed + 1))
	else
		echo "ok: no ThreadSanitizer report from the daemon"
		passed=$((passed + 1))
	fi
	rm -rf "$tdir"
fi

# Every way to reach /dev/iommu, from our program and from coreutils.
echo "-- the shim's coverage:"
run "$BUILD/ioasid-run" --selftest -- "$BUILD/tests/shim-coverage"
tool_case() {
	local what=$1
	shift
	if out=$("$BUILD/ioasid-run" -- "$@" 2>&1); then
		echo "ok: coreutils: $what"
		passed=$((passed + 1))
	else
		echo "FAIL: coreutils: $what: $out"
		failed=$((failed + 1))
	fi
}
tool_case "ls -l /dev/iommu" sh -c 'ls -l /dev/iommu | grep -q "^crw-rw---- .* 10, *126 "'
tool_case "stat /dev/iommu" sh -c '[ "$(stat -c "%F %t:%T" /dev/iommu)" = "character special file a:7e" ]'
tool_case "test -c /dev/iommu" test -c /dev/iommu
tool_case "ls /dev/ioasid" ls /dev/ioasid

# Capabilities once more with daemon and program in a user namespace of
# their own, whose root holds all of them: the granted side of the check.
if unshare --user --map-root-user true 2>/dev/null; then
	echo "-- in a user namespace of their own:"
	run unshare --user --map-root-user "$BUILD/ioasid-run" --selftest -- \
		"$BUILD/tests/fd-semantics" capabilities
else
	echo "-- no user namespaces here: the granted side is not checked"
	skipped=$((skipped + 1))
fi

# Once more with a daemon that reaches no client memory itself (as when
# clients belong to users it may not ptrace): it must ask the clients.
echo "-- with the memory callback for every byte outside a request:"
run env IOASID_MEMORY_CALLBACK=always "$BUILD/ioasid-run" --selftest -- \
	"$BUILD/tests/fd-semantics" DMA "first request" "errno contract" \
	"fault queue" "access fds" "stalling its memory callback"

# The example `make run` shows: it exits 0 only if every step did.
echo "-- the DMA example (make run):"
if "$BUILD/ioasid-run" -- "$BUILD/examples/dma-demo"; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
fi

# The decoder, on a recorded run of the example: each line as it must read.
echo "-- ioasid-run --trace:"
trace_case() {
	if grep -qE "$1" "$logdir/trace"; then
		echo "ok: trace: $2"
		passed=$((passed + 1))
	else
		echo "FAIL: trace: $2"
		cat "$logdir/trace"
		failed=$((failed + 1))
	fi
}
"$BUILD/ioasid-run" --trace "$logdir/trace" -- "$BUILD/examples/dma-demo" >/dev/null
trace_case '^pid [0-9]+ tid [0-9]+: IOMMU_IOAS_ALLOC \{size=12, flags=0, out_ioas_id=0=>1\} = 0$' \
	"an out field, before and after"
trace_case 'IOMMU_IOAS_MAP \{size=40, flags=IOMMU_IOAS_MAP_WRITEABLE\|IOMMU_IOAS_MAP_READABLE, ioas_id=1, user_va=0x[0-9a-f]+, length=0x10000, iova=0=>0x[0-9a-f]+\} = 0$' \
	"flags by name"
trace_case 'IOMMU_IOAS_IOVA_RANGES \{.*num_iovas=4=>2, allowed_iovas=0x[0-9a-f]+=\[\{start=0, last=0xfedfffff\}, \{start=0xfef00000, last=0xffffffffffff\}\], out_iova_alignment=0=>0x1000\} = 0$' \
	"a pointer followed to the elements it returned"
trace_case 'IOASID_DEVICE_DMA \{.*flags=IOASID_DMA_WRITE.*uptr=0x[0-9a-f]+\[22 bytes: 77 72 69 74 ' \
	"a byte buffer"
trace_case 'IOASID_DEVICE_DMA \{.*length=0x8, .*\} = -1 ENOENT \(No such file or directory\)$' \
	"an error by name"
rm -f "$logdir/trace"
# Device and group files' ioctls too, by the table of their own file.
"$BUILD/ioasid-run" --trace "$logdir/trace" --device ioat --device dsa -- \
	"$BUILD/tests/vfio-device" >/dev/null
trace_case ': VFIO_DEVICE_BIND_IOMMUFD \{argsz=24, flags=0, iommufd=[0-9]+, out_devid=0=>[0-9]+, token_uuid_ptr=0\} = 0$' \
	"a device file's bind, made through the iommufd connection"
trace_case ': VFIO_DEVICE_SET_IRQS \{argsz=24, flags=VFIO_IRQ_SET_DATA_EVENTFD\|VFIO_IRQ_SET_ACTION_TRIGGER, index=2, start=0, count=0x1\} = 0$' \
	"a device file's own ioctl"
trace_case ': VFIO_GROUP_GET_DEVICE_FD\("0000:00:05.0"\) = -1 ENODEV' \
	"a group's ioctl, with the name it was given"
trace_case ': VFIO_GROUP_SET_CONTAINER\(\[[0-9]+\]\) = 0$' \
	"the container a group joins"
trace_case '^event: vfio0 0000:00:04\.0 ioat: unbound; DMA while bound: reads [1-9][0-9]* \([1-9][0-9]* bytes\), writes [1-9][0-9]* \([1-9][0-9]* bytes\), failures 1$' \
	"what a device's DMA did while it was bound, failures included"
rm -f "$logdir/trace"

# The worked example of ioasid(7), compiled from the page's own text
# against our <linux/iommufd.h>, run on a daemon in normal mode.
echo "-- the example of ioasid(7):"
src=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$logdir/ex/linux"
cp "$src/include/ioasid/uapi/iommufd.h" "$logdir/ex/linux/"
sed -n '/^\.EX/,/^\.EE/p' "$src/man/ioasid.7" | sed '1d;$d' |
	sed 's/\\-/-/g; s/\\e/\\/g' >"$logdir/ex/basic.c"
if cc -Wall -Wextra -Werror -I"$logdir/ex" -o "$logdir/ex/basic" \
	"$logdir/ex/basic.c" && "$BUILD/ioasid-run" -- "$logdir/ex/basic"; then
	echo "ok: the example of ioasid(7)"
	passed=$((passed + 1))
else
	echo "FAIL: the example of ioasid(7)"
	failed=$((failed + 1))
fi
rm -rf "$logdir/ex"

# ioasid-run refuses to run PROG without a daemon that serves: exit 127,
# PROG never started, the reason said.
launcher_case() {
	local what=$1 want=$2
	shift 2
	local out status
	out=$("$@" 2>&1)
	status=$?
	if [ "$status" -eq 127 ] && ! echo "$out" | grep -q PROG-RAN &&
		echo "$out" | grep -q "$want"; then
		echo "ok: ioasid-run: $what"
		passed=$((passed + 1))
	else
		echo "FAIL: ioasid-run: $what (status $status): $out"
		failed=$((failed + 1))
	fi
}
echo "-- the launcher:"
launcher_case "--socket PATH with no daemon there" "no daemon at" \
	"$BUILD/ioasid-run" --socket "$logdir/none.sock" -- echo PROG-RAN
fake=$(mktemp -d)
cp "$BUILD/ioasid-run" "$BUILD/libioasid-preload.so" "$fake/"
printf '#!/bin/sh\nexit 3\n' >"$fake/ioasidd"
chmod +x "$fake/ioasidd"
launcher_case "a daemon that exits before serving" "status 3 before serving" \
	"$fake/ioasid-run" -- echo PROG-RAN
rm -rf "$fake"

if ls "$logdir"/* >/dev/null 2>&1; then
	echo "sanitizer reports from the daemon:"
	cat "$logdir"/*
	failed=$((failed + 1))
fi
rm -rf "$logdir"
[ "$failed" -eq 0 ] || rc=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $rc
