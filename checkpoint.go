package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/husk-runtime/husk/libcontainer"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

var checkpointCommand = &cli.Command{
	Name:  "checkpoint",
	Usage: "checkpoint a running container",
	ArgsUsage: `<container-id>

Where "<container-id>" is the name for the instance of the container to be
checkpointed.`,
	Description: `The checkpoint command saves the state of the container instance.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "image-path", Usage: "path for saving criu image files"},
		&cli.StringFlag{Name: "work-path", Usage: "path for saving work files and logs"},
		&cli.StringFlag{Name: "parent-path", Usage: "path for previous criu image files in pre-dump"},
		&cli.BoolFlag{Name: "leave-running", Usage: "leave the process running after checkpointing"},
		&cli.BoolFlag{Name: "tcp-established", Usage: "allow open tcp connections"},
		&cli.BoolFlag{Name: "tcp-skip-in-flight", Usage: "skip in-flight tcp connections"},
		&cli.BoolFlag{Name: "link-remap", Usage: "allow one to link unlinked files back when possible"},
		&cli.BoolFlag{Name: "ext-unix-sk", Usage: "allow external unix sockets"},
		&cli.BoolFlag{Name: "shell-job", Usage: "allow shell jobs"},
		&cli.BoolFlag{Name: "lazy-pages", Usage: "use userfaultfd to lazily restore memory pages"},
		&cli.IntFlag{Name: "status-fd", Value: -1, Usage: "criu writes \\0 to this FD once lazy-pages is ready"},
		&cli.StringFlag{Name: "page-server", Usage: "ADDRESS:PORT of the page server"},
		&cli.BoolFlag{Name: "file-locks", Usage: "handle file locks, for safety"},
		&cli.BoolFlag{Name: "pre-dump", Usage: "dump container's memory information only, leave the container running after this"},
		&cli.StringFlag{Name: "manage-cgroups-mode", Usage: "cgroups mode: soft|full|strict|ignore (default: soft)"},
		&cli.StringSliceFlag{Name: "empty-ns", Usage: "create a namespace, but don't restore its properties"},
		&cli.BoolFlag{Name: "auto-dedup", Usage: "enable auto deduplication of memory images"},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, exactArgs); err != nil {
			return err
		}
		c, err := getLocked(ctx, true)
		if err != nil {
			return err
		}
		defer c.Unlock()
		switch st := c.Status(); st {
		case libcontainer.Running, libcontainer.Paused:
		default:
			return fmt.Errorf("container cannot be checkpointed in %s state", st)
		}
		opts, err := criuOptions(ctx, true)
		if err != nil {
			return err
		}
		if err := c.Checkpoint(opts); err != nil {
			return err
		}
		if opts.LeaveRunning || opts.PreDump {
			return nil
		}
		// CRIU killed the container once it was dumped.
		return c.Destroy(false)
	},
}

// criuOptions reads checkpoint's and restore's flags (those a command
// lacks read as unset). checkpoint makes the image directory (as runc,
// ./checkpoint by default); restore needs it there.
func criuOptions(ctx *cli.Context, checkpoint bool) (*libcontainer.CriuOptions, error) {
	image := ctx.String("image-path")
	if image == "" {
		cwd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		image = filepath.Join(cwd, "checkpoint")
	}
	image, err := filepath.Abs(image)
	if err != nil {
		return nil, fmt.Errorf("--image-path: %w", err)
	}
	if err := libcontainer.CheckCgroupsMode(ctx.String("manage-cgroups-mode")); err != nil {
		return nil, err
	}
	o := &libcontainer.CriuOptions{
		ImagePath:         image,
		LeaveRunning:      ctx.Bool("leave-running"),
		TCPEstablished:    ctx.Bool("tcp-established"),
		TCPSkipInFlight:   ctx.Bool("tcp-skip-in-flight"),
		LinkRemap:         ctx.Bool("link-remap"),
		ExtUnixSk:         ctx.Bool("ext-unix-sk"),
		ShellJob:          ctx.Bool("shell-job"),
		FileLocks:         ctx.Bool("file-locks"),
		PreDump:           ctx.Bool("pre-dump"),
		AutoDedup:         ctx.Bool("auto-dedup"),
		LazyPages:         ctx.Bool("lazy-pages"),
		StatusFd:          -1,
		ManageCgroupsMode: ctx.String("manage-cgroups-mode"),
		LsmProfile:        ctx.String("lsm-profile"),
		LsmMountContext:   ctx.String("lsm-mount-context"),
	}
	if ctx.IsSet("status-fd") {
		o.StatusFd = ctx.Int("status-fd")
	}
	if w := ctx.String("work-path"); w != "" {
		if o.WorkPath, err = filepath.Abs(w); err != nil {
			return nil, fmt.Errorf("--work-path: %w", err)
		}
	}
	if ps := ctx.String("page-server"); ps != "" {
		addr, port, err := net.SplitHostPort(ps)
		if err != nil || addr == "" || port == "" {
			return nil, fmt.Errorf("--page-server %q: use ADDRESS:PORT", ps)
		}
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("--page-server %q: invalid port number", ps)
		}
		o.PageServer, o.PageServerPort = addr, int32(n)
	}
	// husk, as runc, does not manage the network: CRIU makes the network
	// namespace without restoring its devices.
	o.EmptyNs = unix.CLONE_NEWNET
	for _, ns := range ctx.StringSlice("empty-ns") {
		if ns != "network" {
			return nil, fmt.Errorf("--empty-ns: namespace %q is not supported (only \"network\")", ns)
		}
	}
	if !checkpoint {
		if fi, err := os.Stat(image); err != nil {
			return nil, fmt.Errorf("--image-path: %w", err)
		} else if !fi.IsDir() {
			return nil, fmt.Errorf("--image-path %s: not a directory", image)
		}
		return o, nil
	}
	if err := os.MkdirAll(image, 0o700); err != nil {
		return nil, fmt.Errorf("--image-path: %w", err)
	}
	if p := ctx.String("parent-path"); p != "" {
		if filepath.IsAbs(p) {
			return nil, errors.New("--parent-path must be relative (to --image-path)")
		}
		fi, err := os.Stat(filepath.Join(image, p))
		if err == nil && !fi.IsDir() {
			err = &os.PathError{Op: "stat", Path: filepath.Join(image, p), Err: unix.ENOTDIR}
		}
		if err != nil {
			return nil, fmt.Errorf("invalid --parent-path: %w", err)
		}
		o.ParentPath = p
	}
	return o, nil
}
