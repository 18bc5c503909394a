package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/husk-runtime/husk/libcontainer"
	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/urfave/cli/v2"
)

var restoreCommand = &cli.Command{
	Name:  "restore",
	Usage: "restore a container from a previous checkpoint",
	ArgsUsage: `<container-id>

Where "<container-id>" is the name for the instance of the container to be
restored.`,
	Description: `Restores the saved state of the container instance that was previously saved
using the husk checkpoint command.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "console-socket", Usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal"},
		&cli.StringFlag{Name: "image-path", Usage: "path to criu image files for restoring"},
		&cli.StringFlag{Name: "work-path", Usage: "path for saving work files and logs"},
		&cli.BoolFlag{Name: "tcp-established", Usage: "allow open tcp connections"},
		&cli.BoolFlag{Name: "ext-unix-sk", Usage: "allow external unix sockets"},
		&cli.BoolFlag{Name: "shell-job", Usage: "allow shell jobs"},
		&cli.BoolFlag{Name: "file-locks", Usage: "handle file locks, for safety"},
		&cli.StringFlag{Name: "manage-cgroups-mode", Usage: "cgroups mode: soft|full|strict|ignore (default: soft)"},
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "path to the root of the bundle directory"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "detach from the container's process"},
		&cli.StringFlag{Name: "pid-file", Usage: "specify the file to write the process id to"},
		&cli.BoolFlag{Name: "no-subreaper", Usage: "disable the use of the subreaper used to reap reparented processes"},
		&cli.BoolFlag{Name: "no-pivot", Usage: "do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of a ramdisk"},
		&cli.StringSliceFlag{Name: "empty-ns", Usage: "create a namespace, but don't restore its properties"},
		&cli.BoolFlag{Name: "auto-dedup", Usage: "enable auto deduplication of memory images"},
		&cli.BoolFlag{Name: "lazy-pages", Usage: "use userfaultfd to lazily restore memory pages"},
		&cli.StringFlag{Name: "lsm-profile", Usage: "Specify an LSM profile to be used during restore in the form of TYPE:NAME."},
		&cli.StringFlag{Name: "lsm-mount-context", Usage: "Specify an LSM mount context to be used during restore."},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, exactArgs); err != nil {
			return err
		}
		// The restored process is our child (CRIU's sibling): we wait
		// for it as run does.
		return foreground(ctx, foregroundSteps{make: restoreContainer})
	},
}

// restoreContainer restores the container named by the first argument
// from the bundle's config and the images; for a foreground terminal it
// also returns the socket its new pty master arrives on.
func restoreContainer(ctx *cli.Context, detach bool) (*libcontainer.Container, *os.File, error) {
	id := ctx.Args().First()
	c, console, err := doRestore(ctx, id, detach)
	if err != nil {
		return nil, nil, fmt.Errorf("restore %s: %w", id, err)
	}
	return c, console, nil
}

func doRestore(ctx *cli.Context, id string, detach bool) (*libcontainer.Container, *os.File, error) {
	if err := configs.ValidateID(id); err != nil {
		return nil, nil, err
	}
	if os.Geteuid() != 0 {
		slog.Warn("restore is untested with rootless containers")
	}
	opts, err := criuOptions(ctx, false)
	if err != nil {
		return nil, nil, err
	}
	root, err := stateRoot(ctx)
	if err != nil {
		return nil, nil, err
	}
	cfg, proc, bundle, err := loadBundle(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	toInit, ours, err := consoleSockets(ctx.String("console-socket"), proc.Terminal, detach)
	if err != nil {
		return nil, nil, err
	}
	if toInit != nil {
		defer toInit.Close()
	}
	ro := libcontainer.RestoreOptions{
		Root: root, ID: id, Bundle: bundle, Config: cfg, Process: proc,
		ConsoleSocket: toInit, Criu: opts,
	}
	if !proc.Terminal {
		ro.Stdio = [3]*os.File{os.Stdin, os.Stdout, os.Stderr}
	}
	c, err := libcontainer.Restore(ro)
	if err != nil {
		if ours != nil {
			ours.Close()
		}
		return nil, nil, err
	}
	return c, ours, nil
}
