package main

import (
	"errors"

	"github.com/husk-runtime/husk/libcontainer"
	"github.com/urfave/cli/v2"
)

var deleteCommand = &cli.Command{
	Name:  "delete",
	Usage: "delete any resources held by the container often used with detached container",
	ArgsUsage: `<container-id>

Where "<container-id>" is the name for the instance of the container.

EXAMPLE:
For example, if the container id is "ubuntu01" and husk list currently shows the
status of "ubuntu01" as "stopped" the following will delete resources held for
"ubuntu01" removing "ubuntu01" from the husk list of containers:

       # husk delete ubuntu01`,
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "Forcibly deletes the container if it is still running (uses SIGKILL)"},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, exactArgs); err != nil {
			return err
		}
		force := ctx.Bool("force")
		// Under the container's lock: a create, start or delete of it
		// still at work is waited for. A directory a create left without
		// a state goes (LoadLocked), and with --force that is success.
		c, err := getLocked(ctx, true)
		if errors.Is(err, libcontainer.ErrNotExist) && force {
			return nil
		}
		if err != nil {
			return err
		}
		defer c.Unlock()
		return c.Destroy(force)
	},
}
