#!/bin/bash
# Unmodified QEMU against ioasid: the I/OAT model put in a VM by
# `-device vfio-pci` every way QEMU has (host= through a container,
# host= with iommufd=, fd= with an iommufd fd=), under ioasid-run; the
# device programmed through its BAR by a program in a guest (by host=
# and by fd=); and a Linux guest whose own ioatdma driver and dmatest
# copy through it.
#
#   tests/qemu/run.sh BUILD_DIR
#
# Needs QEMU with iommufd (8.2 or later).  Debian 12's own is 7.2: as
# root, QEMU is installed from bookworm-backports through a private apt
# configuration (the machine's own sources are left as they are).
# IOASID_QEMU=skip says on purpose not to run.  Ends with
# "qemu: N passed, N failed, N skipped".
set -u
BUILD=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
cache=${IOASID_QEMU_CACHE:-/var/cache/ioasid-qemu}
QEMU=${IOASID_QEMU_BIN:-qemu-system-x86_64}
say() { echo "qemu: $*"; }

if [ "${IOASID_QEMU:-}" = skip ]; then
	say "IOASID_QEMU=skip: QEMU was not run"
	say "0 passed, 0 failed, 1 skipped"
	exit 0
fi

has_iommufd() {
	"$QEMU" -object help 2>/dev/null | grep -qx '  *iommufd\|iommufd'
}

# A private apt configuration: the machine's sources and
# bookworm-backports, lists kept in the cache.
apt=()
apt_private() {
	local parts="$cache/apt/parts" f mirror
	[ ${#apt[@]} -ne 0 ] && return 0
	mkdir -p "$parts" "$cache/apt/lists/partial" || return 1
	rm -f "$parts"/*
	[ -s /etc/apt/sources.list ] && cp /etc/apt/sources.list "$parts/machine.list"
	for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -e "$f" ] && cp "$f" "$parts/"
	done
	mirror=$(grep -hE '^(URIs:|deb )' "$parts"/* 2>/dev/null |
		grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -1 | tr -d ' ')
	[ -n "$mirror" ] || return 1
	printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		"${mirror%/}" >"$parts/ioasid-backports.sources"
	apt=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$parts"
		-o Dir::State::Lists="$cache/apt/lists" -o APT::Sandbox::User=root
		# Snapshot mirrors serve Release files whose Valid-Until has
		# passed; for these sources, that is no reason to refuse them.
		-o Acquire::Check-Valid-Until=false)
	apt-get "${apt[@]}" -qq update >/dev/null 2>&1 || { apt=(); return 1; }
}

install_qemu() {
	[ "$(id -u)" -eq 0 ] && apt_private || return 1
	DEBIAN_FRONTEND=noninteractive apt-get "${apt[@]}" -y -qq --no-install-recommends \
		install -t bookworm-backports qemu-system-x86 >/dev/null 2>&1
}

# The guest: Debian 12's own kernel (its ioatdma and dca modules),
# busybox, and dmatest, which Debian's kernel does not build: it is built
# here from the same kernel's source package (linux-source), against its
# headers, with the host's gcc (Debian builds its kernel with the same
# gcc-12).  All downloaded (not installed) into the cache, every package
# checked by apt against the archive's signed hashes; the initramfs is
# made around tests/qemu/guest-init at each run.
guest_fetch() {
	local g="$cache/guest" tmp kpkg kver abi series hdr rc
	apt_private || return 1
	kpkg=$(apt-cache "${apt[@]}" depends linux-image-amd64 2>/dev/null |
		grep -oE 'linux-image-6[^ ]*-amd64' | head -1)
	kver=$(apt-cache "${apt[@]}" show --no-all-versions "$kpkg" 2>/dev/null |
		sed -n 's/^Version: //p' | head -1)
	[ -n "$kpkg" ] && [ -n "$kver" ] || return 1
	abi=${kpkg#linux-image-}; abi=${abi%-amd64}	# 6.1.0-56
	series=${abi%%.0-*}				# 6.1
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get "${apt[@]}" -qq download "$kpkg=$kver" busybox-static \
		"linux-headers-$abi-amd64=$kver" "linux-headers-$abi-common=$kver" \
		"linux-kbuild-$series=$kver" "linux-source-$series=$kver" \
		>/dev/null 2>&1) || { rm -rf "$tmp"; return 1; }
	mkdir -p "$tmp/x" "$tmp/m" "$g"
	for d in "$tmp"/*.deb; do
		case $d in *linux-source-*) continue ;; esac
		dpkg-deb -x "$d" "$tmp/x" || { rm -rf "$tmp"; return 1; }
	done
	hdr=$tmp/x/usr/src/linux-headers-$abi-amd64
	# Its Makefile names the common headers by absolute path.
	sed -i "s|/usr/src/|$tmp/x/usr/src/|" "$hdr/Makefile"
	dpkg-deb --fsys-tarfile "$tmp"/linux-source-*.deb |
		tar -xO "./usr/src/linux-source-$series.tar.xz" | xz -dc |
		tar -x -C "$tmp/m" --strip-components=3 \
			"linux-source-$series/drivers/dma/dmatest.c" &&
		echo 'obj-m := dmatest.o' >"$tmp/m/Kbuild" &&
		make -s -C "$hdr" M="$tmp/m" modules >"$tmp/build.log" 2>&1 &&
		strip --strip-debug "$tmp/m/dmatest.ko" &&
		cp "$tmp"/x/boot/vmlinuz-* "$g/vmlinuz" &&
		cp "$tmp/x/bin/busybox" "$g/busybox" &&
		cp "$(find "$tmp/x/lib/modules" -name dca.ko)" "$g/dca.ko" &&
		cp "$(find "$tmp/x/lib/modules" -name ioatdma.ko)" "$g/ioatdma.ko" &&
		cp "$tmp/m/dmatest.ko" "$g/dmatest.ko"
	rc=$?
	[ $rc -eq 0 ] || { say "building the guest's dmatest failed:"; tail -5 "$tmp/build.log" 2>/dev/null; }
	rm -rf "$tmp"
	return $rc
}

guest_assets() {
	local g="$cache/guest" tmp f
	for f in vmlinuz busybox dca.ko ioatdma.ko dmatest.ko; do
		[ -s "$g/$f" ] || { guest_fetch || return 1; break; }
	done
	tmp=$(mktemp -d)
	mkdir -p "$tmp/root/bin" "$tmp/root/mod" "$tmp/root/proc" "$tmp/root/sys" "$tmp/root/dev"
	# The guest's own program of the device (guest-ioat.c), static: the
	# initramfs has no libc.
	gcc -static -O2 -Wall -Werror -o "$tmp/root/bin/guest-ioat" "$here/guest-ioat.c" &&
		cp "$g/busybox" "$tmp/root/bin/" &&
		cp "$g/dca.ko" "$g/ioatdma.ko" "$g/dmatest.ko" "$tmp/root/mod/" &&
		install -m 755 "$here/guest-init" "$tmp/root/init" || return 1
	(cd "$tmp/root" && find . | "$g/busybox" cpio -o -H newc 2>/dev/null) |
		gzip >"$tmp/initrd.gz" || return 1
	export IOASID_GUEST_KERNEL="$g/vmlinuz" IOASID_GUEST_INITRD="$tmp/initrd.gz"
	guest_tmp=$tmp
}

if ! has_iommufd; then
	say "no QEMU with iommufd here: installing qemu-system-x86 from bookworm-backports"
	install_qemu
	if ! has_iommufd; then
		echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
		echo "!! qemu: NO QEMU WITH IOMMUFD, and it could not be installed" >&2
		echo "!! (root and Debian's bookworm-backports are needed);" >&2
		echo "!! IOASID_QEMU=skip says on purpose that it need not run." >&2
		echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
		say "0 passed, 1 failed, 0 skipped"
		exit 1
	fi
fi
say "$("$QEMU" --version | head -1)"
guest_tmp=
if ! guest_assets; then
	say "the guest's kernel and busybox could not be fetched: the guest case fails"
fi
trap '[ -n "$guest_tmp" ] && rm -rf "$guest_tmp"' EXIT

python3 "$here/cases.py" "$BUILD" "$QEMU"
