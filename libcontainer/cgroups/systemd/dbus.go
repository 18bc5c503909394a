package systemd

import (
	"context"
	"errors"
	"fmt"
	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"os"
	"path/filepath"
	"strings"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// jobTimeout bounds the wait for a start or stop job. Jobs of a scope
// finish in milliseconds; a stop waits for the processes to go.
const jobTimeout = 30 * time.Second

// conn is a lazily made connection to systemd: the system bus, or
// systemd's private socket (/run/systemd/private) for root without one;
// with user, the user's own systemd instance over the session bus.
type conn struct {
	c    *sdbus.Conn
	user bool
}

// connect makes the connection.
func (d *conn) connect() (*sdbus.Conn, error) {
	if !d.user {
		c, err := sdbus.NewWithContext(context.Background())
		if err != nil {
			return nil, fmt.Errorf("connect to systemd over D-Bus: %w", err)
		}
		return c, nil
	}
	addr, err := userBusAddress()
	if err != nil {
		return nil, err
	}
	c, err := sdbus.NewUserConnectionContext(context.Background())
	if err != nil {
		return nil, fmt.Errorf("rootless: connect to the user's systemd instance over the session bus %s: %w (it needs a user session: a login, or `loginctl enable-linger %d`)", addr, err, os.Getuid())
	}
	return c, nil
}

// userBusAddress finds the session bus of the user's systemd instance, as
// runc and sd-bus do: $DBUS_SESSION_BUS_ADDRESS, else the socket
// $XDG_RUNTIME_DIR/bus, else /run/user/UID/bus. The one found is put in
// $DBUS_SESSION_BUS_ADDRESS, where godbus looks first: it would otherwise
// look in /run/user/UID only, then try to launch a bus of its own.
func userBusAddress() (string, error) {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return a, nil
	}
	var tried []string
	for _, dir := range []string{os.Getenv("XDG_RUNTIME_DIR"), fmt.Sprintf("/run/user/%d", os.Getuid())} {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, "bus")
		if fi, err := os.Stat(p); err == nil && fi.Mode().Type() == os.ModeSocket {
			a := "unix:path=" + dbus.EscapeBusAddressValue(p)
			os.Setenv("DBUS_SESSION_BUS_ADDRESS", a)
			return a, nil
		}
		tried = append(tried, p)
	}
	return "", fmt.Errorf("rootless: no session bus to reach the user's systemd instance: $DBUS_SESSION_BUS_ADDRESS is not set and there is no socket %s (it needs a user session: a login, or `loginctl enable-linger %d`)", strings.Join(tried, " or "), os.Getuid())
}

// do runs op on the connection, connecting first if need be. A connection
// found closed (systemd or the bus restarted) is made again once.
func (d *conn) do(op func(*sdbus.Conn) error) error {
	for try := 0; ; try++ {
		if d.c == nil {
			c, err := d.connect()
			if err != nil {
				return err
			}
			d.c = c
		}
		err := op(d.c)
		if try > 0 || !errors.Is(err, dbus.ErrClosed) {
			return err
		}
		d.c.Close()
		d.c = nil
	}
}

// close closes the connection if there is one.
func (d *conn) close() {
	if d.c != nil {
		d.c.Close()
		d.c = nil
	}
}

func isDbusError(err error, name string) bool {
	var de dbus.Error
	return errors.As(err, &de) && de.Name == name
}

// startUnit starts the transient unit and waits for its job. A unit of
// that name left dead or failed is reset and the start tried again, as
// runc does; one still active stays, and the error says so.
func (d *conn) startUnit(unit string, props []sdbus.Property) error {
	for try := 0; ; try++ {
		ch := make(chan string, 1)
		err := d.do(func(c *sdbus.Conn) error {
			_, err := c.StartTransientUnitContext(context.Background(), unit, "replace", props, ch)
			return err
		})
		if err == nil {
			return d.waitJob(unit, "start", ch)
		}
		if !isDbusError(err, "org.freedesktop.systemd1.UnitExists") {
			return fmt.Errorf("systemd: start unit %s: %w", unit, err)
		}
		if try > 0 {
			return fmt.Errorf("systemd: start unit %s: a unit of that name is already running", unit)
		}
		// A unit that failed stays loaded until reset; an inactive one
		// until systemd collects it.
		_ = d.resetFailed(unit)
	}
}

// waitJob waits for the result of a job started with ch; anything but
// "done" (canceled, timeout, failed, dependency, skipped) is an error
// naming the unit and result.
func (d *conn) waitJob(unit, what string, ch <-chan string) error {
	t := time.NewTimer(jobTimeout)
	defer t.Stop()
	select {
	case res := <-ch:
		if res != "done" {
			if what == "start" {
				_ = d.resetFailed(unit)
			}
			return fmt.Errorf("systemd: %s unit %s: job result %q", what, unit, res)
		}
		return nil
	case <-t.C:
		return fmt.Errorf("systemd: %s unit %s: no result after %v", what, unit, jobTimeout)
	}
}

// stopUnit stops the unit and waits for the job; a unit that is not
// there (never started, or collected once its processes were gone) is
// not an error. A failed unit is reset so that systemd forgets it.
func (d *conn) stopUnit(unit string) error {
	ch := make(chan string, 1)
	err := d.do(func(c *sdbus.Conn) error {
		_, err := c.StopUnitContext(context.Background(), unit, "replace", ch)
		return err
	})
	switch {
	case isDbusError(err, "org.freedesktop.systemd1.NoSuchUnit"):
		return nil
	case err != nil:
		return fmt.Errorf("systemd: stop unit %s: %w", unit, err)
	}
	err = d.waitJob(unit, "stop", ch)
	_ = d.resetFailed(unit)
	return err
}

func (d *conn) resetFailed(unit string) error {
	return d.do(func(c *sdbus.Conn) error {
		return c.ResetFailedUnitContext(context.Background(), unit)
	})
}

// setProperties changes the running unit's properties (until reboot:
// transient units are not written to /etc).
func (d *conn) setProperties(unit string, props []sdbus.Property) error {
	if cgroups.IsDryRun() {
		for _, p := range props {
			cgroups.RecordDry(unit, "systemd:"+p.Name, p.Value.String())
		}
		return nil
	}
	err := d.do(func(c *sdbus.Conn) error {
		return c.SetUnitPropertiesContext(context.Background(), unit, true, props...)
	})
	if err != nil {
		return fmt.Errorf("systemd: set properties of unit %s: %w", unit, err)
	}
	return nil
}

// attach asks systemd to move pid into the unit's cgroup, or its
// sub-cgroup sub ("" or "/a/b"). A user's instance that may not move it
// itself asks the system manager, which lets a user move its own
// processes into its own delegated units.
func (d *conn) attach(unit, sub string, pid int) error {
	err := d.do(func(c *sdbus.Conn) error {
		return c.AttachProcessesToUnit(context.Background(), unit, sub, []uint32{uint32(pid)})
	})
	if err != nil {
		return fmt.Errorf("systemd: attach process %d to unit %s: %w", pid, unit, err)
	}
	return nil
}

// controlGroup is the unit's cgroup path, from the hierarchy's root.
func (d *conn) controlGroup(unit string) (string, error) {
	typ := "Scope"
	if isSlice(unit) {
		typ = "Slice"
	}
	var p *sdbus.Property
	err := d.do(func(c *sdbus.Conn) (err error) {
		p, err = c.GetUnitTypePropertyContext(context.Background(), unit, typ, "ControlGroup")
		return err
	})
	if err != nil {
		return "", fmt.Errorf("systemd: unit %s: ControlGroup: %w", unit, err)
	}
	cg, ok := p.Value.Value().(string)
	if !ok || !strings.HasPrefix(cg, "/") {
		return "", fmt.Errorf("systemd: unit %s has no cgroup (ControlGroup %s)", unit, p.Value)
	}
	return cg, nil
}

// managerControlGroup is the manager's own cgroup path, from the
// hierarchy's root ("/" for the system manager; for a user's,
// /user.slice/user-UID.slice/user@UID.service).
func (d *conn) managerControlGroup() (string, error) {
	var s string
	err := d.do(func(c *sdbus.Conn) (err error) {
		s, err = c.GetManagerProperty("ControlGroup")
		return err
	})
	if err != nil {
		return "", fmt.Errorf("systemd: the manager's ControlGroup: %w", err)
	}
	// GetManagerProperty gives the value in the D-Bus text form.
	cg := strings.Trim(s, `"`)
	if !strings.HasPrefix(cg, "/") {
		return "", fmt.Errorf("systemd: the manager has no cgroup (ControlGroup %s)", s)
	}
	return cg, nil
}

// version is systemd's version number.
func (d *conn) version() (int, error) {
	var s string
	err := d.do(func(c *sdbus.Conn) (err error) {
		s, err = c.GetManagerProperty("Version")
		return err
	})
	if err != nil {
		return 0, err
	}
	return versionAtoi(s)
}

// Probe asks the system's systemd (or, user, the caller's own instance)
// its version over D-Bus: whether the systemd driver can reach it.
func Probe(user bool) (int, error) {
	d := &conn{user: user}
	defer d.close()
	return d.version()
}
