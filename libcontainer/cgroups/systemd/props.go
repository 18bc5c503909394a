package systemd

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/configs"
)

// infinity is systemd's "no limit" for the uint64 properties
// (CGROUP_LIMIT_MAX, USEC_INFINITY).
const infinity = uint64(math.MaxUint64)

// defaultCPUPeriod is the kernel's default CFS period, in µs.
const defaultCPUPeriod = 100000

// Versions of systemd that first understood a property.
const (
	sdCPUQuotaPeriod = 242 // CPUQuotaPeriodUSec
	sdAllowedCPUs    = 244 // AllowedCPUs, AllowedMemoryNodes
	sdCPUIdle        = 252 // CPUWeight=0 means cpu.idle=1
)

// UnitName is the transient unit a container runs in: prefix-name.scope,
// or name itself when it ends in ".slice" (which makes a slice).
func UnitName(cg *configs.Cgroup) string {
	if strings.HasSuffix(cg.Name, ".slice") {
		return cg.Name
	}
	return cg.ScopePrefix + "-" + cg.Name + ".scope"
}

// isSlice reports whether unit is a slice (else a scope).
func isSlice(unit string) bool { return strings.HasSuffix(unit, ".slice") }

// parentSlice is the slice a scope goes in: cg.Parent, by default
// system.slice (user.slice in a user's instance, as runc).
func parentSlice(cg *configs.Cgroup) string {
	switch {
	case cg.Parent != "":
		return cg.Parent
	case cg.Rootless:
		return "user.slice"
	}
	return "system.slice"
}

// ExpandSlice returns the cgroup path of a slice: systemd nests slices by
// the dashes in their names, so "a-b-c.slice" is /a.slice/a-b.slice/a-b-c.slice,
// and "-.slice" is the root.
func ExpandSlice(slice string) (string, error) {
	name, ok := strings.CutSuffix(slice, ".slice")
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", fmt.Errorf("%q is not a slice name", slice)
	}
	if name == "-" {
		return "/", nil
	}
	var path, prefix strings.Builder
	for _, part := range strings.Split(name, "-") {
		if part == "" {
			// "-a.slice", "a--b.slice", "a-.slice" are invalid.
			return "", fmt.Errorf("%q is not a slice name: empty component between dashes", slice)
		}
		prefix.WriteString(part)
		path.WriteString("/" + prefix.String() + ".slice")
		prefix.WriteByte('-')
	}
	return path.String(), nil
}

// unitCgroup is the cgroup path (from the hierarchy's root) systemd will
// give the unit: a scope sits in its slice, a slice where its name says.
func unitCgroup(cg *configs.Cgroup) (string, error) {
	unit := UnitName(cg)
	if isSlice(unit) {
		return ExpandSlice(unit)
	}
	slice, err := ExpandSlice(parentSlice(cg))
	if err != nil {
		return "", fmt.Errorf("parent slice: %w", err)
	}
	return strings.TrimSuffix(slice, "/") + "/" + unit, nil
}

func prop(name string, v any) sdbus.Property {
	return sdbus.Property{Name: name, Value: dbus.MakeVariant(v)}
}

// baseProps are the unit's own properties: where it goes, delegation,
// accounting. pid is the process a scope starts with.
func baseProps(cg *configs.Cgroup, unit string, pid int) []sdbus.Property {
	props := []sdbus.Property{prop("Description", "husk container "+cg.Name)}
	if isSlice(unit) {
		// A slice's place is in its name; it holds no processes itself,
		// and systemd delegates no slice.
		props = append(props, prop("Wants", []string{parentSlice(cg)}))
	} else {
		props = append(props,
			prop("Slice", parentSlice(cg)),
			prop("Delegate", true),
			prop("PIDs", []uint32{uint32(pid)}))
	}
	return append(props,
		prop("DefaultDependencies", false),
		prop("MemoryAccounting", true),
		prop("CPUAccounting", true),
		prop("TasksAccounting", true),
		prop("IOAccounting", true))
}

// ParseProperties turns the org.systemd.property.NAME annotations into
// unit properties, as runc: NAME is ASCII letters only (at least three),
// the value is in GVariant text form (dbus.ParseVariant: 'text', true,
// uint64 123, ...). A NAME ending in "Sec" after a lower-case letter is a
// time in seconds (TimeoutStopSec=5): it is sent as NAMEUSec in µs, and
// must be a number. Sorted by name, so the order is stable.
func ParseProperties(annotations map[string]string) ([]sdbus.Property, error) {
	names := make([]string, 0, len(annotations))
	for name := range annotations {
		names = append(names, name)
	}
	sort.Strings(names)
	var props []sdbus.Property
	for _, name := range names {
		p, err := parseProperty(name, annotations[name])
		if err != nil {
			return nil, fmt.Errorf("annotation org.systemd.property.%s=%q: %w", name, annotations[name], err)
		}
		props = append(props, p)
	}
	return props, nil
}

func parseProperty(name, value string) (sdbus.Property, error) {
	if len(name) < 3 {
		return sdbus.Property{}, errors.New("a property name has at least three letters")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return sdbus.Property{}, errors.New("a property name is made of ASCII letters only")
		}
	}
	v, err := dbus.ParseVariant(value, dbus.Signature{})
	if err != nil {
		return sdbus.Property{}, fmt.Errorf("not a D-Bus value in GVariant text form (a string is quoted: 'text'): %w", err)
	}
	if base, ok := strings.CutSuffix(name, "Sec"); ok {
		if c := base[len(base)-1]; c >= 'a' && c <= 'z' {
			usec, err := secToUSec(v)
			if err != nil {
				return sdbus.Property{}, err
			}
			return prop(base+"USec", usec), nil
		}
	}
	return sdbus.Property{Name: name, Value: v}, nil
}

// secToUSec converts a number of seconds, of any D-Bus number type, to µs.
func secToUSec(v dbus.Variant) (uint64, error) {
	const M = 1000000
	var sec float64
	switch x := v.Value().(type) {
	case byte:
		return uint64(x) * M, nil
	case uint16:
		return uint64(x) * M, nil
	case uint32:
		return uint64(x) * M, nil
	case uint64:
		if x > math.MaxUint64/M {
			return 0, errors.New("too many seconds")
		}
		return x * M, nil
	case int16:
		sec = float64(x)
	case int32:
		sec = float64(x)
	case int64:
		sec = float64(x)
	case float64:
		sec = x
	default:
		return 0, fmt.Errorf("a time in seconds is a number, not %s", v.Signature())
	}
	if sec < 0 || math.IsNaN(sec) || sec*M >= math.MaxUint64 {
		return 0, fmt.Errorf("%v is not a time in seconds", v.Value())
	}
	return uint64(sec * M), nil
}

// resourceProps converts the resources systemd has properties for. Only
// what is set is converted, so that an update leaves the rest alone.
// sdVer is systemd's version, asked only when a property needs it.
func resourceProps(r *configs.Resources, sdVer func() int) ([]sdbus.Property, error) {
	if r == nil {
		return nil, nil
	}
	var props []sdbus.Property
	if len(r.Devices) > 0 {
		props = append(props, deviceProps(r.Devices)...)
	}
	if r.MemoryLimit != nil && *r.MemoryLimit != 0 {
		props = append(props, prop("MemoryMax", limit(*r.MemoryLimit)))
	}
	if r.MemoryReservation != nil && *r.MemoryReservation != 0 {
		props = append(props, prop("MemoryLow", limit(*r.MemoryReservation)))
	}
	switch swap, err := cgroups.SwapV2(r.MemorySwap, r.MemoryLimit); {
	case err != nil:
		return nil, fmt.Errorf("linux.resources.memory.swap: %w", err)
	case swap == "max":
		props = append(props, prop("MemorySwapMax", infinity))
	case swap != "":
		n, _ := strconv.ParseUint(swap, 10, 64)
		props = append(props, prop("MemorySwapMax", n))
	}
	if r.Idle() {
		// systemd sets cpu.idle for CPUWeight=0 (and only for it: idle 0
		// is fs2's to write). An idle group takes no weight: older
		// systemd gets neither, fs2 writes cpu.idle.
		if sdVer() >= sdCPUIdle {
			props = append(props, prop("CPUWeight", uint64(0)))
		}
	} else if r.CPUShares != nil && *r.CPUShares != 0 {
		props = append(props, prop("CPUWeight", cgroups.SharesToWeight(*r.CPUShares)))
	}
	if r.CPUQuota != nil || r.CPUPeriod != nil {
		var quota int64
		var period uint64
		if r.CPUQuota != nil {
			quota = *r.CPUQuota
		}
		if r.CPUPeriod != nil {
			period = *r.CPUPeriod
		}
		if period != 0 && sdVer() >= sdCPUQuotaPeriod {
			props = append(props, prop("CPUQuotaPeriodUSec", period))
		}
		props = append(props, prop("CPUQuotaPerSecUSec", quotaPerSec(quota, period)))
	}
	if r.CPUs != "" || r.Mems != "" {
		if sdVer() >= sdAllowedCPUs {
			for _, c := range []struct{ name, field, value string }{
				{"AllowedCPUs", "linux.resources.cpu.cpus", r.CPUs},
				{"AllowedMemoryNodes", "linux.resources.cpu.mems", r.Mems},
			} {
				if c.value == "" {
					continue
				}
				mask, err := RangeToBits(c.value)
				if err != nil {
					return nil, fmt.Errorf("%s %q: %w", c.field, c.value, err)
				}
				props = append(props, prop(c.name, mask))
			}
		}
	}
	if r.PidsLimit != nil {
		// A negative limit is none; 0 is 1, which fs2 writes too (systemd
		// refuses TasksMax=0), as runc.
		switch l := *r.PidsLimit; {
		case l < 0:
			props = append(props, prop("TasksMax", infinity))
		case l == 0:
			props = append(props, prop("TasksMax", uint64(1)))
		default:
			props = append(props, prop("TasksMax", uint64(l)))
		}
	}
	if r.BlkioWeight != nil && *r.BlkioWeight != 0 {
		props = append(props, prop("IOWeight", ioWeight(*r.BlkioWeight)))
	}
	if len(r.Unified) > 0 {
		up, err := unifiedProps(r.Unified, sdVer)
		if err != nil {
			return nil, err
		}
		props = append(props, up...)
	}
	return props, nil
}

// limit maps the spec's -1 (unlimited) to systemd's infinity.
func limit(v int64) uint64 {
	if v < 0 {
		return infinity
	}
	return uint64(v)
}

// quotaPerSec converts a CFS quota and period (µs; quota <= 0 or unset is
// unlimited, period 0 the default) to CPUQuotaPerSecUSec, rounded up to
// a multiple of 10ms as runc does: systemd keeps CPUQuota= as a whole
// percentage, so a finer value would change on the next daemon-reload and
// become less than what the container's own cpu.max (written by fs2)
// allows. Unlimited is infinity.
func quotaPerSec(quota int64, period uint64) uint64 {
	if quota <= 0 {
		return infinity
	}
	if period == 0 {
		period = defaultCPUPeriod
	}
	perSec := uint64(quota) * 1000000 / period
	if perSec%10000 != 0 {
		perSec = (perSec/10000 + 1) * 10000
	}
	return perSec
}

// ioWeight maps blkio.weight [10, 1000] onto io.weight [1, 10000].
func ioWeight(w uint16) uint64 {
	if w < 10 {
		w = 10
	}
	return cgroups.BlkioWeightToIOWeight(w)
}

// maxBit bounds the cpu and memory-node numbers of a cpuset: the kernel
// has at most 8192 (NR_CPUS), this leaves room and keeps a typo from
// allocating megabytes.
const maxBit = 1 << 16

// RangeToBits converts a cpuset list ("0-3,8,10-11") to the byte array
// systemd's AllowedCPUs and AllowedMemoryNodes take: bit n of byte n/8
// set for each n listed (little-endian, as the kernel's cpumask).
func RangeToBits(list string) ([]byte, error) {
	list = strings.TrimSpace(list)
	if list == "" {
		return nil, errors.New("empty list")
	}
	var mask []byte
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := strconv.ParseUint(lo, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number or a range", part)
		}
		last := first
		if isRange {
			if last, err = strconv.ParseUint(hi, 10, 32); err != nil || last < first {
				return nil, fmt.Errorf("%q is not a range", part)
			}
		}
		if last >= maxBit {
			return nil, fmt.Errorf("%d is beyond the largest cpu or node number (%d)", last, maxBit-1)
		}
		for len(mask) <= int(last/8) {
			mask = append(mask, 0)
		}
		for n := first; n <= last; n++ {
			mask[n/8] |= 1 << (n % 8)
		}
	}
	return mask, nil
}

// unifiedProps converts the linux.resources.unified entries systemd has a
// property for, so that systemd does not undo them when it re-applies its
// own settings (daemon-reload); fs2 writes all of them anyway. Others are
// fs2's alone. memory.oom.group is a start-only setting (OOMPolicy).
func unifiedProps(u map[string]string, sdVer func() int) ([]sdbus.Property, error) {
	keys := make([]string, 0, len(u))
	for k := range u {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var props []sdbus.Property
	idle := strings.TrimSpace(u["cpu.idle"]) == "1" && sdVer() >= sdCPUIdle
	for _, k := range keys {
		v := strings.TrimSpace(u[k])
		bad := func(err error) error {
			return fmt.Errorf("linux.resources.unified[%q] = %q: %w", k, u[k], err)
		}
		switch k {
		case "memory.min", "memory.low", "memory.high", "memory.max", "memory.swap.max", "pids.max":
			n := infinity
			if v != "max" {
				var err error
				if n, err = strconv.ParseUint(v, 10, 64); err != nil {
					return nil, bad(errors.New("not a number or max"))
				}
			}
			name := map[string]string{
				"memory.min": "MemoryMin", "memory.low": "MemoryLow", "memory.high": "MemoryHigh",
				"memory.max": "MemoryMax", "memory.swap.max": "MemorySwapMax", "pids.max": "TasksMax",
			}[k]
			if name == "TasksMax" && n == 0 {
				n = 1 // systemd refuses 0 (fs2 writes the 0 as given), as runc
			}
			props = append(props, prop(name, n))
		case "cpu.idle":
			if idle {
				props = append(props, prop("CPUWeight", uint64(0)))
			}
		case "cpu.weight":
			if idle {
				continue // cpu.idle already took CPUWeight
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, bad(errors.New("not a number"))
			}
			props = append(props, prop("CPUWeight", n))
		case "cpu.max":
			f := strings.Fields(v)
			if len(f) < 1 || len(f) > 2 {
				return nil, bad(errors.New(`not "quota [period]"`))
			}
			var quota int64
			var period uint64
			if f[0] != "max" {
				q, err := strconv.ParseInt(f[0], 10, 64)
				if err != nil {
					return nil, bad(errors.New("the quota is not a number or max"))
				}
				quota = q
			}
			if len(f) == 2 {
				p, err := strconv.ParseUint(f[1], 10, 64)
				if err != nil {
					return nil, bad(errors.New("the period is not a number"))
				}
				period = p
			}
			if period != 0 && sdVer() >= sdCPUQuotaPeriod {
				props = append(props, prop("CPUQuotaPeriodUSec", period))
			}
			props = append(props, prop("CPUQuotaPerSecUSec", quotaPerSec(quota, period)))
		case "cpuset.cpus", "cpuset.mems":
			if sdVer() < sdAllowedCPUs {
				continue
			}
			mask, err := RangeToBits(v)
			if err != nil {
				return nil, bad(err)
			}
			name := "AllowedCPUs"
			if k == "cpuset.mems" {
				name = "AllowedMemoryNodes"
			}
			props = append(props, prop(name, mask))
		}
	}
	return props, nil
}

// oomPolicy is the start-time property for unified memory.oom.group.
func oomPolicy(r *configs.Resources) (sdbus.Property, bool) {
	if r == nil {
		return sdbus.Property{}, false
	}
	switch strings.TrimSpace(r.Unified["memory.oom.group"]) {
	case "0":
		return prop("OOMPolicy", "continue"), true
	case "1":
		return prop("OOMPolicy", "kill"), true
	}
	return sdbus.Property{}, false
}

// versionAtoi reads the leading number of systemd's Version property
// ("252.36-1~deb12u1", "v245.4-1.fc32", possibly quoted).
func versionAtoi(s string) (int, error) {
	s = strings.TrimLeft(s, `"v`)
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	return strconv.Atoi(s[:end])
}
