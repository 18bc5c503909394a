// sdnotify sends its arguments, joined by newlines, to $NOTIFY_SOCKET:
// the container side of the sd_notify test.
package main

import (
	"net"
	"os"
	"strings"
)

func main() {
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: os.Getenv("NOTIFY_SOCKET"), Net: "unixgram"})
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	if _, err := c.Write([]byte(strings.Join(os.Args[1:], "\n") + "\n")); err != nil {
		os.Exit(1)
	}
}
