#!/usr/bin/env bash
# tests/vm/run.sh [--systemd] DIR SCRIPT [ARG...]
#
# Boots a throwaway qemu guest whose kernel (Debian's linux-image-amd64) has
# only cgroup v2, copies DIR into it, runs SCRIPT (a path in DIR, as root,
# in DIR's copy) with the ARGs (no newlines in them), streams its output and
# exits with its status. Guests:
#
#   plain      busybox initramfs as the root, no init system; cgroup2 at
#              /sys/fs/cgroup with every controller enabled in the root's
#              cgroup.subtree_control.
#   --systemd  a Debian image (mmdebstrap: minbase, systemd, dbus,
#              dbus-user-session, procps, podman, conmon, containerd)
#              with systemd as PID 1; SCRIPT runs
#              from a Delegate=yes service, in a leaf of its cgroup (the
#              unit's own cgroup has no processes and every controller
#              enabled for its children). The user tester (uid 1000)
#              lingers: its systemd instance (user@1000.service) starts at
#              boot, with its session bus at /run/user/1000/bus.
#
# Shared libraries of DIR's dynamic executables are copied in (where the
# guest lacks them). The guest has no network but loopback.
# Exit status: SCRIPT's; 124 if the guest timed out, 125 if it stopped
# without a status (the tail of its console is then printed). qemu is
# always killed when this script ends.
#
# Needs root and apt (installs qemu-system-x86, mmdebstrap... if missing);
# the kernel and the systemd image are cached in $HUSK_VM_CACHE.
# Knobs: HUSK_VM_CACHE=/var/tmp/husk-vm HUSK_VM_TIMEOUT=1200 (seconds)
#        HUSK_VM_MEM=2048 (MiB) HUSK_VM_CPUS=$(nproc) HUSK_VM_ACCEL=tcg|kvm
#        HUSK_VM_CONSOLE=1 (the guest's console on stderr)
set -euo pipefail

say() { echo "husk-vm: $*" >&2; }
systemd=0
if [[ ${1:-} == --systemd ]]; then systemd=1 && shift; fi
if (($# < 2)) || [[ ! -d $1 || ! -f $1/$2 ]]; then
	sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2
	exit 2
fi
dir=$(realpath "$1")
shift
cache=${HUSK_VM_CACHE:-/var/tmp/husk-vm}
here=$(dirname "$(realpath "$0")")
# Loaded at boot (with what they depend on); the others are not in the guest.
# CRIU (checkpoint/restore) probes nf_tables (fatal if missing), the
# socket diag modules when it starts.
modules="virtio_pci virtio_console virtio_blk crc32c_generic ext4 overlay null_blk
	nf_tables nft_compat xt_mark nf_conntrack_netlink unix_diag inet_diag tcp_diag udp_diag raw_diag
	netlink_diag af_packet_diag"

# --- the host's tools, the kernel and the systemd image (cached) ----------
apt_get() { DEBIAN_FRONTEND=noninteractive command apt-get -q -o DPkg::Lock::Timeout=600 "$@"; }
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v xz >/dev/null || need+=(xz-utils)
[[ -x /bin/busybox ]] && ! ldd /bin/busybox >/dev/null 2>&1 || need+=(busybox-static)
if ((systemd)); then
	command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
	command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
fi
if ((${#need[@]})); then
	say "installing ${need[*]}"
	apt_get update >/dev/null && apt_get install -y --no-install-recommends "${need[@]}" >/dev/null
fi

mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9 # one builder of the cache at a time

# $cache/kernel: vmlinux (or vmlinuz), kver, lib/modules/KVER with modules.dep.
kernel_pkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}'; }
if [[ ! -s $cache/kernel/kver ]]; then
	pkg=$(kernel_pkg)
	[[ -n $pkg ]] || { apt_get update >/dev/null && pkg=$(kernel_pkg); }
	say "fetching $pkg"
	tmp=$cache/kernel.tmp
	rm -rf "$tmp" && mkdir -p "$tmp/k/lib/modules" && chmod 777 "$tmp" # apt's _apt user writes there
	(cd "$tmp" && apt_get download "$pkg" >/dev/null)
	dpkg-deb -x "$tmp"/*.deb "$tmp/x"
	mv "$tmp"/x/{,usr/}lib/modules/* "$tmp/k/lib/modules/" 2>/dev/null || true
	kver=$(ls "$tmp/k/lib/modules")
	/bin/busybox depmod -b "$tmp/k" "$kver"
	echo "$kver" >"$tmp/k/kver"
	# An ELF vmlinux boots through its PVH entry point: no firmware bzImage
	# loader and no in-guest decompression (seconds under TCG).
	vmlinuz=$tmp/x/boot/vmlinuz-$kver
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -1 | cut -d: -f1)
	tail -c +$((${off:-0} + 1)) "$vmlinuz" | xz -dcq >"$tmp/k/vmlinux" 2>/dev/null || true
	[[ $(head -c4 "$tmp/k/vmlinux") == $'\x7fELF' ]] || { rm "$tmp/k/vmlinux" && cp "$vmlinuz" "$tmp/k/vmlinuz"; }
	rm -rf "$cache/kernel" && mv "$tmp/k" "$cache/kernel" && rm -rf "$tmp"
fi
# The image's name says what it holds: a new package list builds a new one.
# dbus-user-session: the session bus of a user's systemd instance
# (/run/user/UID/bus), for rootless --systemd-cgroup. podman, conmon and
# containerd (with runc, which both depend on): tests/clients'
# checkpoint/restore tests (make vm-clients); guest-init masks their
# units, so that nothing of theirs starts at boot.
sd_pkgs=systemd,systemd-sysv,dbus,dbus-user-session,procps,podman,conmon,containerd
img=$cache/systemd-${sd_pkgs//,/-}.img
if ((systemd)) && [[ ! -s $img ]]; then
	say "building the systemd image"
	tmp=$cache/image.tmp
	rm -rf "$tmp" && mkdir -p "$tmp"
	# The host's release, from its os-release.
	# shellcheck source=/dev/null
	codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
	# mmdebstrap mounts /proc and /sys in the new root: not in our namespace.
	unshare -m --propagation private mmdebstrap --variant=minbase --include="$sd_pkgs" \
		"$codename" "$tmp/root" >"$tmp/log" 2>&1 ||
		{ tail -n 20 "$tmp/log" >&2 && exit 1; }
	mkfs.ext4 -q -d "$tmp/root" "$tmp/img" 2G >/dev/null
	mv "$tmp/img" "$img" && rm -rf "$tmp"
fi
flock -u 9

# --- the initramfs: busybox, modules, /init, DIR and its libraries -------
run=$(mktemp -d /tmp/husk-vm.XXXXXX)
qemu_pid=
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	if [[ -n $qemu_pid ]]; then
		kill "$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
	fi
	rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

r=$run/root
mkdir -p "$r"/{bin,dev,etc,proc,sys,tmp,run,root,newroot,vmrun/sysroot}
ln -s bin "$r/sbin"
cp /bin/busybox "$r/bin/"
for a in $(/bin/busybox --list); do [[ $a == busybox ]] || ln -s busybox "$r/bin/$a"; done
cp "$here/guest-init" "$r/init"
kver=$(cat "$cache/kernel/kver")
md=$cache/kernel/lib/modules/$kver
for m in $modules; do
	deps=$(grep -E "(^|/)$m\.ko[.a-z]*:" "$md/modules.dep") || continue # built in
	echo "$m" >>"$r/etc/modules"
	for f in ${deps/:/}; do install -D -m 644 "$md/$f" "$r/lib/modules/$kver/$f"; done
done
cp "$md"/modules.* "$r/lib/modules/$kver/"
cp -a "$dir" "$r/vmrun/dir"
printf '%s\n' "$@" >"$r/vmrun/args"
find "$dir" -type f -perm -u+x -exec ldd {} \; 2>/dev/null | { grep -o '/[^ ]*' || true; } | sort -u |
	xargs -r cp -L --parents -t "$r/vmrun/sysroot"
(cd "$r" && find . -mindepth 1 | /bin/busybox cpio -o -H newc -R 0:0 2>/dev/null) >"$run/initrd"
rm -rf "$r"

# --- boot: the console on ttyS0, the output and the status on virtio ports
kernel=$cache/kernel/vmlinux
[[ -e $kernel ]] || kernel=$cache/kernel/vmlinuz
append="console=ttyS0 quiet panic=-1 cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 mitigations=off"
qemu=(qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot
	-machine pc -smp "${HUSK_VM_CPUS:-$(nproc)}" -m "${HUSK_VM_MEM:-2048}"
	-kernel "$kernel" -initrd "$run/initrd" -serial "file:$run/console"
	-device virtio-serial-pci
	-chardev "file,id=out,path=$run/out" -device "virtserialport,chardev=out,name=out"
	-chardev "file,id=status,path=$run/status" -device "virtserialport,chardev=status,name=status")
if [[ ${HUSK_VM_ACCEL:-tcg} == kvm ]]; then
	qemu+=(-accel kvm -cpu host)
else
	qemu+=(-accel "tcg,thread=multi" -cpu max)
fi
if ((systemd)); then
	qemu+=(-drive "file=$img,if=virtio,format=raw,snapshot=on,cache=unsafe")
	append+=" husk_vm=systemd"
fi
mode=$( ((systemd)) && echo systemd || echo plain)
timeout=${HUSK_VM_TIMEOUT:-1200}
: >"$run/out" && : >"$run/console"
start=$(date +%s.%N)
timeout -k 10 "$timeout" "${qemu[@]}" -append "$append" </dev/null >"$run/qemu.log" 2>&1 &
qemu_pid=$!
tail -n +1 -s 0.2 -f --pid="$qemu_pid" "$run/out" &
if [[ -n ${HUSK_VM_CONSOLE:-} ]]; then tail -n +1 -s 0.2 -f --pid="$qemu_pid" "$run/console" >&2 & fi
qemu_rc=0
wait "$qemu_pid" || qemu_rc=$?
qemu_pid=
wait # for tail
wall=$(echo "$start $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}')
status=$(tr -dc 0-9 <"$run/status" 2>/dev/null || true)
if [[ -z $status ]]; then
	if ((qemu_rc == 124)); then
		status=124 && say "timed out after ${timeout}s"
	else
		status=125 && say "the guest stopped without a status"
	fi
	cat "$run/qemu.log" >&2
	say "the end of its console:" && tail -n 30 "$run/console" >&2
fi
say "$mode guest: status $status after ${wall}s (boot and run)"
exit "$status"
