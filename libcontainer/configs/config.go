// Package configs holds husk's internal container configuration: what
// specconv makes of an OCI config.json, already validated and resolved, in
// the form the parent, the init and state.json use. Nothing downstream of
// specconv reads the OCI JSON.
package configs

// Config is one container's configuration.
type Config struct {
	// Rootfs is the absolute host path of the root filesystem.
	Rootfs   string `json:"rootfs"`
	Readonly bool   `json:"readonly,omitempty"`
	// RootPropagation is the MS_* propagation applied to / in the
	// container's mount namespace before anything is mounted.
	RootPropagation uintptr `json:"root_propagation"`
	NoPivotRoot     bool    `json:"no_pivot_root,omitempty"`

	Mounts        []*Mount  `json:"mounts,omitempty"`
	Devices       []*Device `json:"devices,omitempty"`
	MaskedPaths   []string  `json:"masked_paths,omitempty"`
	ReadonlyPaths []string  `json:"readonly_paths,omitempty"`

	Hostname   string `json:"hostname,omitempty"`
	Domainname string `json:"domainname,omitempty"`

	Namespaces  []Namespace `json:"namespaces,omitempty"`
	UIDMappings []IDMap     `json:"uid_mappings,omitempty"`
	GIDMappings []IDMap     `json:"gid_mappings,omitempty"`

	Cgroup *Cgroup `json:"cgroup,omitempty"`

	// TimeOffsets is the text for /proc/self/timens_offsets.
	TimeOffsets string `json:"time_offsets,omitempty"`

	// Personality is the personality(2) persona (PER_LINUX, PER_LINUX32).
	Personality *int `json:"personality,omitempty"`
	// MemoryPolicy is the set_mempolicy(2) the workload starts with.
	MemoryPolicy *MemoryPolicy `json:"memory_policy,omitempty"`
	// NetDevices maps host interface names to their names in the
	// container ("" keeps the name).
	NetDevices map[string]string `json:"net_devices,omitempty"`

	// MountLabel is the SELinux context given to the container's mounts.
	MountLabel string `json:"mount_label,omitempty"`

	// Seccomp is the validated linux.seccomp; the parent compiles it.
	Seccomp *Seccomp `json:"seccomp,omitempty"`

	Sysctl       map[string]string `json:"sysctl,omitempty"`
	NoNewKeyring bool              `json:"no_new_keyring,omitempty"`

	Hooks Hooks `json:"hooks,omitempty"`

	Annotations map[string]string `json:"annotations,omitempty"`
	OCIVersion  string            `json:"oci_version"`
}

// Mount is one mount, in config order.
type Mount struct {
	Source      string `json:"source"`
	Destination string `json:"destination"` // absolute, inside the rootfs
	Device      string `json:"device"`      // filesystem type, "bind" for binds
	Flags       int    `json:"flags,omitempty"`
	// ClearFlags are MS_* flags explicitly turned off (e.g. "rw", "suid"),
	// which matter when remounting a bind.
	ClearFlags       int    `json:"clear_flags,omitempty"`
	PropagationFlags []int  `json:"propagation_flags,omitempty"`
	Data             string `json:"data,omitempty"`
	// Recursive mount_setattr(2) attributes (rro, rnosuid, ...).
	RecAttrSet uint64 `json:"rec_attr_set,omitempty"`
	RecAttrClr uint64 `json:"rec_attr_clr,omitempty"`
	// TmpCopyUp fills a new tmpfs with what its mount point held.
	TmpCopyUp bool `json:"tmpcopyup,omitempty"`
	// IDMap idmaps the (bind) mount: the idmap/ridmap options.
	IDMap *MountIDMap `json:"idmap,omitempty"`
}

// MountIDMap is an idmapped mount's mapping.
type MountIDMap struct {
	UIDs      []IDMap `json:"uids"`
	GIDs      []IDMap `json:"gids"`
	Recursive bool    `json:"recursive,omitempty"` // ridmap
}

// IsBind reports whether the mount is a bind mount.
func (m *Mount) IsBind() bool { return m.Flags&msBind != 0 }

const msBind = 0x1000 // unix.MS_BIND, without importing x/sys here

// Device is a device node to create in the container's /dev.
type Device struct {
	Path     string `json:"path"`
	Type     rune   `json:"type"` // 'c', 'b', 'p'
	Major    int64  `json:"major"`
	Minor    int64  `json:"minor"`
	FileMode uint32 `json:"file_mode"`
	UID      uint32 `json:"uid"`
	GID      uint32 `json:"gid"`
}

// MemoryPolicy is a NUMA memory policy: mode|flags and the node list.
type MemoryPolicy struct {
	Mode  int   `json:"mode"` // MPOL_* | MPOL_F_* flags
	Nodes []int `json:"nodes,omitempty"`
}

// IDMap is one line of a uid_map/gid_map.
type IDMap struct {
	ContainerID uint32 `json:"container_id"`
	HostID      uint32 `json:"host_id"`
	Size        uint32 `json:"size"`
}

// Hooks are OCI hooks by the spec's names.
type Hooks map[string][]Hook

// Hook is one OCI hook.
type Hook struct {
	Path string   `json:"path"`
	Args []string `json:"args,omitempty"`
	// Env: nil (unset) and empty differ; see hooks.run.
	Env     []string `json:"env"`
	Timeout *int     `json:"timeout,omitempty"`
}

// Process is what runs in the container: the init's workload, or an exec.
type Process struct {
	Args            []string   `json:"args"`
	Env             []string   `json:"env,omitempty"`
	Cwd             string     `json:"cwd"`
	UID             uint32     `json:"uid"`
	GID             uint32     `json:"gid"`
	AdditionalGids  []uint32   `json:"additional_gids,omitempty"`
	Umask           *uint32    `json:"umask,omitempty"`
	Terminal        bool       `json:"terminal,omitempty"`
	Capabilities    *Caps      `json:"capabilities,omitempty"`
	Rlimits         []Rlimit   `json:"rlimits,omitempty"`
	NoNewPrivileges bool       `json:"no_new_privileges,omitempty"`
	OOMScoreAdj     *int       `json:"oom_score_adj,omitempty"`
	ConsoleSize     *[2]uint16 `json:"console_size,omitempty"`
	// IOPriority is the ioprio_set(2) value: class<<13 | level.
	IOPriority *int       `json:"io_priority,omitempty"`
	Scheduler  *Scheduler `json:"scheduler,omitempty"`
	// CPUAffinityInitial/Final are CPU lists for an exec'd process, before
	// and after it joins the container's cgroup.
	CPUAffinityInitial []int `json:"cpu_affinity_initial,omitempty"`
	CPUAffinityFinal   []int `json:"cpu_affinity_final,omitempty"`
	// AppArmorProfile and SELinuxLabel apply at the workload's exec.
	AppArmorProfile string `json:"apparmor_profile,omitempty"`
	SELinuxLabel    string `json:"selinux_label,omitempty"`
}

// Scheduler is a sched_setattr(2) request.
type Scheduler struct {
	Policy   uint32 `json:"policy"`
	Flags    uint64 `json:"flags,omitempty"`
	Nice     int32  `json:"nice,omitempty"`
	Priority uint32 `json:"priority,omitempty"`
	Runtime  uint64 `json:"runtime,omitempty"`
	Deadline uint64 `json:"deadline,omitempty"`
	Period   uint64 `json:"period,omitempty"`
}

// Caps are capability sets as bit masks (bit N = capability N).
type Caps struct {
	Bounding    uint64 `json:"bounding"`
	Effective   uint64 `json:"effective"`
	Inheritable uint64 `json:"inheritable"`
	Permitted   uint64 `json:"permitted"`
	Ambient     uint64 `json:"ambient"`
	// InheritableSet: the config had an inheritable list (maybe empty);
	// exec --cap then raises its capabilities in ambient too, as runc.
	InheritableSet bool `json:"inheritable_set,omitempty"`
}

// Rlimit is one resource limit.
type Rlimit struct {
	Type int    `json:"type"`
	Hard uint64 `json:"hard"`
	Soft uint64 `json:"soft"`
}

// Seccomp is a seccomp profile: actions and operators by their spec names
// (SCMP_ACT_*, SCMP_CMP_*), checked against the seccomp package's tables.
type Seccomp struct {
	DefaultAction    string           `json:"default_action"`
	DefaultErrno     *uint            `json:"default_errno,omitempty"`
	Architectures    []string         `json:"architectures,omitempty"` // SCMP_ARCH_*
	Flags            []string         `json:"flags,omitempty"`         // SECCOMP_FILTER_FLAG_*
	ListenerPath     string           `json:"listener_path,omitempty"`
	ListenerMetadata string           `json:"listener_metadata,omitempty"`
	Syscalls         []SeccompSyscall `json:"syscalls,omitempty"`
}

// SeccompSyscall is one rule.
type SeccompSyscall struct {
	Names  []string     `json:"names"`
	Action string       `json:"action"`
	Errno  *uint        `json:"errno,omitempty"`
	Args   []SeccompArg `json:"args,omitempty"`
}

// SeccompArg is one argument condition.
type SeccompArg struct {
	Index    uint   `json:"index"`
	Value    uint64 `json:"value"`
	ValueTwo uint64 `json:"value_two,omitempty"`
	Op       string `json:"op"`
}
