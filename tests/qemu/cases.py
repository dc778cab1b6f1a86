#!/usr/bin/env python3
"""QEMU's vfio-pci on the I/OAT model, every way QEMU opens a device,
the device programmed by the test through its BAR, and a Linux guest's
own driver and dmatest driving it.

Each of the first cases starts unmodified QEMU under `ioasid-run
--device ioat`, lets the firmware (SeaBIOS) enumerate the bus, and asks
QEMU's monitor until the device shows with its BAR0 assigned; the
daemon's trace must show guest RAM mapped for DMA at IOVA =
guest-physical address 0, the way each path maps (VFIO_IOMMU_MAP_DMA
through a container, IOMMU_IOAS_MAP through iommufd).  The guest cases
boot Debian's kernel (see boot_guest).  QEMU may warn, never fail.

    cases.py BUILD_DIR QEMU
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

BUILD, QEMU = sys.argv[1], sys.argv[2]
ACCEL = "kvm" if os.access("/dev/kvm", os.R_OK | os.W_OK) else "tcg"
DEADLINE = 120  # seconds: a wedged run fails, it does not hang CI


class Monitor:
    """QEMU's human monitor on a unix socket."""

    def __init__(self, path, proc):
        self.sock = None
        end = time.monotonic() + DEADLINE
        while self.sock is None:
            if proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError("QEMU's monitor never came up")
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                self.sock = s
            except OSError:
                time.sleep(0.1)
        self.sock.settimeout(DEADLINE)
        self.read_prompt()

    def read_prompt(self):
        buf = b""
        while not buf.endswith(b"(qemu) "):
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("monitor closed")
            buf += chunk
        return buf.decode(errors="replace")

    def cmd(self, line):
        self.sock.sendall(line.encode() + b"\n")
        # The echo of the line comes back with terminal escapes; drop it.
        out = self.read_prompt()
        return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", out).replace("\r", "")

    def quit(self):
        try:
            self.sock.sendall(b"quit\n")
        except OSError:
            pass


def device_with_bar(pci):
    """BAR0's address in the device's entry of `info pci`, once it has one."""
    ours = False
    for line in pci.splitlines():
        if "PCI device" in line:
            ours = "PCI device 8086:2021" in line
        m = re.match(r"\s+BAR0: 64 bit memory at (0x[0-9a-f]+)", line)
        if ours and m:
            return m.group(1)
    return None


def failed(name, problems, out, tail):
    """Say what went wrong, with the end of what QEMU printed."""
    print("FAIL: qemu: %s" % name)
    for p in problems:
        print("   " + p)
    for l in out.splitlines()[-tail:]:
        print("   | " + l)
    return False


def run_case(name, qemu_args, wrap=None, maps_re=None):
    tmp = tempfile.mkdtemp(prefix="ioasid-qemu-")
    mon = os.path.join(tmp, "mon")
    trace = os.path.join(tmp, "trace")
    argv = [QEMU, "-machine", "q35,accel=" + ACCEL, "-m", "256",
            "-display", "none", "-nodefaults", "-serial", "none",
            "-monitor", "unix:%s,server=on,wait=off" % mon] + qemu_args
    if ACCEL == "kvm":
        argv[3:3] = ["-cpu", "host"]
    if wrap:
        argv = ["bash", "-c", wrap + ' exec "$@"', "bash"] + argv
    argv = [os.path.join(BUILD, "ioasid-run"), "--trace", trace,
            "--device", "ioat", "--"] + argv
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    problems = []
    bar = None
    try:
        m = Monitor(mon, proc)
        end = time.monotonic() + DEADLINE
        while bar is None and time.monotonic() < end and proc.poll() is None:
            bar = device_with_bar(m.cmd("info pci"))
            if bar is None:
                time.sleep(0.2)
        m.quit()
    except (RuntimeError, OSError) as e:
        problems.append(str(e))
    try:
        out, _ = proc.communicate(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        problems.append("QEMU did not quit")
    if proc.returncode != 0:
        problems.append("exit status %d" % proc.returncode)
    errors = [l for l in out.splitlines()
              if l.startswith("qemu-system") and "warning:" not in l]
    problems += errors
    if bar is None:
        problems.append("the device never showed with BAR0 assigned")
    try:
        with open(trace) as f:
            text = f.read()
    except OSError:
        text = ""
    if maps_re and not re.search(maps_re, text):
        problems.append("no DMA map of guest RAM at IOVA 0 in the trace")
    if problems:
        return failed(name, problems, out, 15)
    print("ok: qemu: %s (BAR0 at %s, %s)" % (name, bar, ACCEL))
    for l in out.splitlines():
        if "warning:" in l:
            print("   QEMU says: " + l)
    return True


CONTAINER_MAP = r"VFIO_IOMMU_MAP_DMA \{[^}]*iova=0[,}][^\n]*= 0\n"
IOAS_MAP = r"IOMMU_IOAS_MAP \{[^}]*iova=0[,}][^\n]*= 0\n"
CASES = [
    ("host= through a VFIO container (/dev/vfio/vfio, /dev/vfio/0)",
     ["-device", "vfio-pci,host=0000:00:04.0"], None, CONTAINER_MAP),
    ("host= with an iommufd object (/dev/vfio/devices/vfio0)",
     ["-object", "iommufd,id=i0",
      "-device", "vfio-pci,host=0000:00:04.0,iommufd=i0"], None, IOAS_MAP),
    ("fd= and an iommufd fd=, as a management tool passes them",
     ["-object", "iommufd,id=i0,fd=8",
      "-device", "vfio-pci,fd=7,iommufd=i0"],
     "exec 7<>/dev/vfio/devices/vfio0 8<>/dev/iommu;", IOAS_MAP),
]

def guest_argv(accel, append, quiet=True):
    kernel = os.environ.get("IOASID_GUEST_KERNEL")
    initrd = os.environ.get("IOASID_GUEST_INITRD")
    if not kernel or not initrd:
        return None
    argv = [QEMU, "-machine", "q35,accel=" + accel, "-m", "512",
            "-display", "none", "-nodefaults", "-serial", "stdio",
            "-no-reboot", "-kernel", kernel, "-initrd", initrd,
            "-append", "console=ttyS0 panic=-1 %s%s" %
            ("quiet " if quiet else "earlyprintk=ttyS0 ", append)]
    if accel == "kvm":
        argv[3:3] = ["-cpu", "host"]
    return argv


def run_guest(argv, timeout):
    """What the guest said ("ioasid-guest: " lines), all QEMU printed,
    and whether it powered off in time."""
    try:
        out = subprocess.run(argv, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True,
                             timeout=timeout).stdout
        done = True
    except subprocess.TimeoutExpired as e:
        out = e.stdout or ""
        if isinstance(out, bytes):
            out = out.decode(errors="replace")
        done = False
    said = [l[len("ioasid-guest: "):] for l in out.replace("\r", "").splitlines()
            if l.startswith("ioasid-guest: ")]
    return said, out, done


KVM_PROBE_S = 30


def kvm_boots():
    """None when Debian's kernel boots under this machine's KVM (to its
    init and back, with no device of ours: QEMU alone), else why not.
    Some nested set-ups stall it in its decompressor; a guest case under
    KVM is then skipped with that reason, never failed or passed."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "no usable /dev/kvm"
    argv = guest_argv("kvm", "ioasid.probe", quiet=False)
    if argv is None:
        return "no guest kernel and initramfs"
    said, out, done = run_guest(argv, KVM_PROBE_S)
    if done and "end" in said:
        return None
    last = [l for l in out.replace("\r", "").splitlines() if l.strip()]
    return ("Debian's kernel does not boot under this machine's KVM, "
            "without our device either (%s in %d s; it last said: %s)" %
            ("reached its init but did not finish" if said else
             "never reached its init", KVM_PROBE_S,
             last[-1] if last else "nothing"))


def boot_guest(device_args, append="", wrap=None, accel="tcg"):
    """Debian 12's kernel with the I/OAT model passed through, the daemon
    tracing; tests/qemu/guest-init reports lines "ioasid-guest: ..." and
    powers off.  What the guest said, everything QEMU printed, the
    daemon's account of the device's DMA (a match of the trace's event
    line, or None), and what went wrong."""
    argv = guest_argv(accel, append)
    if argv is None:
        return [], "", None, ["no guest kernel and initramfs"]
    trace = os.path.join(tempfile.mkdtemp(prefix="ioasid-qemu-"), "trace")
    argv += device_args
    if wrap:
        argv = ["bash", "-c", wrap + ' exec "$@"', "bash"] + argv
    argv = [os.path.join(BUILD, "ioasid-run"), "--trace", trace,
            "--device", "ioat", "--"] + argv
    problems = []
    said, out, done = run_guest(argv, 5 * DEADLINE)
    if not done:
        problems.append("the guest did not power off")
    if not any(re.match(r"pci 0000:00:0[0-9a-f]\.0 0x8086:0x2021$", l)
               for l in said):
        problems.append("the guest does not see the device")
    if "end" not in said:
        problems.append("the guest's script did not finish")
    problems += [l for l in out.splitlines()
                 if l.startswith("qemu-system") and "warning:" not in l]
    try:
        with open(trace) as f:
            text = f.read()
    except OSError:
        text = ""
    dma = re.search(r"^event: vfio0 0000:00:04\.0 ioat: unbound; DMA while "
                    r"bound: reads (\d+) \((\d+) bytes\), writes (\d+) "
                    r"\((\d+) bytes\), failures (\d+)$", text, re.M)
    if not dma:
        problems.append("the trace does not say what the device's DMA did")
    return said, out, dma, problems


IOMMUFD_HOST = ["-object", "iommufd,id=i0",
                "-device", "vfio-pci,host=0000:00:04.0,iommufd=i0"]
IOMMUFD_FD = (["-object", "iommufd,id=i0,fd=8",
               "-device", "vfio-pci,fd=7,iommufd=i0"],
              "exec 7<>/dev/vfio/devices/vfio0 8<>/dev/iommu;")


def poke_case(name, device_args, wrap=None):
    """The device programmed through its BAR by the test itself, as
    QEMU's qtest accelerator would do it if Debian's QEMU had one (it
    has only tcg and kvm): tests/qemu/guest-ioat, in a guest with no
    driver bound, turns on bus mastering, aims MSI-X vector 0 at a word
    of guest RAM, copies a page through the channel with an interrupt
    and a completion, and then points a descriptor at an IOVA nothing
    maps.  Its buffers are RAM the guest kernel leaves alone (mem=448M of
    512M): QEMU maps all of it for DMA at IOVA = guest-physical."""
    said, out, dma, problems = boot_guest(
        device_args, "mem=448M ioasid.poke=0x1c000000", wrap)
    checks = [l for l in said if l.startswith("guest-ioat: ")]
    problems += [l for l in checks if not l.startswith("guest-ioat: ok ")]
    if len(checks) < 8:
        problems.append("guest-ioat made %d of its 8 checks" % len(checks))
    # Descriptor, source and the bad source read; destination and
    # completion written: the MSI-X message is QEMU's, not the device's.
    if dma and (dma.group(1), dma.group(3), dma.group(5)) != ("3", "2", "1"):
        problems.append("the device's DMA, by the trace: " + dma.group(0))
    if problems:
        return failed(name, problems, out, 20)
    print("ok: qemu: %s" % name)
    print("   host  " + dma.group(0))
    return True


POKE_CASES = [
    ("a guest programs the device itself, by host= (TCG): a copy, its "
     "MSI-X, an unmapped IOVA's error", IOMMUFD_HOST, None),
    ("a guest programs the device itself, by fd= (TCG): a copy, its "
     "MSI-X, an unmapped IOVA's error", IOMMUFD_FD[0], IOMMUFD_FD[1]),
]

DMATEST_RUNS = 256  # tests/qemu/guest-init's iterations=
GUEST = "a Linux guest's ioatdma driver and dmatest copy through the device (%s)"


def guest_case(accel="tcg"):
    """The guest's own ioatdma driver probes the device (it resets the
    channel, starts it with a null descriptor, copies a buffer with an
    interrupt asked for and compares it, and gives up the device,
    "Self-test ... disabling", if any of that fails; a channel in
    /sys/class/dma means it all worked).  Then dmatest copies through
    that channel, random lengths and offsets, each completion by
    interrupt, and verifies every byte.  On the host, the daemon's trace
    says what the device's DMA did through the guest's domain."""
    name = GUEST % accel.upper()
    said, out, dma, problems = boot_guest(IOMMUFD_HOST, accel=accel)
    if "channel dma0chan0" not in said:
        problems.append("the driver made no channel of it")
    problems += [l for l in said if "Self-test" in l or "disabling" in l or
                 re.search(r"dmatest: .*result #", l)]
    summary = [m for m in (re.search(r"dmatest: dma0chan0-copy0: summary "
                                     r"(\d+) tests, (\d+) failures", l)
                           for l in said) if m]
    if not summary:
        problems.append("dmatest said nothing of dma0chan0")
    elif summary[0].group(1) != str(DMATEST_RUNS) or summary[0].group(2) != "0":
        problems.append("dmatest: %s tests, %s failures (%d runs asked)" %
                        (summary[0].group(1), summary[0].group(2),
                         DMATEST_RUNS))
    # Each copy reads its source and writes its destination and its
    # completion through the domain: at least one of each per test.
    if dma and (int(dma.group(1)) < DMATEST_RUNS or
                int(dma.group(3)) < DMATEST_RUNS or dma.group(5) != "0"):
        problems.append("the device's DMA, by the trace: " + dma.group(0))
    if problems:
        return failed(name, problems, out, 20)
    print("ok: qemu: %s" % name)
    for l in said:
        if l.startswith("dmesg:") and ("summary" in l or "QuickData" in l):
            print("   guest " + l)
    print("   host  " + dma.group(0))
    return True


# IOASID_QEMU_ONLY=TEXT runs only the cases whose name has TEXT in it
# (for working on one; the count says how many ran).
ONLY = os.environ.get("IOASID_QEMU_ONLY", "")
# (Counts apart from failed(), which the cases call on their way out.)
results = [run_case(name, args, wrap, maps)
           for name, args, wrap, maps in CASES if ONLY in name]
results += [poke_case(*c) for c in POKE_CASES if ONLY in c[0]]
if ONLY in GUEST % "TCG":
    results.append(guest_case("tcg"))
if ONLY in GUEST % "KVM":
    why = kvm_boots()
    if why:
        print("skip: qemu: %s: %s" % (GUEST % "KVM", why))
        results.append(None)
    else:
        results.append(guest_case("kvm"))
n_failed = results.count(False)
n_skipped = results.count(None)
print("qemu: %d passed, %d failed, %d skipped" %
      (len(results) - n_failed - n_skipped, n_failed, n_skipped))
sys.exit(1 if n_failed else 0)
