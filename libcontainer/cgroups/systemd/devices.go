package systemd

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/husk-runtime/husk/libcontainer/configs"
)

// On cgroup v2 device access is checked by eBPF programs attached to the
// cgroup, and the kernel runs every program attached (BPF_F_ALLOW_MULTI):
// an access is allowed only if all of them allow it. systemd attaches one
// of its own for a unit's DevicePolicy/DeviceAllow, re-made whenever it
// re-applies the unit's settings (SetUnitProperties, daemon-reload); fs2
// attaches the container's filter. So, as runc does, systemd is given the
// container's rules when it can express them, and its program then agrees
// with the container's (and enforces them while fs2's is not there yet).
// Where it cannot — rules that deny within an allow-all (systemd only has
// allow lists), or an allow for any major with one minor — it is given a
// superset, down to allowing everything (DevicePolicy=auto with no
// DeviceAllow, for which systemd attaches no program): systemd must never
// deny what the container's rules allow; fs2's filter does the rest.
// runc gives systemd a deny-all in the first case, which on v2 would deny
// what the container is allowed.

// devKey is a device type and numbers; -1 is a wildcard.
type devKey struct {
	typ          rune
	major, minor int64
}

// deviceAllowEntry is one DeviceAllow (D-Bus a(ss)) entry.
type deviceAllowEntry struct {
	Path  string
	Perms string
}

// deviceProps converts the container's device rules (in order, the
// later winning, as written to a v1 devices cgroup) to systemd's.
func deviceProps(rules []configs.DeviceRule) []sdbus.Property {
	allowAll := []sdbus.Property{
		prop("DevicePolicy", "auto"),
		prop("DeviceAllow", []deviceAllowEntry{}),
	}
	defaultAllow, exceptions := emulate(rules)
	if defaultAllow {
		if len(exceptions) > 0 {
			slog.Debug("systemd: device rules deny within an allow-all; systemd is told to allow all, the container's filter denies")
		}
		return allowAll
	}
	allow := map[string]string{}
	for k, perms := range exceptions {
		if perms == "" {
			continue
		}
		group := "char-"
		if k.typ == 'b' {
			group = "block-"
		}
		var path string
		switch {
		case k.major < 0:
			// systemd has no "any major, minor n": allow the type.
			path = group + "*"
		case k.minor < 0:
			path = fmt.Sprintf("%s%d", group, k.major)
		case k.typ == 'b':
			path = fmt.Sprintf("/dev/block/%d:%d", k.major, k.minor)
		default:
			path = fmt.Sprintf("/dev/char/%d:%d", k.major, k.minor)
		}
		allow[path] = mergePerms(allow[path], perms)
	}
	entries := make([]deviceAllowEntry, 0, len(allow))
	for path, perms := range allow {
		entries = append(entries, deviceAllowEntry{Path: path, Perms: perms})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
	return []sdbus.Property{
		prop("DevicePolicy", "strict"),
		// The first (empty) DeviceAllow clears the unit's list, the second
		// fills it.
		prop("DeviceAllow", []deviceAllowEntry{}),
		prop("DeviceAllow", entries),
	}
}

// emulate replays rules as the v1 devices cgroup would, from a deny-all:
// a rule of type 'a' resets to allow-all or deny-all; other rules add to
// or take from the exceptions to the default. It returns the default and
// the exceptions (allowed accesses if the default denies, denied ones if
// it allows), with the access as a subset of "rwm".
func emulate(rules []configs.DeviceRule) (defaultAllow bool, exceptions map[devKey]string) {
	exceptions = map[devKey]string{}
	for _, r := range rules {
		if r.Type == 'a' {
			defaultAllow = r.Allow
			exceptions = map[devKey]string{}
			continue
		}
		k := devKey{r.Type, r.Major, r.Minor}
		if r.Allow != defaultAllow {
			// An exception to the default.
			exceptions[k] = mergePerms(exceptions[k], r.Access)
		} else {
			// Same as the default: takes access off the exception.
			exceptions[k] = removePerms(exceptions[k], r.Access)
		}
	}
	return defaultAllow, exceptions
}

// mergePerms is the union of two access strings, in rwm order.
func mergePerms(a, b string) string {
	var out []byte
	for _, c := range "rwm" {
		if strings.ContainsRune(a, c) || strings.ContainsRune(b, c) {
			out = append(out, byte(c))
		}
	}
	return string(out)
}

// removePerms is a without the accesses in b.
func removePerms(a, b string) string {
	var out []byte
	for _, c := range "rwm" {
		if strings.ContainsRune(a, c) && !strings.ContainsRune(b, c) {
			out = append(out, byte(c))
		}
	}
	return string(out)
}
