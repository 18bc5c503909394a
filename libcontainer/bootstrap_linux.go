package libcontainer

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/initproto"
	"github.com/husk-runtime/husk/libcontainer/netdev"
	"github.com/husk-runtime/husk/libcontainer/nsenter"
	"github.com/husk-runtime/husk/libcontainer/system"
	"github.com/husk-runtime/husk/libcontainer/timerslack"
)

// bootstrap drives the C stage: namespaces, uid/gid maps, the final pid.
// whileWaiting (if not nil) runs once the bootstrap is sent, while the C
// stage joins the cgroups and makes the namespaces (~0.5-1 ms).
func (sp *spawned) bootstrap(bs *nsenter.Bootstrap, cfg *configs.Config, whileWaiting func() error) error {
	if debugEnabled() {
		bs.LogLevel = 1
	}
	payload, err := bs.Encode()
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	slog.Debug("sending the bootstrap to the init's C stage", "pid", sp.pid0)
	if err := initproto.Write(sp.sock, initproto.Bootstrap, payload); err != nil {
		return fmt.Errorf("send bootstrap to init: %w", err)
	}
	if whileWaiting != nil {
		if err := whileWaiting(); err != nil {
			return err
		}
	}
	for {
		t, p, err := sp.read("the C stage's child pid")
		if err != nil {
			return initErr(err)
		}
		switch t {
		case initproto.Log:
			logFromInit(p)
		case initproto.UsernsReady:
			pid, err := initproto.ParseU32(t, p)
			if err != nil {
				return err
			}
			slog.Debug("writing the uid/gid maps", "pid", pid)
			if err := writeIDMaps(int(pid), cfg); err != nil {
				return err
			}
			if err := writeTimeOffsets(int(pid), cfg); err != nil {
				return err
			}
			if err := initproto.Write(sp.sock, initproto.MapsDone, nil); err != nil {
				return fmt.Errorf("send maps-done to init: %w", err)
			}
		case initproto.ChildPid:
			pid, err := initproto.ParseU32(t, p)
			if err != nil {
				return err
			}
			sp.pid = int(pid)
			if pid == 0 {
				sp.pid = sp.pid0
			}
			st, err := system.Stat(sp.pid)
			if err != nil {
				return fmt.Errorf("init process %d: %w", sp.pid, err)
			}
			sp.startTime = st.StartTime
			slog.Debug("the init runs", "pid", sp.pid)
			if sp.pid != sp.pid0 {
				// The C stage forked; its first process exits now.
				if err := sp.reap0(); err != nil {
					return err
				}
			}
			return nil
		case initproto.Error:
			return initproto.DecodeError(p)
		default:
			return fmt.Errorf("%w from init's C stage: %v", initproto.ErrUnexpected, t)
		}
	}
}

// moveNetDevices moves linux.netDevices into the init's network namespace,
// now that it exists and before anything runs in it.
func moveNetDevices(pid int, devs map[string]string) error {
	if len(devs) == 0 {
		return nil
	}
	ns, err := os.Open("/proc/" + strconv.Itoa(pid) + "/ns/net")
	if err != nil {
		return fmt.Errorf("linux.netDevices: %w", err)
	}
	defer ns.Close()
	names := make([]string, 0, len(devs))
	for host := range devs {
		names = append(names, host)
	}
	sort.Strings(names)
	for _, host := range names {
		if err := netdev.Move(host, devs[host], ns); err != nil {
			return fmt.Errorf("linux.netDevices: %w", err)
		}
	}
	return nil
}

// cloneNewPid says whether the init can be cloned straight into a new pid
// namespace: one is wanted, and no user namespace or new time namespace has
// to come first.
func cloneNewPid(cfg *configs.Config) bool {
	pid, ok := cfg.Namespace(configs.NEWPID)
	if !ok || pid.Path != "" || cfg.Has(configs.NEWUSER) {
		return false
	}
	t, ok := cfg.Namespace(configs.NEWTIME)
	return !ok || t.Path != ""
}

// hostID maps a container id to the host: itself without mappings.
func hostID(ms []configs.IDMap, id uint32) int {
	for _, m := range ms {
		if id >= m.ContainerID && id-m.ContainerID < m.Size {
			return int(m.HostID + id - m.ContainerID)
		}
	}
	return int(id)
}

func writeIDMaps(pid int, cfg *configs.Config) error {
	format := func(ms []configs.IDMap) string {
		var b strings.Builder
		for _, m := range ms {
			fmt.Fprintf(&b, "%d %d %d\n", m.ContainerID, m.HostID, m.Size)
		}
		return b.String()
	}
	proc := "/proc/" + strconv.Itoa(pid)
	if os.Geteuid() == 0 {
		if err := system.WriteFile(proc+"/uid_map", format(cfg.UIDMappings)); err != nil {
			return fmt.Errorf("write uid_map: %w", err)
		}
		if err := system.WriteFile(proc+"/gid_map", format(cfg.GIDMappings)); err != nil {
			return fmt.Errorf("write gid_map: %w", err)
		}
		return nil
	}
	// Unprivileged, the kernel lets us map only our own id (and our own
	// gid once setgroups is denied); more takes the setuid helpers, which
	// check /etc/subuid and /etc/subgid.
	own := func(ms []configs.IDMap, id int) bool {
		return len(ms) == 1 && ms[0].Size == 1 && int(ms[0].HostID) == id
	}
	if own(cfg.UIDMappings, os.Geteuid()) {
		if err := system.WriteFile(proc+"/uid_map", format(cfg.UIDMappings)); err != nil {
			return fmt.Errorf("write uid_map: %w", err)
		}
	} else if err := idmapHelper("newuidmap", "/etc/subuid", pid, cfg.UIDMappings); err != nil {
		return fmt.Errorf("linux.uidMappings: %w", err)
	}
	if own(cfg.GIDMappings, os.Getegid()) {
		if err := system.WriteFile(proc+"/setgroups", "deny"); err != nil {
			return fmt.Errorf("write setgroups: %w", err)
		}
		if err := system.WriteFile(proc+"/gid_map", format(cfg.GIDMappings)); err != nil {
			return fmt.Errorf("write gid_map: %w", err)
		}
	} else if err := idmapHelper("newgidmap", "/etc/subgid", pid, cfg.GIDMappings); err != nil {
		return fmt.Errorf("linux.gidMappings: %w", err)
	}
	return nil
}

// writeTimeOffsets writes the offsets of the time namespace the C stage
// made together with a new user namespace: the C stage, not dumpable, may
// not open its own timens_offsets (owned by the host's root) as root of
// that user namespace.
func writeTimeOffsets(pid int, cfg *configs.Config) error {
	if t, ok := cfg.Namespace(configs.NEWTIME); !ok || t.Path != "" || cfg.TimeOffsets == "" {
		return nil
	}
	if err := system.WriteFile("/proc/"+strconv.Itoa(pid)+"/timens_offsets", cfg.TimeOffsets); err != nil {
		return fmt.Errorf("linux.timeOffsets: %w", err)
	}
	return nil
}

// idmapHelper writes a user namespace's map with newuidmap or newgidmap
// (shadow's setuid helpers), for mappings beyond the caller's own id.
func idmapHelper(helper, subFile string, pid int, ms []configs.IDMap) error {
	path, err := exec.LookPath(helper)
	if err != nil {
		return fmt.Errorf("mapping ids other than your own needs %s (Debian package uidmap) and a range in %s: %w", helper, subFile, err)
	}
	args := []string{strconv.Itoa(pid)}
	for _, m := range ms {
		args = append(args, strconv.FormatUint(uint64(m.ContainerID), 10), strconv.FormatUint(uint64(m.HostID), 10), strconv.FormatUint(uint64(m.Size), 10))
	}
	var out []byte
	err = timerslack.AsCaller(func() (err error) {
		out, err = exec.Command(path, args...).CombinedOutput()
		return err
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s (the ranges must be yours in %s)", helper, strings.Join(args, " "), err, strings.TrimSpace(string(out)), subFile)
	}
	return nil
}
