package main

import (
	"encoding/json"
	"log/slog"
	"os"
	"sort"

	"github.com/husk-runtime/husk/libcontainer/capabilities"
	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/criu"
	"github.com/husk-runtime/husk/libcontainer/hooks"
	"github.com/husk-runtime/husk/libcontainer/seccomp"
	"github.com/husk-runtime/husk/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"github.com/urfave/cli/v2"
)

// checkpointAnnotation is runc's: "true" if checkpoint and restore work.
const checkpointAnnotation = "org.opencontainers.runc.checkpoint.enabled"

var featuresCommand = &cli.Command{
	Name:      "features",
	Usage:     "show the enabled features",
	ArgsUsage: "",
	Description: `Show the enabled features.
   The result is parsable as a JSON.
   See https://github.com/opencontainers/runtime-spec/blob/main/features.md for the type definition.`,
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 0, exactArgs); err != nil {
			return err
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "    ")
		return enc.Encode(huskFeatures())
	},
}

// huskFeatures describes what husk does. The lists (hooks, mount options,
// namespaces, capabilities, seccomp names, memory policies) come from the
// tables that specconv and the packages it calls convert configs with, so
// they cannot name what a config may not use (tests/integration's
// TestFeatures* run what they list). The booleans are written here, and
// TestFeaturesTruthful checks them: as runc's, apparmor and selinux
// "enabled" mean compiled in (husk applies both where the host has them),
// not enabled on this host.
func huskFeatures() *features.Features {
	t, f := true, false
	caps := make([]string, 0, len(capabilities.Names))
	for name := range capabilities.Names {
		caps = append(caps, name)
	}
	sort.Slice(caps, func(i, j int) bool { return capabilities.Names[caps[i]] < capabilities.Names[caps[j]] })
	ann := map[string]string{
		"io.github.husk-runtime.husk.version":  version,
		"io.github.seccomp.libseccomp.version": seccomp.LibraryVersion(),
	}
	if gitCommit != "" {
		ann["io.github.husk-runtime.husk.commit"] = gitCommit
	}
	// runc says so always; husk only where checkpoint would work: a CRIU
	// recent enough that passes its own check of this kernel.
	if err := criu.Usable(); err != nil {
		slog.Debug("checkpoint/restore not enabled: " + err.Error())
	} else {
		ann[checkpointAnnotation] = "true"
	}
	return &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks:         hooks.Names,
		MountOptions:  specconv.MountOptions(),
		Linux: &features.Linux{
			Namespaces:   configs.NamespaceNames(),
			Capabilities: caps,
			Cgroup:       &features.Cgroup{V1: &t, V2: &t, Systemd: &t, SystemdUser: &t, Rdma: &t},
			Seccomp: &features.Seccomp{
				Enabled:        &t,
				Actions:        seccomp.Names(seccomp.Actions),
				Operators:      seccomp.Names(seccomp.Operators),
				Archs:          seccomp.SupportedArchs(),
				KnownFlags:     seccomp.Names(seccomp.Flags),
				SupportedFlags: seccomp.SupportedFlags(),
			},
			Apparmor: &features.Apparmor{Enabled: &t},
			Selinux:  &features.Selinux{Enabled: &t},
			IntelRdt: &features.IntelRdt{Enabled: &f},
			MemoryPolicy: &features.MemoryPolicy{
				Modes: specconv.Keys(specconv.MemoryPolicyModes),
				Flags: specconv.Keys(specconv.MemoryPolicyFlags),
			},
			MountExtensions: &features.MountExtensions{IDMap: &features.IDMap{Enabled: &t}},
			NetDevices:      &features.NetDevices{Enabled: &t},
		},
		// The annotations that change what husk does: the systemd unit's
		// properties (a prefix), and the CRIU configuration file
		// checkpoint and restore use.
		PotentiallyUnsafeConfigAnnotations: []string{"org.systemd.property.", "org.criu.config"},
		Annotations:                        ann,
	}
}
