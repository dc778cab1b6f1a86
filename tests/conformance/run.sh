#!/bin/bash
# Upstream conformance: build the Linux v7.2 iommufd selftests from Debian's
# linux-source-7.2 package (fetched at test time, never committed), run them
# under ioasid-run, and fail if any test in expected-pass does not pass.
#
#   tests/conformance/run.sh BUILD_DIR
#
# Files are cached outside the tree (IOASID_CONFORMANCE_CACHE, default
# /var/cache/ioasid-conformance).  Ends with "conformance: N passed, N failed,
# N skipped", where skipped counts upstream tests not yet expected to pass
# (not gated) and the harness's own SKIPs.
set -u
BUILD=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
cache=${IOASID_CONFORMANCE_CACHE:-/var/cache/ioasid-conformance}
expected="$here/expected-pass"
hashes="$here/upstream.sha256"
FILES="tools/testing/selftests/iommu/iommufd.c
tools/testing/selftests/iommu/iommufd_utils.h
tools/testing/selftests/iommu/iommufd_fail_nth.c
tools/testing/selftests/kselftest_harness.h
tools/testing/selftests/kselftest.h
drivers/iommu/iommufd/iommufd_test.h
include/uapi/linux/iommufd.h"

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
				$(for f in $FILES; do echo "linux-source-*/$f"; done) 2>/dev/null
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

# ok / not ok lines -> name status
awk '/^ok [0-9]+ /{ s = ($0 ~ /# SKIP/) ? "skip" : "pass"; print $3, s }
     /^not ok [0-9]+ /{ print $4, "fail" }' "$results"/*.tap | sort -u >"$results/all"

passed=0 failed=0 skipped=0 notyet=0
fails=()
while read -r name status; do
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
		*) notyet=$((notyet + 1)) ;;
		esac
	fi
done <"$results/all"
# A gated test that did not even report is a failure too.
while read -r name; do
	[ -z "$name" ] && continue
	if ! grep -q "^$name " "$results/all"; then
		failed=$((failed + 1))
		fails+=("$name (did not run)")
	fi
done <"$expected"

total=$(wc -l <"$results/all")
say "$total upstream tests ran; $notyet not yet expected to pass (not gated, counted as skipped)"
for f in "${fails[@]}"; do say "FAIL $f"; done
rm -rf "$results"
say "$passed passed, $failed failed, $((skipped + notyet)) skipped"
[ "$failed" -eq 0 ]
