package configs

import (
	"maps"
	"reflect"
)

// Cgroup says where the container's processes go and what limits apply.
type Cgroup struct {
	// Path is linux.cgroupsPath, cleaned, for the cgroupfs drivers. An
	// absolute path is relative to the hierarchy's root; a relative one to
	// the cgroup of the husk process that creates the container (as runc).
	// Never empty: specconv defaults it to the container id.
	Path string `json:"path,omitempty"`

	// Systemd selects the systemd driver (--systemd-cgroup). The container
	// then runs in the transient unit ScopePrefix-Name.scope under the
	// slice Parent; linux.cgroupsPath is "parent:prefix:name" there. A
	// Name ending in ".slice" makes a slice instead of a scope.
	Systemd     bool   `json:"systemd,omitempty"`
	Parent      string `json:"parent,omitempty"`
	ScopePrefix string `json:"scope_prefix,omitempty"`
	Name        string `json:"name,omitempty"`
	// SystemdProps are the org.systemd.property.* annotations, as given
	// (name → value in the D-Bus text form), for the unit.
	SystemdProps map[string]string `json:"systemd_props,omitempty"`
	// Rootless (with Systemd) puts the unit in the user's own systemd
	// instance, reached over the session bus, as runc does for an
	// unprivileged caller: the container's cgroup is then under the user
	// manager's (user@UID.service), and the default slice is user.slice.
	Rootless bool `json:"rootless,omitempty"`

	Resources *Resources `json:"resources,omitempty"`
}

// Resources are linux.resources, flattened. A nil pointer or empty value
// means "not set": the driver leaves that file alone (specconv makes the
// zeros runc takes as unset nil). Values are as the spec gives them (v1
// units); the v2 and systemd drivers convert.
type Resources struct {
	// Devices is the device allowlist in order, ending in the defaults
	// every container gets. Applied to the v1 devices controller, or as
	// an eBPF program on v2.
	Devices []DeviceRule `json:"devices,omitempty"`

	// Memory, in bytes; -1 is unlimited.
	MemoryLimit       *int64 `json:"memory_limit,omitempty"`
	MemoryReservation *int64 `json:"memory_reservation,omitempty"`
	// MemorySwap is memory+swap, as in the spec and v1's memsw; -1 is
	// unlimited. v2's memory.swap.max is MemorySwap-MemoryLimit.
	MemorySwap       *int64  `json:"memory_swap,omitempty"`
	MemorySwappiness *uint64 `json:"memory_swappiness,omitempty"`
	OOMKillDisable   bool    `json:"oom_kill_disable,omitempty"`
	// CheckBeforeUpdate (memory.checkBeforeUpdate): an update refuses a
	// memory limit below the current usage. Not a cgroup file.
	CheckBeforeUpdate *bool `json:"check_before_update,omitempty"`

	// CPU: shares (v1 units; v2 gets the weight runc converts them to),
	// CFS quota/period/burst in µs (quota -1 is unlimited), realtime
	// runtime/period, SCHED_IDLE for the group (idle 1).
	CPUShares    *uint64 `json:"cpu_shares,omitempty"`
	CPUQuota     *int64  `json:"cpu_quota,omitempty"`
	CPUPeriod    *uint64 `json:"cpu_period,omitempty"`
	CPUBurst     *uint64 `json:"cpu_burst,omitempty"`
	CPURtRuntime *int64  `json:"cpu_rt_runtime,omitempty"`
	CPURtPeriod  *uint64 `json:"cpu_rt_period,omitempty"`
	CPUIdle      *int64  `json:"cpu_idle,omitempty"`
	CPUs         string  `json:"cpus,omitempty"`
	Mems         string  `json:"mems,omitempty"`

	// PidsLimit: a negative value is unlimited; 0 is a limit (spec
	// v1.3.0), which the drivers make 1 as runc does (cgroups.PidsMax).
	PidsLimit *int64 `json:"pids_limit,omitempty"`

	// Block I/O, v1 units (weights 10-1000); v2 converts.
	BlkioWeight            *uint16          `json:"blkio_weight,omitempty"`
	BlkioLeafWeight        *uint16          `json:"blkio_leaf_weight,omitempty"`
	BlkioWeightDevice      []WeightDevice   `json:"blkio_weight_device,omitempty"`
	BlkioThrottleReadBps   []ThrottleDevice `json:"blkio_throttle_read_bps,omitempty"`
	BlkioThrottleWriteBps  []ThrottleDevice `json:"blkio_throttle_write_bps,omitempty"`
	BlkioThrottleReadIOPS  []ThrottleDevice `json:"blkio_throttle_read_iops,omitempty"`
	BlkioThrottleWriteIOPS []ThrottleDevice `json:"blkio_throttle_write_iops,omitempty"`

	// Hugetlb limits, in bytes, per page size ("2MB", "1GB"). Applied to
	// the reservation counter too where the kernel has it.
	HugetlbLimits []HugepageLimit `json:"hugetlb_limits,omitempty"`

	// Rdma limits by device name.
	Rdma map[string]RdmaLimit `json:"rdma,omitempty"`

	// v1 network controllers.
	NetClsClassid    *uint32     `json:"net_cls_classid,omitempty"`
	NetPrioIfpriomap []IfPrioMap `json:"net_prio_ifpriomap,omitempty"`

	// Unified are v2 files written as given, after everything else.
	Unified map[string]string `json:"unified,omitempty"`
}

// DeviceRule is one devices-cgroup rule. Major/Minor -1 is a wildcard.
type DeviceRule struct {
	Allow  bool   `json:"allow"`
	Type   rune   `json:"type"` // 'a', 'c', 'b'
	Major  int64  `json:"major"`
	Minor  int64  `json:"minor"`
	Access string `json:"access"` // some of "rwm"
}

// WeightDevice is a per-device I/O weight.
type WeightDevice struct {
	Major      int64   `json:"major"`
	Minor      int64   `json:"minor"`
	Weight     *uint16 `json:"weight,omitempty"`
	LeafWeight *uint16 `json:"leaf_weight,omitempty"`
}

// ThrottleDevice is a per-device I/O rate limit (bytes or I/Os per second).
type ThrottleDevice struct {
	Major int64  `json:"major"`
	Minor int64  `json:"minor"`
	Rate  uint64 `json:"rate"`
}

// HugepageLimit limits one hugepage size.
type HugepageLimit struct {
	Pagesize string `json:"pagesize"`
	Limit    uint64 `json:"limit"`
}

// RdmaLimit limits one RDMA device; nil is "max".
type RdmaLimit struct {
	HcaHandles *uint32 `json:"hca_handles,omitempty"`
	HcaObjects *uint32 `json:"hca_objects,omitempty"`
}

// IfPrioMap is one net_prio.ifpriomap entry.
type IfPrioMap struct {
	Interface string `json:"interface"`
	Priority  uint32 `json:"priority"`
}

// Idle reports whether the group is to be SCHED_IDLE (cpu.idle 1).
func (r *Resources) Idle() bool { return r.CPUIdle != nil && *r.CPUIdle == 1 }

// SplitPids returns r without its pids limits (PidsLimit, unified
// pids.max), and those limits alone: a new container's are applied once its
// init is ready, as a low one (0 is 1) would keep the init's runtime from
// starting its threads.
func (r *Resources) SplitPids() (rest, pids Resources) {
	rest = *r
	pids.PidsLimit, rest.PidsLimit = r.PidsLimit, nil
	if v, ok := r.Unified["pids.max"]; ok {
		rest.Unified = maps.Clone(r.Unified)
		delete(rest.Unified, "pids.max")
		pids.Unified = map[string]string{"pids.max": v}
	}
	return rest, pids
}

// HasLimits reports whether r sets anything other than device rules.
func (r *Resources) HasLimits() bool {
	if r == nil {
		return false
	}
	c := *r
	c.Devices = nil
	c.CheckBeforeUpdate = nil
	return !reflect.DeepEqual(c, Resources{})
}

// Merge returns r with the fields u sets in place of r's: what `update`
// makes of the container's resources and an update request. A field is
// set when it is not nil (pointers, lists, maps) or not empty (CPUs,
// Mems); a list or map replaces r's whole. An update changes neither the
// device rules nor OOMKillDisable (as runc's): r's stay.
// TestMergeCarriesEveryField fails for a field added to Resources and not
// to Merge.
func (r Resources) Merge(u *Resources) Resources {
	if u == nil {
		return r
	}
	set(&r.MemoryLimit, u.MemoryLimit)
	set(&r.MemoryReservation, u.MemoryReservation)
	set(&r.MemorySwap, u.MemorySwap)
	set(&r.MemorySwappiness, u.MemorySwappiness)
	set(&r.CheckBeforeUpdate, u.CheckBeforeUpdate)
	set(&r.CPUShares, u.CPUShares)
	set(&r.CPUQuota, u.CPUQuota)
	set(&r.CPUPeriod, u.CPUPeriod)
	set(&r.CPUBurst, u.CPUBurst)
	set(&r.CPURtRuntime, u.CPURtRuntime)
	set(&r.CPURtPeriod, u.CPURtPeriod)
	set(&r.CPUIdle, u.CPUIdle)
	if u.CPUs != "" {
		r.CPUs = u.CPUs
	}
	if u.Mems != "" {
		r.Mems = u.Mems
	}
	set(&r.PidsLimit, u.PidsLimit)
	set(&r.BlkioWeight, u.BlkioWeight)
	set(&r.BlkioLeafWeight, u.BlkioLeafWeight)
	setList(&r.BlkioWeightDevice, u.BlkioWeightDevice)
	setList(&r.BlkioThrottleReadBps, u.BlkioThrottleReadBps)
	setList(&r.BlkioThrottleWriteBps, u.BlkioThrottleWriteBps)
	setList(&r.BlkioThrottleReadIOPS, u.BlkioThrottleReadIOPS)
	setList(&r.BlkioThrottleWriteIOPS, u.BlkioThrottleWriteIOPS)
	setList(&r.HugetlbLimits, u.HugetlbLimits)
	setMap(&r.Rdma, u.Rdma)
	set(&r.NetClsClassid, u.NetClsClassid)
	setList(&r.NetPrioIfpriomap, u.NetPrioIfpriomap)
	setMap(&r.Unified, u.Unified)
	return r
}

func set[T any](dst **T, src *T) {
	if src != nil {
		*dst = src
	}
}

func setList[T any](dst *[]T, src []T) {
	if src != nil {
		*dst = src
	}
}

func setMap[K comparable, V any](dst *map[K]V, src map[K]V) {
	if src != nil {
		*dst = src
	}
}
