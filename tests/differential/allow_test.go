package differential

import "regexp"

// allowance explains a difference between husk and runc 1.5.3 for one
// category of mutation (gen_test.go), recognised by what the refusing
// runtime said.
type allowance struct {
	category string         // a mutation name (or a prefix of names, up to a dot)
	errRe    *regexp.Regexp // what the refusing runtime says
	reason   string
}

// huskOnlyRefusals: runc 1.5.3 runs the config, husk refuses it. Only a
// field husk cannot honour on this host may be listed here, never a value
// that means "unset". It is empty: every such difference the differential
// found had no host reason and was fixed in husk instead (docker's zero
// resources, ociVersion, user.username, mappings without a user
// namespace, empty or relative masked paths, device paths outside /dev,
// sysctl names in the slash form, hook timeouts <= 0, cpu quotas below -1,
// a container without mounts: see TestConvertAcceptsWhatRuncAccepts and
// the integration tests named in the report). Where this host lacks what a
// field needs (AppArmor, SELinux, Intel RDT, net_cls, net_prio, rdma,
// hugetlb in v1, cgroup v2 for unified, blkio weights), runc 1.5.3
// refuses the config too: both-refused.
var huskOnlyRefusals = []allowance{}

// runcOnlyRefusals: husk runs the config, runc 1.5.3 refuses it.
var runcOnlyRefusals = []allowance{
	{"process.terminal", regexp.MustCompile(`open /dev/tty: no such device or address`),
		"looser on purpose: `run` in the foreground with process.terminal proxies the pty through husk's stdio, terminal or not; runc 1.5.3 needs a controlling terminal of its own (/dev/tty), which the suite has not"},
	{"linux.mountLabel", regexp.MustCompile(`context=.*invalid argument`),
		"looser on purpose: without SELinux on the host husk ignores linux.mountLabel (as crun); runc 1.5.3 passes context= to the kernel, which refuses the mount"},
	{"resources.devices", regexp.MustCompile(`device access at \d+ field cannot be empty`),
		"looser on purpose: runtime-spec makes linux.resources.devices[].access optional; husk reads an absent one as rwm (as crun), runc 1.5.3 refuses it"},
	{"mounts.bind", regexp.MustCompile(`bind mounts cannot have any filesystem-specific options`),
		"looser on purpose: husk ignores filesystem options (mode=, size=) on a bind mount with a warning, as crun, and as the OCI validation suite's mounts program needs; runc 1.5.3 refuses them"},
	{"mounts.bind", regexp.MustCompile(`no such device`),
		"looser on purpose: husk binds a mount of type \"bind\" that has no bind/rbind option (as crun); runc 1.5.3 passes \"bind\" to mount(2) as a filesystem type: ENODEV"},
	{"process.rlimits", regexp.MustCompile(`^runtime: out of memory`),
		"runc 1.5.3's init is Go and sets the rlimits before its exec: under a small RLIMIT_AS its runtime now and then needs a new block and dies (\"runtime: out of memory\", exit 2; 2 runs of 102 with 4096 bytes here) where it otherwise execs the workload, which the limit then kills (exit 139). husk's init is C and allocates nothing after setting them: the workload's exit 139 every time"},
}

// pendingMessages are husk refusals that are one line but do not name the
// field: each says why.
var pendingMessages = []allowance{
	{"seccomp", regexp.MustCompile(`container init exited without saying why`),
		"a seccomp filter that denies what the init still does after loading it (a write, exit): the init dies without a word and the parent (initErr, libcontainer/spawn_linux.go) cannot tell which rule; runc 1.5.3 says only \"container process is already dead\""},
}

func match(list []allowance, c *config, line string) *allowance {
	for i := range list {
		a := &list[i]
		if c.has(a.category) && a.errRe.MatchString(line) {
			return a
		}
	}
	return nil
}

func allowedHuskOnly(c *config, line string) *allowance { return match(huskOnlyRefusals, c, line) }

func listedRuncOnly(c *config, line string) *allowance { return match(runcOnlyRefusals, c, line) }

func pendingMessage(c *config, line string) *allowance { return match(pendingMessages, c, line) }
