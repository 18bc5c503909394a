// Package netdev moves host network interfaces into a container's network
// namespace (linux.netDevices): over rtnetlink, keeping the interface's
// permanent global addresses and bringing it up, as the spec asks.
package netdev

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// Move moves the host interface name into the network namespace open as
// netns, named newName there ("" keeps the name; a "%d" in it lets the
// kernel pick a free number).
func Move(name, newName string, netns *os.File) error {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return fmt.Errorf("interface %q: %w", name, err)
	}
	addrs, err := permanentAddrs(ifi.Index)
	if err != nil {
		return fmt.Errorf("interface %q: reading its addresses: %w", name, err)
	}
	host, err := newConn()
	if err != nil {
		return err
	}
	defer host.close()
	move := ifinfo(ifi.Index, 0, 0)
	move = attr(move, unix.IFLA_NET_NS_FD, binary.NativeEndian.AppendUint32(nil, uint32(netns.Fd())))
	if newName != "" {
		move = attr(move, unix.IFLA_IFNAME, append([]byte(newName), 0))
	}
	if err := host.request(unix.RTM_NEWLINK, 0, move); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("interface %q: the container already has an interface named %q", name, orName(newName, name))
		}
		return fmt.Errorf("interface %q: moving it into the container: %w", name, err)
	}

	inside, err := connIn(netns)
	if err != nil {
		return err
	}
	defer inside.close()
	index, err := inside.indexOf(ifi.HardwareAddr, orName(newName, name))
	if err != nil {
		return fmt.Errorf("interface %q: finding it in the container: %w", name, err)
	}
	for _, a := range addrs {
		a.index = uint32(index)
		if err := inside.request(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, a.message()); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("interface %q: restoring address %v: %w", name, net.IP(a.local), err)
		}
	}
	if err := inside.request(unix.RTM_NEWLINK, 0, ifinfo(index, unix.IFF_UP, unix.IFF_UP)); err != nil {
		return fmt.Errorf("interface %q: setting it up: %w", name, err)
	}
	return nil
}

func orName(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ifinfo is a struct ifinfomsg.
func ifinfo(index int, flags, change uint32) []byte {
	b := make([]byte, unix.SizeofIfInfomsg)
	b[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(b[4:], uint32(index))
	binary.NativeEndian.PutUint32(b[8:], flags)
	binary.NativeEndian.PutUint32(b[12:], change)
	return b
}

// attr appends one rtattr (padded to 4 bytes).
func attr(b []byte, typ uint16, data []byte) []byte {
	l := unix.SizeofRtAttr + len(data)
	b = binary.NativeEndian.AppendUint16(b, uint16(l))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// address is one interface address to carry over.
type address struct {
	family, prefixLen, flags, scope uint8
	index                           uint32
	local, address                  []byte
}

func (a address) message() []byte {
	b := []byte{a.family, a.prefixLen, a.flags, a.scope, 0, 0, 0, 0}
	binary.NativeEndian.PutUint32(b[4:], a.index)
	if a.local != nil {
		b = attr(b, unix.IFA_LOCAL, a.local)
	}
	if a.address != nil {
		b = attr(b, unix.IFA_ADDRESS, a.address)
	}
	return b
}

// permanentAddrs lists the permanent addresses of global scope of an
// interface: what a move would lose and the spec says to keep.
func permanentAddrs(index int) ([]address, error) {
	rib, err := syscall.NetlinkRIB(unix.RTM_GETADDR, unix.AF_UNSPEC)
	if err != nil {
		return nil, err
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		return nil, err
	}
	var out []address
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWADDR || len(m.Data) < unix.SizeofIfAddrmsg {
			continue
		}
		a := address{family: m.Data[0], prefixLen: m.Data[1], flags: m.Data[2], scope: m.Data[3],
			index: binary.NativeEndian.Uint32(m.Data[4:8])}
		if int(a.index) != index || a.scope != unix.RT_SCOPE_UNIVERSE {
			continue
		}
		flags := uint32(a.flags)
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			return nil, err
		}
		for _, at := range attrs {
			switch at.Attr.Type {
			case unix.IFA_LOCAL:
				a.local = at.Value
			case unix.IFA_ADDRESS:
				a.address = at.Value
			case unix.IFA_FLAGS:
				if len(at.Value) >= 4 {
					flags = binary.NativeEndian.Uint32(at.Value)
				}
			}
		}
		if flags&unix.IFA_F_PERMANENT != 0 {
			out = append(out, a)
		}
	}
	return out, nil
}

// conn is an rtnetlink socket.
type conn struct {
	fd  int
	seq uint32
}

func newConn() (*conn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink bind: %w", err)
	}
	return &conn{fd: fd}, nil
}

// connIn opens an rtnetlink socket in another network namespace: a socket
// belongs to the namespace of the thread that made it.
func connIn(netns *os.File) (*conn, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, err
	}
	defer self.Close()
	if err := unix.Setns(int(netns.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("enter the container's network namespace: %w", err)
	}
	c, cerr := newConn()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// This thread is in the wrong namespace and must not run Go code
		// again: leaving it locked makes the runtime discard it.
		runtime.LockOSThread()
		return nil, fmt.Errorf("return to the host's network namespace: %w", err)
	}
	return c, cerr
}

func (c *conn) close() { unix.Close(c.fd) }

// request sends one request and waits for its acknowledgement.
func (c *conn) request(typ uint16, flags uint16, body []byte) error {
	c.seq++
	hdr := make([]byte, unix.SizeofNlMsghdr)
	binary.NativeEndian.PutUint32(hdr[0:], uint32(unix.SizeofNlMsghdr+len(body)))
	binary.NativeEndian.PutUint16(hdr[4:], typ)
	binary.NativeEndian.PutUint16(hdr[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|flags)
	binary.NativeEndian.PutUint32(hdr[8:], c.seq)
	if err := unix.Sendto(c.fd, append(hdr, body...), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	for {
		msgs, err := c.receive()
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Header.Seq == c.seq && m.Header.Type == unix.NLMSG_ERROR && len(m.Data) >= 4 {
				if errno := int32(binary.NativeEndian.Uint32(m.Data[:4])); errno != 0 {
					return unix.Errno(-errno)
				}
				return nil
			}
		}
	}
}

func (c *conn) receive() ([]syscall.NetlinkMessage, error) {
	buf := make([]byte, 1<<16)
	n, _, err := unix.Recvfrom(c.fd, buf, 0)
	if err != nil {
		return nil, err
	}
	return syscall.ParseNetlinkMessage(buf[:n])
}

// indexOf finds an interface by name, or else by hardware address (after
// a "%d" rename the name is the kernel's choice).
func (c *conn) indexOf(hw net.HardwareAddr, name string) (int, error) {
	c.seq++
	hdr := make([]byte, unix.SizeofNlMsghdr)
	body := ifinfo(0, 0, 0)
	binary.NativeEndian.PutUint32(hdr[0:], uint32(unix.SizeofNlMsghdr+len(body)))
	binary.NativeEndian.PutUint16(hdr[4:], unix.RTM_GETLINK)
	binary.NativeEndian.PutUint16(hdr[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(hdr[8:], c.seq)
	if err := unix.Sendto(c.fd, append(hdr, body...), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, err
	}
	// Read the whole dump, so that nothing of it is left for the next
	// request to trip over.
	byName, byHW := 0, 0
	for {
		msgs, err := c.receive()
		if err != nil {
			return 0, err
		}
		for _, m := range msgs {
			if m.Header.Type == unix.NLMSG_DONE {
				switch {
				case byName != 0:
					return byName, nil
				case byHW != 0:
					return byHW, nil
				}
				return 0, fmt.Errorf("no interface %q", name)
			}
			if m.Header.Type != unix.RTM_NEWLINK || len(m.Data) < unix.SizeofIfInfomsg {
				continue
			}
			index := int(binary.NativeEndian.Uint32(m.Data[4:8]))
			attrs, err := syscall.ParseNetlinkRouteAttr(&m)
			if err != nil {
				return 0, err
			}
			for _, at := range attrs {
				switch {
				case at.Attr.Type == unix.IFLA_IFNAME && string(trimNul(at.Value)) == name:
					byName = index
				case at.Attr.Type == unix.IFLA_ADDRESS && len(hw) > 0 && net.HardwareAddr(at.Value).String() == hw.String():
					byHW = index
				}
			}
		}
	}
}

func trimNul(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}
