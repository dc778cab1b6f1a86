#!/bin/bash
# Upstream conformance: build the Linux v7.2 iommufd and VFIO selftests from
# Debian's linux-source-7.2 package (fetched at test time, never committed),
# run them under ioasid-run (the VFIO ones against an I/OAT model,
# --device ioat, the device and driver tests also against a DSA model),
# and fail if any test in expected-pass does not pass.
#
#   tests/conformance/run.sh BUILD_DIR
#
# Files are cached outside the tree (IOASID_CONFORMANCE_CACHE, default
# /var/cache/ioasid-conformance).  Ends with "conformance: N passed, N failed,
# N skipped", where skipped counts the harness's own SKIPs and the failures
# known-fail lists with their reasons; any other failure fails the run.
set -u
BUILD=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
cache=${IOASID_CONFORMANCE_CACHE:-/var/cache/ioasid-conformance}
expected="$here/expected-pass"
known="$here/known-fail"
hashes="$here/upstream.sha256"
# The files the hashes pin, and the headers the VFIO tests build with
# (tools/include, taken as they come: the build needs them, the tests are
# not in them).
FILES=$(awk '{ print $2 }' "$hashes")
BUILD_ONLY="tools/include/* tools/arch/x86/include/*"
say() { echo "conformance: $*"; }
unavailable() {
	echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
	echo "!! conformance: UPSTREAM SELFTESTS UNAVAILABLE: $*" >&2
	echo "!! The upstream conformance suite did not run; IOASID_CONFORMANCE=skip" >&2
	echo "!! says on purpose that it need not." >&2
	echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
	say "0 passed, 1 failed, 0 skipped"
	exit 1
}

# Opting out is a decision of the user's, and reads as one: skipped.
if [ "${IOASID_CONFORMANCE:-}" = skip ]; then
	say "IOASID_CONFORMANCE=skip: the upstream suite was not run"
	say "0 passed, 0 failed, 1 skipped"
	exit 0
fi

# The machine's own Debian mirror, from its apt sources.
mirror() {
	local uri
	uri=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
		/etc/apt/sources.list.d/*.list 2>/dev/null |
		grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -1 | tr -d ' ')
	echo "${uri%/}"
}

fetch() {
	local m apt src
	m=$(mirror)
	[ -n "$m" ] || return 1
	mkdir -p "$cache/apt/lists/partial" "$cache/apt/archives/partial" || return 1
	src="$cache/apt/sid.sources"
	printf 'Types: deb\nURIs: %s\nSuites: sid\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$m" >"$src"
	apt=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=/dev/null
		-o Dir::Etc::sourcelist="$src" -o Dir::State::Lists="$cache/apt/lists"
		-o Dir::Cache::Archives="$cache/apt/archives" -o APT::Sandbox::User=root
		# Snapshot mirrors serve Release files whose Valid-Until has
		# passed; for these sources, that is no reason to refuse them.
		-o Acquire::Check-Valid-Until=false)
	apt-get "${apt[@]}" -qq update >/dev/null 2>&1 || return 1
	# linux-source-7.2 itself, else a newer 7.x whose files hash the same.
	local pkg
	for pkg in linux-source-7.2 $(apt-cache "${apt[@]}" pkgnames linux-source-7. 2>/dev/null |
		grep -vx linux-source-7.2 | sort -V); do
		(cd "$cache" && apt-get "${apt[@]}" -qq download "$pkg" >/dev/null 2>&1) || continue
		local deb
		deb=$(ls -t "$cache"/${pkg}_*.deb 2>/dev/null | head -1)
		[ -n "$deb" ] || continue
		rm -rf "$cache/src.new" && mkdir -p "$cache/src.new"
		local tarball
		tarball=$(dpkg-deb -c "$deb" | grep -oE '\./usr/src/linux-source-[0-9.]+\.tar\.xz')
		dpkg-deb --fsys-tarfile "$deb" | tar -xO "$tarball" |
			tar -xJ -C "$cache/src.new" --strip-components=1 --wildcards \
				$(for f in $FILES $BUILD_ONLY; do echo "linux-source-*/$f"; done) 2>/dev/null
		if (cd "$cache/src.new" && sha256sum --quiet -c "$hashes" >/dev/null 2>&1); then
			rm -rf "$cache/src" && mv "$cache/src.new" "$cache/src"
			rm -f "$deb"
			say "using upstream files from $pkg"
			return 0
		fi
		say "$pkg: files do not match the v7.2 hashes, not used"
		rm -f "$deb"
	done
	return 1
}

if ! (cd "$cache/src" 2>/dev/null && sha256sum --quiet -c "$hashes" >/dev/null 2>&1); then
	fetch || unavailable "could not obtain linux-source-7.2 from the Debian mirror"
fi

# Build against the upstream uAPI header shipped in the same package.
bin="$cache/bin"
mkdir -p "$bin/inc/linux"
cp "$cache/src/include/uapi/linux/iommufd.h" "$bin/inc/linux/"
for t in iommufd iommufd_fail_nth; do
	if [ ! -x "$bin/$t" ] || [ "$cache/src/tools/testing/selftests/iommu/$t.c" -nt "$bin/$t" ]; then
		gcc -D_GNU_SOURCE= -O2 -w -I"$bin/inc" -I"$cache/src/tools/testing/selftests" \
			-o "$bin/$t" "$cache/src/tools/testing/selftests/iommu/$t.c" -lcap ||
			unavailable "the upstream selftests did not build"
	fi
done

# The VFIO selftests and their library.  Built as the kernel's Makefile
# would, with two differences for Debian 12's headers and v7.2's own
# slip: __counted_by, which its <linux/stddef.h> lacks, reads as nothing;
# calloc_assert, which the library calls and no header of v7.2 defines,
# is a calloc that aborts on failure (glue.h, written here).
vsrc="$cache/src/tools/testing/selftests/vfio"
vbin="$bin/vfio"
VFIO_TESTS="vfio_iommufd_setup_test vfio_pci_device_test vfio_dma_mapping_test
vfio_dma_mapping_mmio_test vfio_pci_driver_test vfio_pci_device_init_perf_test
vfio_pci_sriov_uapi_test"
mkdir -p "$vbin/inc/linux"
cp "$cache/src/include/uapi/linux/vfio.h" "$cache/src/include/uapi/linux/idxd.h" \
	"$cache/src/include/uapi/linux/iommufd.h" "$cache/src/include/linux/pci_ids.h" \
	"$vbin/inc/linux/"
printf '#include <stdlib.h>\nstatic inline void *calloc_assert(size_t n, size_t size)\n{\n\tvoid *p = calloc(n, size);\n\n\tif (!p)\n\t\tabort();\n\treturn p;\n}\n' >"$vbin/glue.h"
vcflags=(-D_GNU_SOURCE '-D__counted_by(x)=' -include "$vbin/glue.h" -O2 -w
	-I"$vbin/inc" -I"$cache/src/tools/include"
	-I"$cache/src/tools/arch/x86/include" -I"$vsrc/lib/include"
	-I"$cache/src/tools/testing/selftests")
if [ ! -x "$vbin/vfio_pci_driver_test" ] || [ "$vsrc/lib/vfio_pci_device.c" -nt "$vbin/vfio_pci_driver_test" ]; then
	objs=()
	for f in "$vsrc"/lib/*.c; do
		gcc "${vcflags[@]}" -c "$f" -o "$vbin/lib_$(basename "$f" .c).o" ||
			unavailable "the VFIO selftests' library did not build"
		objs+=("$vbin/lib_$(basename "$f" .c).o")
	done
	gcc "${vcflags[@]}" -I"$cache/src/drivers/dma/ioat" -c "$vsrc/lib/drivers/ioat/ioat.c" \
		-o "$vbin/lib_ioat.o" || unavailable "the VFIO selftests' ioat driver did not build"
	gcc "${vcflags[@]}" -I"$cache/src/drivers/dma/idxd" -c "$vsrc/lib/drivers/dsa/dsa.c" \
		-o "$vbin/lib_dsa.o" || unavailable "the VFIO selftests' dsa driver did not build"
	for t in $VFIO_TESTS; do
		gcc "${vcflags[@]}" "$vsrc/$t.c" "${objs[@]}" "$vbin/lib_ioat.o" "$vbin/lib_dsa.o" \
			-o "$vbin/$t" -luuid -pthread || unavailable "$t did not build"
	done
fi

# Huge pages for the tests that map MAP_HUGETLB memory (128 MiB at most),
# given back as found when the run ends.
hugepages=$(cat /proc/sys/vm/nr_hugepages)
if [ "$(id -u)" -eq 0 ] && [ "$hugepages" -lt 80 ]; then
	trap 'echo "$hugepages" >/proc/sys/vm/nr_hugepages 2>/dev/null || true' EXIT
	echo 80 >/proc/sys/vm/nr_hugepages 2>/dev/null || true
fi

# The suite needs a root holding every capability (RLIMIT_MODE wants
# CAP_SYS_RESOURCE).  Where this root lacks some, as in containers that
# drop CAP_SYS_RESOURCE from the bounding set, run daemon and tests together
# in a fresh user namespace: its root holds all capabilities there, and
# ioasidd judges capabilities within the namespace it serves.
wrap=()
capeff=$(awk '/^CapEff:/{print $2}' /proc/self/status)
if (( (0x$capeff & 0x1ffffffffff) != 0x1ffffffffff )); then
	if unshare --user --map-root-user true 2>/dev/null; then
		wrap=(unshare --user --map-root-user)
		say "root lacks some capabilities (CapEff $capeff): running in a user namespace"
	else
		say "root lacks some capabilities (CapEff $capeff) and no user namespace is available"
	fi
fi

results=$(mktemp -d)
for t in iommufd iommufd_fail_nth; do
	(cd "$results" && timeout 3000 "${wrap[@]}" "$BUILD/ioasid-run" --selftest -- "$bin/$t" >"$results/$t.tap" 2>"$results/$t.err")
done
# The VFIO ones, each against a fresh I/OAT function at 0000:00:04.0.
for t in $VFIO_TESTS; do
	(cd "$results" && VFIO_SELFTESTS_BDF=0000:00:04.0 timeout 600 "${wrap[@]}" \
		"$BUILD/ioasid-run" --device ioat -- "$vbin/$t" >"$results/$t.tap" 2>"$results/$t.err")
done

# The device and driver tests against a DSA model too; their names
# carry "dsa:" in front.
for t in vfio_pci_device_test vfio_pci_driver_test; do
	(cd "$results" && VFIO_SELFTESTS_BDF=0000:00:04.0 timeout 600 "${wrap[@]}" \
		"$BUILD/ioasid-run" --device dsa -- "$vbin/$t" >"$results/dsa.$t.tap" 2>"$results/dsa.$t.err")
done

# ok / not ok lines -> name status
awk 'FNR == 1 { p = (FILENAME ~ /\/dsa\.[^\/]*$/) ? "dsa:" : "" }
     /^ok [0-9]+ /{ s = ($0 ~ /# SKIP/) ? "skip" : "pass"; print p $3, s }
     /^not ok [0-9]+ /{ print p $4, "fail" }' "$results"/*.tap | sort -u >"$results/all"

passed=0 failed=0 skipped=0 known_fails=0
fails=()
while read -r name status; do
	class=$status
	if grep -qxF "$name" "$expected"; then
		case $status in
		pass) passed=$((passed + 1)) ;;
		skip) skipped=$((skipped + 1)) ;;
		*) failed=$((failed + 1)); fails+=("$name") ;;
		esac
	else
		case $status in
		pass) passed=$((passed + 1)); say "NEW PASS (add to expected-pass): $name" ;;
		skip) skipped=$((skipped + 1)) ;;
		*)
			why=$(awk -v n="$name" '$1 == n { $1 = ""; sub(/^ +/, ""); print; exit }' "$known")
			if [ -n "$why" ]; then
				known_fails=$((known_fails + 1))
				class=skip
				say "known failure: $name ($why)"
			else
				failed=$((failed + 1))
				fails+=("$name (in neither expected-pass nor known-fail)")
			fi ;;
		esac
	fi
	echo "$name $class" >>"$results/classed"
done <"$results/all"

# Counts per program and, for the VFIO ones, per IOMMU mode (the
# variant's name starts with it: iommufd_compat_type1v2_anonymous...).
awk '{
	n = split($1, part, ".")
	mode = ""
	if (n > 2 && part[1] ~ /^(dsa:)?vfio_/)
		if (match(part[2], /^(vfio_type1v2_iommu|vfio_type1_iommu|iommufd_compat_type1v2|iommufd_compat_type1|iommufd)/))
			mode = " " substr(part[2], RSTART, RLENGTH)
	key = part[1] mode
	c[key, $2]++
	keys[key] = 1
}
END {
	for (k in keys)
		printf "conformance:   %s: %d passed, %d failed, %d skipped\n", k,
			c[k, "pass"], c[k, "fail"], c[k, "skip"]
}' "$results/classed" | sort
# A gated test that did not even report is a failure too.
while read -r name; do
	[ -z "$name" ] && continue
	if ! grep -q "^$name " "$results/all"; then
		failed=$((failed + 1))
		fails+=("$name (did not run)")
	fi
done <"$expected"

total=$(wc -l <"$results/all")
say "$total upstream tests ran; $known_fails known failures (known-fail, counted as skipped)"
for f in "${fails[@]}"; do say "FAIL $f"; done
rm -rf "$results"
say "$passed passed, $failed failed, $((skipped + known_fails)) skipped"
[ "$failed" -eq 0 ]
