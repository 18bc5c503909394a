package specconv

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/husk-runtime/husk/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The tables below are the one place that knows these names; the converter
// uses them and `husk features` lists them.

// IOPriorityClasses are process.ioPriority.class values (IOPRIO_CLASS_*).
var IOPriorityClasses = map[specs.IOPriorityClass]int{
	specs.IOPRIO_CLASS_RT: 1, specs.IOPRIO_CLASS_BE: 2, specs.IOPRIO_CLASS_IDLE: 3,
}

// SchedulerPolicies are process.scheduler.policy values (SCHED_*).
var SchedulerPolicies = map[specs.LinuxSchedulerPolicy]uint32{
	specs.SchedOther: 0, specs.SchedFIFO: 1, specs.SchedRR: 2, specs.SchedBatch: 3,
	specs.SchedISO: 4, specs.SchedIdle: 5, specs.SchedDeadline: 6,
}

// SchedulerFlags are process.scheduler.flags values (SCHED_FLAG_*).
var SchedulerFlags = map[specs.LinuxSchedulerFlag]uint64{
	specs.SchedFlagResetOnFork: 0x01, specs.SchedFlagReclaim: 0x02, specs.SchedFlagDLOverrun: 0x04,
	specs.SchedFlagKeepPolicy: 0x08, specs.SchedFlagKeepParams: 0x10,
	specs.SchedFlagUtilClampMin: 0x20, specs.SchedFlagUtilClampMax: 0x40,
}

// MemoryPolicyModes are linux.memoryPolicy.mode values (MPOL_*).
var MemoryPolicyModes = map[specs.MemoryPolicyModeType]int{
	"MPOL_DEFAULT": 0, "MPOL_PREFERRED": 1, "MPOL_BIND": 2, "MPOL_INTERLEAVE": 3,
	"MPOL_LOCAL": 4, "MPOL_PREFERRED_MANY": 5, "MPOL_WEIGHTED_INTERLEAVE": 6,
}

// MemoryPolicyFlags are linux.memoryPolicy.flags values (MPOL_F_*).
var MemoryPolicyFlags = map[specs.MemoryPolicyFlagType]int{
	"MPOL_F_NUMA_BALANCING": 1 << 13, "MPOL_F_RELATIVE_NODES": 1 << 14, "MPOL_F_STATIC_NODES": 1 << 15,
}

// Personalities are linux.personality.domain values.
var Personalities = map[specs.LinuxPersonalityDomain]int{
	specs.PerLinux: 0x0000, specs.PerLinux32: 0x0008,
}

// Keys returns a table's names, sorted, for `features`.
func Keys[K ~string, V any](m map[K]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, string(k))
	}
	sort.Strings(out)
	return out
}

// convertProcessExtras converts ioPriority, scheduler and execCPUAffinity.
func convertProcessExtras(p *configs.Process, sp *specs.Process, field string) error {
	if io := sp.IOPriority; io != nil {
		class, ok := IOPriorityClasses[io.Class]
		if !ok {
			return fieldErr(field+".ioPriority.class", "%q is not one of %s", io.Class, strings.Join(Keys(IOPriorityClasses), ", "))
		}
		if io.Priority < 0 || io.Priority > 7 {
			return fieldErr(field+".ioPriority.priority", "%d is outside 0..7", io.Priority)
		}
		v := class<<13 | io.Priority
		p.IOPriority = &v
	}
	if sc := sp.Scheduler; sc != nil {
		// runc 1.5's checks and wording, and the field.
		if sc.Policy == "" {
			return fieldErr(field+".scheduler.policy", "scheduler policy is required")
		}
		policy, ok := SchedulerPolicies[sc.Policy]
		if !ok {
			return fieldErr(field+".scheduler.policy", "invalid scheduler policy: %s (one of %s)", sc.Policy, strings.Join(Keys(SchedulerPolicies), ", "))
		}
		s := &configs.Scheduler{Policy: policy, Nice: sc.Nice, Priority: uint32(sc.Priority),
			Runtime: sc.Runtime, Deadline: sc.Deadline, Period: sc.Period}
		if (sc.Policy == specs.SchedOther || sc.Policy == specs.SchedBatch) && (sc.Nice < -20 || sc.Nice > 19) {
			return fieldErr(field+".scheduler.nice", "invalid scheduler.nice: %d when scheduler.policy is %s", sc.Nice, sc.Policy)
		}
		rt := sc.Policy == specs.SchedFIFO || sc.Policy == specs.SchedRR
		if sc.Priority != 0 && !rt {
			return fieldErr(field+".scheduler.priority", "scheduler.priority can only be specified for SchedFIFO or SchedRR policy")
		}
		if sc.Policy != specs.SchedDeadline && (sc.Runtime != 0 || sc.Deadline != 0 || sc.Period != 0) {
			return fieldErr(field+".scheduler", "scheduler runtime/deadline/period can only be specified for SchedDeadline policy")
		}
		for i, f := range sc.Flags {
			bit, ok := SchedulerFlags[f]
			if !ok {
				return fieldErr(fmt.Sprintf("%s.scheduler.flags[%d]", field, i), "invalid scheduler flag: %s", f)
			}
			s.Flags |= bit
		}
		// What the kernel refuses anyway (EINVAL at sched_setattr), said
		// before anything is made.
		if rt && (sc.Priority < 1 || sc.Priority > 99) {
			return fieldErr(field+".scheduler.priority", "%d: must be 1..99 for %s", sc.Priority, sc.Policy)
		}
		if sc.Policy == specs.SchedDeadline && (sc.Runtime == 0 || sc.Deadline == 0 || sc.Runtime > sc.Deadline) {
			return fieldErr(field+".scheduler", "SCHED_DEADLINE needs 0 < runtime <= deadline")
		}
		p.Scheduler = s
	}
	if a := sp.ExecCPUAffinity; a != nil {
		var err error
		if p.CPUAffinityInitial, err = ParseCPUList(a.Initial); err != nil {
			return fieldErr(field+".execCPUAffinity.initial", "bad CPUAffinity.Initial: %v", err)
		}
		if p.CPUAffinityFinal, err = ParseCPUList(a.Final); err != nil {
			return fieldErr(field+".execCPUAffinity.final", "bad CPUAffinity.Final: %v", err)
		}
	}
	return nil
}

// maxAffinityCPU bounds the lists' numbers, as runc's (a CPU set of
// 1024).
const maxAffinityCPU = 1023

// ParseCPUList parses a CPU or NUMA node list (execCPUAffinity,
// memoryPolicy.nodes: "0-3,5", spaces around elements and empty elements
// allowed, "" is none) as runc does, with its errors.
func ParseCPUList(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	num := func(v string) (int, error) {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return 0, err
		}
		if n > maxAffinityCPU {
			return 0, fmt.Errorf("values larger than %d are not supported", maxAffinityCPU)
		}
		return int(n), nil
	}
	set := map[int]bool{}
	for _, r := range strings.Split(s, ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(r, "-")
		a, err := num(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = num(hi); err != nil {
				return nil, err
			}
			if a > b {
				return nil, errors.New("invalid range: " + r)
			}
		}
		for i := a; i <= b; i++ {
			set[i] = true
		}
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("no members found in set %q", s)
	}
	out := make([]int, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Ints(out)
	return out, nil
}

// validIfName says whether s can name a network interface (IFNAMSIZ).
func validIfName(s string, template bool) bool {
	if s == "" || len(s) > 15 || s == "." || s == ".." || strings.ContainsAny(s, "/: \t\n") {
		return false
	}
	if n := strings.Count(s, "%"); n > 1 || (n == 1 && (!template || !strings.Contains(s, "%d"))) {
		return false
	}
	return true
}

// convertLinuxExtras converts personality, memoryPolicy and netDevices.
func convertLinuxExtras(c *configs.Config, lx *specs.Linux) error {
	if len(lx.NetDevices) > 0 {
		if !c.Has(configs.NEWNET) {
			return fieldErr("linux.netDevices", "needs a network namespace: the devices are moved into it")
		}
		c.NetDevices = map[string]string{}
		for host, d := range lx.NetDevices {
			field := fmt.Sprintf("linux.netDevices[%q]", host)
			if !validIfName(host, false) {
				return fieldErr(field, "not an interface name")
			}
			if d.Name != "" && !validIfName(d.Name, true) {
				return fieldErr(field+".name", "%q is not an interface name (at most 15 characters, one %%d allowed)", d.Name)
			}
			c.NetDevices[host] = d.Name
		}
	}
	if pe := lx.Personality; pe != nil {
		v, ok := Personalities[pe.Domain]
		if !ok {
			return fieldErr("linux.personality.domain", "%q is not one of %s", pe.Domain, strings.Join(Keys(Personalities), ", "))
		}
		if len(pe.Flags) > 0 {
			return fieldErr("linux.personality.flags", "no flags are defined")
		}
		c.Personality = &v
	}
	if mp := lx.MemoryPolicy; mp != nil {
		// runc 1.5's checks and wording, and the field.
		mode, ok := MemoryPolicyModes[mp.Mode]
		if !ok {
			return fieldErr("linux.memoryPolicy.mode", "invalid memory policy mode %q (one of %s)", mp.Mode, strings.Join(Keys(MemoryPolicyModes), ", "))
		}
		pol := &configs.MemoryPolicy{Mode: mode}
		nodes, err := ParseCPUList(mp.Nodes) // the same list syntax as runc's
		if err != nil {
			return fieldErr("linux.memoryPolicy.nodes", "invalid memory policy nodes %q: %v", mp.Nodes, err)
		}
		pol.Nodes = nodes
		for i, f := range mp.Flags {
			bit, ok := MemoryPolicyFlags[f]
			if !ok {
				return fieldErr(fmt.Sprintf("linux.memoryPolicy.flags[%d]", i), "invalid memory policy flag %q (one of %s)", f, strings.Join(Keys(MemoryPolicyFlags), ", "))
			}
			pol.Mode |= bit
		}
		switch mp.Mode {
		case "MPOL_DEFAULT", "MPOL_LOCAL":
			if len(pol.Nodes) > 0 {
				return fieldErr("linux.memoryPolicy.nodes", "memory policy mode requires 0 nodes but got %d (%s)", len(pol.Nodes), mp.Mode)
			}
		case "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE", "MPOL_PREFERRED_MANY":
			if len(pol.Nodes) == 0 {
				return fieldErr("linux.memoryPolicy.nodes", "memory policy mode requires at least one node but got 0 (%s)", mp.Mode)
			}
		}
		c.MemoryPolicy = pol
	}
	return nil
}
