package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/checkpoint-restore/go-criu/v8/rpc"
	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/cgroups/manager"
	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/console"
	"github.com/husk-runtime/husk/libcontainer/criu"
	"github.com/husk-runtime/husk/libcontainer/hooks"
	"github.com/husk-runtime/husk/libcontainer/system"
	"golang.org/x/sys/unix"
)

// Checkpoint and restore go through CRIU (package criu), as runc's do:
// husk describes to CRIU what it cannot see for itself (the mounts whose
// sources are outside the container, the namespaces joined by path, the
// cgroup to restore into, the stdio pipes of the init) and turns the
// restored process tree into the container's init.

// CriuOptions are the flags of checkpoint and restore.
type CriuOptions struct {
	ImagePath  string // where the images are (absolute)
	WorkPath   string // CRIU's logs and work files ("": the image dir)
	ParentPath string // a pre-dump's images, relative to ImagePath
	// The CRIU options of the same names.
	LeaveRunning, TCPEstablished, TCPSkipInFlight, LinkRemap, ExtUnixSk, ShellJob,
	FileLocks, PreDump, AutoDedup, LazyPages bool
	// StatusFd gets a \0 once the lazy-pages server is ready (-1: none).
	StatusFd int
	// PageServer is ADDRESS and PageServerPort its port (0: none).
	PageServer     string
	PageServerPort int32
	// ManageCgroupsMode: soft, full, strict, ignore or "" (CRIU's default).
	ManageCgroupsMode string
	// EmptyNs is the CLONE_NEW* mask of namespaces CRIU makes without
	// restoring their contents (always the network namespace, as runc).
	EmptyNs uint32
	// The LSM profile and mount context to restore with ("": as dumped).
	LsmProfile, LsmMountContext string
}

// descriptorsFile, in the image directory, names the init's stdio as it
// was at create: the pipes among them are handed to the restored process
// (runc's file, with the same content).
const descriptorsFile = "descriptors.json"

// criuConfigAnnotation names the CRIU configuration file to use ("": none);
// without it, /etc/criu/runc.conf (as runc: one file serves both).
const (
	criuConfigAnnotation = "org.criu.config"
	criuDefaultConfig    = "/etc/criu/runc.conf"
)

// CgroupsModes are --manage-cgroups-mode's values.
var cgroupsModes = map[string]rpc.CriuCgMode{
	"":       rpc.CriuCgMode_DEFAULT,
	"soft":   rpc.CriuCgMode_SOFT,
	"full":   rpc.CriuCgMode_FULL,
	"strict": rpc.CriuCgMode_STRICT,
	"ignore": rpc.CriuCgMode_IGNORE,
}

// CheckCgroupsMode checks a --manage-cgroups-mode value.
func CheckCgroupsMode(mode string) error {
	if _, ok := cgroupsModes[mode]; !ok {
		return fmt.Errorf("--manage-cgroups-mode: %q is not one of soft, full, strict, ignore", mode)
	}
	return nil
}

// Checkpoint dumps a running (or paused) container with CRIU into
// o.ImagePath. Unless o.LeaveRunning or o.PreDump, CRIU kills the
// container's processes once they are dumped; the caller then deletes
// the container.
func (c *Container) Checkpoint(o *CriuOptions) error {
	switch st := c.Status(); st {
	case Running, Paused:
	default:
		return fmt.Errorf("%w: container cannot be checkpointed in %s state", ErrState, st)
	}
	if err := criu.Check(); err != nil {
		return err
	}
	mode, ok := cgroupsModes[o.ManageCgroupsMode]
	if !ok {
		return CheckCgroupsMode(o.ManageCgroupsMode)
	}
	// A container may be checkpointed many times: the dir may exist.
	if err := os.Mkdir(o.ImagePath, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("--image-path: %w", err)
	}
	imageDir, err := os.Open(o.ImagePath)
	if err != nil {
		return fmt.Errorf("--image-path: %w", err)
	}
	defer imageDir.Close()
	const logFile = "dump.log"
	logDir := o.ImagePath
	opts := &rpc.CriuOpts{
		ImagesDirFd:       ptr(int32(imageDir.Fd())),
		LogLevel:          ptr(int32(4)),
		LogFile:           ptr(logFile),
		Root:              ptr(c.State.Config.Rootfs),
		ManageCgroups:     ptr(true),
		ManageCgroupsMode: &mode,
		NotifyScripts:     ptr(true),
		Pid:               ptr(int32(c.State.InitPid)),
		ShellJob:          ptr(o.ShellJob),
		LeaveRunning:      ptr(o.LeaveRunning),
		TcpEstablished:    ptr(o.TCPEstablished),
		TcpSkipInFlight:   ptr(o.TCPSkipInFlight),
		LinkRemap:         ptr(o.LinkRemap),
		ExtUnixSk:         ptr(o.ExtUnixSk),
		FileLocks:         ptr(o.FileLocks),
		EmptyNs:           ptr(o.EmptyNs),
		OrphanPtsMaster:   ptr(true),
		AutoDedup:         ptr(o.AutoDedup),
		LazyPages:         ptr(o.LazyPages),
	}
	if o.WorkPath != "" {
		wd, err := openWorkDir(o.WorkPath)
		if err != nil {
			return err
		}
		defer wd.Close()
		opts.WorkDirFd = ptr(int32(wd.Fd()))
		logDir = o.WorkPath
	}
	c.criuConfigFile(opts)
	// A network or pid namespace joined by path is not the container's
	// to dump: CRIU records it as external, and restore hands it back.
	for _, t := range []configs.NamespaceType{configs.NEWNET, configs.NEWPID} {
		ns, ok := c.State.Config.Namespace(t)
		if !ok || ns.Path == "" {
			continue
		}
		var st unix.Stat_t
		if err := unix.Stat(ns.Path, &st); err != nil {
			return fmt.Errorf("%s namespace %s: %w", t, ns.Path, err)
		}
		opts.External = append(opts.External, fmt.Sprintf("%s[%d]:%s", criuNsName(t), st.Ino, criuNsKey(t)))
	}
	// CRIU freezes the container through its freezer cgroup (rather
	// than only with ptrace), as runc has it.
	if fcg := c.freezerPath(); fcg != "" {
		opts.FreezeCgroup = ptr(fcg)
	}
	if o.PageServer != "" && o.PageServerPort != 0 {
		opts.Ps = &rpc.CriuPageServerInfo{Address: ptr(o.PageServer), Port: ptr(o.PageServerPort)}
	}
	if o.ParentPath != "" {
		opts.ParentImg = ptr(o.ParentPath)
		opts.TrackMem = ptr(true)
	}
	t := rpc.CriuReqType_DUMP
	want := &rpc.CriuFeatures{}
	if o.PreDump {
		t = rpc.CriuReqType_PRE_DUMP
		want.MemTrack = ptr(true)
	}
	if o.LazyPages {
		want.LazyPages = ptr(true)
	}
	if o.PreDump || o.LazyPages {
		missing, err := criu.Features(want)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			return fmt.Errorf("criu (or this kernel) lacks %s", strings.Join(missing, ", "))
		}
	}
	statusFd := -1
	if o.LazyPages && o.StatusFd >= 0 {
		flags, err := unix.FcntlInt(uintptr(o.StatusFd), unix.F_GETFL, 0)
		if err != nil {
			return fmt.Errorf("--status-fd %d: %w", o.StatusFd, err)
		}
		if flags&(unix.O_WRONLY|unix.O_RDWR) == 0 {
			return fmt.Errorf("--status-fd %d: not open for writing", o.StatusFd)
		}
		// CRIU says "status-ready" (a notification), and husk writes
		// the \0 then.
		statusFd = o.StatusFd
	}
	req := &rpc.CriuReq{Type: &t, Opts: opts}
	if !o.PreDump {
		if err := c.dumpMounts(opts); err != nil {
			return err
		}
		fds := c.State.ExternalDescriptors
		if len(fds) == 0 {
			fds = stdioNames(c.State.InitPid)
		}
		b, err := json.Marshal(fds)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(o.ImagePath, descriptorsFile), b, 0o600); err != nil {
			return err
		}
	}
	slog.Debug("criu", "request", t.String(), "pid", c.State.InitPid, "images", o.ImagePath)
	_, err = criu.Run(req, criu.Options{
		// What CRIU says before its log is open (a bad configuration
		// file) goes to our stderr.
		Stdio: [3]*os.File{nil, nil, os.Stderr},
		Notify: func(n *rpc.CriuNotify, fds []*os.File) error {
			closeFiles(fds)
			if n.GetScript() == "status-ready" && statusFd >= 0 {
				if _, err := unix.Write(statusFd, []byte{0}); err != nil {
					slog.Warn("--status-fd: " + err.Error())
				}
				unix.Close(statusFd)
				statusFd = -1
			}
			return nil
		},
	})
	if err != nil {
		return criuError(err, logDir, logFile)
	}
	return nil
}

// criuError adds the first error CRIU logged to err.
func criuError(err error, dir, file string) error {
	path := filepath.Join(dir, file)
	if line := criu.LogError(path); line != "" {
		return fmt.Errorf("%w (%s: %s)", err, path, line)
	}
	return fmt.Errorf("%w (log: %s)", err, path)
}

func openWorkDir(path string) (*os.File, error) {
	if err := os.Mkdir(path, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("--work-path: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--work-path: %w", err)
	}
	return f, nil
}

// criuConfigFile sets the CRIU configuration file: the org.criu.config
// annotation's ("" for none), else runc's default.
func (c *Container) criuConfigFile(opts *rpc.CriuOpts) {
	criuConfig(c.State.Config, opts)
}

func criuConfig(cfg *configs.Config, opts *rpc.CriuOpts) {
	if f, ok := cfg.Annotations[criuConfigAnnotation]; ok {
		if f != "" {
			opts.ConfigFile = ptr(f)
		}
		return
	}
	opts.ConfigFile = ptr(criuDefaultConfig)
}

// freezerPath is the container's freezer cgroup: the v1 freezer
// hierarchy's, or on a v2-only host the unified one.
func (c *Container) freezerPath() string {
	for key, p := range c.State.CgroupPaths {
		for _, ctrl := range strings.Split(key, ",") {
			if ctrl == "freezer" {
				return p
			}
		}
	}
	if cgroups.IsUnified() {
		return c.State.CgroupPaths[""]
	}
	return ""
}

// dumpMounts tells CRIU which of the container's mounts are external:
// their source is outside the container (bind mounts, the cgroup binds,
// the /dev/null over masked files, device nodes bound from the host).
func (c *Container) dumpMounts(opts *rpc.CriuOpts) error {
	cfg := c.State.Config
	for _, m := range externalMounts(cfg, c.State.CgroupPaths) {
		dest := criuMountDest(cfg.Rootfs, m.Destination)
		if err := addExtMount(opts, dest, dest); err != nil {
			return err
		}
	}
	for _, p := range cfg.MaskedPaths {
		fi, err := os.Stat(fmt.Sprintf("/proc/%d/root%s", c.State.InitPid, filepath.Clean("/"+p)))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return fmt.Errorf("masked path %s: %w", p, err)
		}
		if fi.IsDir() {
			continue // a tmpfs, which CRIU dumps
		}
		if err := addExtMount(opts, filepath.Clean("/"+p), "/dev/null"); err != nil {
			return err
		}
	}
	return nil
}

// externalMounts lists the mounts (container path, host source) whose
// source is outside the container: bind mounts, the container's cgroup
// bound at the cgroup mount (without a cgroup namespace), and each
// device node (bound from the host in a user namespace).
func externalMounts(cfg *configs.Config, paths cgroups.Paths) []configs.Mount {
	var out []configs.Mount
	for _, m := range cfg.Mounts {
		switch {
		case m.Device == "bind":
			out = append(out, configs.Mount{Destination: m.Destination, Source: m.Source})
		case m.Device == "cgroup":
			if v2, ok := paths[""]; ok && len(paths) == 1 {
				if !cfg.Has(configs.NEWCGROUP) {
					out = append(out, configs.Mount{Destination: m.Destination, Source: v2})
				}
				continue
			}
			// v1: a tmpfs (which CRIU dumps) with a bind per hierarchy.
			for key, p := range paths {
				if key == "" {
					continue
				}
				out = append(out, configs.Mount{Destination: filepath.Join(m.Destination, strings.TrimPrefix(key, "name=")), Source: p})
			}
		}
	}
	for _, d := range cfg.Devices {
		if d.Path != "" {
			out = append(out, configs.Mount{Destination: d.Path, Source: d.Path})
		}
	}
	return out
}

// addExtMount adds an external mount. CRIU before 4.3.1 keeps it as the
// string "mnt[KEY]:VAL", unescaped: a key with "]:" would end early (and
// could name a mount outside the container), an empty one asks CRIU to
// guess.
func addExtMount(opts *rpc.CriuOpts, key, val string) error {
	if key == "" || strings.Contains(key, "]:") {
		return fmt.Errorf("mount destination %q cannot be described to criu", key)
	}
	opts.ExtMnt = append(opts.ExtMnt, &rpc.ExtMountMap{Key: ptr(key), Val: ptr(val)})
	return nil
}

// criuMountDest is dest with its symbolic links resolved in the rootfs, as
// the mount was made.
func criuMountDest(rootfs, dest string) string {
	root, err := os.Open(rootfs)
	if err != nil {
		return dest
	}
	defer root.Close()
	fd, err := unix.Openat2(int(root.Fd()), dest, &unix.OpenHow{
		Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return dest
	}
	defer unix.Close(fd)
	full, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return dest
	}
	realRoot, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(root.Fd())))
	if err != nil {
		return dest
	}
	if full == realRoot {
		return "/"
	}
	if rel, ok := strings.CutPrefix(full, realRoot+"/"); ok {
		return "/" + rel
	}
	return dest
}

// criuNsName is CRIU's name of a namespace type.
func criuNsName(t configs.NamespaceType) string {
	switch t {
	case configs.NEWNET:
		return "net"
	case configs.NEWNS:
		return "mnt"
	}
	return string(t)
}

// criuNsKey is the key an external namespace is known by (runc's).
func criuNsKey(t configs.NamespaceType) string {
	n := criuNsName(t)
	return "extRoot" + strings.ToUpper(n[:1]) + n[1:] + "NS"
}

// stdioNames are the targets of pid's fds 0, 1 and 2 ("" where unknown).
func stdioNames(pid int) []string {
	out := make([]string, 3)
	for i := range out {
		out[i], _ = os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, i))
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func closeFiles(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// RestoreOptions describe a container to restore.
type RestoreOptions struct {
	Root    string // --root
	ID      string
	Bundle  string // absolute
	Config  *configs.Config
	Process *configs.Process
	// Stdio are the restored process's stdio pipes (the pipes it had are
	// replaced by these), nil for a terminal.
	Stdio [3]*os.File
	// ConsoleSocket receives the new pty master of a terminal.
	ConsoleSocket *os.File
	Criu          *CriuOptions
}

// Restore restores a container from CRIU's images: the restored process
// tree's root becomes the container's init, and the state is written as
// after create and start (running). On error nothing is left behind.
func Restore(o RestoreOptions) (_ *Container, retErr error) {
	if err := configs.ValidateID(o.ID); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadID, err)
	}
	co := o.Criu
	dir := filepath.Join(o.Root, o.ID)
	if _, err := os.Lstat(dir); err == nil {
		return nil, ErrExist
	}
	if err := criu.Check(); err != nil {
		return nil, err
	}
	mode, ok := cgroupsModes[co.ManageCgroupsMode]
	if !ok {
		return nil, CheckCgroupsMode(co.ManageCgroupsMode)
	}
	if co.LsmProfile != "" || co.LsmMountContext != "" {
		// Both exist since CRIU 3.16, older than any husk accepts.
		slog.Debug("restoring with an LSM profile or mount context", "profile", co.LsmProfile, "context", co.LsmMountContext)
	}
	imageDir, err := os.Open(co.ImagePath)
	if err != nil {
		return nil, fmt.Errorf("--image-path: %w", err)
	}
	defer imageDir.Close()
	// What the checkpoint wrote, checked before anything is made.
	var stdio []string
	b, err := os.ReadFile(filepath.Join(co.ImagePath, descriptorsFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("--image-path %s: not a checkpoint: no %s in it", co.ImagePath, descriptorsFile)
		}
		return nil, fmt.Errorf("--image-path: %w", err)
	}
	if err := json.Unmarshal(b, &stdio); err != nil {
		return nil, fmt.Errorf("--image-path: %s: %w", filepath.Join(co.ImagePath, descriptorsFile), err)
	}
	for _, ns := range o.Config.Namespaces {
		if ns.Type == configs.NEWCGROUP && ns.Path != "" {
			return nil, errors.New("linux.namespaces: criu cannot restore into a cgroup namespace given by path")
		}
	}
	c, err := newContainer(o.Root, o.ID, o.Bundle, o.Config, o.Process)
	if err != nil {
		return nil, err
	}
	var (
		cg       cgroups.Manager
		restored int
		started  uint64
	)
	defer func() {
		if retErr == nil {
			return
		}
		if restored > 0 {
			killAndWait(restored, started)
		}
		if cg != nil {
			killCgroup(cg)
			if err := cg.Destroy(); err != nil {
				slog.Warn("cleaning up after a failed restore", "err", err)
			}
		}
		os.RemoveAll(dir)
		c.Unlock()
	}()
	cg, err = newCgroup(o.Config)
	if err != nil {
		return nil, err
	}
	c.State.CgroupPaths = cg.Paths()
	if err := c.save(); err != nil {
		return nil, fmt.Errorf("write state: %w", err)
	}

	// CRIU wants the root a mount point whose parent is not mounted
	// over: a bind of the rootfs in the state directory.
	root := filepath.Join(dir, "criu-root")
	if err := os.Mkdir(root, 0o755); err != nil {
		return nil, err
	}
	defer os.Remove(root)
	if err := unix.Mount(o.Config.Rootfs, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return nil, fmt.Errorf("bind the rootfs for criu: %w", err)
	}
	defer unix.Unmount(root, unix.MNT_DETACH)
	if err := prepareRestoreMounts(o.Config); err != nil {
		return nil, err
	}

	const logFile = "restore.log"
	logDir := co.ImagePath
	opts := &rpc.CriuOpts{
		ImagesDirFd:       ptr(int32(imageDir.Fd())),
		EvasiveDevices:    ptr(true),
		LogLevel:          ptr(int32(4)),
		LogFile:           ptr(logFile),
		RstSibling:        ptr(true),
		Root:              ptr(root),
		ManageCgroups:     ptr(true),
		ManageCgroupsMode: &mode,
		NotifyScripts:     ptr(true),
		ShellJob:          ptr(co.ShellJob),
		ExtUnixSk:         ptr(co.ExtUnixSk),
		TcpEstablished:    ptr(co.TCPEstablished),
		FileLocks:         ptr(co.FileLocks),
		EmptyNs:           ptr(co.EmptyNs),
		OrphanPtsMaster:   ptr(true),
		AutoDedup:         ptr(co.AutoDedup),
		LazyPages:         ptr(co.LazyPages),
	}
	if co.LsmProfile != "" {
		opts.LsmProfile = ptr(co.LsmProfile)
	}
	if co.LsmMountContext != "" {
		opts.LsmMountContext = ptr(co.LsmMountContext)
	}
	if co.WorkPath != "" {
		wd, err := openWorkDir(co.WorkPath)
		if err != nil {
			return nil, err
		}
		defer wd.Close()
		opts.WorkDirFd = ptr(int32(wd.Fd()))
		logDir = co.WorkPath
	}
	criuConfig(o.Config, opts)

	// Namespaces joined by path: a network or pid namespace is handed to
	// CRIU as the external one it was dumped as; the others CRIU joins.
	var extra []*os.File
	defer func() { closeFiles(extra) }()
	for _, ns := range o.Config.Namespaces {
		if ns.Path == "" {
			continue
		}
		switch ns.Type {
		case configs.NEWNET, configs.NEWPID:
			f, err := os.Open(ns.Path)
			if err != nil {
				return nil, fmt.Errorf("%s namespace: %w", ns.Type, err)
			}
			extra = append(extra, f)
			// CRIU's fds: 0-2 stdio, 3 its socket, then extra.
			opts.InheritFd = append(opts.InheritFd, &rpc.InheritFd{Key: ptr(criuNsKey(ns.Type)), Fd: ptr(int32(3 + len(extra)))})
		default:
			opts.JoinNs = append(opts.JoinNs, &rpc.JoinNamespace{Ns: ptr(criuNsName(ns.Type)), NsFile: ptr(ns.Path)})
		}
	}
	for _, m := range externalMounts(o.Config, cg.Paths()) {
		if err := addExtMount(opts, criuMountDest(o.Config.Rootfs, m.Destination), m.Source); err != nil {
			return nil, err
		}
	}
	if len(o.Config.MaskedPaths) > 0 {
		if err := addExtMount(opts, "/dev/null", "/dev/null"); err != nil {
			return nil, err
		}
	}
	// The init's stdio pipes at create are replaced by husk's own stdio
	// (CRIU's, which it is started with).
	for i, name := range stdio {
		if strings.HasPrefix(name, "pipe:") {
			opts.InheritFd = append(opts.InheritFd, &rpc.InheritFd{Key: ptr(name), Fd: ptr(int32(i))})
		}
	}

	req := &rpc.CriuReq{Type: ptr(rpc.CriuReqType_RESTORE), Opts: opts}
	var newStdio []string
	_, err = criu.Run(req, criu.Options{
		Stdio:      o.Stdio,
		ExtraFiles: extra,
		Started: func(pid int) error {
			// CRIU restores the tree into the cgroup it is in.
			if err := cg.Apply(pid); err != nil {
				return err
			}
			if r := o.Config.Cgroup.Resources; r != nil {
				if err := cg.Set(r); err != nil {
					return err
				}
			}
			c.State.CgroupPaths = cg.Paths()
			roots, err := procCgroups(pid)
			if err != nil {
				return err
			}
			opts.CgRoot = roots
			newStdio = stdioNames(pid)
			return nil
		},
		Notify: func(n *rpc.CriuNotify, fds []*os.File) error {
			defer closeFiles(fds)
			switch n.GetScript() {
			case "setup-namespaces":
				// The prestart and createRuntime hooks, as create
				// runs them (in the bundle).
				state := ociState(o.ID, Creating, int(n.GetPid()), o.Bundle, o.Config)
				if err := hooks.Run(hooks.Prestart, o.Config.Hooks[hooks.Prestart], state, o.Bundle); err != nil {
					return err
				}
				return hooks.Run(hooks.CreateRuntime, o.Config.Hooks[hooks.CreateRuntime], state, o.Bundle)
			case "orphan-pts-master":
				if len(fds) == 0 {
					return errors.New("criu sent no pty master")
				}
				if o.ConsoleSocket == nil {
					return errors.New("the restored container has a terminal: --console-socket is needed")
				}
				return console.SendFd(o.ConsoleSocket, fds[0])
			case "post-restore":
				pid := int(n.GetPid())
				st, err := system.Stat(pid)
				if err != nil {
					return fmt.Errorf("restored process %d: %w", pid, err)
				}
				restored, started = pid, st.StartTime
				c.State.InitPid, c.State.InitStartTime = pid, st.StartTime
				c.State.Created = time.Now().UTC()
				c.State.Creating = false
				c.State.ExternalDescriptors = newStdio
				// CRIU restores into a time namespace of its own: exec
				// joins it then.
				if !o.Config.Has(configs.NEWTIME) && otherTimeNs(pid) {
					c.State.Config.Namespaces = append(c.State.Config.Namespaces, configs.Namespace{Type: configs.NEWTIME})
				}
				if err := c.save(); err != nil {
					return fmt.Errorf("write state: %w", err)
				}
			}
			return nil
		},
	})
	if err != nil {
		return nil, criuError(err, logDir, logFile)
	}
	if restored == 0 {
		return nil, errors.New("criu restored nothing")
	}
	slog.Debug("restored", "id", o.ID, "pid", restored)
	return c, nil
}

// newCgroup makes the manager of a new container's cgroup, refusing one
// in use (as create).
func newCgroup(cfg *configs.Config) (cgroups.Manager, error) {
	cg, err := manager.New(cfg.Cgroup)
	if err != nil {
		return nil, err
	}
	if err := checkCgroupUnused(cg); err != nil {
		return nil, err
	}
	return cg, nil
}

// procCgroups is pid's cgroup in each hierarchy, as CRIU's cgroup roots.
func procCgroups(pid int) ([]*rpc.CgroupRoot, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return nil, err
	}
	var out []*rpc.CgroupRoot
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		out = append(out, &rpc.CgroupRoot{Ctrl: ptr(parts[1]), Path: ptr(parts[2])})
	}
	return out, nil
}

// otherTimeNs says whether pid is in another time namespace than husk.
func otherTimeNs(pid int) bool {
	theirs, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/time", pid))
	if err != nil {
		return false
	}
	ours, err := os.Readlink("/proc/self/ns/time")
	return err == nil && ours != theirs
}

// prepareRestoreMounts makes the mount points of the container's mounts
// in its rootfs, as create does, for CRIU to mount on: those under a
// tmpfs excepted (CRIU restores a tmpfs's content) and the cgroup mount's
// (it is part of /sys). A writable bind mount is bound in place for the
// while, so that mount points inside it can be made too.
func prepareRestoreMounts(cfg *configs.Config) (retErr error) {
	root, err := os.OpenFile(cfg.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	defer root.Close()
	var binds []*os.File
	defer func() {
		for i := len(binds) - 1; i >= 0; i-- {
			if err := unix.Unmount(procFd(binds[i]), unix.MNT_DETACH); err != nil && err != unix.EINVAL {
				slog.Warn("undoing a bind made for restore", "err", err)
			}
			binds[i].Close()
		}
	}()
	for _, m := range cfg.Mounts {
		if m.Device == "cgroup" || onTmpfs(m.Destination, cfg.Mounts) {
			continue
		}
		file := false
		if m.Device == "bind" {
			if fi, err := os.Stat(m.Source); err == nil && !fi.IsDir() {
				file = true
			}
		}
		dst, err := mountpointInRoot(root, m.Destination, file)
		if err != nil {
			return fmt.Errorf("mount point %s: %w", m.Destination, err)
		}
		if m.Device != "bind" || m.Flags&unix.MS_RDONLY != 0 || m.RecAttrSet&unix.MOUNT_ATTR_RDONLY != 0 {
			dst.Close()
			continue
		}
		if err := unix.Mount(m.Source, procFd(dst), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			dst.Close()
			return fmt.Errorf("bind %s on %s for restore: %w", m.Source, m.Destination, err)
		}
		// The mount point's fd is the mount's parent; reopen the top.
		top, err := openInRoot(root, m.Destination, unix.O_PATH)
		dst.Close()
		if err != nil {
			return fmt.Errorf("mount point %s: %w", m.Destination, err)
		}
		binds = append(binds, top)
	}
	return nil
}

func onTmpfs(path string, mounts []*configs.Mount) bool {
	for _, m := range mounts {
		if m.Device == "tmpfs" && strings.HasPrefix(path, strings.TrimSuffix(m.Destination, "/")+"/") {
			return true
		}
	}
	return false
}

func procFd(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }

func openInRoot(root *os.File, path string, flags uint64) (*os.File, error) {
	fd, err := unix.Openat2(int(root.Fd()), path, &unix.OpenHow{
		Flags: flags | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

// mountpointInRoot makes path (a directory, or an empty file) in root,
// with its parents, resolving links inside root, and opens it (O_PATH).
func mountpointInRoot(root *os.File, path string, file bool) (*os.File, error) {
	path = filepath.Clean("/" + path)
	if f, err := openInRoot(root, path, unix.O_PATH); err == nil {
		return f, nil
	}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	cur := "/"
	for i, p := range parts {
		parent, err := openInRoot(root, cur, unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return nil, err
		}
		last := i == len(parts)-1
		if last && file {
			var fd int
			fd, err = unix.Openat(int(parent.Fd()), p, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o644)
			if err == nil {
				unix.Close(fd)
			}
		} else {
			err = unix.Mkdirat(int(parent.Fd()), p, 0o755)
		}
		parent.Close()
		if err != nil && err != unix.EEXIST {
			return nil, err
		}
		cur = filepath.Join(cur, p)
	}
	return openInRoot(root, path, unix.O_PATH)
}
