package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/husk-runtime/husk/libcontainer"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

var killCommand = &cli.Command{
	Name:  "kill",
	Usage: "kill sends the specified signal (default: SIGTERM) to the container's init process",
	ArgsUsage: `<container-id> [signal]

Where "<container-id>" is the name for the instance of the container and
"[signal]" is the signal to be sent to the init process.

EXAMPLE:
For example, if the container id is "ubuntu01" the following will send a "KILL"
signal to the init process of the "ubuntu01" container:

       # husk kill ubuntu01 KILL`,
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "(obsoleted, do not use)", Hidden: true},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, minArgs); err != nil {
			return err
		}
		if err := checkArgs(ctx, 2, maxArgs); err != nil {
			return err
		}
		c, err := getContainer(ctx)
		if err != nil {
			return err
		}
		raw := ctx.Args().Get(1)
		if raw == "" {
			raw = "SIGTERM"
		}
		sig, err := parseSignal(raw)
		if err != nil {
			return err
		}
		err = c.Signal(sig)
		if errors.Is(err, libcontainer.ErrNotRunning) && ctx.Bool("all") {
			// As runc 1.5: --all is obsolete (SIGKILL reaches every
			// process where it must on its own), and keeps only this:
			// a container that has stopped is not an error.
			err = nil
		}
		return err
	},
}

// parseSignal accepts a number, or a name with or without "SIG".
func parseSignal(raw string) (unix.Signal, error) {
	if n, err := strconv.Atoi(raw); err == nil {
		// 0 checks that the init is there, as kill(2).
		if n < 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal number %d", n)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(raw)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", raw)
}
