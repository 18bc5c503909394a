#!/bin/sh
# tests/vm/criu.sh DIR: puts the host's CRIU, and the programs it runs,
# into DIR (a tests/vm payload), for checkpoint/restore in the guests:
#
#   DIR/bin/criu                the host's (Debian 12: 3.17), and in DIR/bin
#   tar                         GNU tar, which dumps a tmpfs's content
#                               (busybox's lacks its options)
#   iptables-restore,           xtables-nft-multi, which locks the
#   ip6tables-restore           container's network while it is dumped;
#   DIR/xtables/                its mark and standard extensions
#                               (XTABLES_LIBDIR)
#
# itest.sh puts DIR/bin on PATH. The kernel modules CRIU needs are in
# run.sh's list. Does nothing without a criu binary.
set -eu
command -v criu >/dev/null 2>&1 || exit 0
dir=$1
mkdir -p "$dir/bin" "$dir/xtables"
cp "$(command -v criu)" "$(command -v tar)" "$dir/bin/"
if x=$(command -v xtables-nft-multi); then
	cp "$x" "$dir/bin/"
	ln -sf xtables-nft-multi "$dir/bin/iptables-restore"
	ln -sf xtables-nft-multi "$dir/bin/ip6tables-restore"
	for e in libxt_mark libxt_standard; do
		cp /usr/lib/*/xtables/$e.so "$dir/xtables/"
	done
fi
