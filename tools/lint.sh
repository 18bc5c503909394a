#!/bin/sh
# `make lint`: staticcheck over every package (both modules), deadcode over
# what the husk binary's main reaches (both pinned in tools/go.mod, fetched
# through the Go module proxy), clang-format for the C (.clang-format), and
# the shell scripts through shellcheck. Any finding fails, except those listed
# in tools/lint-known; a line there that no longer matches a finding fails
# too, so none outlives its fix.
#
# GO is the go command, TAGS the build tags of the husk binary.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
TAGS=${TAGS:-}
tools=$PWD/tools/go.mod

for t in clang-format shellcheck; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "lint: $t is not installed (run contrib/deps.sh, or make deps)" >&2
		exit 1
	}
done

out=$(mktemp)
trap 'rm -f "$out"' EXIT
{
	"$GO" tool -modfile="$tools" staticcheck -tags "$TAGS" ./... || true
	(cd tests/conformance && "$GO" tool -modfile="$tools" staticcheck ./...) | sed 's|^|tests/conformance/|' || true
	"$GO" tool -modfile="$tools" deadcode -tags "$TAGS" . ./libcontainer/initproto/genplan || true
	for f in libcontainer/nsenter/*.c libcontainer/nsenter/*.h libcontainer/signals/*.c libcontainer/timerslack/*.[ch] libcontainer/prefault/*.c tests/clients/testdata/*.c; do
		# plan_ops.h is generated from Go (go generate ./libcontainer/initproto).
		[ "$f" = libcontainer/nsenter/plan_ops.h ] && continue
		clang-format --dry-run --Werror "$f" >/dev/null 2>&1 ||
			echo "$f: not clang-formatted (clang-format -i $f)"
	done
	# contrib/completions/bash/husk is generated (make man), and checked too.
	shellcheck -f gcc contrib/*.sh contrib/completions/bash/husk tests/vm/*.sh tests/vm/guest-init tests/bench/bench.sh .ci/run tools/lint.sh tools/fuzz.sh || true
} >"$out" 2>&1

# A finding is "path:line:col: message"; tools/lint-known lists it as
# "path: message" (no line and column, which move as the code does).
awk -v known=tools/lint-known '
BEGIN {
	while ((getline l < known) > 0)
		if (l !~ /^#/ && l !~ /^[ \t]*$/)
			k[l] = 0
}
{
	n = $0
	sub(/:[0-9]+:[0-9]+: /, ": ", n)
	if (n in k) {
		k[n]++
		next
	}
	print
	bad = 1
}
END {
	for (l in k)
		if (k[l] == 0) {
			print "tools/lint-known: no longer found, remove it: " l
			bad = 1
		}
	exit bad
}' "$out" || {
	echo "lint: FAIL" >&2
	exit 1
}
echo "lint: ok"
