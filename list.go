package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/husk-runtime/husk/libcontainer"
	"github.com/urfave/cli/v2"
)

var listCommand = &cli.Command{
	Name:      "list",
	Usage:     "lists containers started by husk with the given root",
	ArgsUsage: "\n\nWhere the given root is specified via the global option \"--root\"\n(default: \"/run/husk\").\n\nEXAMPLE 1:\nTo list containers created via the default \"--root\":\n       # husk list\n\nEXAMPLE 2:\nTo list containers created using a non-default value for \"--root\":\n       # husk --root value list",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: `select one of: table or json (default: "table")`},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "display only container IDs"},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 0, exactArgs); err != nil {
			return err
		}
		root, err := stateRoot(ctx)
		if err != nil {
			return err
		}
		states, err := listStates(root)
		if err != nil {
			// As runc: no default root yet means no containers, but a
			// --root that is not there is an error.
			if !errors.Is(err, os.ErrNotExist) || ctx.IsSet("root") {
				return err
			}
			states = nil
		}
		if ctx.Bool("quiet") {
			for _, s := range states {
				fmt.Println(s.ID)
			}
			return nil
		}
		switch f := ctx.String("format"); f {
		case "table":
			w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
			fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
			for _, s := range states {
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), s.Owner)
			}
			return w.Flush()
		case "json":
			return json.NewEncoder(os.Stdout).Encode(states)
		default:
			return fmt.Errorf("invalid format option %q: use table or json", f)
		}
	},
}

// listStates loads every container under root. One whose state cannot be
// read is reported on stderr and left out, as runc does.
func listStates(root string) ([]libcontainer.OCIState, error) {
	ids, err := libcontainer.List(root)
	if err != nil {
		return nil, err
	}
	var out []libcontainer.OCIState
	for _, id := range ids {
		c, err := libcontainer.Load(root, id)
		if err != nil {
			if errors.Is(err, libcontainer.ErrNotExist) {
				if _, serr := os.Stat(filepath.Join(root, id)); errors.Is(serr, os.ErrNotExist) {
					continue // deleted meanwhile
				}
			}
			fmt.Fprintf(os.Stderr, "load container %s: %v\n", id, err)
			continue
		}
		s := c.OCIState()
		s.Owner = ownerOf(filepath.Join(root, id))
		out = append(out, s)
	}
	return out, nil
}

// ownerOf names the owner of a container's state directory.
func ownerOf(dir string) string {
	fi, err := os.Stat(dir)
	if err != nil {
		return ""
	}
	uid := fi.Sys().(*syscall.Stat_t).Uid
	if u, err := user.LookupId(strconv.Itoa(int(uid))); err == nil {
		return u.Username
	}
	return "#" + strconv.Itoa(int(uid))
}
