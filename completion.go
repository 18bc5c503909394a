package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

// The scripts are also committed (contrib/completions), as the man pages
// (man/man8) are: both are written from the command definitions by the
// tests of this package, which fail when a committed file is stale.
//go:generate go test -run ^(TestManPages|TestCompletionScripts)$ . -update

var completionCommand = &cli.Command{
	Name:  "completion",
	Usage: "print a shell completion script (bash, zsh or fish)",
	ArgsUsage: `<shell>

Where "<shell>" is one of bash, zsh or fish.

EXAMPLE:
To complete husk's commands, options and container ids in the current
bash, zsh or fish:

       $ source <(husk completion bash)
       % source <(husk completion zsh)
       > husk completion fish | source`,
	Description: `The completion command prints a script for the given shell that completes
husk's commands, their options and the values of some of them (files,
directories, formats), and the ids of existing containers (through "husk
list -q" with the --root given on the command line). The same scripts are
installed by "make install" under share/bash-completion/completions,
share/zsh/site-functions and share/fish/vendor_completions.d.`,
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, exactArgs); err != nil {
			return err
		}
		s, err := completionScript(ctx.App, ctx.Args().First())
		if err != nil {
			return err
		}
		_, err = io.WriteString(ctx.App.Writer, s)
		return err
	},
}

// completionShells are the shells completionScript writes for.
var completionShells = []string{"bash", "zsh", "fish"}

// completionScript is the completion script of app's commands for shell.
func completionScript(app *cli.App, shell string) (string, error) {
	m := completionModel(app)
	switch shell {
	case "bash":
		return m.bash(), nil
	case "zsh":
		return m.zsh(), nil
	case "fish":
		return m.fish(), nil
	}
	return "", fmt.Errorf("completion: unknown shell %q (one of %s)", shell, strings.Join(completionShells, ", "))
}

// compFlag is one option as the completions see it.
type compFlag struct {
	long   []string // names of two characters or more, without "--"
	short  []string // one-character names, without "-"
	usage  string   // the first line of its usage
	value  bool     // takes a value
	values []string // the values to offer, if a fixed set
	kind   string   // "file", "dir" or "" for a value
}

// words is every spelling of the option ("--bundle", "-b").
func (f compFlag) words() []string {
	var w []string
	for _, n := range f.long {
		w = append(w, "--"+n)
	}
	for _, n := range f.short {
		w = append(w, "-"+n)
	}
	return w
}

// compCommand is one command as the completions see it.
type compCommand struct {
	name  string
	usage string
	flags []compFlag
	// args is what its positional arguments are, in order ("container",
	// "shell", "command"); the last one repeats if repeat is set.
	args   []string
	repeat bool
}

type compApp struct {
	name     string
	global   []compFlag
	commands []compCommand
}

// flagValues are the values offered for an option ("command/option", or
// "/option" for a global one), flagKinds what sort of path it takes.
var (
	flagValues = map[string][]string{
		"/log-format":   {"text", "json"},
		"/rootless":     {"true", "false", "auto"},
		"list/format":   {"table", "json"},
		"ps/format":     {"table", "json"},
		"check/format":  {"text", "json"},
		"create/format": {"text", "json"},
		"run/format":    {"text", "json"},
	}
	flagKinds = map[string]string{
		"/log": "file", "/root": "dir", "bundle": "dir", "pid-file": "file", "console-socket": "file",
		"pidfd-socket": "file", "process": "file", "resources": "file",
	}
	// newIDCommands name a new container: nothing to complete.
	newIDCommands = map[string]bool{"create": true, "run": true}
)

func completionModel(app *cli.App) compApp {
	m := compApp{name: app.Name, global: compFlags("", app.VisibleFlags())}
	if !app.HideHelp {
		m.global = append(m.global, compFlag{long: []string{"help"}, short: []string{"h"}, usage: "show help"})
	}
	if !app.HideVersion {
		m.global = append(m.global, compFlag{long: []string{"version"}, short: []string{"v"}, usage: "print the version"})
	}
	for _, c := range app.VisibleCommands() {
		if c.Name == "help" {
			continue // added below, once the App is set up
		}
		cc := compCommand{name: c.Name, usage: firstLine(c.Usage), flags: compFlags(c.Name, c.VisibleFlags())}
		usage := strings.TrimSpace(firstLine(c.ArgsUsage))
		switch {
		case c.Name == "completion":
			cc.args = []string{"shell"}
		case c.Name == "exec":
			cc.args, cc.repeat = []string{"container", "command", "argument"}, true
		case strings.HasPrefix(usage, "<container-id>") && !newIDCommands[c.Name]:
			cc.args = []string{"container"}
		}
		m.commands = append(m.commands, cc)
	}
	if !app.HideHelp {
		m.commands = append(m.commands, compCommand{name: "help", usage: "show the help of husk or of a command",
			args: []string{"subcommand"}})
	}
	return m
}

func compFlags(cmd string, fs []cli.Flag) []compFlag {
	var out []compFlag
	for _, f := range fs {
		// help and version, once the App is set up: added by completionModel.
		if n := f.Names()[0]; n == "help" || (cmd == "" && n == "version") {
			continue
		}
		var cf compFlag
		for _, n := range f.Names() {
			if len(n) == 1 {
				cf.short = append(cf.short, n)
			} else {
				cf.long = append(cf.long, n)
			}
		}
		if d, ok := f.(cli.DocGenerationFlag); ok {
			cf.value = d.TakesValue()
			cf.usage = firstLine(d.GetUsage())
		}
		if cf.value {
			key := cmd + "/" + f.Names()[0]
			cf.values = flagValues[key]
			if cf.kind = flagKinds[key]; cf.kind == "" && cmd != "" {
				cf.kind = flagKinds[f.Names()[0]]
			}
		}
		out = append(out, cf)
	}
	return out
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(s)
}

// valueWords are the spellings of the options of fs that take a value.
func valueWords(fs []compFlag) []string {
	var w []string
	for _, f := range fs {
		if f.value {
			w = append(w, f.words()...)
		}
	}
	return w
}

func allWords(fs []compFlag) []string {
	var w []string
	for _, f := range fs {
		w = append(w, f.words()...)
	}
	return w
}

func (m compApp) commandNames() []string {
	var n []string
	for _, c := range m.commands {
		n = append(n, c.name)
	}
	return n
}

// bash is the bash script: the function _husk registered with complete -F.
func (m compApp) bash() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	fn := "_" + m.name
	p("# bash completion for %s                                -*- shell-script -*-\n", m.name)
	p("# shellcheck shell=bash\n")
	p("# Written by `%s completion bash` from %s's command definitions: do not edit.\n", m.name, m.name)
	p("# Install it as share/bash-completion/completions/%s, or: source <(%s completion bash)\n\n", m.name, m.name)

	p("# %s_containers lists the existing containers, with the --root given.\n", fn)
	p("%s_containers() {\n", fn)
	p("\tlocal i root=()\n")
	p("\tfor ((i = 1; i < COMP_CWORD; i++)); do\n")
	p("\t\tcase ${COMP_WORDS[i]} in\n")
	p("\t\t--root) root=(--root \"${COMP_WORDS[i + 1]}\") ;;\n")
	p("\t\tesac\n")
	p("\tdone\n")
	p("\t\"${COMP_WORDS[0]}\" \"${root[@]}\" list -q 2>/dev/null\n")
	p("}\n\n")

	p("# %s_value succeeds when $1 $2 (command, word) is an option that takes a value.\n", fn)
	p("%s_value() {\n\tcase \"$1 $2\" in\n", fn)
	// A command's own option shadows a global one of the same name
	// (spec --rootless is boolean).
	for _, c := range m.commands {
		var bools, vals []string
		for _, f := range c.flags {
			for _, w := range f.words() {
				if f.value {
					vals = append(vals, fmt.Sprintf("%q", c.name+" "+w))
				} else {
					bools = append(bools, fmt.Sprintf("%q", c.name+" "+w))
				}
			}
		}
		if len(bools) > 0 {
			p("\t%s) return 1 ;;\n", strings.Join(bools, " | "))
		}
		if len(vals) > 0 {
			p("\t%s) return 0 ;;\n", strings.Join(vals, " | "))
		}
	}
	var gv []string
	for _, w := range valueWords(m.global) {
		gv = append(gv, "*\" "+w+"\"")
	}
	p("\t%s) return 0 ;;\n", strings.Join(gv, " | "))
	p("\tesac\n\treturn 1\n}\n\n")

	p("%s() {\n", fn)
	p("\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}\n")
	p("\tlocal i w cmd=\"\" n=0 opts=1\n")
	p("\tCOMPREPLY=()\n")
	p("\t# The command is the first word that is neither an option nor an option's value.\n")
	p("\tfor ((i = 1; i < COMP_CWORD; i++)); do\n")
	p("\t\tw=${COMP_WORDS[i]}\n")
	p("\t\tif [[ $opts == 1 && $w == -?* ]]; then\n")
	p("\t\t\t[[ $w == -- ]] && { opts=0; continue; }\n")
	p("\t\t\t%s_value \"$cmd\" \"$w\" && ((i++))\n", fn)
	p("\t\telif [[ -z $cmd ]]; then\n")
	p("\t\t\tcmd=$w\n")
	p("\t\telse\n")
	p("\t\t\t((n++))\n")
	p("\t\tfi\n")
	p("\tdone\n")
	p("\t# The value of an option.\n")
	p("\tif [[ $opts == 1 ]] && %s_value \"$cmd\" \"$prev\"; then\n", fn)
	p("\t\tcase \"$cmd $prev\" in\n")
	// Per-command options first (they shadow the global ones), those
	// completed alike in one arm.
	var keys []string
	arms := map[string][]string{}
	add := func(f compFlag, words []string) {
		k := "4"
		switch {
		case f.values != nil:
			k = "3" + strings.Join(f.values, " ")
		case f.kind == "file":
			k = "1"
		case f.kind == "dir":
			k = "2"
		}
		if arms[k] == nil {
			keys = append(keys, k)
		}
		arms[k] = append(arms[k], words...)
	}
	for _, c := range m.commands {
		for _, f := range c.flags {
			if f.value {
				var ws []string
				for _, w := range f.words() {
					ws = append(ws, fmt.Sprintf("%q", c.name+" "+w))
				}
				add(f, ws)
			}
		}
	}
	sort.Strings(keys)
	emit := func(words []string, k string) {
		p("\t\t%s)\n", strings.Join(words, " | "))
		switch k[0] {
		case '1':
			p("\t\t\tcompopt -o filenames 2>/dev/null\n")
			p("\t\t\tmapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n")
		case '2':
			p("\t\t\tcompopt -o filenames 2>/dev/null\n")
			p("\t\t\tmapfile -t COMPREPLY < <(compgen -d -- \"$cur\")\n")
		case '3':
			p("\t\t\tmapfile -t COMPREPLY < <(compgen -W %q -- \"$cur\")\n", k[1:])
		}
		p("\t\t\t;;\n")
	}
	for _, k := range keys {
		emit(arms[k], k)
	}
	for _, f := range m.global {
		if f.value {
			var ws []string
			for _, w := range f.words() {
				ws = append(ws, "*\" "+w+"\"")
			}
			keys, arms = nil, map[string][]string{}
			add(f, ws)
			emit(arms[keys[0]], keys[0])
		}
	}
	p("\t\tesac\n\t\treturn\n\tfi\n")
	p("\tif [[ -z $cmd ]]; then\n")
	p("\t\tif [[ $cur == -* ]]; then\n")
	p("\t\t\tmapfile -t COMPREPLY < <(compgen -W %q -- \"$cur\")\n", strings.Join(allWords(m.global), " "))
	p("\t\telse\n")
	p("\t\t\tmapfile -t COMPREPLY < <(compgen -W %q -- \"$cur\")\n", strings.Join(m.commandNames(), " "))
	p("\t\tfi\n\t\treturn\n\tfi\n")
	p("\tcase $cmd in\n")
	for _, c := range m.commands {
		words := append(allWords(c.flags), "--help", "-h")
		p("\t%s)\n", c.name)
		// exec's options end at its command.
		p("\t\tif [[ $opts == 1 && $cur == -* ]]")
		if c.repeat {
			p(" && ((n < %d))", len(c.args)-1)
		}
		p("; then\n")
		p("\t\t\tmapfile -t COMPREPLY < <(compgen -W %q -- \"$cur\")\n", strings.Join(words, " "))
		p("\t\t\treturn\n\t\tfi\n")
		for i, a := range c.args {
			cond := fmt.Sprintf("n == %d", i)
			if c.repeat && i == len(c.args)-1 {
				cond = fmt.Sprintf("n >= %d", i)
			}
			switch a {
			case "container":
				p("\t\t((%s)) && mapfile -t COMPREPLY < <(compgen -W \"$(%s_containers)\" -- \"$cur\")\n", cond, fn)
			case "shell":
				p("\t\t((%s)) && mapfile -t COMPREPLY < <(compgen -W %q -- \"$cur\")\n", cond, strings.Join(completionShells, " "))
			case "subcommand":
				p("\t\t((%s)) && mapfile -t COMPREPLY < <(compgen -W %q -- \"$cur\")\n", cond, strings.Join(m.commandNames(), " "))
			case "command":
				p("\t\t((%s)) && mapfile -t COMPREPLY < <(compgen -c -- \"$cur\")\n", cond)
			case "argument":
				p("\t\t((%s)) && { compopt -o default 2>/dev/null; COMPREPLY=(); }\n", cond)
			}
		}
		p("\t\t;;\n")
	}
	p("\tesac\n")
	p("\treturn 0\n")
	p("}\n\n")
	p("complete -F %s %s\n", fn, m.name)
	return b.String()
}

// zshQuote is s in single quotes for zsh.
func zshQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// zshDesc is s made safe inside an _arguments spec's [description].
func zshDesc(s string) string {
	return strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`, ":", `\:`).Replace(s)
}

// zshSpecs are the _arguments specs of fs.
func zshSpecs(fs []compFlag) []string {
	var out []string
	for _, f := range fs {
		words := f.words()
		excl := ""
		if len(words) > 1 {
			excl = "(" + strings.Join(words, " ") + ")"
		}
		action := ""
		if f.value {
			switch {
			case f.values != nil:
				action = ":value:(" + strings.Join(f.values, " ") + ")"
			case f.kind == "file":
				action = ":file:_files"
			case f.kind == "dir":
				action = ":directory:_files -/"
			default:
				action = ":value: "
			}
		}
		for _, w := range words {
			eq := ""
			if f.value && strings.HasPrefix(w, "--") {
				eq = "="
			}
			out = append(out, zshQuote(excl+w+eq+"["+zshDesc(f.usage)+"]"+action))
		}
	}
	return out
}

// zsh is the zsh script: a #compdef function, also usable sourced.
func (m compApp) zsh() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	fn := "_" + m.name
	p("#compdef %s\n", m.name)
	p("# zsh completion for %s, written by `%s completion zsh` from its command definitions: do not edit.\n", m.name, m.name)
	p("# Install it as _%s in a directory of $fpath (share/zsh/site-functions), or: source <(%s completion zsh)\n\n", m.name, m.name)

	p("%s_containers() {\n", fn)
	p("\tlocal -a ids root\n")
	p("\tlocal i\n")
	p("\tfor ((i = 2; i < CURRENT; i++)); do\n")
	p("\t\t[[ ${words[i]} == --root ]] && root=(--root \"${words[i + 1]}\")\n")
	p("\t\t[[ ${words[i]} == --root=* ]] && root=(--root \"${words[i]#--root=}\")\n")
	p("\tdone\n")
	p("\tids=(${(f)\"$(_call_program containers %s \"${root[@]}\" list -q 2>/dev/null)\"})\n", m.name)
	p("\t_describe -t containers container ids\n")
	p("}\n\n")

	p("%s() {\n", fn)
	p("\tlocal curcontext=$curcontext state line ret=1\n")
	p("\ttypeset -A opt_args\n")
	p("\t_arguments -C \\\n")
	for _, s := range zshSpecs(m.global) {
		p("\t\t%s \\\n", s)
	}
	p("\t\t'1: :->command' \\\n")
	p("\t\t'*:: :->args' && ret=0\n")
	p("\tcase $state in\n")
	p("\tcommand)\n")
	p("\t\tlocal -a commands=(\n")
	for _, c := range m.commands {
		p("\t\t\t%s\n", zshQuote(c.name+":"+c.usage))
	}
	p("\t\t)\n")
	p("\t\t_describe -t commands command commands && ret=0\n")
	p("\t\t;;\n")
	p("\targs)\n")
	p("\t\tcurcontext=${curcontext%%:*:*}:%s-$words[1]:\n", m.name)
	p("\t\tcase $words[1] in\n")
	for _, c := range m.commands {
		p("\t\t%s)\n", c.name)
		p("\t\t\t_arguments")
		if c.repeat {
			// exec: its options end at the container's command.
			p(" -A '-*'")
		}
		p(" \\\n")
		for _, s := range zshSpecs(c.flags) {
			p("\t\t\t\t%s \\\n", s)
		}
		p("\t\t\t\t'(- *)'{-h,--help}'[show help]' \\\n")
		for i, a := range c.args {
			pos := fmt.Sprint(i + 1)
			if c.repeat && i == len(c.args)-1 {
				pos = "*"
			}
			switch a {
			case "container":
				p("\t\t\t\t'%s:container:%s_containers' \\\n", pos, fn)
			case "shell":
				p("\t\t\t\t'%s:shell:(%s)' \\\n", pos, strings.Join(completionShells, " "))
			case "subcommand":
				p("\t\t\t\t'%s:command:(%s)' \\\n", pos, strings.Join(m.commandNames(), " "))
			case "command":
				p("\t\t\t\t'%s:command:_command_names -e' \\\n", pos)
			case "argument":
				p("\t\t\t\t'%s::argument:_files' \\\n", pos)
			}
		}
		p("\t\t\t\t&& ret=0\n")
		p("\t\t\t;;\n")
	}
	p("\t\tesac\n")
	p("\t\t;;\n")
	p("\tesac\n")
	p("\treturn ret\n")
	p("}\n\n")
	p("if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n")
	p("\t%s \"$@\"\n", fn)
	p("else\n")
	p("\tcompdef %s %s\n", fn, m.name)
	p("fi\n")
	return b.String()
}

// fishQuote is s in single quotes for fish.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// fishFlags are the complete lines of fs under condition cond.
func fishFlags(name, cond string, fs []compFlag) []string {
	var out []string
	for _, f := range fs {
		l := "complete -c " + name + " -n " + fishQuote(cond)
		for _, n := range f.long {
			l += " -l " + n
		}
		for _, n := range f.short {
			l += " -s " + n
		}
		if f.value {
			l += " -r"
			switch {
			case f.values != nil:
				l += " -f -a " + fishQuote(strings.Join(f.values, " "))
			case f.kind == "file":
				l += " -F"
			case f.kind == "dir":
				l += " -f -a '(__fish_complete_directories)'"
			default:
				l += " -f"
			}
		}
		out = append(out, l+" -d "+fishQuote(f.usage))
	}
	return out
}

// fish is the fish script.
func (m compApp) fish() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	fn := "__" + m.name
	p("# fish completion for %s, written by `%s completion fish` from its command definitions: do not edit.\n", m.name, m.name)
	p("# Install it as share/fish/vendor_completions.d/%s.fish, or: %s completion fish | source\n\n", m.name, m.name)

	// The command line's words past the global options and their values.
	p("function %s_args --description 'the words after the global options of the command line'\n", fn)
	p("\tset -l words (commandline -opc)\n")
	p("\tset -e words[1]\n")
	p("\twhile set -q words[1]\n")
	p("\t\tswitch $words[1]\n")
	p("\t\t\tcase %s\n", strings.Join(valueWords(m.global), " "))
	p("\t\t\t\tset -e words[1..2]\n")
	p("\t\t\tcase '-*'\n")
	p("\t\t\t\tset -e words[1]\n")
	p("\t\t\tcase '*'\n")
	p("\t\t\t\tbreak\n")
	p("\t\tend\n")
	p("\tend\n")
	p("\tstring join \\n -- $words\n")
	p("end\n\n")

	p("function %s_no_command --description 'no command given yet'\n", fn)
	p("\tset -l words (%s_args)\n", fn)
	p("\tnot set -q words[1]\n")
	p("end\n\n")

	p("function %s_command --description 'the command is one of the arguments'\n", fn)
	p("\tset -l words (%s_args)\n", fn)
	p("\tcontains -- \"$words[1]\" $argv\n")
	p("end\n\n")

	// The positional arguments given to the command so far.
	p("function %s_nargs --description 'the number of arguments given to the command'\n", fn)
	p("\tset -l words (%s_args)\n", fn)
	p("\tset -l n 0\n")
	p("\tset -l skip 0\n")
	p("\tfor w in $words[2..-1]\n")
	p("\t\tif test $skip = 1\n")
	p("\t\t\tset skip 0\n")
	p("\t\t\tcontinue\n")
	p("\t\tend\n")
	p("\t\tswitch \"$words[1] $w\"\n")
	var vals []string
	for _, c := range m.commands {
		for _, w := range valueWords(c.flags) {
			vals = append(vals, fishQuote(c.name+" "+w))
		}
	}
	for _, w := range valueWords(m.global) {
		vals = append(vals, fishQuote("* "+w))
	}
	sort.Strings(vals)
	p("\t\t\tcase %s\n", strings.Join(vals, " "))
	p("\t\t\t\tset skip 1\n")
	p("\t\t\tcase '* -*'\n")
	p("\t\t\tcase '*'\n")
	p("\t\t\t\tset n (math $n + 1)\n")
	p("\t\tend\n")
	p("\tend\n")
	p("\techo $n\n")
	p("end\n\n")

	p("function %s_containers --description 'the existing containers'\n", fn)
	p("\tset -l words (commandline -opc)\n")
	p("\tset -l root\n")
	p("\tif set -l i (contains -i -- --root $words)\n")
	p("\t\tset root --root $words[(math $i + 1)]\n")
	p("\tend\n")
	p("\t%s $root list -q 2>/dev/null\n", m.name)
	p("end\n\n")

	p("complete -c %s -f\n", m.name)
	for _, l := range fishFlags(m.name, fn+"_no_command", m.global) {
		p("%s\n", l)
	}
	for _, c := range m.commands {
		p("complete -c %s -n %s -a %s -d %s\n", m.name, fishQuote(fn+"_no_command"), c.name, fishQuote(c.usage))
	}
	for _, c := range m.commands {
		cond := fn + "_command " + c.name
		p("\n")
		for _, l := range fishFlags(m.name, cond, c.flags) {
			p("%s\n", l)
		}
		for i, a := range c.args {
			test := fmt.Sprintf("test (%s_nargs) -eq %d", fn, i)
			if c.repeat && i == len(c.args)-1 {
				test = fmt.Sprintf("test (%s_nargs) -ge %d", fn, i)
			}
			cond := cond + "; and " + test
			switch a {
			case "container":
				p("complete -c %s -n %s -a '(%s_containers)' -d container\n", m.name, fishQuote(cond), fn)
			case "shell":
				p("complete -c %s -n %s -a %s\n", m.name, fishQuote(cond), fishQuote(strings.Join(completionShells, " ")))
			case "subcommand":
				p("complete -c %s -n %s -a %s\n", m.name, fishQuote(cond), fishQuote(strings.Join(m.commandNames(), " ")))
			case "command":
				p("complete -c %s -n %s -a '(__fish_complete_command)'\n", m.name, fishQuote(cond))
			case "argument":
				p("complete -c %s -n %s -F\n", m.name, fishQuote(cond))
			}
		}
	}
	return b.String()
}
