#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every #include of src/ points down the layers ARCHITECTURE.md draws.

Inside libioasid, from the bottom: core < pt < {pages, iopt, iommu} <
{drivers, pci} < {models, vfio}.  pages, iopt and iommu are one layer (the kernel keeps its
iommufd flat); among them includes are free.  A driver sees the core,
pt and only the driver-facing headers of iommu/ (driver.h, domain.h);
the selftest's own driver (mock.c and the selftest files, which are
upstream's selftest.c) sees the internals, as upstream's does.  Outside
the library: the wire protocol includes nothing of ours, the shim only
the ABI half of the ioctl table, the daemon the public API and its named
core headers.  The public headers (include/) are anyone's.  Prints one
line per include that breaks this and exits non-zero.
"""
import pathlib
import re
import sys

top = pathlib.Path(sys.argv[1])
src = top / "src"
RANK = {"core": 0, "pt": 1, "pages": 2, "iopt": 2, "iommu": 2, "drivers": 3,
        "pci": 3, "models": 4, "vfio": 4}
DRIVER_FACING = {"iommu/driver.h", "iommu/domain.h"}
SELFTEST_DRIVER = re.compile(r"^drivers/(mock|selftest)")
ABI_HALF = {"core/ioctl_desc.h", "core/ioctl_def.h", "core/ioctls.def",
            "core/util.h", "core/vm_access.h"}
OUTSIDE = {
    "wire": set(),
    "faultinject": set(),
    "preload": {"wire"},
    "daemon": {"wire"},
}
OUTSIDE_CORE = {
    "preload": ABI_HALF,
    "daemon": ABI_HALF | {"core/rcu.h", "core/user_limits.h",
                          "core/locate.h", "core/event.h"},
}
include = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def resolve(f, name):
    """The file an include names, as src/-relative, or None if public."""
    for base in (f.parent, src):
        p = (base / name).resolve()
        if p.exists() and src.resolve() in p.parents:
            return p.relative_to(src.resolve()).as_posix()
    if (top / "include" / name).exists():
        return None
    return "?" + name


bad = checked = 0
for f in sorted(src.rglob("*")):
    if f.suffix not in (".c", ".h", ".def"):
        continue
    me = f.relative_to(src).as_posix()
    layer = me.split("/")[0]
    for name in include.findall(f.read_text()):
        target = resolve(f, name)
        checked += 1
        if target is None:
            continue
        to = target.split("/")[0]
        why = None
        if target.startswith("?"):
            why = "names no file"
        elif to == layer:
            continue
        elif layer in OUTSIDE:
            if to not in OUTSIDE[layer] and \
                    target not in OUTSIDE_CORE.get(layer, set()):
                why = f"{layer} may not use {target}"
        elif to not in RANK:
            why = f"the library may not use {to}/"
        elif RANK[to] > RANK[layer]:
            why = f"points up, from {layer} to {to}"
        elif layer == "drivers" and to == "iommu" and \
                target not in DRIVER_FACING and \
                not SELFTEST_DRIVER.match(me):
            why = "a driver sees only iommu/driver.h and iommu/domain.h"
        if why:
            print(f"{me}: #include \"{name}\": {why}")
            bad += 1
print(f"{checked} includes checked, {bad} against the layering")
sys.exit(1 if bad or checked < 100 else 0)
