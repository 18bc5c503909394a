package libcontainer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/diag"
	"github.com/husk-runtime/husk/libcontainer/hooks"
	"github.com/husk-runtime/husk/libcontainer/initproto"
)

// ErrFields are the structured fields of a command's final error (its
// JSON log record's; docs/errors.md): op is the command's name, the op
// when nothing more precise is known.
func ErrFields(err error, op string) diag.ErrFields {
	return diag.Fields(err, op, initErrFields, hookErrFields)
}

// initStages maps the C init's stages to the record's: the bootstrap is
// "nsenter", the plan's steps "init", the hooks it runs "hook".
var initStages = map[string]string{"nsenter": "nsenter", "hooks": "hook"}

func initErrFields(e error, f *diag.ErrFields) bool {
	ie, ok := e.(*initproto.InitError)
	if !ok {
		return false
	}
	stage, ok := initStages[ie.Stage]
	if !ok {
		stage = "init"
	}
	setEmpty(&f.Stage, stage)
	op := strings.TrimSuffix(ie.Op, ":")
	if op == "" && stage == "hook" {
		op = "hook"
	}
	setEmpty(&f.Op, op)
	setEmpty(&f.Path, ie.Path)
	return true
}

func hookErrFields(e error, f *diag.ErrFields) bool {
	he, ok := e.(*hooks.Error)
	if !ok {
		return false
	}
	setEmpty(&f.Stage, "hook")
	setEmpty(&f.Op, "hook")
	setEmpty(&f.Field, fmt.Sprintf("hooks.%s[%d]", he.Kind, he.Index))
	return true
}

func setEmpty(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

// hookErr annotates a hook's failure with the hook's path.
func hookErr(err error, cfg *configs.Config) error {
	var he *hooks.Error
	if !errors.As(err, &he) {
		return err
	}
	path := ""
	if hs := cfg.Hooks[he.Kind]; he.Index < len(hs) {
		path = hs[he.Index].Path
	}
	return diag.Wrap(err, diag.Error{Stage: "hook", Op: "hook", Path: path, Field: fmt.Sprintf("hooks.%s[%d]", he.Kind, he.Index)})
}

// initFailure annotates an error the init sent with the field of
// config.json it concerns, where its path names one of the mounts.
func initFailure(ie *initproto.InitError, cfg *configs.Config) error {
	if ie.Stage != "rootfs" || cfg == nil {
		return ie
	}
	// A mount's path reads `"SOURCE" on "DEST"` or `"SOURCE" (TYPE) on "DEST"`.
	dest := ie.Path
	if i := strings.LastIndex(dest, ` on "`); i >= 0 && strings.HasSuffix(dest, `"`) {
		dest = dest[i+5 : len(dest)-1]
	}
	for i, m := range cfg.Mounts {
		if m.Destination == dest {
			return diag.Wrap(ie, diag.Error{Field: fmt.Sprintf("mounts[%d]", i), Path: dest})
		}
	}
	return ie
}
