package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// verbatimAfter names the commands whose arguments past their first N
// positional ones belong to someone else and are never parsed as husk's
// options: the command line of `exec ID CMD ARGS...`, and the ps(1)
// options of `ps ID PSARGS...` (runc passes those on, even "-f").
var verbatimAfter = map[string]int{"exec": 2, "ps": 1}

// reorderArgs lets options follow the positional arguments, as runc's
// command line does (`husk kill ID -a`, `husk update ID --memory 1M`,
// `husk delete ID -f`), where urfave/cli v2 stops parsing options at the
// first positional one. It moves every option of the command found after
// a positional argument in front of them, and every global option given
// after the command (`husk list --root X`) in front of the command. A
// value option takes the next argument as its value, whatever it looks
// like; a boolean one takes none (runc 1.5.3's urfave/cli v1 would take
// the signal of `kill ID -a KILL` as -a's value). "--" ends the options:
// what follows is positional. Arguments that are not options of the
// command or global ones stay where they are.
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	global := flagTable(app.Flags)
	// The global options before the command.
	i := 1
	for i < len(args) {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		i++
		if takesValue, known := global.lookup(a); known && takesValue {
			i++
		}
	}
	if i >= len(args) {
		return args
	}
	cmd := findCommand(app, args[i])
	if cmd == nil {
		return args
	}
	local := flagTable(cmd.Flags)
	local["help"], local["h"] = false, false
	limit, hasLimit := verbatimAfter[cmd.Name]

	var globals, opts, positional, tail []string
	rest := args[i+1:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if hasLimit && len(positional) >= limit {
			tail = rest[j:]
			break
		}
		if a == "--" {
			// As runc: the delimiter goes first, the operands after it.
			positional = append([]string{"--"}, positional...)
			positional = append(positional, rest[j+1:]...)
			break
		}
		var dst *[]string
		takesValue, known := local.lookup(a)
		switch {
		case known:
			dst = &opts
		default:
			if takesValue, known = global.lookup(a); known {
				dst = &globals
			}
		}
		if !known {
			positional = append(positional, a)
			continue
		}
		*dst = append(*dst, a)
		if takesValue && j+1 < len(rest) {
			j++
			*dst = append(*dst, rest[j])
		}
	}
	out := make([]string, 0, len(args))
	out = append(out, args[:i]...)
	out = append(out, globals...)
	out = append(out, args[i])
	out = append(out, opts...)
	out = append(out, positional...)
	return append(out, tail...)
}

// flags maps each name (and alias) of a set of options to whether it
// takes a value.
type flags map[string]bool

func flagTable(fs []cli.Flag) flags {
	t := flags{}
	for _, f := range fs {
		v, ok := f.(cli.DocGenerationFlag)
		takes := ok && v.TakesValue()
		for _, n := range f.Names() {
			t[n] = takes
		}
	}
	return t
}

// lookup says whether arg is one of the options ("-x", "--name",
// "--name=value", or short booleans run together as "-td") and whether it
// still needs the next argument as its value.
func (t flags) lookup(arg string) (takesValue, known bool) {
	if len(arg) < 2 || arg[0] != '-' || arg == "--" {
		return false, false
	}
	name := strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
	name, _, hasValue := strings.Cut(name, "=")
	if takes, ok := t[name]; ok {
		return takes && !hasValue, true
	}
	// Short options run together: all booleans but maybe the last.
	if strings.HasPrefix(arg, "--") || hasValue || len(name) < 2 {
		return false, false
	}
	for k, c := range name {
		takes, ok := t[string(c)]
		if !ok || (takes && k != len(name)-1) {
			return false, false
		}
		takesValue = takes
	}
	return takesValue, true
}

func findCommand(app *cli.App, name string) *cli.Command {
	for _, c := range app.Commands {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
