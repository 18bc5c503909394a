package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/husk-runtime/husk/libcontainer/timerslack"
	"github.com/urfave/cli/v2"
)

var psCommand = &cli.Command{
	Name:      "ps",
	Usage:     "ps displays the processes running inside a container",
	ArgsUsage: `<container-id> [ps options]`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: `select one of: table or json`},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, minArgs); err != nil {
			return err
		}
		format := ctx.String("format")
		if format != "table" && format != "json" {
			return errors.New("invalid format option")
		}
		c, err := getContainer(ctx)
		if err != nil {
			return err
		}
		pids, err := c.Processes()
		if err != nil {
			return err
		}
		if format == "json" {
			// No processes is "null", as runc prints it.
			return json.NewEncoder(os.Stdout).Encode(pids)
		}
		// The host's ps, filtered to the container's pids.
		args := ctx.Args().Slice()[1:]
		if len(args) == 0 {
			args = []string{"-ef"}
		}
		var out []byte
		err = timerslack.AsCaller(func() (err error) {
			out, err = exec.Command("ps", args...).CombinedOutput()
			return err
		})
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		lines := strings.Split(string(out), "\n")
		pidIndex := -1
		for i, f := range strings.Fields(lines[0]) {
			if f == "PID" {
				pidIndex = i
				break
			}
		}
		if pidIndex < 0 {
			return errors.New("couldn't find PID field in ps output")
		}
		in := map[int]bool{}
		for _, p := range pids {
			in[p] = true
		}
		fmt.Println(lines[0])
		for _, line := range lines[1:] {
			fields := strings.Fields(line)
			if len(fields) <= pidIndex {
				continue
			}
			p, err := strconv.Atoi(fields[pidIndex])
			if err != nil {
				return fmt.Errorf("unable to parse pid: %w", err)
			}
			if in[p] {
				fmt.Println(line)
			}
		}
		return nil
	},
}
