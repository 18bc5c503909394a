// Package hooks runs OCI lifecycle hooks: each with the container's state
// JSON on stdin, its own args and environment only, and its timeout.
package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/husk-runtime/husk/libcontainer/configs"
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

// Error is a hook that failed: which one, and what it said.
type Error struct {
	Kind  string
	Index int
	Path  string
	Err   error
	Out   string // what it wrote to stdout and stderr, trimmed
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s hook #%d (%s): %v", e.Kind, e.Index, e.Path, e.Err)
	if e.Out != "" {
		msg += ": " + e.Out
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Run runs the hooks of one kind in order and stops at the first that
// fails. state is the OCI state JSON given to each on stdin.
func Run(kind string, hs []configs.Hook, state []byte) error {
	for i, h := range hs {
		if err := run(h, state); err != nil {
			return &Error{Kind: kind, Index: i, Path: h.Path, Err: err.err, Out: err.out}
		}
	}
	return nil
}

// RunAll runs every hook even when some fail, and returns each failure
// (poststop: a failing hook is a warning, and the rest still run).
func RunAll(kind string, hs []configs.Hook, state []byte) []error {
	var errs []error
	for i, h := range hs {
		if err := run(h, state); err != nil {
			errs = append(errs, &Error{Kind: kind, Index: i, Path: h.Path, Err: err.err, Out: err.out})
		}
	}
	return errs
}

type hookErr struct {
	err error
	out string
}

func run(h configs.Hook, state []byte) *hookErr {
	ctx := context.Background()
	if h.Timeout != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	}
	// Only the hook's own environment; an empty, not the inherited, one.
	cmd.Env = append([]string{}, h.Env...)
	// A hook that does not read its stdin gets EPIPE on our side, which
	// os/exec ignores.
	cmd.Stdin = bytes.NewReader(state)
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("timed out after %ds", *h.Timeout)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		err = fmt.Errorf("%s", ee.ProcessState)
	}
	return &hookErr{err: err, out: strings.TrimSpace(out.String())}
}
