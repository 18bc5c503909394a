#!/bin/sh
# Runs tests/integration in a tests/vm guest: the cwd holds integration.test
# (`go test -c`), the runtime, busybox and helpers/ (the testdata programs),
# as `make vm-test` lays them out. Arguments: NAME=VALUE pairs for the
# environment first, then the test binary's flags, e.g.
#
#   itest.sh HUSK_BINARY=./husk HUSK_TEST_SYSTEMD=1 -test.run 'Kill|Delete'
while [ $# -gt 0 ]; do
	case $1 in
	*=*) export "${1:?}" && shift ;;
	*) break ;;
	esac
done
# CRIU and what it runs, where make vm-test brought them (tests/vm/criu.sh).
if [ -x bin/criu ]; then
	export PATH="$PWD/bin:$PATH" XTABLES_LIBDIR="$PWD/xtables"
fi
# The tests build their containers' rootfs from it.
[ -x /bin/busybox ] || cp busybox /bin/busybox
export HUSK_TEST_HELPERS="$PWD/helpers"
{
	./integration.test -test.v -test.count=1 "$@"
	echo $? >/tmp/itest.rc
} 2>&1 | tee /tmp/itest.log
echo "itest: $(grep -c '^--- PASS' /tmp/itest.log) passed," \
	"$(grep -c '^--- FAIL' /tmp/itest.log) failed," \
	"$(grep -c '^--- SKIP' /tmp/itest.log) skipped:" \
	"$(sed -n 's/^--- FAIL: \([^ ]*\).*/\1/p' /tmp/itest.log | tr '\n' ' ')"
exit "$(cat /tmp/itest.rc)"
