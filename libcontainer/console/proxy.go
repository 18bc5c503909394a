package console

import (
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Proxy connects the caller's stdin and stdout to a pty master, for a
// foreground run or exec with a terminal. As runc does, the caller's
// terminal (its stderr, stdout or stdin, whichever is one first, else
// /dev/tty) is put in raw input mode (the container's pty does the line
// discipline; output processing is kept, the container's pty has ONLCR
// off) and its size is passed on.
type Proxy struct {
	master  *os.File
	host    *os.File      // the caller's terminal, or nil
	ownHost bool          // host was opened here (/dev/tty)
	termios *unix.Termios // the caller's settings, to restore
	out     chan struct{}
}

// hostTerminal finds the caller's terminal as runc does.
func hostTerminal() (f *os.File, opened bool) {
	for _, s := range []*os.File{os.Stderr, os.Stdout, os.Stdin} {
		if _, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS); err == nil {
			return s, false
		}
	}
	fd, err := unix.Open("/dev/tty", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	return os.NewFile(uintptr(fd), "/dev/tty"), true
}

// StartProxy starts copying between the caller's stdio and master.
func StartProxy(master *os.File) (*Proxy, error) {
	p := &Proxy{master: master, out: make(chan struct{})}
	p.host, p.ownHost = hostTerminal()
	if p.host != nil {
		fd := int(p.host.Fd())
		t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err != nil {
			return nil, err
		}
		p.termios = t
		raw := *t
		raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		raw.Cflag &^= unix.CSIZE | unix.PARENB
		raw.Cflag |= unix.CS8
		raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
		if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
			return nil, err
		}
		p.Resize()
	}
	go func() { io.Copy(master, os.Stdin) }()
	go func() {
		// Ends with EIO once every slave fd is closed: the process exited.
		io.Copy(os.Stdout, master)
		close(p.out)
	}()
	return p, nil
}

// Resize gives the pty the caller's terminal size (on SIGWINCH).
func (p *Proxy) Resize() {
	if p.host == nil {
		return
	}
	if ws, err := unix.IoctlGetWinsize(int(p.host.Fd()), unix.TIOCGWINSZ); err == nil {
		unix.IoctlSetWinsize(int(p.master.Fd()), unix.TIOCSWINSZ, ws)
	}
}

// Close waits until everything the process wrote is out (or a second: a
// process that outlived it may hold the pty), then restores the caller's
// terminal.
func (p *Proxy) Close() {
	select {
	case <-p.out:
	case <-time.After(time.Second):
	}
	if p.termios != nil {
		unix.IoctlSetTermios(int(p.host.Fd()), unix.TCSETS, p.termios)
	}
	if p.ownHost {
		p.host.Close()
	}
	p.master.Close()
}
