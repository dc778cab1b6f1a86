#!/bin/bash
# A system daemon shared by users who do not trust each other: ioasidd
# runs as root, and two unprivileged users, made for this run and removed
# after it, use it at the same time.  As the first: a page set does not
# follow its process into a setuid program (ours, built with the suite
# and made setuid root here); capabilities are the sender's when it sent,
# not those of the setuid program it then became; an O_PATH descriptor
# for the other user's 0600 file maps nothing.  Both users make objects up
# to the limit at once, each getting its own share.  Needs root (to make
# the users); ends with "N passed, N failed, N skipped".
set -u
BUILD=$(cd "${1:-build}" && pwd)
say() { echo "$@"; }
if [ "$(id -u)" -ne 0 ] || ! command -v useradd >/dev/null ||
	! command -v setpriv >/dev/null; then
	say "FAIL: a shared daemon's users: needs root, useradd and setpriv"
	say "0 passed, 1 failed, 0 skipped"
	exit 1
fi

dir=$(mktemp -d /tmp/ioasid-shared.XXXXXX)
users=()
dpid=
cleanup() {
	[ -n "$dpid" ] && kill -TERM "$dpid" 2>/dev/null && wait "$dpid"
	for u in "${users[@]}"; do userdel "$u" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT
chmod 755 "$dir"
for n in 1 2; do
	u="ioasid-t$n-$$"
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin --user-group "$u" || exit 1
	users+=("$u")
done
u1=${users[0]} u2=${users[1]}

# What the users run, where they can reach it (the build tree may sit in
# a directory only root may enter): the launcher finds the shim beside it.
mkdir -m 755 "$dir/bin"
install -m 755 "$BUILD/ioasid-run" "$BUILD/tests/fd-semantics" "$dir/bin/"
install -m 644 "$BUILD/libioasid-preload.so" "$dir/bin/"
# The setuid program: our own test program, a root-owned copy.
install -o root -g root -m 4755 "$BUILD/tests/fd-semantics" "$dir/suid-image"
# The second user's secret.
echo secret >"$dir/secret"
chown "$u2:$u2" "$dir/secret"
chmod 600 "$dir/secret"

mkfifo "$dir/ready"
IOASID_READY_FD=9 "$BUILD/ioasidd" --selftest --socket "$dir/s.sock" \
	--max-user-objects 100 9>"$dir/ready" &
dpid=$!
read -r -n1 _ <"$dir/ready"
chmod 666 "$dir/s.sock"

as() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$u" --clear-groups --inh-caps=-all -- \
		env IOASID_TEST_USER_OBJECTS=100 "$@"
}
as "$u1" env IOASID_TEST_SETUID="$dir/suid-image" \
	IOASID_TEST_SECRET="$dir/secret" \
	"$dir/bin/ioasid-run" --selftest --socket "$dir/s.sock" -- \
	"$dir/bin/fd-semantics" "stays with the image" \
	"rights are the sender's" "takes only what the descriptor" \
	"not its successor's" \
	"a user's objects" >"$dir/out1" 2>&1 &
p1=$!
as "$u2" "$dir/bin/ioasid-run" --selftest --socket "$dir/s.sock" -- \
	"$dir/bin/fd-semantics" "a user's objects" "fork shares" \
	"sender is gone" >"$dir/out2" 2>&1 &
p2=$!
wait "$p1"
wait "$p2"
passed=0 failed=0
for out in "$dir/out1" "$dir/out2"; do
	grep -v -E '^[0-9]+ passed, [0-9]+ failed' "$out" | sed "s/^/  /"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		continue
	fi
	set -- $line
	passed=$((passed + $1)) failed=$((failed + $3))
done
say "$passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
