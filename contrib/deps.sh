#!/bin/sh
# Installs what building and testing husk needs on Debian/Ubuntu, if it is
# missing: a C compiler for the nsenter stage, libseccomp, busybox-static
# (the test and demo rootfs), the reference runtimes the benchmark and
# some tests compare against, and clang-format and shellcheck for `make
# lint`, man-db, zsh and fish for the tests of the man pages and the shell
# completions. Does nothing when everything is there.
# --clients: also the clients tests/clients drives (containerd, podman with
# conmon, docker; CNI plugins and iptables for the pods of TestCritest's
# containerd CRI plugin); their services are not started or enabled.
set -eu
need=""
if [ "${1:-}" = --clients ]; then
	command -v containerd >/dev/null 2>&1 || need="$need containerd"
	command -v podman >/dev/null 2>&1 || need="$need podman"
	command -v conmon >/dev/null 2>&1 || need="$need conmon"
	command -v dockerd >/dev/null 2>&1 || need="$need docker.io"
	[ -e /usr/lib/cni/bridge ] || need="$need containernetworking-plugins"
	# TestCritest: portmap's host ports are iptables rules; critest runs
	# ipcmk, nsenter enters the test's network namespace (util-linux).
	command -v iptables >/dev/null 2>&1 || need="$need iptables"
	command -v ipcmk >/dev/null 2>&1 || need="$need util-linux"
fi
command -v gcc >/dev/null 2>&1 || need="$need gcc"
# husk is linked statically: glibc's static archive.
[ -e "/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)/libc.a" ] || need="$need libc6-dev"
[ -e /usr/include/seccomp.h ] || need="$need libseccomp-dev"
# The rootfs needs a statically linked busybox (ldd fails on a static one).
if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then need="$need busybox-static"; fi
command -v runc >/dev/null 2>&1 || need="$need runc"
command -v crun >/dev/null 2>&1 || need="$need crun"
# The benchmark's resource rows: GNU time and strace.
[ -x /usr/bin/time ] || need="$need time"
command -v strace >/dev/null 2>&1 || need="$need strace"
# checkpoint/restore: CRIU (>= 3.17). It may not work on the host's kernel
# (its tests then skip); `make vm-test` copies it, GNU tar and iptables'
# nft multi-binary into the guests (tests/vm/criu.sh).
command -v criu >/dev/null 2>&1 || need="$need criu"
command -v xtables-nft-multi >/dev/null 2>&1 || need="$need iptables"
# Rootless containers with more than the user's own id use newuidmap.
command -v newuidmap >/dev/null 2>&1 || need="$need uidmap"
# `make lint` checks the C with clang-format (.clang-format) and the shell
# scripts with shellcheck.
command -v clang-format >/dev/null 2>&1 || need="$need clang-format"
command -v shellcheck >/dev/null 2>&1 || need="$need shellcheck"
# The tests of the man pages and of the shell completions (docgen_test.go)
# render the pages with man and run the scripts in bash, zsh and fish.
command -v man >/dev/null 2>&1 || need="$need man-db"
command -v zsh >/dev/null 2>&1 || need="$need zsh"
command -v fish >/dev/null 2>&1 || need="$need fish"
# The reference runtime the integration tests and the benchmark compare
# husk with: runc 1.5.3, built through the Go module proxy (Debian's runc is
# 1.1.5). RUNC_REF overrides where it goes.
refrunc() {
	ref=${RUNC_REF:-/usr/local/libexec/husk-test/runc}
	[ -x "$ref" ] && "$ref" --version 2>/dev/null | grep -q "^runc version $RUNC_VERSION\$" && return 0
	echo "building runc $RUNC_VERSION into $ref (go install, about a minute)" >&2
	mkdir -p "$(dirname "$ref")"
	tmp=$(mktemp -d)
	CGO_ENABLED=1 GOBIN="$tmp" GOFLAGS=-mod=mod go install -tags seccomp "github.com/opencontainers/runc@v$RUNC_VERSION" &&
		mv "$tmp/runc" "$ref"
	rc=$?
	rm -rf "$tmp"
	return $rc
}
RUNC_VERSION=1.5.3
[ -z "$need" ] && { refrunc; exit; }
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "husk needs:$need (install them, or run this as root on Debian/Ubuntu)" >&2
	exit 1
fi
echo "installing:$need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq -o DPkg::Lock::Timeout=600 >/dev/null
# policy-rc.d: installing docker.io or containerd must not start their
# services (the tests start private ones).
rcd=/usr/sbin/policy-rc.d
[ -e $rcd ] || { printf '#!/bin/sh\nexit 101\n' >$rcd; chmod 755 $rcd; trap 'rm -f $rcd' EXIT; }
# shellcheck disable=SC2086
apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends $need >/dev/null
refrunc
