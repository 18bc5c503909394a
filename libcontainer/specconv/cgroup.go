package specconv

import (
	"fmt"
	"path/filepath"

	"github.com/husk-runtime/husk/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// allowedDevices are always allowed in the devices cgroup after the
// config's own rules, as runc does: the default device nodes, ptys, and
// mknod of anything (creating a node is harmless; using it is what the
// rules restrict).
var allowedDevices = []configs.DeviceRule{
	{Allow: true, Type: 'c', Major: -1, Minor: -1, Access: "m"},
	{Allow: true, Type: 'b', Major: -1, Minor: -1, Access: "m"},
	{Allow: true, Type: 'c', Major: 1, Minor: 3, Access: "rwm"},    // null
	{Allow: true, Type: 'c', Major: 1, Minor: 8, Access: "rwm"},    // random
	{Allow: true, Type: 'c', Major: 1, Minor: 7, Access: "rwm"},    // full
	{Allow: true, Type: 'c', Major: 5, Minor: 0, Access: "rwm"},    // tty
	{Allow: true, Type: 'c', Major: 1, Minor: 5, Access: "rwm"},    // zero
	{Allow: true, Type: 'c', Major: 1, Minor: 9, Access: "rwm"},    // urandom
	{Allow: true, Type: 'c', Major: 136, Minor: -1, Access: "rwm"}, // pts
	{Allow: true, Type: 'c', Major: 5, Minor: 2, Access: "rwm"},    // ptmx
	{Allow: true, Type: 'c', Major: 10, Minor: 200, Access: "rwm"}, // net/tun
}

func convertCgroup(lx *specs.Linux, opts Options) (*configs.Cgroup, error) {
	if opts.SystemdCgroup {
		return nil, fmt.Errorf("--systemd-cgroup: the systemd cgroup driver is not supported yet")
	}
	cg := &configs.Cgroup{Path: opts.ID}
	if lx.CgroupsPath != "" {
		cg.Path = filepath.Clean(lx.CgroupsPath)
		if cg.Path == "/" || cg.Path == "." || cg.Path == ".." || (len(cg.Path) > 2 && cg.Path[:3] == "../") {
			return nil, fieldErr("linux.cgroupsPath", "%q does not name a cgroup of its own", lx.CgroupsPath)
		}
	}
	r := lx.Resources
	if r == nil {
		return cg, nil
	}
	res := &configs.Resources{}
	for i, d := range r.Devices {
		field := fmt.Sprintf("linux.resources.devices[%d]", i)
		rule := configs.DeviceRule{Allow: d.Allow, Type: 'a', Major: -1, Minor: -1, Access: d.Access}
		switch d.Type {
		case "", "a":
		case "c", "b":
			rule.Type = rune(d.Type[0])
		default:
			return nil, fieldErr(field+".type", "%q is not one of a, c, b", d.Type)
		}
		if d.Major != nil {
			rule.Major = *d.Major
		}
		if d.Minor != nil {
			rule.Minor = *d.Minor
		}
		if rule.Access == "" {
			rule.Access = "rwm"
		}
		for _, ch := range rule.Access {
			if ch != 'r' && ch != 'w' && ch != 'm' {
				return nil, fieldErr(field+".access", "%q is not made of r, w and m", d.Access)
			}
		}
		res.Devices = append(res.Devices, rule)
	}
	res.Devices = append(res.Devices, allowedDevices...)

	unsupported := func(field string) error {
		return fieldErr("linux.resources."+field, "not supported by this version of husk")
	}
	if m := r.Memory; m != nil {
		res.MemoryLimit, res.MemoryReservation, res.MemorySwap = m.Limit, m.Reservation, m.Swap
		switch {
		case m.Kernel != nil:
			return nil, unsupported("memory.kernel")
		case m.KernelTCP != nil:
			return nil, unsupported("memory.kernelTCP")
		case m.Swappiness != nil:
			return nil, unsupported("memory.swappiness")
		case m.DisableOOMKiller != nil && *m.DisableOOMKiller:
			return nil, unsupported("memory.disableOOMKiller")
		case m.UseHierarchy != nil:
			return nil, unsupported("memory.useHierarchy")
		case m.CheckBeforeUpdate != nil && *m.CheckBeforeUpdate:
			return nil, unsupported("memory.checkBeforeUpdate")
		}
	}
	if c := r.CPU; c != nil {
		res.CPUShares, res.CPUQuota, res.CPUPeriod, res.CPUs, res.Mems = c.Shares, c.Quota, c.Period, c.Cpus, c.Mems
		switch {
		case c.RealtimePeriod != nil || c.RealtimeRuntime != nil:
			return nil, unsupported("cpu.realtime*")
		case c.Burst != nil:
			return nil, unsupported("cpu.burst")
		case c.Idle != nil:
			return nil, unsupported("cpu.idle")
		}
	}
	if r.Pids != nil {
		res.PidsLimit = r.Pids.Limit
	}
	switch {
	case r.BlockIO != nil:
		return nil, unsupported("blockIO")
	case len(r.HugepageLimits) > 0:
		return nil, unsupported("hugepageLimits")
	case r.Network != nil:
		return nil, unsupported("network")
	case len(r.Rdma) > 0:
		return nil, unsupported("rdma")
	case len(r.Unified) > 0:
		return nil, unsupported("unified")
	}
	cg.Resources = res
	return cg, nil
}
