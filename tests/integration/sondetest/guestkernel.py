# SPDX-License-Identifier: MIT
"""Debian's own kernel, booted under qemu, running this machine's files.

The eBPF probe must load and count on the kernels Debian releases run
(12: 6.1, 11: 5.10), which are not the kernel the test machines run. The
kernel comes from the release's package (linux-image-amd64, downloaded
with apt, signed by Debian's archive keys, not installed); the guest
mounts this machine's root read-only over 9p with a memory-backed
overlay on top, so it runs the sonde under test, the test
servers and the integration tests themselves, as root, on loopback. It gets
no network device and reaches nothing outside. Software emulation (TCG):
nested KVM is not available everywhere (it hangs on the test VMs), and the
tests here check counts, not speed.
"""

import gzip
import lzma
import os
import re
import shutil
import subprocess

from . import debarchive
from .util import HarnessError, run, which

PACKAGE = "linux-image-amd64"

# What the guest's /init must have to mount 9p and overlay (Debian builds
# them as modules); what they need first is read from the package's
# modules.dep, which differs between kernels. Paths under lib/modules/VERSION.
MODULES = ("kernel/drivers/virtio/virtio_pci", "kernel/net/9p/9pnet_virtio",
           "kernel/fs/9p/9p", "kernel/fs/overlayfs/overlay")

# Runs as PID 1 from the initramfs: the host's root becomes the guest's,
# writable in memory only, then GUEST_SCRIPT (on the shared result folder)
# runs with the kernel's own filesystems mounted, and the guest powers off.
INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in %(modules)s; do insmod /mod/$m.ko || echo "guest: insmod $m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000 host /host \
  || { echo "guest: cannot mount the host's root"; poweroff -f; }
mount -t tmpfs tmpfs /upper
mkdir -p /upper/u /upper/w
mount -t overlay overlay -o lowerdir=/host,upperdir=/upper/u,workdir=/upper/w /newroot \
  || { echo "guest: overlay failed"; poweroff -f; }
mkdir -p /newroot/guest-share
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 share /newroot/guest-share \
  || { echo "guest: cannot mount the result folder"; poweroff -f; }
exec switch_root /newroot /bin/sh /guest-share/stage2.sh
"""

# Runs as PID 1 on the guest's root (the host's files). The kernel's modules
# are where modprobe looks for them, so that what a Debian host loads on
# demand (inet_diag for ss, say) loads here too.
STAGE2 = r"""mkdir -p /lib/modules
ln -sfn %(modules)s /lib/modules/%(release)s
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t cgroup2 cgroup2 /sys/fs/cgroup
ip link set lo up
uname -r > /guest-share/uname
sh /guest-share/run.sh > /guest-share/run.log 2>&1
echo $? > /guest-share/run.rc
sync
echo o > /proc/sysrq-trigger
sleep 60
"""


def missing():
    """A plain reason why the guest cannot run here, or None."""
    if os.uname().machine != "x86_64":
        return "Debian's %s kernel and qemu-system-x86_64 need an x86_64 host" % PACKAGE
    for tool in ("qemu-system-x86_64", "apt-get", "dpkg-deb", "cpio", "depmod"):
        if not which(tool):
            return "%s not found (scripts/deps.sh test installs it)" % tool
    if not os.path.exists(debarchive.KEYRING):
        return "%s not found (debian-archive-keyring)" % debarchive.KEYRING
    if not os.path.exists("/bin/busybox"):
        return "/bin/busybox not found (busybox-static; scripts/deps.sh test installs it)"
    with open("/bin/busybox", "rb") as f:
        if b"/ld-linux" in f.read(4096):  # an ELF interpreter: not static
            return ("/bin/busybox is linked dynamically (Debian's busybox): the guest's "
                    "initramfs needs busybox-static")
    return None


def fetch(cache, suite):
    """Downloads and unpacks Debian `suite`'s kernel under `cache` (kept
    across runs). Returns (release, vmlinuz, its lib/modules/RELEASE)."""
    cache = os.path.abspath(cache)
    os.makedirs(cache, exist_ok=True)
    host = debarchive.host_suite()
    apt = debarchive.apt_options(cache, [suite] if suite == host else [suite, suite + "-security"])
    meta = debarchive.download(PACKAGE, cache, apt)
    depends = run(["dpkg-deb", "-f", meta, "Depends"], timeout=60)
    m = re.search(r"(linux-image-(\d[^\s,()]*))", depends)
    if not m:
        raise HarnessError("%s depends on no kernel image: %r" % (PACKAGE, depends))
    image, release = m.group(1), m.group(2)
    root = os.path.join(cache, release)
    vmlinuz = os.path.join(root, "boot", "vmlinuz-" + release)
    modules = os.path.join(root, "lib", "modules", release)
    if not os.path.exists(os.path.join(modules, "modules.dep")):
        deb = debarchive.download(image, cache, apt)
        shutil.rmtree(root, ignore_errors=True)
        run(["dpkg-deb", "-x", deb, root], timeout=600)
        # Debian 13's package puts them under usr/ (merged /usr): /lib is
        # a link to usr/lib there, as on such a system
        if not os.path.exists(os.path.join(root, "lib")):
            os.symlink("usr/lib", os.path.join(root, "lib"))
        # what the package's postinst would do: the index modprobe reads
        run(["depmod", "-b", root, release], timeout=600)
    # what an earlier kernel of the package left (each is ~0.5 GB unpacked)
    for entry in os.listdir(cache):
        if entry in (os.path.basename(meta), release, "apt") or entry.startswith(image + "_"):
            continue
        old = os.path.join(cache, entry)
        if os.path.isdir(old):
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.unlink(old)
    return release, vmlinuz, modules


# How a kernel package may compress its modules (Debian 13's are .ko.xz);
# the guest's insmod (busybox) takes them plain, so the initramfs gets
# them decompressed.
COMPRESSED = {".ko": None, ".ko.xz": "xz", ".ko.gz": "gzip", ".ko.zst": "zstd"}


def _module_name(rel):
    """(the module's path without its .ko suffix, its compression)."""
    for suffix in sorted(COMPRESSED, key=len, reverse=True):
        if rel.endswith(suffix):
            return rel[:-len(suffix)], COMPRESSED[suffix]
    raise HarnessError("%s: not a kernel module (modules.dep)" % rel)


def load_order(modules_dir, wanted):
    """The modules (paths under modules_dir, as modules.dep names them) to
    load for `wanted` (paths without a suffix; those built into the kernel
    are left out), each after those it needs, as modprobe would:
    modules.dep lists a module's needs with the deepest last."""
    deps = {}
    try:
        with open(os.path.join(modules_dir, "modules.dep")) as f:
            for line in f:
                name, _, needs = line.partition(":")
                deps[_module_name(name.strip())[0]] = (name.strip(), needs.split())
    except OSError as e:
        raise HarnessError("the kernel package's modules.dep: %s" % e)
    try:  # built into the kernel (Debian 13's virtio_pci): nothing to load
        with open(os.path.join(modules_dir, "modules.builtin")) as f:
            builtin = {_module_name(line.strip())[0] for line in f if line.strip()}
    except OSError:
        builtin = set()
    order = []
    for want in wanted:
        if want in builtin:
            continue
        if want not in deps:
            raise HarnessError("the kernel package has no %s module (modules.dep)" % want)
        rel, needs = deps[want]
        for r in list(reversed(needs)) + [rel]:
            if r not in order:
                order.append(r)
    return order


def _plain_module(path, out):
    """Writes the module at `path` to `out` decompressed."""
    kind = _module_name(path)[1]
    if kind is None:
        shutil.copy(path, out)
        return
    if kind == "zstd" and not which("zstd"):
        raise HarnessError("%s is zstd-compressed and there is no zstd command" % path)
    if kind == "zstd":
        with open(out, "wb") as f:
            subprocess.run(["zstd", "-q", "-d", "-c", path], stdout=f, check=True, timeout=60)
        return
    opener = lzma.open if kind == "xz" else gzip.open
    with opener(path, "rb") as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)


def initramfs(modules_dir, workdir):
    """Builds the guest's initramfs in `workdir`; returns its path."""
    tree = os.path.join(workdir, "initramfs")
    for d in ("bin", "mod", "proc", "sys", "dev", "host", "upper", "newroot"):
        os.makedirs(os.path.join(tree, d), exist_ok=True)
    shutil.copy("/bin/busybox", os.path.join(tree, "bin", "busybox"))
    names = []
    for rel in load_order(modules_dir, MODULES):
        name = os.path.basename(_module_name(rel)[0])
        _plain_module(os.path.join(modules_dir, rel), os.path.join(tree, "mod", name + ".ko"))
        names.append(name)
    init = os.path.join(tree, "init")
    with open(init, "w") as f:
        f.write(INIT % {"modules": " ".join(names)})
    os.chmod(init, 0o755)
    out = os.path.join(workdir, "initramfs.cpio")
    files = subprocess.run(["find", "."], cwd=tree, capture_output=True, text=True,
                           check=True).stdout
    with open(out, "wb") as f:
        subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=tree, input=files.encode(),
                       stdout=f, check=True, timeout=120)
    return out


def boot(release, vmlinuz, modules_dir, initrd, share, script, timeout, memory_mb=4096,
         cpus=None):
    """Boots the kernel; the guest runs `script` (shell, as root, this
    machine's files) with its output in share/run.log and its status in
    share/run.rc. Returns (status or None if it never finished, the
    guest's kernel release or None, the console's text).

    One vCPU unless `cpus` (or SONDE_KERNEL_CPUS) says otherwise: with two,
    test_ebpf_smoke in Debian 13's kernel took 105 s and 103 CPU-seconds
    here, with one 83 s and 78 (emulating two CPUs costs more than it
    gives), and no code is patched on one vCPU while another runs it (the
    suspect of a 6.12 guest's panic on 2026-12-07)."""
    if cpus is None:
        cpus = int(os.environ.get("SONDE_KERNEL_CPUS", "1"))
    with open(os.path.join(share, "stage2.sh"), "w") as f:
        f.write(STAGE2 % {"modules": modules_dir, "release": release})
    with open(os.path.join(share, "run.sh"), "w") as f:
        f.write(script)
    for stale in ("run.rc", "uname", "run.log"):
        if os.path.exists(os.path.join(share, stale)):
            os.unlink(os.path.join(share, stale))
    cmd = ["qemu-system-x86_64", "-accel", "tcg,thread=multi", "-cpu", "max",
           "-m", str(memory_mb), "-smp", str(cpus), "-nographic", "-no-reboot",
           "-nic", "none", "-kernel", vmlinuz, "-initrd", initrd,
           "-append", "console=ttyS0 quiet panic=-1",
           "-virtfs", "local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap",
           "-virtfs", "local,path=%s,mount_tag=share,security_model=none" % share]
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        console = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        console = (e.stdout or b"").decode(errors="replace") + "\n[qemu killed after %ds]" % timeout
    rc = status(share, "run.rc")
    uname = result(share, "uname")
    return rc, uname.strip() if uname is not None else None, console


def result(share, name):
    """The text the guest left in share/name, or None."""
    try:
        with open(os.path.join(share, name), errors="replace") as f:
            return f.read()
    except OSError:
        return None


def status(share, name):
    """The exit status the guest wrote to share/name, or None."""
    try:
        return int(result(share, name) or "")
    except ValueError:
        return None
