package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/husk-runtime/husk/libcontainer"
	"github.com/urfave/cli/v2"
)

const (
	exactArgs = iota
	minArgs
	maxArgs
)

// checkArgs checks the number of positional arguments as runc does.
func checkArgs(ctx *cli.Context, expected, kind int) error {
	n := ctx.NArg()
	cmd := ctx.Command.Name
	var err error
	switch kind {
	case exactArgs:
		if n != expected {
			err = fmt.Errorf("%s: %q requires exactly %d argument(s)", os.Args[0], cmd, expected)
		}
	case minArgs:
		if n < expected {
			err = fmt.Errorf("%s: %q requires a minimum of %d argument(s)", os.Args[0], cmd, expected)
		}
	case maxArgs:
		if n > expected {
			err = fmt.Errorf("%s: %q requires a maximum of %d argument(s)", os.Args[0], cmd, expected)
		}
	}
	if err != nil {
		fmt.Printf("Incorrect Usage.\n\n")
		_ = cli.ShowCommandHelp(ctx, cmd)
		return err
	}
	return nil
}

// defaultRoot is /run/husk, or for an unprivileged user (as runc)
// $XDG_RUNTIME_DIR/husk.
func defaultRoot() string {
	if xdg := os.Getenv("XDG_RUNTIME_DIR"); xdg != "" && os.Geteuid() != 0 {
		return filepath.Join(xdg, "husk")
	}
	return "/run/husk"
}

// rootless reports whether husk runs rootless (--rootless, or "auto": not
// as root): cgroups it may not create are then done without.
func rootless(ctx *cli.Context) bool {
	switch ctx.String("rootless") {
	case "true":
		return true
	case "false":
		return false
	}
	return os.Geteuid() != 0
}

// stateRoot is --root, made absolute.
func stateRoot(ctx *cli.Context) (string, error) {
	root, err := filepath.Abs(ctx.String("root"))
	if err != nil {
		return "", fmt.Errorf("--root: %w", err)
	}
	return root, nil
}

// getContainer loads the container named by the first argument.
func getContainer(ctx *cli.Context) (*libcontainer.Container, error) {
	id := ctx.Args().First()
	if id == "" {
		return nil, errors.New("container id cannot be empty")
	}
	root, err := stateRoot(ctx)
	if err != nil {
		return nil, err
	}
	return libcontainer.Load(root, id)
}

// getLocked loads the container named by the first argument holding its
// lock: exclusive for a command that changes it, shared for exec.
func getLocked(ctx *cli.Context, exclusive bool) (*libcontainer.Container, error) {
	id := ctx.Args().First()
	if id == "" {
		return nil, errors.New("container id cannot be empty")
	}
	root, err := stateRoot(ctx)
	if err != nil {
		return nil, err
	}
	return libcontainer.LoadLocked(root, id, exclusive)
}

// writePidFile writes pid to path atomically, as runc does.
func writePidFile(path string, pid int) error {
	path, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(fmt.Sprint(pid)), 0o644); err != nil {
		return fmt.Errorf("--pid-file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("--pid-file: %w", err)
	}
	return nil
}
