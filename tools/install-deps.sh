#!/bin/sh
# Install the Debian packages ioasid builds and tests with, if any is missing.
set -e
pkgs="meson ninja-build pkg-config gcc g++ liburcu-dev libcap-dev valgrind xz-utils groff-base clang-14 libclang-rt-14-dev pciutils uuid-dev libelf1"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing$missing"
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
