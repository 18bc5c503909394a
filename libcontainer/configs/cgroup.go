package configs

// Cgroup says where the container's processes go and what limits apply.
type Cgroup struct {
	// Path is linux.cgroupsPath, cleaned. An absolute path is relative to
	// the hierarchy's root; a relative one to the cgroup of the husk
	// process that creates the container (as runc). Never empty: specconv
	// defaults it to the container id.
	Path string `json:"path"`
	// Systemd selects the systemd driver (--systemd-cgroup).
	Systemd   bool       `json:"systemd,omitempty"`
	Resources *Resources `json:"resources,omitempty"`
}

// Resources are the limits husk applies to the cgroup.
type Resources struct {
	Devices []DeviceRule `json:"devices,omitempty"`

	MemoryLimit       *int64 `json:"memory_limit,omitempty"`
	MemoryReservation *int64 `json:"memory_reservation,omitempty"`
	MemorySwap        *int64 `json:"memory_swap,omitempty"`

	CPUShares *uint64 `json:"cpu_shares,omitempty"`
	CPUQuota  *int64  `json:"cpu_quota,omitempty"`
	CPUPeriod *uint64 `json:"cpu_period,omitempty"`
	CPUs      string  `json:"cpus,omitempty"`
	Mems      string  `json:"mems,omitempty"`

	PidsLimit *int64 `json:"pids_limit,omitempty"`
}

// DeviceRule is one devices-cgroup rule. Major/Minor -1 is a wildcard.
type DeviceRule struct {
	Allow  bool   `json:"allow"`
	Type   rune   `json:"type"` // 'a', 'c', 'b'
	Major  int64  `json:"major"`
	Minor  int64  `json:"minor"`
	Access string `json:"access"` // some of "rwm"
}
