#!/bin/bash
# `make install` into a fresh prefix, then the installed programs used as
# a user would: no ldconfig, no build tree, nothing on LD_LIBRARY_PATH.
# Ends with "N passed, N failed, N skipped".
set -u
BUILD=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
passed=0 failed=0 skipped=0

check() {
	local what=$1
	shift
	local out
	if out=$("$@" 2>&1); then
		echo "ok: install: $what"
		passed=$((passed + 1))
	else
		echo "FAIL: install: $what"
		echo "$out" | tail -20 | sed 's/^/   /'
		failed=$((failed + 1))
	fi
}

install_tree() {
	meson setup "$tmp/build" "$src" --prefix="$prefix" >/dev/null &&
		meson install -C "$tmp/build" >/dev/null
}
check "meson install into $prefix" install_tree
libexec=$prefix/libexec
unset LD_LIBRARY_PATH

check "ioasidd --version runs from the prefix" \
	env -i "$libexec/ioasidd" --version
check "ioasid-run --version" env -i "$prefix/bin/ioasid-run" --version
check "the installed ioasid-run serves a program" \
	env -i PATH=/usr/bin:/bin "$prefix/bin/ioasid-run" -- \
	"$BUILD/examples/dma-demo"
check "ioasid-run --selftest with the installed daemon" \
	env -i PATH=/usr/bin:/bin "$prefix/bin/ioasid-run" --selftest -- \
	"$BUILD/tests/mode-check" selftest

# A program linking the installed library, found by pkg-config.
links_libioasid() {
	local pc
	pc=$(dirname "$(find "$prefix" -name ioasid.pc | head -1)")
	cat >"$tmp/inproc.c" <<'PROG'
#include <ioasid/ioasid.h>
#include <ioasid/uapi/iommufd.h>
int main(void)
{
	struct ioasid_caller caller;
	struct ioasid_ctx *ctx = ioasid_ctx_new();
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	long rc = ioasid_caller_self(&caller) ? -1 :
		  ioasid_ctx_ioctl(ctx, &caller, IOMMU_IOAS_ALLOC,
				   (unsigned long)&a);

	ioasid_ctx_put(ctx);
	return rc == 0 && a.out_ioas_id == 1 ? 0 : 1;
}
PROG
	cc -o "$tmp/inproc" "$tmp/inproc.c" \
		$(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs ioasid) &&
		LD_LIBRARY_PATH=$(PKG_CONFIG_PATH=$pc pkg-config \
			--variable=libdir ioasid) "$tmp/inproc"
}
check "a program built with pkg-config ioasid links and runs" links_libioasid

# A daemon stopped by SIGTERM removes the socket it made.
stop_removes_socket() {
	local sock=$tmp/stop.sock pid ready
	mkfifo "$tmp/ready"
	IOASID_READY_FD=9 "$libexec/ioasidd" --socket "$sock" 9>"$tmp/ready" &
	pid=$!
	read -r -n1 ready <"$tmp/ready"
	[ "$ready" = 1 ] && [ -S "$sock" ] || return 1
	kill -TERM "$pid"
	wait "$pid" || return 1
	[ ! -e "$sock" ]
}
check "SIGTERM: the daemon removes its socket" stop_removes_socket

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
