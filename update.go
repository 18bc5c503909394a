package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/husk-runtime/husk/libcontainer/diag"
	"io"
	"os"
	"strconv"
	"strings"

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
			//lint:ignore ST1005 runc's message, word for word
			return errors.New("Intel RDT/CAT: l3 cache schema is not enabled")
		}
		if ctx.String("mem-bw-schema") != "" {
			//lint:ignore ST1005 runc's message, word for word
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
		upd, err := specconv.ConvertUpdate(r, src)
		if err != nil {
			return err
		}
		return c.Update(upd)
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
			if err := diag.Warn(diag.Warning{File: "update", Field: "--" + opt, Msg: "Setting --" + opt + " is ignored and will be removed"}); err != nil {
				return nil, "", err
			}
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
