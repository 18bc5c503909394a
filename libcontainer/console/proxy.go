package console

import (
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Proxy connects the caller's stdin and stdout to a pty master, for a
// foreground run or exec with a terminal. When stdin is a terminal it is
// put in raw mode (the container's pty does the line discipline) and its
// size is passed on.
type Proxy struct {
	master  *os.File
	termios *unix.Termios // the caller's settings, to restore
	out     chan struct{}
}

// StartProxy starts copying between the caller's stdio and master.
func StartProxy(master *os.File) (*Proxy, error) {
	p := &Proxy{master: master, out: make(chan struct{})}
	in := int(os.Stdin.Fd())
	if t, err := unix.IoctlGetTermios(in, unix.TCGETS); err == nil {
		p.termios = t
		raw := *t
		raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		raw.Oflag &^= unix.OPOST
		raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		raw.Cflag &^= unix.CSIZE | unix.PARENB
		raw.Cflag |= unix.CS8
		raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
		if err := unix.IoctlSetTermios(in, unix.TCSETS, &raw); err != nil {
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
	if ws, err := unix.IoctlGetWinsize(int(os.Stdin.Fd()), unix.TIOCGWINSZ); err == nil {
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
		unix.IoctlSetTermios(int(os.Stdin.Fd()), unix.TCSETS, p.termios)
	}
	p.master.Close()
}
