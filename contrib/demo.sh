#!/bin/sh
# Makes a bundle from Debian's busybox-static in a temporary directory and
# runs a container from it with husk, printing what the container sees.
#   contrib/demo.sh [path/to/husk]
set -eu
husk=$(readlink -f "${1:-./husk}")
[ -x "$husk" ] || { echo "no husk binary at $husk: run make first" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "husk needs root (run the demo with sudo)" >&2; exit 1; }
dir=$(mktemp -d /tmp/husk-demo.XXXXXX)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/rootfs/bin" "$dir/rootfs/proc" "$dir/rootfs/sys" "$dir/rootfs/dev" "$dir/rootfs/tmp" "$dir/rootfs/etc"
cp /bin/busybox "$dir/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ "$applet" = busybox ] || ln -s busybox "$dir/rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/:/bin/sh' >"$dir/rootfs/etc/passwd"
echo 'root:x:0:' >"$dir/rootfs/etc/group"
cd "$dir"
"$husk" spec
# Not a terminal, and a command that shows the container's view (the $(...)
# and $$ are the container shell's, hence the single quotes).
# shellcheck disable=SC2016
sed -i -e 's/"terminal": true/"terminal": false/' \
	-e 's|"sh"|"sh", "-c", "echo hello from husk; echo hostname: $(hostname); echo pid: $$; id; mount \| head -3"|' config.json
"$husk" --root "$dir/state" run "demo-$$"
