package main

import "github.com/urfave/cli/v2"

var pauseCommand = &cli.Command{
	Name:  "pause",
	Usage: "pause suspends all processes inside the container",
	ArgsUsage: `<container-id>

Where "<container-id>" is the name for the instance of the container to be
paused. `,
	Description: `The pause command suspends all processes in the instance of the container.

Use husk list to identify instances of containers and their current status.`,
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, exactArgs); err != nil {
			return err
		}
		c, err := getLocked(ctx, true)
		if err != nil {
			return err
		}
		defer c.Unlock()
		return c.Pause()
	},
}
