// Package devices enforces a container's device allowlist on cgroup v2.
//
// cgroup v2 has no devices controller. The kernel instead runs an eBPF
// program of type BPF_PROG_TYPE_CGROUP_DEVICE, attached to a cgroup at
// BPF_CGROUP_DEVICE, on every open of a device node and every mknod by a
// process in that cgroup (or below it); the program sees the device's type,
// major, minor and the access asked for, and answers allow (1) or deny (0).
//
// The rules husk is given (linux.resources.devices followed by the defaults
// every container gets) are written for the v1 controller: devices.allow
// and devices.deny lines applied in order. This package gives them the
// meaning they have there, so a container sees the same devices on v1 and
// v2, as runc does:
//
//   - An "a" rule (whatever its numbers and access) clears every
//     exception and makes the default allow (for an allow rule) or deny
//     (for a deny rule). With no "a" rule at all the default is deny.
//   - Any other rule that goes the default's way removes its access from
//     the exception with exactly the same type, major and minor (a
//     wildcard is only matched by the same wildcard); one that goes
//     against the default adds its access to that exception, or makes it.
//   - With a deny default, an access is allowed if one exception that
//     matches the device grants all of the access asked for. With an allow
//     default, it is denied if one exception that matches the device
//     names any of the access asked for (opening a node O_RDWR when only
//     writes are denied is denied, as on v1).
//
// Where v1 would silently keep an access the rule list takes away (a rule
// that removes access from a device covered by a wider wildcard
// exception: "allow c *:* rwm" then "deny c 1:3 w" on a deny default), the
// rule list is refused, as runc refuses it, rather than giving the
// container an access its config says it must not have.
//
// The resulting state is compiled to raw eBPF instructions here (no
// library: see program.go) and Apply loads it, attaches it to the cgroup
// with BPF_F_ALLOW_MULTI and then detaches the programs that were there
// before, so that an update never leaves the cgroup without a filter.
package devices

import (
	"fmt"
	"math"
	"strconv"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// Access bits, as the kernel's DEVCG_ACC_* (the same values as
// BPF_DEVCG_ACC_* in the program's context).
const (
	accMknod = unix.BPF_DEVCG_ACC_MKNOD
	accRead  = unix.BPF_DEVCG_ACC_READ
	accWrite = unix.BPF_DEVCG_ACC_WRITE
	accAll   = accMknod | accRead | accWrite
)

// Device types, as BPF_DEVCG_DEV_* in the program's context.
const (
	devBlock = unix.BPF_DEVCG_DEV_BLOCK
	devChar  = unix.BPF_DEVCG_DEV_CHAR
)

// wildcard is a major or minor of "*" in configs.DeviceRule.
const wildcard = -1

// match is what an exception applies to: a device type and a major and
// minor, either of which may be the wildcard.
type match struct {
	typ          uint16 // devBlock or devChar
	major, minor int64  // wildcard or 0..MaxUint32-1
}

// exception is one entry of the v1 controller's exception list.
type exception struct {
	match
	access uint16
}

// ruleset is the state the v1 devices controller would be in after the
// rules were written to it: a default and the exceptions to it, in the
// order the kernel keeps them (the order they were first made).
type ruleset struct {
	defaultAllow bool
	exceptions   []exception
}

// allowsEverything reports whether the ruleset lets every access through.
func (rs *ruleset) allowsEverything() bool {
	return rs.defaultAllow && len(rs.exceptions) == 0
}

// emulate applies the rules, in order, to a ruleset whose default is deny
// (a cgroup v2 device filter with no rules allows nothing).
func emulate(rules []configs.DeviceRule) (*ruleset, error) {
	rs := &ruleset{}
	for i, r := range rules {
		if err := rs.apply(r); err != nil {
			return nil, fmt.Errorf("device rule %d (%s): %w", i, ruleString(r), err)
		}
	}
	return rs, nil
}

func (rs *ruleset) apply(r configs.DeviceRule) error {
	access, err := parseAccess(r.Access)
	if err != nil {
		return err
	}
	var m match
	switch r.Type {
	case 'a':
		// "a" resets whatever follows it on the line, as the kernel.
		*rs = ruleset{defaultAllow: r.Allow}
		return nil
	case 'b':
		m.typ = devBlock
	case 'c':
		m.typ = devChar
	default:
		return fmt.Errorf("type %q is not one of a, b, c", r.Type)
	}
	for _, n := range []struct {
		name string
		v    int64
		p    *int64
	}{{"major", r.Major, &m.major}, {"minor", r.Minor, &m.minor}} {
		// math.MaxUint32 is ~0, the kernel's own wildcard: refused rather
		// than letting a number mean "*".
		if n.v < wildcard || n.v >= math.MaxUint32 {
			return fmt.Errorf("%s %d is neither -1 (any) nor a device number", n.name, n.v)
		}
		*n.p = n.v
	}
	if r.Allow != rs.defaultAllow {
		rs.add(m, access)
		return nil
	}
	return rs.remove(m, access)
}

// add merges access into the exception for m, or appends one.
func (rs *ruleset) add(m match, access uint16) {
	for i := range rs.exceptions {
		if rs.exceptions[i].match == m {
			rs.exceptions[i].access |= access
			return
		}
	}
	rs.exceptions = append(rs.exceptions, exception{m, access})
}

// remove takes access out of the exception for exactly m. It refuses to
// do so where a wider exception covering m keeps some of that access:
// v1 would leave it in force without a word.
func (rs *ruleset) remove(m match, access uint16) error {
	for _, e := range rs.exceptions {
		if e.match != m && e.covers(m) && e.access&access != 0 {
			return fmt.Errorf("cannot punch a hole in the wider rule %q, which goes on applying %s to these devices (cgroup v1 would ignore this rule silently)",
				e.String(!rs.defaultAllow), accessString(e.access&access))
		}
	}
	for i := range rs.exceptions {
		e := &rs.exceptions[i]
		if e.match != m {
			continue
		}
		e.access &^= access
		if e.access == 0 {
			rs.exceptions = append(rs.exceptions[:i], rs.exceptions[i+1:]...)
		}
		return nil
	}
	return nil
}

// covers reports whether every device n matches is matched by m too.
func (m match) covers(n match) bool {
	return m.typ == n.typ &&
		(m.major == wildcard || m.major == n.major) &&
		(m.minor == wildcard || m.minor == n.minor)
}

func parseAccess(s string) (uint16, error) {
	var a uint16
	for _, c := range s {
		switch c {
		case 'r':
			a |= accRead
		case 'w':
			a |= accWrite
		case 'm':
			a |= accMknod
		default:
			return 0, fmt.Errorf("access %q is not made of r, w and m", s)
		}
	}
	return a, nil
}

func accessString(a uint16) string {
	var s []byte
	for _, b := range []struct {
		bit uint16
		c   byte
	}{{accRead, 'r'}, {accWrite, 'w'}, {accMknod, 'm'}} {
		if a&b.bit != 0 {
			s = append(s, b.c)
		}
	}
	return string(s)
}

func number(n int64) string {
	if n == wildcard {
		return "*"
	}
	return strconv.FormatInt(n, 10)
}

// String gives the exception as a devices.allow/deny line, with the verdict.
func (e exception) String(allow bool) string {
	t := 'c'
	if e.typ == devBlock {
		t = 'b'
	}
	verdict := "deny"
	if allow {
		verdict = "allow"
	}
	return fmt.Sprintf("%s %c %s:%s %s", verdict, t, number(e.major), number(e.minor), accessString(e.access))
}

func ruleString(r configs.DeviceRule) string {
	verdict := "deny"
	if r.Allow {
		verdict = "allow"
	}
	if r.Type == 'a' {
		return verdict + " a"
	}
	return fmt.Sprintf("%s %c %s:%s %s", verdict, r.Type, number(r.Major), number(r.Minor), r.Access)
}
