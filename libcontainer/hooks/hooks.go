// Package hooks runs OCI lifecycle hooks: each with the container's state
// JSON on stdin, its own args, its environment (see run) and its timeout.
package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/timerslack"
)

// The hook kinds, by the spec's names, in lifecycle order.
const (
	Prestart        = "prestart"
	CreateRuntime   = "createRuntime"
	CreateContainer = "createContainer"
	StartContainer  = "startContainer"
	Poststart       = "poststart"
	Poststop        = "poststop"
)

// Names lists the hook kinds husk runs (for `features`).
var Names = []string{Prestart, CreateRuntime, CreateContainer, StartContainer, Poststart, Poststop}

// Error is a hook that failed: which one, and why.
type Error struct {
	Kind  string
	Index int
	Err   error
}

// Error reads as runc's: "error running prestart hook #0: exit status 3,
// stdout: ..., stderr: ...".
func (e *Error) Error() string {
	return fmt.Sprintf("error running %s hook #%d: %v", e.Kind, e.Index, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Run runs the hooks of one kind in order and stops at the first that
// fails. state gives the OCI state JSON each gets on stdin (it is not
// called when there is no hook); dir is their working directory ("": the
// caller's).
func Run(kind string, hs []configs.Hook, state func() []byte, dir string) error {
	for i, h := range hs {
		if err := run(h, state, dir); err != nil {
			return &Error{Kind: kind, Index: i, Err: err}
		}
	}
	return nil
}

// RunAll runs every hook even when some fail, and returns each failure
// (poststop: a failing hook is a warning, and the rest still run).
func RunAll(kind string, hs []configs.Hook, state func() []byte, dir string) []error {
	var errs []error
	for i, h := range hs {
		if err := run(h, state, dir); err != nil {
			errs = append(errs, &Error{Kind: kind, Index: i, Err: err})
		}
	}
	return errs
}

// run runs one hook. A hook whose env is unset (nil) inherits the
// environment of the process running it, as with runc: the runtime's for
// the hooks it runs itself, the init's (empty) for createContainer; an
// empty env is an empty environment.
func run(h configs.Hook, state func() []byte, dir string) error {
	ctx := context.Background()
	if h.Timeout != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	}
	cmd.Dir = dir
	cmd.Env = h.Env
	if h.Env != nil {
		// exec.Cmd reads a nil Env as "inherit": an empty one stays empty.
		cmd.Env = append([]string{}, h.Env...)
	}
	// A hook that does not read its stdin gets EPIPE on our side, which
	// os/exec ignores.
	cmd.Stdin = bytes.NewReader(state())
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	err := timerslack.AsCaller(cmd.Start)
	if err == nil {
		err = cmd.Wait()
	}
	if err == nil {
		return nil
	}
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("hook ran past specified timeout of %.1fs", float64(*h.Timeout))
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("%w, stdout: %s, stderr: %s", err, stdout.String(), stderr.String())
	}
	return err
}
