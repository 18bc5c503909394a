// Package specconv is the one place that reads the OCI runtime-spec: it
// loads a bundle's config.json, validates every field husk knows, and turns
// it into configs.Config and configs.Process. A field husk cannot apply makes
// conversion fail with an error naming the field; nothing downstream sees
// the OCI types.
package specconv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/husk-runtime/husk/libcontainer/capabilities"
	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/diag"
	"github.com/husk-runtime/husk/libcontainer/hooks"
	"github.com/husk-runtime/husk/libcontainer/jsonfast"
	"github.com/husk-runtime/husk/libcontainer/lsm"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// FieldError is a problem with one field of config.json (diag's).
type FieldError = diag.FieldError

func fieldErr(field, format string, args ...any) error {
	return diag.FieldErr(field, format, args...)
}

// warn reports a warning about a field of config.json (diag.Warn): an
// error under --strict.
func warn(field, msg string, attrs ...any) error {
	return diag.Warn(diag.Warning{Field: field, Msg: msg, Attrs: attrs})
}

// Load reads and decodes BUNDLE/config.json. Unknown fields are ignored, as
// the spec requires, and logged at debug level.
func Load(bundle string) (*specs.Spec, error) {
	name := filepath.Join(bundle, "config.json")
	data, err := os.ReadFile(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("config.json: not found in bundle %s", bundle)
		}
		return nil, fmt.Errorf("config.json: %w", err)
	}
	var spec specs.Spec
	if err := jsonfast.Unmarshal(data, &spec, decodeSpec); err != nil {
		return nil, fmt.Errorf("config.json: %s", describeJSONError(data, err))
	}
	// Only looked for when someone will hear of them (--debug, --strict,
	// check): a second walk of the JSON.
	if slog.Default().Enabled(context.Background(), slog.LevelDebug) || diag.Wanted() {
		for _, f := range UnknownFields(data) {
			if err := diag.Warn(diag.Warning{Field: f, Msg: "not a field husk knows: ignored", Quiet: true}); err != nil {
				return nil, err
			}
		}
	}
	return &spec, nil
}

// describeJSONError adds the line and column to a JSON syntax or type error.
func describeJSONError(data []byte, err error) string {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("%s: cannot be a JSON %s (want %s)", te.Field, te.Value, te.Type)
		}
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return err.Error()
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - int64(bytes.LastIndexByte(data[:off], '\n'))
	return fmt.Sprintf("line %d, column %d: %v", line, col, err)
}

// Options are the command-line choices that shape a container.
type Options struct {
	ID            string
	Bundle        string // absolute
	NoPivotRoot   bool
	NoNewKeyring  bool
	SystemdCgroup bool
	// RootlessCgroup: husk runs unprivileged; with SystemdCgroup the unit
	// goes to the user's systemd instance.
	RootlessCgroup bool
}

// Convert validates spec and makes the internal config and the process.
func Convert(spec *specs.Spec, opts Options) (*configs.Config, *configs.Process, error) {
	for _, check := range checks {
		if err := check(spec); err != nil {
			return nil, nil, err
		}
	}
	c := &configs.Config{
		OCIVersion:   spec.Version,
		Hostname:     spec.Hostname,
		Domainname:   spec.Domainname,
		Annotations:  spec.Annotations,
		NoPivotRoot:  opts.NoPivotRoot,
		NoNewKeyring: opts.NoNewKeyring,
		Readonly:     spec.Root.Readonly,
	}
	rootfs := spec.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(opts.Bundle, rootfs)
	}
	rootfs, err := filepath.EvalSymlinks(rootfs)
	if err != nil {
		return nil, nil, fieldErr("root.path", "%v", unwrapPathErr(err))
	}
	if fi, err := os.Stat(rootfs); err != nil || !fi.IsDir() {
		return nil, nil, fieldErr("root.path", "%s is not a directory", rootfs)
	}
	c.Rootfs = rootfs

	lx := spec.Linux
	if err := convertNamespaces(c, lx); err != nil {
		return nil, nil, err
	}
	if _, ok := c.Namespace(configs.NEWUSER); ok {
		c.UIDMappings, c.GIDMappings = idMaps(lx.UIDMappings), idMaps(lx.GIDMappings)
	}
	if ns, ok := c.Namespace(configs.NEWUSER); ok && ns.Path != "" && len(c.UIDMappings) == 0 {
		// Joined without mappings: the namespace's own, where its path
		// tells them (the exec fifo and idmapped mounts need root's id).
		c.UIDMappings, c.GIDMappings = procMappings(ns.Path, "uid_map"), procMappings(ns.Path, "gid_map")
	}
	if err := convertMounts(c, spec, opts.Bundle); err != nil {
		return nil, nil, err
	}
	if err := convertDevices(c, lx); err != nil {
		return nil, nil, err
	}
	c.MaskedPaths = containerPaths(lx.MaskedPaths)
	c.ReadonlyPaths = containerPaths(lx.ReadonlyPaths)
	c.Sysctl = sysctlsDotted(lx.Sysctl)
	if err := convertLinuxExtras(c, lx); err != nil {
		return nil, nil, err
	}
	if c.Seccomp, err = convertSeccomp(lx.Seccomp); err != nil {
		return nil, nil, err
	}
	if lx.MountLabel != "" {
		if !lsm.SELinuxEnabled() {
			// As crun: a mount label means nothing without SELinux.
			if err := diag.Warn(diag.Warning{Field: "linux.mountLabel", Msg: "SELinux is not enabled: linux.mountLabel is not applied", Attrs: []any{"label", lx.MountLabel}, Quiet: true}); err != nil {
				return nil, nil, err
			}
		} else {
			c.MountLabel = lx.MountLabel
		}
	}
	if c.Hooks, err = convertHooks(spec.Hooks); err != nil {
		return nil, nil, err
	}
	cg, err := convertCgroup(lx, opts, spec.Annotations)
	if err != nil {
		return nil, nil, err
	}
	c.Cgroup = cg

	p, err := ConvertProcess(spec.Process, "process")
	if err != nil {
		return nil, nil, err
	}
	return c, p, nil
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

// check is one validation of the spec, returning a *FieldError.
type check func(*specs.Spec) error

// checks run in order before anything is converted or created.
var checks = []check{
	checkVersion,
	checkRoot,
	checkProcessPresent,
	checkLinuxPresent,
	checkHostname,
	checkUnsupported,
	checkSysctl,
}

// checkVersion warns about an ociVersion husk does not know: runc never
// reads it, and a config that runc runs is not refused for it.
func checkVersion(s *specs.Spec) error {
	major, ok := semverMajor(s.Version)
	switch {
	case !ok:
		return warn("ociVersion", "not a SemVer version: the config is read as runtime-spec "+specs.Version, "ociVersion", s.Version)
	case major != "1":
		return warn("ociVersion", "not 1.x: the config is read as runtime-spec "+specs.Version, "ociVersion", s.Version)
	}
	return nil
}

// semverMajor returns the major version of v, read as
// ^(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ reads it (ok
// false when it does not match). By hand: compiling that regexp cost every
// create ~50 us (FuzzSemverMajor holds the two to the same answers).
func semverMajor(v string) (major string, ok bool) {
	for i := range 3 {
		n := span(v, func(c byte) bool { return '0' <= c && c <= '9' })
		if n == 0 {
			return "", false
		}
		if i == 0 {
			major = v[:n]
		}
		v = v[n:]
		if i < 2 {
			if !strings.HasPrefix(v, ".") {
				return "", false
			}
			v = v[1:]
		}
	}
	for _, sep := range []string{"-", "+"} {
		if strings.HasPrefix(v, sep) {
			n := span(v[1:], semverIdentByte)
			if n == 0 {
				return "", false
			}
			v = v[1+n:]
		}
	}
	return major, v == ""
}

// span is the length of the prefix of s whose bytes are all in.
func span(s string, in func(byte) bool) int {
	n := 0
	for n < len(s) && in(s[n]) {
		n++
	}
	return n
}

// semverIdentByte: [0-9A-Za-z.-].
func semverIdentByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '.' || c == '-'
}

func checkRoot(s *specs.Spec) error {
	if s.Root == nil || s.Root.Path == "" {
		return fieldErr("root.path", "must be set")
	}
	return nil
}

func checkProcessPresent(s *specs.Spec) error {
	if s.Process == nil {
		return fieldErr("process", "must be set to create a container")
	}
	return nil
}

func checkLinuxPresent(s *specs.Spec) error {
	if s.Linux == nil {
		return fieldErr("linux", "must be set on Linux")
	}
	return nil
}

func hasNS(s *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}

func checkHostname(s *specs.Spec) error {
	if s.Hostname != "" && !hasNS(s, specs.UTSNamespace) {
		return fieldErr("hostname", "cannot be set without a UTS namespace")
	}
	if s.Domainname != "" && !hasNS(s, specs.UTSNamespace) {
		return fieldErr("domainname", "cannot be set without a UTS namespace")
	}
	return nil
}

// checkUnsupported refuses fields husk does not apply yet: the spec says a
// runtime MUST fail rather than ignore them.
func checkUnsupported(s *specs.Spec) error {
	type u struct {
		field string
		set   bool
	}
	lx := s.Linux
	list := []u{}
	if lx.IntelRdt != nil {
		if _, err := os.Stat("/sys/fs/resctrl/schemata"); err != nil {
			return fieldErr("linux.intelRdt", "resctrl is not mounted at /sys/fs/resctrl on this host")
		}
		return fieldErr("linux.intelRdt", "resctrl groups are not managed by this version of husk")
	}
	for _, f := range list {
		if f.set {
			return fieldErr(f.field, "not supported by this version of husk")
		}
	}
	return nil
}

// SysctlDotted is a sysctl name in its dotted form, as runc reads names:
// "kernel.shmmax"; a name given in the slash form of sysctl.d(5)
// ("kernel/shmmax", the path below /proc/sys) has its dots and slashes
// swapped, so that a dot inside a component (an interface "eth0.100")
// is a slash in the dotted form.
func SysctlDotted(k string) string {
	if i := strings.IndexAny(k, "./"); i < 0 || k[i] == '.' {
		return k
	}
	return SysctlPath(k)
}

// SysctlPath is the path below /proc/sys of a dotted sysctl name (dots
// and slashes swapped).
func SysctlPath(dotted string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, dotted)
}

func sysctlsDotted(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[SysctlDotted(k)] = v
	}
	return out
}

// checkSysctl checks each sysctl name and that a namespace of the
// container's makes it safe to set.
func checkSysctl(s *specs.Spec) error {
	for name := range s.Linux.Sysctl {
		field := fmt.Sprintf("linux.sysctl[%q]", name)
		k := SysctlDotted(name)
		bad := k == "" || strings.IndexByte(k, 0) >= 0
		for _, c := range strings.Split(SysctlPath(k), "/") {
			bad = bad || c == "" || c == "." || c == ".."
		}
		if bad {
			return fieldErr(field, "not a sysctl name")
		}
		switch {
		case strings.HasPrefix(k, "fs.mqueue.") || k == "kernel.msgmax" || k == "kernel.msgmnb" ||
			k == "kernel.msgmni" || k == "kernel.sem" || k == "kernel.shmall" || k == "kernel.shmmax" ||
			k == "kernel.shmmni" || k == "kernel.shm_rmid_forced":
			if !hasNS(s, specs.IPCNamespace) {
				return fieldErr(field, "not allowed without an IPC namespace")
			}
		case strings.HasPrefix(k, "net."):
			if !hasNS(s, specs.NetworkNamespace) {
				return fieldErr(field, "not allowed without a network namespace")
			}
		case k == "kernel.hostname" || k == "kernel.domainname":
			if !hasNS(s, specs.UTSNamespace) {
				return fieldErr(field, "not allowed without a UTS namespace")
			}
			return fieldErr(field, "set hostname or domainname instead")
		default:
			return fieldErr(field, "not a namespaced sysctl: it would change the host")
		}
	}
	return nil
}

func convertHooks(h *specs.Hooks) (configs.Hooks, error) {
	if h == nil {
		return nil, nil
	}
	out := configs.Hooks{}
	for _, kind := range []struct {
		name  string
		hooks []specs.Hook
	}{
		//lint:ignore SA1019 prestart is deprecated but a runtime must still run it
		{hooks.Prestart, h.Prestart}, {hooks.CreateRuntime, h.CreateRuntime},
		{hooks.CreateContainer, h.CreateContainer}, {hooks.StartContainer, h.StartContainer},
		{hooks.Poststart, h.Poststart}, {hooks.Poststop, h.Poststop},
	} {
		for i, sh := range kind.hooks {
			field := fmt.Sprintf("hooks.%s[%d]", kind.name, i)
			if !filepath.IsAbs(sh.Path) {
				return nil, fieldErr(field+".path", "%q is not an absolute path", sh.Path)
			}
			if sh.Timeout != nil && *sh.Timeout <= 0 {
				// runc runs the hook with a timer that has already run
				// out: the hook fails, which fails the container but for
				// a poststop hook (a warning). husk refuses those up
				// front, and runs the container with the poststop hook.
				if kind.name != hooks.Poststop {
					return nil, fieldErr(field+".timeout", "%d is not greater than zero", *sh.Timeout)
				}
				if err := warn(field+".timeout", "a hook timeout must be greater than zero: the hook will time out at once", "timeout", *sh.Timeout); err != nil {
					return nil, err
				}
			}
			out[kind.name] = append(out[kind.name], configs.Hook{Path: sh.Path, Args: sh.Args, Env: sh.Env, Timeout: sh.Timeout})
		}
	}
	return out, nil
}

func convertNamespaces(c *configs.Config, lx *specs.Linux) error {
	seen := map[configs.NamespaceType]bool{}
	for i, ns := range lx.Namespaces {
		field := fmt.Sprintf("linux.namespaces[%d]", i)
		t := configs.NamespaceType(ns.Type)
		if !t.Known() {
			return fieldErr(field+".type", "unknown namespace type %q", ns.Type)
		}
		if seen[t] {
			return fieldErr(field+".type", "namespace %q given twice", ns.Type)
		}
		seen[t] = true
		if ns.Path != "" {
			if !filepath.IsAbs(ns.Path) {
				return fieldErr(field+".path", "%q is not an absolute path", ns.Path)
			}
			if err := checkNsFile(ns.Path, t); err != nil {
				return fieldErr(field+".path", "%v", err)
			}
		}
		c.Namespaces = append(c.Namespaces, configs.Namespace{Type: t, Path: ns.Path})
	}
	if !seen[configs.NEWNS] && len(lx.MaskedPaths)+len(lx.ReadonlyPaths) > 0 {
		// As runc: masking would change the host's own view.
		return fieldErr("linux.maskedPaths", "masked and read-only paths need a mount namespace (linux.namespaces has no \"mount\")")
	}
	if len(lx.UIDMappings)+len(lx.GIDMappings) > 0 && !seen[configs.NEWUSER] {
		// As runc, which reads them only for a user namespace.
		if err := warn("linux.uidMappings", "linux.uidMappings and gidMappings are ignored: linux.namespaces has no \"user\""); err != nil {
			return err
		}
	}
	if seen[configs.NEWUSER] {
		ns, _ := c.Namespace(configs.NEWUSER)
		if ns.Path == "" && (len(lx.UIDMappings) == 0 || len(lx.GIDMappings) == 0) {
			return fieldErr("linux.uidMappings", "a new user namespace needs uidMappings and gidMappings")
		}
		if ns.Path != "" {
			if err := checkJoinedMappings(ns.Path, lx); err != nil {
				return err
			}
		}
	}
	if len(lx.TimeOffsets) > 0 {
		ns, ok := c.Namespace(configs.NEWTIME)
		if !ok || ns.Path != "" {
			return fieldErr("linux.timeOffsets", "need a new time namespace")
		}
		var b strings.Builder
		for _, clock := range []string{"monotonic", "boottime"} {
			if off, ok := lx.TimeOffsets[clock]; ok {
				if off.Nanosecs >= 1e9 {
					return fieldErr(fmt.Sprintf("linux.timeOffsets[%q].nanosecs", clock), "%d is not below 1e9", off.Nanosecs)
				}
				fmt.Fprintf(&b, "%s %d %d\n", clock, off.Secs, off.Nanosecs)
			}
		}
		for clock := range lx.TimeOffsets {
			if clock != "monotonic" && clock != "boottime" {
				return fieldErr(fmt.Sprintf("linux.timeOffsets[%q]", clock), "unknown clock; use monotonic or boottime")
			}
		}
		c.TimeOffsets = b.String()
	}
	return nil
}

// checkNsFile verifies that path is a namespace file of the right type.
func checkNsFile(path string, t configs.NamespaceType) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer unix.Close(fd)
	got, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err != nil {
		return fmt.Errorf("%s is not a namespace file", path)
	}
	if got != int(t.CloneFlag()) {
		return fmt.Errorf("%s is not a %s namespace", path, t)
	}
	return nil
}

// rootPropagation maps linux.rootfsPropagation to its MS_* flags, as runc
// does: the plain names act on the root mount alone, the r-prefixed ones
// (which podman writes) on the whole tree. Unset means rslave.
var rootPropagation = map[string]uintptr{
	"":            unix.MS_SLAVE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"slave":       unix.MS_SLAVE,
	"private":     unix.MS_PRIVATE,
	"unbindable":  unix.MS_UNBINDABLE,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

func convertMounts(c *configs.Config, spec *specs.Spec, bundle string) error {
	prop, ok := rootPropagation[spec.Linux.RootfsPropagation]
	if !ok {
		return fieldErr("linux.rootfsPropagation", "%q is not one of [r]shared, [r]slave, [r]private, [r]unbindable", spec.Linux.RootfsPropagation)
	}
	if c.NoPivotRoot && prop&unix.MS_PRIVATE != 0 {
		// As runc: a private root would keep the host's mounts below it
		// from being detached safely.
		return fieldErr("linux.rootfsPropagation", "%q is not safe without pivot_root (--no-pivot)", spec.Linux.RootfsPropagation)
	}
	c.RootPropagation = prop
	for i, sm := range spec.Mounts {
		field := fmt.Sprintf("mounts[%d]", i)
		m, err := convertMount(sm, bundle, field)
		if err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				fe.Field = field + fe.Field
				return fe
			}
			return fieldErr(field, "%v", err)
		}
		if m.IDMap != nil {
			if !m.IsBind() {
				return fieldErr(field+".options", "idmap and ridmap are for bind mounts")
			}
			if len(m.IDMap.UIDs) == 0 {
				// No mappings of its own: the container's user namespace's.
				if len(c.UIDMappings) == 0 {
					return fieldErr(field+".options", "idmap without uidMappings needs a container user namespace with mappings")
				}
				m.IDMap.UIDs, m.IDMap.GIDs = c.UIDMappings, c.GIDMappings
			}
		}
		// As runc: a destination given as a host path inside the rootfs
		// is that path in the container.
		if rel, err := filepath.Rel(c.Rootfs, m.Destination); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			m.Destination = filepath.Clean("/" + rel)
		}
		c.Mounts = append(c.Mounts, m)
	}
	for i, p := range spec.Linux.MaskedPaths {
		if strings.IndexByte(p, 0) >= 0 {
			return fieldErr(fmt.Sprintf("linux.maskedPaths[%d]", i), "%q is not a path", p)
		}
	}
	for i, p := range spec.Linux.ReadonlyPaths {
		if strings.IndexByte(p, 0) >= 0 {
			return fieldErr(fmt.Sprintf("linux.readonlyPaths[%d]", i), "%q is not a path", p)
		}
	}
	return nil
}

// containerPaths are masked or read-only paths as runc reads them: in the
// container, a relative one from its "/" (the init's cwd when it masks);
// "" names nothing and is skipped.
func containerPaths(paths []string) []string {
	var out []string
	for _, p := range paths {
		if p != "" {
			out = append(out, filepath.Clean("/"+p))
		}
	}
	return out
}

// procUsernsPath matches a user namespace named through a process.
// Compiled on first use: every husk process runs this package's init.
var procUsernsPath = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^/proc/(\d+)/(task/\d+/)?ns/user$`)
})

// procMappings reads FILE (uid_map or gid_map) of the process whose user
// namespace path is given; nil when the path names no process.
func procMappings(nsPath, file string) []configs.IDMap {
	m := procUsernsPath().FindStringSubmatch(filepath.Clean(nsPath))
	if m == nil {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(filepath.Clean(nsPath))), file))
	if err != nil {
		return nil
	}
	var out []configs.IDMap
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var im configs.IDMap
		if n, _ := fmt.Sscan(l, &im.ContainerID, &im.HostID, &im.Size); n == 3 {
			out = append(out, im)
		}
	}
	return out
}

// checkJoinedMappings: mappings given with a user namespace path must be
// the namespace's own (as runc checks), where the path tells them.
func checkJoinedMappings(nsPath string, lx *specs.Linux) error {
	for _, c := range []struct {
		field, file string
		given       []specs.LinuxIDMapping
	}{{"linux.uidMappings", "uid_map", lx.UIDMappings}, {"linux.gidMappings", "gid_map", lx.GIDMappings}} {
		if len(c.given) == 0 {
			continue
		}
		have := procMappings(nsPath, c.file)
		if have == nil {
			continue
		}
		if fmt.Sprint(have) != fmt.Sprint(idMaps(c.given)) {
			return fieldErr(c.field, "%v differ from the mappings of the user namespace %s joined (%v)", idMaps(c.given), nsPath, have)
		}
	}
	return nil
}

func idMaps(ms []specs.LinuxIDMapping) []configs.IDMap {
	var out []configs.IDMap
	for _, m := range ms {
		out = append(out, configs.IDMap{ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size})
	}
	return out
}

// convertMount converts one mount; a *FieldError's Field is relative
// (".destination").
func convertMount(sm specs.Mount, bundle, field string) (*configs.Mount, error) {
	if sm.Destination == "" {
		return nil, &FieldError{Field: ".destination", Msg: "must be set"}
	}
	if strings.IndexByte(sm.Destination, 0) >= 0 || strings.IndexByte(sm.Source, 0) >= 0 {
		return nil, &FieldError{Field: "", Msg: "paths must not contain NUL bytes"}
	}
	// Relative destinations are relative to the container's "/".
	dest := filepath.Clean("/" + sm.Destination)
	m := &configs.Mount{Source: sm.Source, Destination: dest, Device: sm.Type}
	if (len(sm.UIDMappings) == 0) != (len(sm.GIDMappings) == 0) {
		return nil, &FieldError{Field: ".uidMappings", Msg: "uidMappings and gidMappings go together"}
	}
	if len(sm.UIDMappings) > 0 {
		m.IDMap = &configs.MountIDMap{UIDs: idMaps(sm.UIDMappings), GIDs: idMaps(sm.GIDMappings)}
	}
	var data []string
	for j, o := range sm.Options {
		if why, ok := unsupportedMountOptions[o]; ok {
			return nil, &FieldError{Field: fmt.Sprintf(".options[%d]", j), Msg: fmt.Sprintf("%q: %s", o, why)}
		}
		if o == "idmap" || o == "ridmap" {
			if m.IDMap == nil {
				m.IDMap = &configs.MountIDMap{} // the container's mappings, filled in below
			}
			m.IDMap.Recursive = m.IDMap.Recursive || o == "ridmap"
			continue
		}
		if o == "tmpcopyup" {
			if sm.Type != "tmpfs" {
				return nil, &FieldError{Field: fmt.Sprintf(".options[%d]", j), Msg: "tmpcopyup is for tmpfs mounts"}
			}
			m.TmpCopyUp = true
			continue
		}
		f, ok := mountOptions[o]
		if !ok {
			data = append(data, o) // filesystem-specific, e.g. mode=755
			continue
		}
		m.Flags = m.Flags&^f.clear | f.set
		m.ClearFlags = m.ClearFlags&^f.set | f.clear
		if f.propagation != 0 {
			m.PropagationFlags = append(m.PropagationFlags, f.propagation)
		}
		m.RecAttrSet = m.RecAttrSet&^f.attrClr | f.attrSet
		m.RecAttrClr = m.RecAttrClr&^f.attrSet | f.attrClr
	}
	m.Data = strings.Join(data, ",")
	if sm.Type == "bind" {
		m.Flags |= unix.MS_BIND
	}
	if m.IsBind() {
		m.Device = "bind"
		if m.Source == "" {
			return nil, &FieldError{Field: ".source", Msg: "a bind mount needs a source"}
		}
		if !filepath.IsAbs(m.Source) {
			m.Source = filepath.Join(bundle, m.Source)
		}
		// The source is not looked at here: an earlier mount of the list
		// may make it (runc resolves it at mount time too).
		if m.Data != "" {
			// The kernel ignores them on a bind. runc 1.5 refuses them;
			// the OCI validation suite (mounts) gives them, and crun
			// ignores them: ignored, with a warning.
			if err := warn(field+".options", "filesystem options of a bind mount are ignored", "destination", m.Destination, "options", m.Data); err != nil {
				return nil, err
			}
			m.Data = ""
		}
	} else {
		if m.Device == "" {
			return nil, &FieldError{Field: ".type", Msg: "must be set for a mount that is not a bind"}
		}
		if m.RecAttrSet != 0 || m.RecAttrClr != 0 {
			// As runc, which applies them to bind mounts only.
			if err := warn(field+".options", "recursive mount options (rro, rnosuid, ...) apply to bind mounts only: ignored", "destination", m.Destination, "type", m.Device); err != nil {
				return nil, err
			}
			m.RecAttrSet, m.RecAttrClr = 0, 0
		}
	}
	return m, nil
}

// defaultDevices are created in every container, as runc does.
var defaultDevices = []*configs.Device{
	{Path: "/dev/null", Type: 'c', Major: 1, Minor: 3, FileMode: 0o666},
	{Path: "/dev/zero", Type: 'c', Major: 1, Minor: 5, FileMode: 0o666},
	{Path: "/dev/full", Type: 'c', Major: 1, Minor: 7, FileMode: 0o666},
	{Path: "/dev/tty", Type: 'c', Major: 5, Minor: 0, FileMode: 0o666},
	{Path: "/dev/random", Type: 'c', Major: 1, Minor: 8, FileMode: 0o666},
	{Path: "/dev/urandom", Type: 'c', Major: 1, Minor: 9, FileMode: 0o666},
}

func convertDevices(c *configs.Config, lx *specs.Linux) error {
	given := map[string]bool{}
	for i, d := range lx.Devices {
		field := fmt.Sprintf("linux.devices[%d]", i)
		if d.Path == "" || strings.IndexByte(d.Path, 0) >= 0 {
			return fieldErr(field+".path", "%q is not a path", d.Path)
		}
		// As runc, which resolves it inside the rootfs: relative to its
		// root, ".." stopping there.
		path := filepath.Clean("/" + d.Path)
		if path == "/" {
			return fieldErr(field+".path", "%q: a device cannot replace the root", d.Path)
		}
		var t rune
		switch d.Type {
		case "c", "u":
			t = 'c'
		case "b":
			t = 'b'
		case "p":
			t = 'p'
		default:
			return fieldErr(field+".type", "%q is not one of c, u, b, p", d.Type)
		}
		mode := uint32(0o666)
		if d.FileMode != nil {
			mode = uint32(*d.FileMode) & 0o7777
		}
		dev := &configs.Device{Path: path, Type: t, Major: d.Major, Minor: d.Minor, FileMode: mode}
		if d.UID != nil {
			dev.UID = *d.UID
		}
		if d.GID != nil {
			dev.GID = *d.GID
		}
		given[path] = true
		c.Devices = append(c.Devices, dev)
	}
	for _, d := range defaultDevices {
		if !given[d.Path] {
			dd := *d
			c.Devices = append(c.Devices, &dd)
		}
	}
	return nil
}

// CheckLSM refuses an AppArmor profile or SELinux label the host cannot
// apply; field is the JSON path of the process ("process", or "" for
// exec's flags and --process file).
func CheckLSM(field, apparmor, selinux string) error {
	prefix := field
	if prefix != "" {
		prefix += "."
	}
	if apparmor != "" && !lsm.AppArmorEnabled() {
		return fieldErr(prefix+"apparmorProfile", "AppArmor is not enabled on this host")
	}
	if selinux != "" && !lsm.SELinuxEnabled() {
		return fieldErr(prefix+"selinuxLabel", "SELinux is not enabled on this host")
	}
	return nil
}

// LoadProcess reads a process.json (exec --process) and converts it; errors
// name the file and the field.
func LoadProcess(path string) (*configs.Process, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--process: %w", err)
	}
	var sp specs.Process
	if err := jsonfast.Unmarshal(data, &sp, decodeProcess); err != nil {
		return nil, fmt.Errorf("%s: %s", path, describeJSONError(data, err))
	}
	p, err := ConvertProcess(&sp, "")
	var fe *FieldError
	if errors.As(err, &fe) {
		fe.File = path
		fe.Field = strings.TrimPrefix(fe.Field, ".")
	}
	return p, err
}

// ConvertProcess validates and converts a process; field is its JSON path
// ("process" in config.json, "" for exec's --process file).
func ConvertProcess(sp *specs.Process, field string) (*configs.Process, error) {
	for _, u := range []struct {
		name string
		set  bool
	}{} {
		if u.set {
			return nil, fieldErr(field+"."+u.name, "not supported by this version of husk")
		}
	}
	if len(sp.Args) == 0 || sp.Args[0] == "" {
		return nil, fieldErr(field+".args", "must not be empty")
	}
	if sp.CommandLine != "" {
		// As runc, which does not read it.
		if err := warn(field+".commandLine", "commandLine is for Windows: ignored"); err != nil {
			return nil, err
		}
	}
	if sp.Cwd == "" || !filepath.IsAbs(sp.Cwd) {
		return nil, fieldErr(field+".cwd", "%q is not an absolute path", sp.Cwd)
	}
	for i, e := range sp.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" || strings.IndexByte(e, 0) >= 0 {
			return nil, fieldErr(fmt.Sprintf("%s.env[%d]", field, i), "%q is not of the form KEY=value", e)
		}
	}
	p := &configs.Process{
		Args:            sp.Args,
		Env:             sp.Env,
		Cwd:             sp.Cwd,
		UID:             sp.User.UID,
		GID:             sp.User.GID,
		AdditionalGids:  sp.User.AdditionalGids,
		Umask:           sp.User.Umask,
		Terminal:        sp.Terminal,
		NoNewPrivileges: sp.NoNewPrivileges,
		OOMScoreAdj:     sp.OOMScoreAdj,
	}
	if sp.User.Username != "" {
		// As runc, which does not read it: the ids are uid and gid.
		if err := warn(field+".user.username", "user.username is for Windows: ignored"); err != nil {
			return nil, err
		}
	}
	// (uid_t)-1 and (gid_t)-1 are no ids: setuid(-1) and setgid(-1) leave
	// the id as it is (root's), and no user namespace maps them.
	if sp.User.UID == noID {
		return nil, fieldErr(field+".user.uid", "%d is not a valid uid", sp.User.UID)
	}
	if sp.User.GID == noID {
		return nil, fieldErr(field+".user.gid", "%d is not a valid gid", sp.User.GID)
	}
	for i, g := range sp.User.AdditionalGids {
		if g == noID {
			return nil, fieldErr(fmt.Sprintf("%s.user.additionalGids[%d]", field, i), "%d is not a valid gid", g)
		}
	}
	if sp.Capabilities != nil {
		sets := []struct {
			name  string
			names []string
			dst   *uint64
		}{
			{"bounding", sp.Capabilities.Bounding, nil},
			{"effective", sp.Capabilities.Effective, nil},
			{"inheritable", sp.Capabilities.Inheritable, nil},
			{"permitted", sp.Capabilities.Permitted, nil},
			{"ambient", sp.Capabilities.Ambient, nil},
		}
		caps := &configs.Caps{InheritableSet: sp.Capabilities.Inheritable != nil}
		sets[0].dst, sets[1].dst, sets[2].dst = &caps.Bounding, &caps.Effective, &caps.Inheritable
		sets[3].dst, sets[4].dst = &caps.Permitted, &caps.Ambient
		for _, s := range sets {
			mask, unknown := capabilities.Parse(s.names)
			*s.dst = mask
			for _, u := range unknown {
				if err := warn(field+".capabilities."+s.name, "ignoring a capability unknown to husk or to this kernel", "capability", u); err != nil {
					return nil, err
				}
			}
		}
		p.Capabilities = caps
	}
	seen := map[int]bool{}
	for i, rl := range sp.Rlimits {
		f := fmt.Sprintf("%s.rlimits[%d]", field, i)
		t, ok := rlimits[rl.Type]
		if !ok {
			return nil, fieldErr(f+".type", "unknown resource %q", rl.Type)
		}
		if seen[t] {
			return nil, fieldErr(f+".type", "%s given twice", rl.Type)
		}
		seen[t] = true
		if rl.Soft > rl.Hard {
			return nil, fieldErr(f, "soft limit %d is above the hard limit %d", rl.Soft, rl.Hard)
		}
		p.Rlimits = append(p.Rlimits, configs.Rlimit{Type: t, Hard: rl.Hard, Soft: rl.Soft})
	}
	if sp.OOMScoreAdj != nil && (*sp.OOMScoreAdj < -1000 || *sp.OOMScoreAdj > 1000) {
		return nil, fieldErr(field+".oomScoreAdj", "%d is outside -1000..1000", *sp.OOMScoreAdj)
	}
	if err := convertProcessExtras(p, sp, field); err != nil {
		return nil, err
	}
	if err := CheckLSM(field, sp.ApparmorProfile, sp.SelinuxLabel); err != nil {
		return nil, err
	}
	p.AppArmorProfile, p.SELinuxLabel = sp.ApparmorProfile, sp.SelinuxLabel
	if sp.ConsoleSize != nil {
		p.ConsoleSize = &[2]uint16{uint16(sp.ConsoleSize.Height), uint16(sp.ConsoleSize.Width)}
	}
	return p, nil
}

// noID is (uid_t)-1, which setuid/setgid read as "leave unchanged".
const noID = ^uint32(0)

var rlimits = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE": unix.RLIMIT_NICE, "RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC,
	"RLIMIT_RSS": unix.RLIMIT_RSS, "RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING, "RLIMIT_STACK": unix.RLIMIT_STACK,
}
