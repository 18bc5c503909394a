package main

import (
	"github.com/husk-runtime/husk/libcontainer"
	"os"

	"github.com/urfave/cli/v2"
)

var startCommand = &cli.Command{
	Name:        "start",
	Usage:       "executes the user defined process in a created container",
	ArgsUsage:   "<container-id>\n\nWhere \"<container-id>\" is your name for the instance of the container that you\nare starting. The name you provide for the container instance must be unique on\nyour host.",
	Description: `The start command executes the user defined process in a created container.`,
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, exactArgs); err != nil {
			return err
		}
		c, err := getLocked(ctx, true)
		if err != nil {
			return err
		}
		defer c.Unlock()
		host := os.Getenv("NOTIFY_SOCKET")
		if host != "" {
			// Listen before the workload runs, so no READY=1 is lost.
			if _, err := c.ListenNotify(); err != nil {
				return err
			}
		}
		if err := libcontainer.Phase("start", c.Start); err != nil {
			return err
		}
		c.Unlock()
		return c.RelayNotify(host)
	},
}
