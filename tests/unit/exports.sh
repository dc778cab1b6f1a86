#!/bin/bash
# libioasid.so exports exactly the functions <ioasid/ioasid.h> declares
# IOASID_API, all under the version node of src/libioasid.map, and each
# has a manual page (named in some man3 page's NAME line).
set -u
lib=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=0

sed -n 's/^IOASID_API [^(]*[ *]\(ioasid_[a-z_]*\)(.*/\1/p' \
	"$src/include/ioasid/ioasid.h" | sort >"$tmp/header"
sed -n 's/^\t\(ioasid_[a-z_]*\);$/\1/p' "$src/src/libioasid.map" | sort >"$tmp/map"
# Defined dynamic symbols with their versions; the node's own name aside.
nm -D --defined-only --with-symbol-versions "$lib" |
	awk '$2 != "A" { print $3 }' | sort >"$tmp/nm"
sed 's/@.*//' "$tmp/nm" >"$tmp/exported"

report() {
	echo "$1:"
	sed 's/^/   /' "$2"
	bad=1
}
diff -u "$tmp/header" "$tmp/map" >"$tmp/d1" || report "header vs map" "$tmp/d1"
diff -u "$tmp/map" "$tmp/exported" >"$tmp/d2" || report "map vs nm -D" "$tmp/d2"
grep -v '@@IOASID_0.1$' "$tmp/nm" >"$tmp/unversioned" &&
	report "exported outside the IOASID_0.1 node" "$tmp/unversioned"
for f in $(cat "$tmp/header"); do
	grep -A3 '^\.SH NAME' "$src"/man/man3/*.3 | grep -qw "$f" ||
		{ echo "no manual page names $f"; bad=1; }
done
echo "$(wc -l <"$tmp/header") public functions, $(wc -l <"$tmp/nm") exported"
exit $bad
