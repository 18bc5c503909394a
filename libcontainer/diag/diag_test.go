package diag

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
)

func TestWarnStrictAndCollect(t *testing.T) {
	w := Warning{Field: "process.commandLine", Msg: "ignored"}
	if err := Warn(w); err != nil {
		t.Fatalf("not strict: %v", err)
	}
	SetStrict(true)
	defer SetStrict(false)
	err := Warn(w)
	var se *StrictError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "config.json: process.commandLine: ignored") {
		t.Fatalf("strict: %v", err)
	}
	SetStrict(false)
	var got []Warning
	restore := Collect(func(w Warning) { got = append(got, w) })
	if err := Warn(w); err != nil || len(got) != 1 || !Wanted() {
		t.Fatalf("collect: %v %v", err, got)
	}
	restore()
	if Wanted() {
		t.Fatal("still collecting")
	}
}

func TestFields(t *testing.T) {
	inner := fmt.Errorf("open source: %w", syscall.ENOENT)
	err := fmt.Errorf("run c: %w", Wrap(Wrap(inner, Error{Stage: "init", Op: "mount", Path: "/x", Field: "mounts[1].source"}), Error{Phase: "init"}))
	f := Fields(err, "run")
	if f.Stage != "init" || f.Op != "mount" || f.Path != "/x" || f.Field != "mounts[1].source" || f.Errno != "ENOENT" || f.Hint == "" {
		t.Errorf("%+v", f)
	}
	f = Fields(Wrap(errors.New("x"), Error{Phase: "cgroup"}), "create")
	if f.Stage != "parent" || f.Op != "cgroup" {
		t.Errorf("phase: %+v", f)
	}
	f = Fields(FieldErr("process.cwd", "bad"), "create")
	if f.Op != "config" || f.Field != "process.cwd" {
		t.Errorf("field error: %+v", f)
	}
	if f := Fields(errors.New("x"), "kill"); f.Op != "kill" || f.Stage != "parent" {
		t.Errorf("plain: %+v", f)
	}
}
