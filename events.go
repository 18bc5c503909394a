package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/husk-runtime/husk/libcontainer"
	"github.com/urfave/cli/v2"
)

// event is one line of `events` output, as runc prints it.
type event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

var eventsCommand = &cli.Command{
	Name:  "events",
	Usage: "display container events such as OOM notifications, cpu, memory, and IO usage statistics",
	ArgsUsage: `<container-id>

Where "<container-id>" is the name for the instance of the container.`,
	Description: `The events command displays information about the container. By default the
information is displayed once every 5 seconds.`,
	Flags: []cli.Flag{
		&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "set the stats collection interval"},
		&cli.BoolFlag{Name: "stats", Usage: "display the container's stats then exit"},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, exactArgs); err != nil {
			return err
		}
		interval := ctx.Duration("interval")
		if interval <= 0 {
			return errors.New("duration interval must be greater than 0")
		}
		c, err := getContainer(ctx)
		if err != nil {
			return err
		}
		if c.Status() == libcontainer.Stopped {
			return fmt.Errorf("container with id %s is not running", c.State.ID)
		}
		enc := json.NewEncoder(os.Stdout)
		id := c.State.ID
		if ctx.Bool("stats") {
			s, err := c.Stats()
			if err != nil {
				return err
			}
			return enc.Encode(event{Type: "stats", ID: id, Data: s})
		}
		// A stats event every interval, an oom event for each OOM kill,
		// until the container's cgroup goes away.
		oom, stop, err := c.NotifyOOM()
		if err != nil {
			return err
		}
		defer stop()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case _, ok := <-oom:
				if !ok {
					return nil
				}
				if err := enc.Encode(event{Type: "oom", ID: id}); err != nil {
					return err
				}
			case <-tick.C:
				s, err := c.Stats()
				if err != nil {
					if c.Status() == libcontainer.Stopped {
						return nil
					}
					slog.Error(err.Error())
					continue
				}
				if err := enc.Encode(event{Type: "stats", ID: id, Data: s}); err != nil {
					return err
				}
			}
		}
	},
}
