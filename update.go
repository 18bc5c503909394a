package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
)

var updateCommand = &cli.Command{
	Name:      "update",
	Usage:     "update container resource constraints",
	ArgsUsage: `<container-id>`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "resources", Aliases: []string{"r"}, Usage: `path to the file containing the resources to update or '-' to read from the standard input

The accepted format is as follow (unchanged values can be omitted):

{
  "memory": {
    "limit": 0,
    "reservation": 0,
    "swap": 0,
    "checkBeforeUpdate": true
  },
  "cpu": {
    "shares": 0,
    "quota": 0,
    "burst": 0,
    "period": 0,
    "realtimeRuntime": 0,
    "realtimePeriod": 0,
    "cpus": "",
    "mems": "",
    "idle": 0
  },
  "blockIO": {
    "weight": 0
  }
}

Note: if data is to be read from a file or the standard input, all
other options are ignored.
`},
		&cli.IntFlag{Name: "blkio-weight", Usage: "Specifies per cgroup weight, range is from 10 to 1000"},
		&cli.StringFlag{Name: "cpu-period", Usage: "CPU CFS period to be used for hardcapping (in usecs). 0 to use system default"},
		&cli.StringFlag{Name: "cpu-quota", Usage: "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period"},
		&cli.StringFlag{Name: "cpu-burst", Usage: "CPU CFS hardcap burst limit (in usecs). Allowed accumulated cpu time additionally for burst a given period"},
		&cli.StringFlag{Name: "cpu-share", Usage: "CPU shares (relative weight vs. other containers)"},
		&cli.StringFlag{Name: "cpu-rt-period", Usage: "CPU realtime period to be used for hardcapping (in usecs). 0 to use system default"},
		&cli.StringFlag{Name: "cpu-rt-runtime", Usage: "CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period"},
		&cli.StringFlag{Name: "cpuset-cpus", Usage: "CPU(s) to use"},
		&cli.StringFlag{Name: "cpuset-mems", Usage: "Memory node(s) to use"},
		&cli.StringFlag{Name: "kernel-memory", Usage: "(obsoleted; do not use)", Hidden: true},
		&cli.StringFlag{Name: "kernel-memory-tcp", Usage: "(obsoleted; do not use)", Hidden: true},
		&cli.StringFlag{Name: "memory", Usage: "Memory limit (in bytes)"},
		&cli.StringFlag{Name: "cpu-idle", Usage: "set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE"},
		&cli.StringFlag{Name: "memory-reservation", Usage: "Memory reservation or soft_limit (in bytes)"},
		&cli.StringFlag{Name: "memory-swap", Usage: "Total memory usage (memory + swap); set '-1' to enable unlimited swap"},
		&cli.IntFlag{Name: "pids-limit", Usage: "Maximum number of pids allowed in the container"},
		&cli.StringFlag{Name: "l3-cache-schema", Usage: "The string of Intel RDT/CAT L3 cache schema"},
		&cli.StringFlag{Name: "mem-bw-schema", Usage: "The string of Intel RDT/MBA memory bandwidth schema"},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, exactArgs); err != nil {
			return err
		}
		if ctx.String("l3-cache-schema") != "" {
			return errors.New("Intel RDT/CAT: l3 cache schema is not enabled")
		}
		if ctx.String("mem-bw-schema") != "" {
			return errors.New("Intel RDT/MBA: memory bandwidth schema is not enabled")
		}
		c, err := getLocked(ctx, true)
		if err != nil {
			return err
		}
		defer c.Unlock()
		r, src, err := updateRequest(ctx)
		if err != nil {
			return err
		}
		// A memory limit of -1 with no swap given lifts both, as runc.
		if r.Memory != nil && r.Memory.Limit != nil && *r.Memory.Limit == -1 && r.Memory.Swap == nil {
			r.Memory.Swap = r.Memory.Limit
		}
		// A zero means "leave it as it is" where it means "unset" in a
		// config (ConvertResources drops it), as for runc: clients send
		// zeros for what they do not change. dockerd's update through
		// containerd's shim, for one, sends every field of its struct, e.g.
		// {"memory":{"limit":0,"reservation":33554432,"kernel":0},
		// "cpu":{"shares":0,...},"blockIO":{"weight":0}} for `docker
		// update --memory-reservation 32m`. Burst and idle 0 are values,
		// and pids limit 0 is made 1, as runc does.
		upd, err := specconv.ConvertResources(r, "resources")
		if err != nil {
			var fe *specconv.FieldError
			if errors.As(err, &fe) {
				fe.File = src // not config.json's
				return fe
			}
			return fmt.Errorf("%s: %w", src, err)
		}
		cur := c.State.Config.Cgroup.Resources
		if cur == nil {
			cur = &configs.Resources{}
		}
		merged := mergeResources(*cur, upd)
		if r.Memory != nil && r.Memory.CheckBeforeUpdate != nil {
			merged.CheckBeforeUpdate = *r.Memory.CheckBeforeUpdate
		}
		return c.Update(&merged)
	},
}

// updateRequest reads the changes: the --resources file (or stdin), or
// else the flags; src names where they came from, for errors.
func updateRequest(ctx *cli.Context) (*specs.LinuxResources, string, error) {
	r := &specs.LinuxResources{}
	if in := ctx.String("resources"); in != "" {
		var src io.Reader = os.Stdin
		name := "standard input"
		if in != "-" {
			f, err := os.Open(in)
			if err != nil {
				return nil, "", err
			}
			defer f.Close()
			src, name = f, in
		}
		if err := json.NewDecoder(src).Decode(r); err != nil {
			return nil, "", fmt.Errorf("--resources %s: %w", name, err)
		}
		return r, "--resources " + name, nil
	}
	mem, cpu := &specs.LinuxMemory{}, &specs.LinuxCPU{}
	r.Memory, r.CPU = mem, cpu
	if ctx.IsSet("blkio-weight") {
		v := ctx.Int("blkio-weight")
		if v < 0 || v > 65535 {
			return nil, "", fmt.Errorf("invalid value for blkio-weight: %d", v)
		}
		w := uint16(v)
		r.BlockIO = &specs.LinuxBlockIO{Weight: &w}
	}
	cpu.Cpus, cpu.Mems = ctx.String("cpuset-cpus"), ctx.String("cpuset-mems")
	parseUint := func(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) }
	parseInt := func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }
	if err := parseFlags(ctx, parseUint, map[string]**uint64{
		"cpu-burst": &cpu.Burst, "cpu-period": &cpu.Period, "cpu-rt-period": &cpu.RealtimePeriod, "cpu-share": &cpu.Shares,
	}); err != nil {
		return nil, "", err
	}
	if err := parseFlags(ctx, parseInt, map[string]**int64{
		"cpu-quota": &cpu.Quota, "cpu-rt-runtime": &cpu.RealtimeRuntime, "cpu-idle": &cpu.Idle,
	}); err != nil {
		return nil, "", err
	}
	if err := parseFlags(ctx, ramInBytes, map[string]**int64{
		"memory": &mem.Limit, "memory-swap": &mem.Swap, "memory-reservation": &mem.Reservation,
	}); err != nil {
		return nil, "", err
	}
	for _, opt := range []string{"kernel-memory", "kernel-memory-tcp"} {
		if ctx.String(opt) != "" {
			slog.Warn("Setting --" + opt + " is ignored and will be removed")
		}
	}
	if ctx.IsSet("pids-limit") {
		v := int64(ctx.Int("pids-limit"))
		r.Pids = &specs.LinuxPids{Limit: &v}
	}
	return r, "update flags", nil
}

// parseFlags sets *dest to the parsed value of each flag given (not empty).
func parseFlags[T any](ctx *cli.Context, parse func(string) (T, error), flags map[string]**T) error {
	for opt, dest := range flags {
		if val := ctx.String(opt); val != "" {
			v, err := parse(val)
			if err != nil {
				return fmt.Errorf("invalid value for %s: %w", opt, err)
			}
			*dest = &v
		}
	}
	return nil
}

// ramInBytes parses a size as docker and runc accept it: a number with an
// optional binary unit (k, m, g, t, p; an optional "b" or "ib"), or -1.
func ramInBytes(s string) (int64, error) {
	if s == "-1" {
		return -1, nil
	}
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "b")
	t = strings.TrimSuffix(t, "i")
	mult := float64(1)
	if n := len(t); n > 0 {
		if i := strings.IndexByte("kmgtp", t[n-1]); i >= 0 {
			for j := 0; j <= i; j++ {
				mult *= 1024
			}
			t = strings.TrimSpace(t[:n-1])
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || t == "" || strings.ContainsAny(t, "eE+-xXnN") {
		return 0, fmt.Errorf("invalid size: %q", s)
	}
	return int64(v * mult), nil
}

// mergeResources returns cur with every field that upd sets replaced.
func mergeResources(cur configs.Resources, upd *configs.Resources) configs.Resources {
	if upd == nil {
		return cur
	}
	set := func(dst **int64, src *int64) {
		if src != nil {
			*dst = src
		}
	}
	setU := func(dst **uint64, src *uint64) {
		if src != nil {
			*dst = src
		}
	}
	set(&cur.MemoryLimit, upd.MemoryLimit)
	set(&cur.MemoryReservation, upd.MemoryReservation)
	set(&cur.MemorySwap, upd.MemorySwap)
	setU(&cur.MemorySwappiness, upd.MemorySwappiness)
	setU(&cur.CPUShares, upd.CPUShares)
	set(&cur.CPUQuota, upd.CPUQuota)
	setU(&cur.CPUPeriod, upd.CPUPeriod)
	setU(&cur.CPUBurst, upd.CPUBurst)
	set(&cur.CPURtRuntime, upd.CPURtRuntime)
	setU(&cur.CPURtPeriod, upd.CPURtPeriod)
	set(&cur.CPUIdle, upd.CPUIdle)
	if upd.CPUs != "" {
		cur.CPUs = upd.CPUs
	}
	if upd.Mems != "" {
		cur.Mems = upd.Mems
	}
	set(&cur.PidsLimit, upd.PidsLimit)
	if upd.BlkioWeight != nil {
		cur.BlkioWeight = upd.BlkioWeight
	}
	if upd.BlkioLeafWeight != nil {
		cur.BlkioLeafWeight = upd.BlkioLeafWeight
	}
	if upd.BlkioWeightDevice != nil {
		cur.BlkioWeightDevice = upd.BlkioWeightDevice
	}
	for _, p := range []struct{ dst, src *[]configs.ThrottleDevice }{
		{&cur.BlkioThrottleReadBps, &upd.BlkioThrottleReadBps},
		{&cur.BlkioThrottleWriteBps, &upd.BlkioThrottleWriteBps},
		{&cur.BlkioThrottleReadIOPS, &upd.BlkioThrottleReadIOPS},
		{&cur.BlkioThrottleWriteIOPS, &upd.BlkioThrottleWriteIOPS},
	} {
		if *p.src != nil {
			*p.dst = *p.src
		}
	}
	if upd.HugetlbLimits != nil {
		cur.HugetlbLimits = upd.HugetlbLimits
	}
	if upd.Rdma != nil {
		cur.Rdma = upd.Rdma
	}
	if upd.NetClsClassid != nil {
		cur.NetClsClassid = upd.NetClsClassid
	}
	if upd.NetPrioIfpriomap != nil {
		cur.NetPrioIfpriomap = upd.NetPrioIfpriomap
	}
	if upd.Unified != nil {
		cur.Unified = upd.Unified
	}
	return cur
}
