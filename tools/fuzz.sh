#!/bin/sh
# tools/fuzz.sh PKG:FuzzName... - run each Go fuzz target for $FUZZTIME.
#
# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline
# exceeded" at the -fuzztime boundary, having found nothing (golang/go#75804,
# fixed in Go 1.27): a race between its deadline and a busy worker. That
# failure, with no failing input written, is run once more; any other
# failure, or that one twice, fails.
set -u
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
for t in "$@"; do
	pkg=${t%%:*}
	name=${t#*:}
	try=1
	while :; do
		out=$("$GO" test -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1)
		rc=$?
		printf '%s\n' "$out"
		[ "$rc" -eq 0 ] && break
		if [ "$try" -eq 1 ] && printf '%s\n' "$out" | grep -qx '    context deadline exceeded' &&
			! printf '%s\n' "$out" | grep -q 'Failing input written to'; then
			echo "fuzz: $name: the fuzz coordinator's own deadline race (golang/go#75804), no failing input: once more"
			try=2
			continue
		fi
		exit 1
	done
done
