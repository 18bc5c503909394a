package fs

import (
	"fmt"
	"strconv"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/configs"
)

// setDevices writes the rules in order to a new cgroup's devices.allow and
// devices.deny, which the kernel applies as given (a type 'a' rule resets
// the list). `update` does not change devices, as runc.
func (m *Manager) setDevices(r *configs.Resources) error {
	if len(r.Devices) == 0 {
		return nil
	}
	dir, err := m.need("devices", "devices")
	if err != nil {
		return err
	}
	for _, d := range r.Devices {
		file := "devices.deny"
		if d.Allow {
			file = "devices.allow"
		}
		if err := cgroups.WriteFile(dir, file, deviceRule(d)); err != nil {
			return err
		}
	}
	return nil
}

func deviceRule(d configs.DeviceRule) string {
	if d.Type == 'a' {
		return "a"
	}
	num := func(n int64) string {
		if n < 0 {
			return "*"
		}
		return strconv.FormatInt(n, 10)
	}
	return fmt.Sprintf("%c %s:%s %s", d.Type, num(d.Major), num(d.Minor), d.Access)
}
