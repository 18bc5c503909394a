package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/husk-runtime/husk/libcontainer"
	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/specconv"
	"github.com/urfave/cli/v2"
)

// createFlags are shared by create and run.
var createFlags = []cli.Flag{
	&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: "", Usage: "path to the root of the bundle directory, defaults to the current directory"},
	&cli.StringFlag{Name: "console-socket", Usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal"},
	&cli.StringFlag{Name: "pidfd-socket", Usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the init process"},
	&cli.StringFlag{Name: "pid-file", Usage: "specify the file to write the process id to"},
	&cli.BoolFlag{Name: "no-pivot", Usage: "do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of a ramdisk"},
	&cli.BoolFlag{Name: "no-new-keyring", Usage: "do not create a new session keyring for the container.  This will cause the container to inherit the calling processes session key"},
	&cli.UintFlag{Name: "preserve-fds", Usage: "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)"},
	&cli.BoolFlag{Name: "dry-run", Usage: "print what would be done (namespaces, mounts in order, devices, cgroup writes, seccomp, capabilities, rlimits, hooks) and make nothing"},
	&cli.StringFlag{Name: "format", Value: "text", Usage: "the --dry-run output: 'text' or 'json'"},
}

var createCommand = &cli.Command{
	Name:      "create",
	Usage:     "create a container",
	ArgsUsage: "<container-id>\n\nWhere \"<container-id>\" is your name for the instance of the container that you\nare starting. The name you provide for the container instance must be unique on\nyour host.",
	Description: `The create command creates an instance of a container for a bundle. The bundle
is a directory with a specification file named "config.json" and a root
filesystem.`,
	Flags: createFlags,
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, exactArgs); err != nil {
			return err
		}
		if ctx.Bool("dry-run") {
			return dryRun(ctx)
		}
		c, _, err := createContainer(ctx, true)
		if err != nil {
			return err
		}
		if p := ctx.String("pid-file"); p != "" {
			if err := writePidFile(p, c.State.InitPid); err != nil {
				c.Destroy(true)
				return err
			}
		}
		return nil
	},
}

// createContainer loads the bundle and creates the container; the error
// says which command and container failed. For a foreground process with
// a terminal it also returns the socket its pty master arrives on.
func createContainer(ctx *cli.Context, detach bool) (*libcontainer.Container, *os.File, error) {
	id := ctx.Args().First()
	c, console, err := doCreate(ctx, id, detach)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", ctx.Command.Name, id, err)
	}
	return c, console, nil
}

// loadBundle reads --bundle's config.json and converts it as create
// does: the config, the process, the bundle's absolute path.
func loadBundle(ctx *cli.Context, id string) (*configs.Config, *configs.Process, string, error) {
	bundle, err := filepath.Abs(ctx.String("bundle"))
	if err != nil {
		return nil, nil, "", fmt.Errorf("--bundle: %w", err)
	}
	var cfg *configs.Config
	var proc *configs.Process
	err = libcontainer.Phase("load config", func() error {
		spec, err := specconv.Load(bundle)
		if err != nil {
			return err
		}
		cfg, proc, err = specconv.Convert(spec, specconv.Options{
			ID:            id,
			Bundle:        bundle,
			NoPivotRoot:   ctx.Bool("no-pivot"),
			NoNewKeyring:  ctx.Bool("no-new-keyring"),
			SystemdCgroup: ctx.Bool("systemd-cgroup"),
			// As runc: an unprivileged --systemd-cgroup uses the user's
			// systemd instance (root keeps the system manager, even with
			// --rootless=true).
			RootlessCgroup: rootless(ctx) && os.Geteuid() != 0,
		})
		return err
	})
	return cfg, proc, bundle, err
}

// dryRun is create's and run's --dry-run: the plan, printed.
func dryRun(ctx *cli.Context) error {
	if err := checkArgs(ctx, 1, exactArgs); err != nil {
		return err
	}
	format := ctx.String("format")
	if format != "text" && format != "json" {
		return fmt.Errorf("--format: %q is not text or json", format)
	}
	id := ctx.Args().First()
	d, bundle, err := planCreate(ctx, id)
	if err != nil {
		return fmt.Errorf("%s %s: %w", ctx.Command.Name, id, err)
	}
	return newDryRunReport(id, bundle, d).write(os.Stdout, format)
}

// planCreate works out what create would do (libcontainer.PlanCreate).
func planCreate(ctx *cli.Context, id string) (*libcontainer.DryRun, string, error) {
	if err := configs.ValidateID(id); err != nil {
		return nil, "", err
	}
	root, err := stateRoot(ctx)
	if err != nil {
		return nil, "", err
	}
	cfg, proc, bundle, err := loadBundle(ctx, id)
	if err != nil {
		return nil, bundle, err
	}
	proc.Env = withListenFds(proc.Env, listenFds())
	d, err := libcontainer.PlanCreate(libcontainer.CreateOptions{
		Root: root, ID: id, Bundle: bundle, Config: cfg, Process: proc,
		PreserveFds: listenFds() + int(ctx.Uint("preserve-fds")),
		Notify:      os.Getenv("NOTIFY_SOCKET") != "", Rootless: rootless(ctx),
	})
	return d, bundle, err
}

func doCreate(ctx *cli.Context, id string, detach bool) (*libcontainer.Container, *os.File, error) {
	if err := configs.ValidateID(id); err != nil {
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
	listen := listenFds()
	proc.Env = withListenFds(proc.Env, listen)
	c, err := libcontainer.Create(libcontainer.CreateOptions{
		Root: root, ID: id, Bundle: bundle, Config: cfg, Process: proc,
		PreserveFds: listen + int(ctx.Uint("preserve-fds")), ConsoleSocket: toInit, ProxyConsole: ours != nil,
		Notify: os.Getenv("NOTIFY_SOCKET") != "", Rootless: rootless(ctx),
	})
	if err != nil {
		if ours != nil {
			ours.Close()
		}
		return nil, nil, err
	}
	if err := sendPidfd(ctx.String("pidfd-socket"), c.State.InitPid, c.State.InitStartTime); err != nil {
		c.Destroy(true)
		if ours != nil {
			ours.Close()
		}
		return nil, nil, err
	}
	return c, ours, nil
}
