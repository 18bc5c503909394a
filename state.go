package main

import (
	"encoding/json"
	"os"

	"github.com/urfave/cli/v2"
)

var stateCommand = &cli.Command{
	Name:        "state",
	Usage:       "output the state of a container",
	ArgsUsage:   "<container-id>\n\nWhere \"<container-id>\" is your name for the instance of the container.",
	Description: `The state command outputs current state information for the instance of a container.`,
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, exactArgs); err != nil {
			return err
		}
		c, err := getContainer(ctx)
		if err != nil {
			return err
		}
		data, err := json.MarshalIndent(c.OCIState(), "", "  ")
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(data) // no trailing newline, as runc
		return err
	},
}
