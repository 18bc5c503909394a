#!/bin/sh
# Runs tests/clients in the tests/vm systemd guest, as `make vm-clients`
# lays it out: the cwd holds the runtime, busybox, bin/ and xtables/ (CRIU
# and what it runs, tests/vm/criu.sh), tests/clients/clients.test (`go test
# -c`) and docs/ (the snippets the tests read, at ../../docs from the test
# binary, as in the source tree). Arguments: NAME=VALUE pairs for the
# environment first, then the test binary's flags, e.g.
#
#   ctest.sh HUSK_BINARY=/vmrun/dir/husk -test.run Checkpoint
while [ $# -gt 0 ]; do
	case $1 in
	*=*) export "${1:?}" && shift ;;
	*) break ;;
	esac
done
# CRIU is run by the runtime, which conmon starts with PATH set to its
# default (podman's conmon_env_vars) and no XTABLES_LIBDIR: CRIU's programs
# go in /usr/local/bin, the xtables extensions where xtables looks.
if [ -x bin/criu ]; then
	for f in bin/*; do ln -sf "$PWD/$f" /usr/local/bin/; done
	for d in /usr/lib/*-linux-gnu; do
		mkdir -p "$d/xtables" && cp xtables/* "$d/xtables/"
	done
fi
# The tests make their image from it.
[ -x /bin/busybox ] || cp busybox /bin/busybox
cd tests/clients || exit 1
{
	./clients.test -test.v -test.count=1 "$@"
	echo $? >/tmp/ctest.rc
} 2>&1 | tee /tmp/ctest.log
echo "ctest: $(grep -c -- '--- PASS' /tmp/ctest.log) passed," \
	"$(grep -c -- '--- FAIL' /tmp/ctest.log) failed," \
	"$(grep -c -- '--- SKIP' /tmp/ctest.log) skipped:" \
	"$(sed -n 's/^ *--- FAIL: \([^ ]*\).*/\1/p' /tmp/ctest.log | tr '\n' ' ')"
exit "$(cat /tmp/ctest.rc)"
