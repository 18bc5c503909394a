// Package diag is husk's diagnostics: the errors that name a field of
// config.json, the warnings (every one goes through Warn, which --strict
// turns into an error and `husk check` collects), and the structured
// fields of a command's final error (Fields; docs/errors.md).
package diag

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// FieldError is a problem with one field of config.json (or of another
// file, such as exec's --process). Field is the JSON path, e.g.
// `process.args` or `mounts[2].destination`.
type FieldError struct {
	File  string // "" means config.json
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	file := e.File
	if file == "" {
		file = "config.json"
	}
	if e.Field == "" {
		return file + ": " + e.Msg
	}
	return file + ": " + e.Field + ": " + e.Msg
}

// FieldErr makes a *FieldError of config.json.
func FieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Warning is something husk goes on without: a field ignored, a setting
// it could not apply. Field is the JSON path in File ("" config.json; a
// flag such as "--cap" for a command-line option).
type Warning struct {
	File, Field string
	Msg         string
	// Attrs are logged with the message (slog key-value pairs).
	Attrs []any
	// Quiet: logged at debug level only (husk has never warned about it:
	// runc does not either), yet still a warning for check and --strict.
	Quiet bool
}

// Text is the warning in one line, as check prints it and as --strict's
// error says it.
func (w Warning) Text() string {
	return (&FieldError{File: w.File, Field: w.Field, Msg: w.Msg}).Error()
}

var (
	mu      sync.Mutex
	strict  bool
	collect func(Warning)
)

// SetStrict makes every warning an error (--strict).
func SetStrict(on bool) {
	mu.Lock()
	strict = on
	mu.Unlock()
}

// Collect sends every warning to f (and no longer to the log) until the
// returned function is called: `husk check` lists them.
func Collect(f func(Warning)) (restore func()) {
	mu.Lock()
	old := collect
	collect = f
	mu.Unlock()
	return func() {
		mu.Lock()
		collect = old
		mu.Unlock()
	}
}

// Wanted reports whether a warning that costs something to look for is
// wanted: --strict is on or check collects them.
func Wanted() bool {
	mu.Lock()
	defer mu.Unlock()
	return strict || collect != nil
}

// StrictError is a warning that --strict made an error.
type StrictError struct{ Warning }

func (e *StrictError) Error() string { return e.Text() + " (an error with --strict)" }

// Warn reports w: an error under --strict (the caller fails with it),
// else logged (or collected) and nil.
func Warn(w Warning) error {
	mu.Lock()
	s, c := strict, collect
	mu.Unlock()
	if c != nil {
		c(w)
		if !s {
			return nil
		}
	}
	if s {
		return &StrictError{w}
	}
	attrs := w.Attrs
	if w.Field != "" {
		attrs = append([]any{"field", w.Field}, attrs...)
	}
	level := slog.LevelWarn
	if w.Quiet {
		level = slog.LevelDebug
	}
	slog.Log(context.Background(), level, w.Msg, attrs...)
	return nil
}

// Error carries the structured fields of a failure beside its text, which
// is the wrapped error's unchanged.
type Error struct {
	Stage string // parent, nsenter, init, hook
	Op    string // what was being done: mount, clone, cgroup, ...
	Path  string
	Field string // the config.json JSON path
	Hint  string
	// Phase is the command's step that failed (create's "cgroup",
	// "clone", ...): the op when no inner error says one.
	Phase string
	Err   error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Wrap annotates err (nil stays nil). Fields of e already set by an
// inner *Error win over none; Wrap's win over the inner ones' empty
// fields only.
func Wrap(err error, e Error) error {
	if err == nil {
		return nil
	}
	e.Err = err
	return &e
}

// ErrFields are the structured fields of a command's final error.
type ErrFields struct {
	Op, Stage, Path, Field, Errno, Hint string
}

// Attrs are the fields as slog key-value pairs, the empty ones left out
// (stage and op always there).
func (f ErrFields) Attrs() []any {
	out := []any{"stage", f.Stage, "op", f.Op}
	for _, kv := range [][2]string{{"path", f.Path}, {"field", f.Field}, {"errno", f.Errno}, {"hint", f.Hint}} {
		if kv[1] != "" {
			out = append(out, kv[0], kv[1])
		}
	}
	return out
}

// Fields reads the structured fields of err: the outermost error that
// knows a field gives it. op is the default op (the command's name).
// Each of more reads an error type of another package (that diag does not
// import): it fills the fields of f still empty and reports whether e was
// of its type.
func Fields(err error, op string, more ...func(e error, f *ErrFields) bool) ErrFields {
	var f ErrFields
	var phase string
	set := func(dst *string, v string) {
		if *dst == "" && v != "" {
			*dst = v
		}
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch x := e.(type) {
		case *Error:
			set(&f.Stage, x.Stage)
			set(&f.Op, x.Op)
			set(&f.Path, x.Path)
			set(&f.Field, x.Field)
			set(&f.Hint, x.Hint)
			if phase == "" {
				phase = x.Phase
			}
		case *FieldError:
			set(&f.Field, x.Field)
			if x.File != "" {
				set(&f.Path, x.File)
			}
			set(&f.Op, "config")
		case *StrictError:
			set(&f.Field, x.Field)
			set(&f.Op, "config")
			set(&f.Hint, "a warning that --strict made an error: fix the config, or run without --strict")
		default:
			for _, m := range more {
				if m(e, &f) {
					break
				}
			}
		}
		if en := errnoOf(e); en != "" {
			set(&f.Errno, en)
		}
	}
	set(&f.Stage, "parent")
	set(&f.Op, phase)
	set(&f.Op, op)
	if f.Hint == "" {
		f.Hint = hint(f)
	}
	return f
}

// hint is a short suggestion for the common failures.
func hint(f ErrFields) string {
	switch {
	case f.Errno == "ENOENT" && f.Op == "mount":
		return "the mount's source does not exist on the host"
	case f.Errno == "ENOENT" && f.Op == "exec":
		return "the executable is not in the container's rootfs"
	case f.Errno == "EPERM" || f.Errno == "EACCES":
		return "not permitted: run as root, or check the LSM and the user namespace mappings"
	case f.Stage == "hook":
		return "a hook of the config failed: see its output in the message"
	case f.Op == "config" && f.Field != "":
		return "fix " + f.Field + " in config.json"
	case f.Op == "cgroup":
		return "`husk check --bundle` lists what this host's cgroups can apply"
	}
	return ""
}

// errnoOf names e's errno ("EPERM") if e is one.
func errnoOf(e error) string {
	if en, ok := e.(syscall.Errno); ok && en != 0 {
		return unix.ErrnoName(en)
	}
	return ""
}
