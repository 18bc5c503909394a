package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/husk-runtime/husk/libcontainer"
	"github.com/husk-runtime/husk/libcontainer/diag"
	"github.com/husk-runtime/husk/libcontainer/hostcheck"
	"github.com/urfave/cli/v2"
)

var checkCommand = &cli.Command{
	Name:      "check",
	Usage:     "check what this host can run: its kernel, cgroups, namespaces, LSMs, seccomp; or, with --bundle, each field of a bundle's config.json",
	ArgsUsage: "[container-id]",
	Description: `Without --bundle, check probes the host for every kernel API and facility husk
uses and prints one line per item: ok, warn or missing, with what a missing one
costs. It exits 1 if something husk cannot create a container without is
missing.

With --bundle, check works through the bundle's config.json with the code that
create runs (the conversion, the cgroup driver's writes as a dry run, the
init's plan) and prints each field as applied, warned (ignored or not quite
applied) or refused (with the reason on this host). It exits 0 when create
would succeed and 1 when it would fail. The container id (default
husk-check) matters where the config's cgroup path does not name one.

The JSON shape (--format json) is documented in docs/check.md.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "check this bundle's config.json against this host"},
		&cli.StringFlag{Name: "format", Value: "text", Usage: "'text' or 'json'"},
		&cli.BoolFlag{Name: "no-pivot", Usage: "as create's --no-pivot"},
		&cli.BoolFlag{Name: "no-new-keyring", Usage: "as create's --no-new-keyring"},
		&cli.UintFlag{Name: "preserve-fds", Usage: "as create's --preserve-fds"},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, maxArgs); err != nil {
			return err
		}
		format := ctx.String("format")
		if format != "text" && format != "json" {
			return fmt.Errorf("--format: %q is not text or json", format)
		}
		var ok bool
		if ctx.IsSet("bundle") {
			ok = checkBundle(ctx, os.Stdout, format)
		} else {
			ok = checkHost(ctx, os.Stdout, format)
		}
		if !ok {
			return &exitError{code: 1}
		}
		return nil
	},
}

// hostReport is check's JSON without --bundle.
type hostReport struct {
	OK    bool             `json:"ok"`
	Items []hostcheck.Item `json:"items"`
}

func checkHost(ctx *cli.Context, w io.Writer, format string) bool {
	root, _ := stateRoot(ctx)
	items := hostcheck.Report(hostcheck.Options{StateRoot: root, FSPaths: []string{"/", root}})
	ok := true
	for _, it := range items {
		if it.Required && it.Status == hostcheck.Missing {
			ok = false
		}
	}
	if format == "json" {
		writeJSON(w, hostReport{OK: ok, Items: items})
		return ok
	}
	for _, it := range items {
		line := fmt.Sprintf("%s: %s: %s", it.Status, it.Name, it.Detail)
		if it.Cost != "" {
			line += " (" + it.Cost + ")"
		}
		fmt.Fprintln(w, line)
	}
	return ok
}

// fieldVerdict is one field of config.json as create takes it.
type fieldVerdict struct {
	Field  string          `json:"field"`
	Status string          `json:"status"` // applied, warned, refused
	Value  json.RawMessage `json:"value,omitempty"`
	Reason string          `json:"reason,omitempty"`
}

// bundleReport is check's JSON with --bundle.
type bundleReport struct {
	Bundle string         `json:"bundle"`
	OK     bool           `json:"ok"`
	Error  string         `json:"error,omitempty"`
	Fields []fieldVerdict `json:"fields"`
}

// checkBundle runs create's own checks (planCreate: the conversion, the
// cgroup driver's dry run, the init's plan) with the warnings collected,
// and lays the verdicts over the config's fields.
func checkBundle(ctx *cli.Context, w io.Writer, format string) bool {
	id := ctx.Args().First()
	if id == "" {
		id = "husk-check"
	}
	bundle, _ := filepath.Abs(ctx.String("bundle"))
	var warnings []diag.Warning
	restore := diag.Collect(func(w diag.Warning) { warnings = append(warnings, w) })
	_, _, err := planCreate(ctx, id)
	restore()
	rep := bundleReport{Bundle: bundle, OK: err == nil, Fields: []fieldVerdict{}}
	data, rerr := os.ReadFile(filepath.Join(bundle, "config.json"))
	var leaves []fieldVerdict
	if rerr == nil {
		var v any
		if json.Unmarshal(data, &v) == nil {
			flatten(v, "", &leaves)
		}
	}
	refused := ""
	if err != nil {
		rep.Error = err.Error()
		refused = libcontainer.ErrFields(err, "create").Field
		if refused == "" {
			refused = resourceField().FindString(err.Error())
		}
	}
	warned := make([]bool, len(warnings))
	refusalShown := false
	for i := range leaves {
		l := &leaves[i]
		l.Status = "applied"
		for j, wn := range warnings {
			if wn.File == "" && related(l.Field, wn.Field) {
				l.Status, l.Reason = "warned", wn.Msg
				warned[j] = true
			}
		}
		if refused != "" && related(l.Field, refused) {
			l.Status, l.Reason = "refused", err.Error()
			refusalShown = true
		}
	}
	rep.Fields = leaves
	for j, wn := range warnings {
		if !warned[j] {
			rep.Fields = append(rep.Fields, fieldVerdict{Field: wn.Field, Status: "warned", Reason: wn.Text()})
		}
	}
	if err != nil && !refusalShown {
		f := refused
		if f == "" {
			f = "(config)"
		}
		rep.Fields = append(rep.Fields, fieldVerdict{Field: f, Status: "refused", Reason: err.Error()})
	}
	if format == "json" {
		writeJSON(w, rep)
		return rep.OK
	}
	for _, f := range rep.Fields {
		line := f.Status + ": " + f.Field
		if len(f.Value) > 0 {
			v := string(f.Value)
			if len(v) > 100 {
				v = v[:97] + "..."
			}
			line += " = " + v
		}
		if f.Reason != "" {
			line += ": " + f.Reason
		}
		fmt.Fprintln(w, line)
	}
	if rep.OK {
		fmt.Fprintln(w, "ok: create would succeed")
	} else {
		fmt.Fprintln(w, "refused: create would fail: "+rep.Error)
	}
	return rep.OK
}

// resourceField finds the field named in a cgroup driver's error
// (compiled on first use: not at every husk's start).
var resourceField = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`linux\.resources\.[A-Za-z]+(\.[A-Za-z]+)?`)
})

// related: one of the JSON paths a and b is the other or inside it.
func related(a, b string) bool {
	if b == "" {
		return false
	}
	in := func(x, y string) bool {
		return x == y || strings.HasPrefix(x, y+".") || strings.HasPrefix(x, y+"[")
	}
	return in(a, b) || in(b, a)
}

// flatten lists config.json's items: each scalar, each array of
// scalars, each element of an array of objects, by JSON path.
func flatten(v any, path string, out *[]fieldVerdict) {
	leaf := func() {
		b, _ := json.Marshal(v)
		*out = append(*out, fieldVerdict{Field: path, Value: b})
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if strings.ContainsAny(k, ".[]\"") || path == "annotations" || strings.HasSuffix(path, "sysctl") || strings.HasSuffix(path, "unified") {
				p = fmt.Sprintf("%s[%q]", path, k)
			}
			flatten(x[k], p, out)
		}
	case []any:
		objects := false
		for _, e := range x {
			if _, ok := e.(map[string]any); ok {
				objects = true
			}
		}
		if !objects {
			leaf()
			return
		}
		for i, e := range x {
			b, _ := json.Marshal(e)
			*out = append(*out, fieldVerdict{Field: fmt.Sprintf("%s[%d]", path, i), Value: b})
		}
	default:
		leaf()
	}
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
