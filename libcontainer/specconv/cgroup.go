package specconv

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

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

func convertCgroup(lx *specs.Linux, opts Options, annotations map[string]string) (*configs.Cgroup, error) {
	cg := &configs.Cgroup{}
	if opts.SystemdCgroup {
		// "slice:prefix:name", as runc: the unit is prefix-name.scope
		// (or name itself if it ends in .slice) under slice.
		p := lx.CgroupsPath
		if p == "" {
			p = "system.slice:husk:" + opts.ID
			if opts.RootlessCgroup {
				p = "user.slice:husk:" + opts.ID
			}
		}
		parts := strings.Split(p, ":")
		if len(parts) != 3 {
			return nil, fieldErr("linux.cgroupsPath", "%q is not slice:prefix:name, which the systemd cgroup driver expects", p)
		}
		cg.Systemd, cg.Parent, cg.ScopePrefix, cg.Name = true, parts[0], parts[1], parts[2]
		cg.Rootless = opts.RootlessCgroup
		if cg.Name == "" {
			return nil, fieldErr("linux.cgroupsPath", "%q has no unit name after the last colon", p)
		}
		if cg.Parent != "" && !strings.HasSuffix(cg.Parent, ".slice") {
			return nil, fieldErr("linux.cgroupsPath", "%q: the parent %q is not a slice (*.slice)", p, cg.Parent)
		}
		for _, part := range parts {
			if strings.Contains(part, "/") {
				return nil, fieldErr("linux.cgroupsPath", "%q: a systemd unit name has no /", p)
			}
		}
		for k, v := range annotations {
			if name, ok := strings.CutPrefix(k, "org.systemd.property."); ok {
				if cg.SystemdProps == nil {
					cg.SystemdProps = map[string]string{}
				}
				cg.SystemdProps[name] = v
			}
		}
	} else {
		cg.Path = opts.ID
		if lx.CgroupsPath != "" {
			cg.Path = filepath.Clean(lx.CgroupsPath)
			if cg.Path == "/" || cg.Path == "." || cg.Path == ".." || strings.HasPrefix(cg.Path, "../") {
				return nil, fieldErr("linux.cgroupsPath", "%q does not name a cgroup of its own", lx.CgroupsPath)
			}
		}
	}
	res, err := ConvertResources(lx.Resources, "linux.resources")
	if err != nil {
		return nil, err
	}
	if res == nil {
		res = &configs.Resources{}
	}
	// Every container gets the default devices after its own rules.
	res.Devices = append(res.Devices, allowedDevices...)
	cg.Resources = res
	return cg, nil
}

// ConvertResources converts and checks linux.resources (or the resources
// file of `update`); field prefixes the field names in errors. A nil r
// gives nil.
func ConvertResources(r *specs.LinuxResources, field string) (*configs.Resources, error) {
	if r == nil {
		return nil, nil
	}
	res := &configs.Resources{}
	for i, d := range r.Devices {
		f := fmt.Sprintf("%s.devices[%d]", field, i)
		rule := configs.DeviceRule{Allow: d.Allow, Type: 'a', Major: -1, Minor: -1, Access: d.Access}
		switch d.Type {
		case "", "a":
		case "c", "b":
			rule.Type = rune(d.Type[0])
		default:
			return nil, fieldErr(f+".type", "%q is not one of a, c, b", d.Type)
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
		// 'a' is no access of the devices cgroup (its rules' type "a" is
		// all devices): runc passes it on to a parser that drops it, and
		// so does husk ("rwa" is "rw"). Other letters are refused.
		access := ""
		for _, ch := range rule.Access {
			switch ch {
			case 'r', 'w', 'm':
				if !strings.ContainsRune(access, ch) {
					access += string(ch)
				}
			case 'a':
			default:
				return nil, fieldErr(f+".access", "%q is not made of r, w and m", d.Access)
			}
		}
		if access == "" {
			// "a" alone: a rule about no access at all changes nothing.
			continue
		}
		rule.Access = access
		res.Devices = append(res.Devices, rule)
	}

	if m := r.Memory; m != nil {
		res.MemoryLimit, res.MemoryReservation, res.MemorySwap = unset0(m.Limit), unset0(m.Reservation), unset0(m.Swap)
		for name, v := range map[string]*int64{"limit": m.Limit, "reservation": m.Reservation, "swap": m.Swap} {
			if v != nil && *v < -1 {
				return nil, fieldErr(field+".memory."+name, "%d is neither a size in bytes nor -1 (unlimited)", *v)
			}
		}
		if m.Limit != nil && m.Swap != nil && *m.Swap != -1 && *m.Limit != -1 && *m.Swap != 0 && *m.Swap < *m.Limit {
			return nil, fieldErr(field+".memory.swap", "%d is below memory.limit %d: swap is the limit of memory plus swap", *m.Swap, *m.Limit)
		}
		//lint:ignore SA1019 kernel memory is deprecated; a runtime still reads it to ignore it
		if m.Kernel != nil || m.KernelTCP != nil {
			// As runc since 1.2: kernel memory limits are gone from the
			// kernel (5.4 on v1, never on v2), and the TCP one with them.
			if err := warn(field+".memory.kernel", "linux.resources.memory.kernel and kernelTCP are ignored: kernel memory limits are obsolete"); err != nil {
				return nil, err
			}
		}
		if m.Swappiness != nil {
			if *m.Swappiness > 100 {
				return nil, fieldErr(field+".memory.swappiness", "%d is not in the range 0-100", *m.Swappiness)
			}
			res.MemorySwappiness = m.Swappiness
		}
		res.OOMKillDisable = m.DisableOOMKiller != nil && *m.DisableOOMKiller
		res.CheckBeforeUpdate = m.CheckBeforeUpdate
		// useHierarchy: always on in the kernel since 5.x; ignored as runc.
	}
	if c := r.CPU; c != nil {
		// Burst and idle 0 are values (runc writes them); the others' 0
		// is unset.
		res.CPUShares, res.CPUQuota, res.CPUPeriod, res.CPUBurst = unset0(c.Shares), unset0(c.Quota), unset0(c.Period), c.Burst
		res.CPURtRuntime, res.CPURtPeriod, res.CPUIdle = unset0(c.RealtimeRuntime), unset0(c.RealtimePeriod), c.Idle
		res.CPUs, res.Mems = c.Cpus, c.Mems
		if c.Idle != nil && *c.Idle != 0 && *c.Idle != 1 {
			return nil, fieldErr(field+".cpu.idle", "%d is neither 0 nor 1", *c.Idle)
		}
		if c.Quota != nil && *c.Quota < -1 {
			// The kernel reads any negative quota as unlimited (runc
			// writes it as it is): -1.
			res.CPUQuota = ptrTo[int64](-1)
		}
	}
	if r.Pids != nil {
		// 0 is a limit, which the drivers make 1 as runc does (systemd
		// takes no TasksMax=0).
		res.PidsLimit = r.Pids.Limit
	}
	if b := r.BlockIO; b != nil {
		// A weight 0 is unset (dockerd sends blockIO.weight 0 for every
		// container): nothing is written, so nothing needs a scheduler
		// with weights.
		res.BlkioWeight, res.BlkioLeafWeight = unset0(b.Weight), unset0(b.LeafWeight)
		for _, d := range b.WeightDevice {
			wd := configs.WeightDevice{Major: d.Major, Minor: d.Minor, Weight: unset0(d.Weight), LeafWeight: unset0(d.LeafWeight)}
			if wd.Weight != nil || wd.LeafWeight != nil {
				res.BlkioWeightDevice = append(res.BlkioWeightDevice, wd)
			}
		}
		throttle := func(ds []specs.LinuxThrottleDevice) []configs.ThrottleDevice {
			var out []configs.ThrottleDevice
			for _, d := range ds {
				out = append(out, configs.ThrottleDevice{Major: d.Major, Minor: d.Minor, Rate: d.Rate})
			}
			return out
		}
		res.BlkioThrottleReadBps = throttle(b.ThrottleReadBpsDevice)
		res.BlkioThrottleWriteBps = throttle(b.ThrottleWriteBpsDevice)
		res.BlkioThrottleReadIOPS = throttle(b.ThrottleReadIOPSDevice)
		res.BlkioThrottleWriteIOPS = throttle(b.ThrottleWriteIOPSDevice)
	}
	for i, h := range r.HugepageLimits {
		if !validPagesize(h.Pagesize) {
			return nil, fieldErr(fmt.Sprintf("%s.hugepageLimits[%d].pageSize", field, i), "%q is not a page size like 2MB or 1GB", h.Pagesize)
		}
		res.HugetlbLimits = append(res.HugetlbLimits, configs.HugepageLimit{Pagesize: h.Pagesize, Limit: h.Limit})
	}
	if n := r.Network; n != nil {
		res.NetClsClassid = unset0(n.ClassID)
		for i, p := range n.Priorities {
			if p.Name == "" || strings.ContainsAny(p.Name, " \n/") {
				return nil, fieldErr(fmt.Sprintf("%s.network.priorities[%d].name", field, i), "%q is not an interface name", p.Name)
			}
			res.NetPrioIfpriomap = append(res.NetPrioIfpriomap, configs.IfPrioMap{Interface: p.Name, Priority: p.Priority})
		}
	}
	for dev, l := range r.Rdma {
		if dev == "" || strings.ContainsAny(dev, " \n/") {
			return nil, fieldErr(field+".rdma", "%q is not an RDMA device name", dev)
		}
		if res.Rdma == nil {
			res.Rdma = map[string]configs.RdmaLimit{}
		}
		res.Rdma[dev] = configs.RdmaLimit{HcaHandles: l.HcaHandles, HcaObjects: l.HcaObjects}
	}
	for k, v := range r.Unified {
		if k == "" || strings.Contains(k, "/") || k == "." || k == ".." || !strings.Contains(k, ".") {
			return nil, fieldErr(field+".unified", "%q is not a cgroup v2 file name (controller.file)", k)
		}
		switch k {
		case "cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "cgroup.kill", "cgroup.freeze", "cgroup.type":
			return nil, fieldErr(field+".unified", "%q is not a resource: husk manages it", k)
		}
		if res.Unified == nil {
			res.Unified = map[string]string{}
		}
		res.Unified[k] = v
	}
	return res, nil
}

// ConvertUpdate converts the request of `update` (a --resources file, or
// what its flags say), read from src (named in errors), into the fields to
// change (configs.Resources.Merge). A zero means "leave it as it is" where
// it means "unset" in a config (ConvertResources drops it), as for runc:
// clients send zeros for what they do not change. dockerd's update
// through containerd's shim, for one, sends every field of its struct,
// e.g. {"memory":{"limit":0,"reservation":33554432,"kernel":0},
// "cpu":{"shares":0,...},"blockIO":{"weight":0}} for `docker update
// --memory-reservation 32m`. Burst and idle 0 are values, and a pids
// limit 0 is made 1, as runc does. A memory limit of -1 with no swap
// given lifts both.
func ConvertUpdate(r *specs.LinuxResources, src string) (*configs.Resources, error) {
	if m := r.Memory; m != nil && m.Limit != nil && *m.Limit == -1 && m.Swap == nil {
		lifted := *m
		lifted.Swap = lifted.Limit
		req := *r
		req.Memory = &lifted
		r = &req
	}
	upd, err := ConvertResources(r, "resources")
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			fe.File = src // not config.json's
			return nil, fe
		}
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return upd, nil
}

// unset0 is p, or nil when it points to 0: for the resources whose 0
// runc's drivers (cgroupfs v1 and v2, systemd) take as "not set" and
// write nothing for, such as the zeros dockerd sends (cpu.shares,
// blockIO.weight) and update requests carry for what they leave alone.
func unset0[T comparable](p *T) *T {
	var zero T
	if p == nil || *p == zero {
		return nil
	}
	return p
}

// validPagesize accepts the spec's "<size><unit>B" (64KB, 2MB, 1GB).
func validPagesize(s string) bool {
	num, ok := strings.CutSuffix(s, "B")
	if !ok || len(num) < 2 {
		return false
	}
	switch num[len(num)-1] {
	case 'K', 'M', 'G', 'T', 'P':
	default:
		return false
	}
	n, err := strconv.ParseUint(num[:len(num)-1], 10, 32)
	return err == nil && n > 0
}

func ptrTo[T any](v T) *T { return &v }
