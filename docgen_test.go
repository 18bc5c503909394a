package main

// The man pages (man/man8) and the shell completion scripts
// (contrib/completions) are written from the command definitions of
// newApp, by these tests: they fail, naming the file, when a committed one
// differs from what the definitions give now. `make man` (or `go generate
// .`) rewrites them: go test -run '^(TestManPages|TestCompletionScripts)$' . -update
//
// The man page writer lives here, in a test, so that the husk binary
// (built with urfave_cli_no_docs) carries no documentation generator.

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

var update = flag.Bool("update", false, "rewrite the committed man pages and completion scripts")

const manDir = "man/man8"

// completionFiles are the committed scripts, by shell.
var completionFiles = map[string]string{
	"bash": "contrib/completions/bash/husk",
	"zsh":  "contrib/completions/zsh/_husk",
	"fish": "contrib/completions/fish/husk.fish",
}

// roffEscape makes s safe as roff text: backslashes, hyphens (minus signs,
// so options stay copyable) and a control character at the line's start.
func roffEscape(s string) string {
	s = strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// roffText is s as roff: blank lines separate paragraphs, indented lines
// (examples, JSON) are kept as they are. par starts a paragraph: ".PP", or
// ".IP" inside an option's description.
func roffText(s, par string) string {
	var b strings.Builder
	pre := false
	para := false
	for _, l := range strings.Split(strings.Trim(s, "\n"), "\n") {
		l = strings.TrimRight(l, " \t")
		isPre := l != "" && (l[0] == ' ' || l[0] == '\t' || l[0] == '{' || l[0] == '}')
		if pre && !isPre {
			b.WriteString(".fi\n")
			pre = false
		}
		switch {
		case l == "":
			if !pre {
				para = true
			} else {
				b.WriteString("\n")
			}
			continue
		case isPre && !pre:
			if para || b.Len() > 0 {
				b.WriteString(par + "\n")
			}
			b.WriteString(".nf\n")
			pre, para = true, false
		case para:
			b.WriteString(par + "\n")
			para = false
		}
		if pre {
			l = strings.ReplaceAll(l, "\t", "        ")
		} else {
			l = strings.TrimLeft(l, " ")
		}
		b.WriteString(roffEscape(l) + "\n")
		if !pre && strings.HasSuffix(l, ":") && strings.ToUpper(l) == l {
			b.WriteString(".br\n") // a heading: "EXAMPLE:"
		}
	}
	if pre {
		b.WriteString(".fi\n")
	}
	return b.String()
}

// manDefault is what the page says of a flag's default, if anything.
func manDefault(f cli.Flag) string {
	if f.Names()[0] == "root" {
		// defaultRoot depends on who runs husk.
		return "/run/husk, or $XDG_RUNTIME_DIR/husk for an unprivileged user"
	}
	d, ok := f.(cli.DocGenerationFlag)
	if !ok || !d.TakesValue() || strings.Contains(d.GetUsage(), "default") {
		return ""
	}
	switch v := d.GetValue(); v {
	case "", "0", "[]":
		return ""
	default:
		return v
	}
}

// manOptions is the options' list of a page.
func manOptions(fs []cli.Flag) string {
	var b strings.Builder
	for _, f := range fs {
		var names []string
		for _, n := range f.Names() {
			if len(n) == 1 {
				names = append(names, `\fB\-`+n+`\fR`)
			} else {
				names = append(names, `\fB\-\-`+roffEscape(n)+`\fR`)
			}
		}
		head := strings.Join(names, ", ")
		usage := ""
		if d, ok := f.(cli.DocGenerationFlag); ok {
			if d.TakesValue() {
				head += ` \fIvalue\fR`
			}
			usage = d.GetUsage()
		}
		b.WriteString(".TP\n" + head + "\n")
		if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
			usage += " (hidden from --help)"
		}
		b.WriteString(roffText(usage, ".IP"))
		if def := manDefault(f); def != "" {
			b.WriteString(".IP\nDefault: " + roffEscape(def) + "\n")
		}
	}
	return b.String()
}

func manHeader(title, name, what string) string {
	return `.\" Written by ` + "`make man`" + ` from husk's command definitions (docgen_test.go): do not edit.
.TH ` + strings.ToUpper(title) + ` 8 "" "husk" "System Manager's Manual"
.nh
.ad l
.SH NAME
` + roffEscape(name) + ` \- ` + roffEscape(what) + "\n"
}

// manPages are the pages of app: husk.8 and husk-COMMAND.8 for each
// command, by file name.
func manPages(app *cli.App) map[string]string {
	pages := map[string]string{}
	var b strings.Builder
	title, rest, _ := strings.Cut(strings.TrimSpace(app.Usage), "\n")
	b.WriteString(manHeader(app.Name, app.Name, title))
	b.WriteString(".SH SYNOPSIS\n.B " + app.Name + "\n" + `[\fIglobal options\fR] \fIcommand\fR [\fIcommand options\fR] [\fIarguments\fR...]` + "\n")
	b.WriteString(".SH DESCRIPTION\n" + roffText(rest, ".PP"))
	b.WriteString(".SH GLOBAL OPTIONS\n" + manOptions(app.Flags))
	b.WriteString(".TP\n\\fB\\-\\-help\\fR, \\fB\\-h\\fR\nshow help\n")
	b.WriteString(".TP\n\\fB\\-\\-version\\fR, \\fB\\-v\\fR\nprint the version\n")
	b.WriteString(".SH COMMANDS\n")
	var see []string
	for _, c := range app.Commands {
		if c.Hidden {
			continue
		}
		page := app.Name + "-" + c.Name
		b.WriteString(".TP\n\\fB" + roffEscape(c.Name) + "\\fR\n" + roffEscape(firstLine(c.Usage)) + "; see \\fB" + roffEscape(page) + "\\fR(8).\n")
		see = append(see, `\fB`+roffEscape(page)+`\fR(8)`)
		pages[page+".8"] = manCommand(app, c)
	}
	b.WriteString(".TP\n\\fBhelp\\fR [\\fIcommand\\fR]\nshow the list of commands, or the help of one command\n")
	b.WriteString(`.SH EXIT STATUS
0 on success and 1 on failure, except for \fBrun\fR and \fBexec\fR (without
\fB\-\-detach\fR), which exit with the status of the container's process
(128+N when signal N killed it), and \fBexec\fR, which exits with 255 when it
fails to start the process.
.SH FILES
.TP
\fI/run/husk\fR
the state of the containers (\fB\-\-root\fR), one directory per container;
\fI$XDG_RUNTIME_DIR/husk\fR for an unprivileged user.
.SH SEE ALSO
` + strings.Join(see, ",\n") + "\n")
	pages[app.Name+".8"] = b.String()
	return pages
}

func manCommand(app *cli.App, c *cli.Command) string {
	var b strings.Builder
	name := app.Name + "-" + c.Name
	b.WriteString(manHeader(name, name, firstLine(c.Usage)))
	args, more, _ := strings.Cut(c.ArgsUsage, "\n")
	b.WriteString(".SH SYNOPSIS\n.B " + app.Name + " " + c.Name + "\n")
	syn := ""
	if len(c.Flags) > 0 {
		syn = `[\fIoptions\fR] `
	}
	b.WriteString(syn + roffEscape(strings.TrimSpace(args)) + "\n")
	desc := strings.TrimSpace(c.Description)
	if more = strings.TrimSpace(more); more != "" {
		desc += "\n\n" + more
	}
	if desc == "" {
		desc = c.Usage
	}
	b.WriteString(".SH DESCRIPTION\n" + roffText(desc, ".PP"))
	b.WriteString(".SH OPTIONS\n" + manOptions(c.Flags))
	b.WriteString(".TP\n\\fB\\-\\-help\\fR, \\fB\\-h\\fR\nshow help\n")
	b.WriteString(".PP\nThe global options of \\fB" + app.Name + "\\fR(8) may be given too, before or after the command.\n")
	b.WriteString(".SH SEE ALSO\n\\fB" + app.Name + "\\fR(8)\n")
	return b.String()
}

// checkFile compares a generated file with the committed one, or writes it
// with -update.
func checkFile(t *testing.T, path, want string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%s: %v; run `make man` to write it", path, err)
		return
	}
	if string(got) != want {
		t.Errorf("%s is stale: it differs from what the command definitions give at line %d; run `make man` to rewrite it",
			path, firstDiffLine(string(got), want))
	}
}

func firstDiffLine(a, b string) int {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range al {
		if i >= len(bl) || al[i] != bl[i] {
			return i + 1
		}
	}
	return len(al) + 1
}

// TestManPages: man/man8 holds exactly the pages the command definitions
// give: husk.8 and one per command.
func TestManPages(t *testing.T) {
	pages := manPages(newApp())
	names := make([]string, 0, len(pages))
	for n := range pages {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		checkFile(t, filepath.Join(manDir, n), pages[n])
	}
	// A page of a command that no longer exists.
	old, _ := filepath.Glob(filepath.Join(manDir, "*.8"))
	for _, p := range old {
		if _, ok := pages[filepath.Base(p)]; !ok {
			if *update {
				os.Remove(p)
				continue
			}
			t.Errorf("%s: no such command any more; run `make man` to remove it", p)
		}
	}
}

// TestManPagesHaveEveryFlag: each page lists every option of its command,
// hidden ones too, and husk.8 every global option and every command.
func TestManPagesHaveEveryFlag(t *testing.T) {
	app := newApp()
	pages := manPages(app)
	has := func(page string, f cli.Flag) {
		for _, n := range f.Names() {
			want := `\fB\-` + roffEscape(n) + `\fR`
			if len(n) > 1 {
				want = `\fB\-\-` + roffEscape(n) + `\fR`
			}
			if !strings.Contains(pages[page], want) {
				t.Errorf("%s lacks the option %q", page, n)
			}
		}
	}
	for _, f := range app.Flags {
		has("husk.8", f)
	}
	for _, c := range app.Commands {
		page := "husk-" + c.Name + ".8"
		if _, ok := pages[page]; !ok {
			t.Errorf("no page %s", page)
			continue
		}
		if !strings.Contains(pages["husk.8"], `\fB`+roffEscape(c.Name)+`\fR`) {
			t.Errorf("husk.8 does not list the command %s", c.Name)
		}
		for _, f := range c.Flags {
			has(page, f)
		}
	}
}

// TestCompletionScripts: the committed scripts are what `husk completion
// SHELL` prints.
func TestCompletionScripts(t *testing.T) {
	for _, sh := range completionShells {
		checkFile(t, completionFiles[sh], completionOutput(t, sh))
	}
}

// completionOutput is what `husk completion SHELL` prints.
func completionOutput(t *testing.T, shell string) string {
	t.Helper()
	app := newApp()
	var out bytes.Buffer
	app.Writer = &out
	if err := app.Run([]string{"husk", "completion", shell}); err != nil {
		t.Fatalf("husk completion %s: %v", shell, err)
	}
	return out.String()
}

func TestCompletionUnknownShell(t *testing.T) {
	_, err := completionScript(newApp(), "tcsh")
	if err == nil || !strings.Contains(err.Error(), `unknown shell "tcsh" (one of bash, zsh, fish)`) {
		t.Fatalf("completion tcsh: %v", err)
	}
}

// stubHusk is a directory with a husk that lists the containers c1 and c2
// (`husk [--root DIR] list -q`), for the completion of container ids.
func stubHusk(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	stub := "#!/bin/sh\ncase \"$*\" in\n\"list -q\") echo c1; echo c2 ;;\n\"--root /r list -q\") echo other ;;\nesac\n"
	if err := os.WriteFile(filepath.Join(dir, "husk"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func needShell(t *testing.T, sh string) string {
	t.Helper()
	p, err := exec.LookPath(sh)
	if err != nil {
		t.Skipf("%s is not installed (contrib/deps.sh installs it): %v", sh, err)
	}
	return p
}

// TestBashCompletion drives the bash script's function as bash's
// completion does (COMP_WORDS, COMP_CWORD) and checks what it offers.
func TestBashCompletion(t *testing.T) {
	bash := needShell(t, "bash")
	script := filepath.Join(t.TempDir(), "husk.bash")
	if err := os.WriteFile(script, []byte(completionOutput(t, "bash")), 0o644); err != nil {
		t.Fatal(err)
	}
	stub := filepath.Join(stubHusk(t), "husk")
	var runFlags []string
	for _, f := range runCommand.Flags {
		if f.(cli.VisibleFlag).IsVisible() {
			runFlags = append(runFlags, "--"+f.Names()[0])
		}
	}
	for _, tc := range []struct {
		words []string // the last one is being completed
		want  []string // exactly these, in any order
	}{
		{[]string{"ru"}, []string{"run"}},
		{[]string{"run", "--"}, append(runFlags, "--help")},
		{[]string{"--root", "/x", "--debug", "sta"}, []string{"start", "state"}},
		{[]string{"--log-format", ""}, []string{"text", "json"}},
		{[]string{"--rootless", "a"}, []string{"auto"}},
		// spec's own --rootless is a boolean: no value to complete.
		{[]string{"spec", "--rootless", "--b"}, []string{"--bundle"}},
		{[]string{"list", "-f", ""}, []string{"table", "json"}},
		{[]string{"completion", ""}, []string{"bash", "zsh", "fish"}},
		{[]string{"kill", ""}, []string{"c1", "c2"}},
		{[]string{"--root", "/r", "state", ""}, []string{"other"}},
		{[]string{"exec", "-t", "--user", "1", "c"}, []string{"c1", "c2"}},
		{[]string{"exec", "--ignore-p"}, []string{"--ignore-paused"}},
		// The container is not offered again, nor for a new one.
		{[]string{"delete", "c1", ""}, nil},
		{[]string{"run", "-b", "/tmp", ""}, nil},
	} {
		words := append([]string{stub}, tc.words...)
		var q []string
		for _, w := range words {
			q = append(q, fmt.Sprintf("%q", w))
		}
		prog := fmt.Sprintf(`source %q || exit 1
complete -p husk || exit 1
COMP_WORDS=(%s); COMP_CWORD=%d
_husk
printf '%%s\n' "${COMPREPLY[@]}"`, script, strings.Join(q, " "), len(words)-1)
		out, err := exec.Command(bash, "--norc", "--noprofile", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", tc.words, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if lines[0] != "complete -F _husk husk" {
			t.Errorf("complete -p husk: %q", lines[0])
		}
		got := lines[1:]
		if len(got) == 1 && got[0] == "" {
			got = nil
		}
		sort.Strings(got)
		want := append([]string(nil), tc.want...)
		sort.Strings(want)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("husk %s<TAB>: got %q, want %q", strings.Join(tc.words, " "), got, want)
		}
	}
}

// TestZshCompletion: the zsh script parses, and registers _husk for husk
// both sourced and autoloaded from $fpath as _husk.
func TestZshCompletion(t *testing.T) {
	zsh := needShell(t, "zsh")
	dir := t.TempDir()
	script := filepath.Join(dir, "_husk")
	if err := os.WriteFile(script, []byte(completionOutput(t, "zsh")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(zsh, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	for what, setup := range map[string]string{
		"sourced":    "autoload -U compinit; compinit -u -d " + dir + "/dump; source " + script,
		"autoloaded": "fpath=(" + dir + " $fpath); autoload -U compinit; compinit -u -d " + dir + "/dump",
	} {
		c := exec.Command(zsh, "-f", "-c", setup+`; print -r -- "$_comps[husk]"`)
		c.Env = append(os.Environ(), "HOME="+dir)
		out, err := c.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "_husk" {
			t.Errorf("%s: husk's completion is %q (%v), want _husk", what, out, err)
		}
	}
}

// TestFishCompletion: the fish script parses, and fish's own completion
// (complete -C) offers what the bash test wants.
func TestFishCompletion(t *testing.T) {
	fish := needShell(t, "fish")
	dir := t.TempDir()
	script := filepath.Join(dir, "husk.fish")
	if err := os.WriteFile(script, []byte(completionOutput(t, "fish")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(fish, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("fish -n: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"husk ru", []string{"run"}},
		{"husk run --no-", []string{"--no-new-keyring", "--no-pivot", "--no-subreaper"}},
		{"husk --root /x sta", []string{"start", "state"}},
		{"husk list --format ", []string{"json", "table"}},
		{"husk completion ", []string{"bash", "fish", "zsh"}},
		{"husk kill ", []string{"c1", "c2"}},
		{"husk --root /r pause ", []string{"other"}},
		{"husk delete c1 ", nil},
	} {
		c := exec.Command(fish, "--no-config", "-c", fmt.Sprintf("source %q; complete -C %q", script, tc.line))
		c.Env = append(os.Environ(), "PATH="+stubHusk(t)+":"+os.Getenv("PATH"), "HOME="+dir)
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.line, err, out)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if l != "" {
				got = append(got, strings.SplitN(l, "\t", 2)[0])
			}
		}
		sort.Strings(got)
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s<TAB>: got %q, want %q", tc.line, got, tc.want)
		}
	}
}

// TestInstallRendersManPages: `make install` installs the man pages and
// the completion scripts, and man(1) renders husk-run(8) with each of
// run's options from there.
func TestInstallRendersManPages(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skipf("make is not installed: %v", err)
	}
	dest := t.TempDir()
	// install builds husk first; install-docs is the rest of it.
	dry, err := exec.Command("make", "-n", "install", "DESTDIR="+dest, "PREFIX=/usr").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n install: %v\n%s", err, dry)
	}
	out, err := exec.Command("make", "-s", "install-docs", "DESTDIR="+dest, "PREFIX=/usr").CombinedOutput()
	if err != nil {
		t.Fatalf("make install-docs: %v\n%s", err, out)
	}
	pages, _ := filepath.Glob(filepath.Join(manDir, "*.8"))
	if len(pages) == 0 {
		t.Fatal("no man pages in " + manDir)
	}
	installed := []string{"/usr/share/bash-completion/completions/husk", "/usr/share/zsh/site-functions/_husk",
		"/usr/share/fish/vendor_completions.d/husk.fish"}
	for _, p := range pages {
		installed = append(installed, "/usr/share/man/man8/"+filepath.Base(p))
	}
	for _, p := range installed {
		if _, err := os.Stat(dest + p); err != nil {
			t.Errorf("make install-docs: %v", err)
		}
		if !strings.Contains(string(dry), dest+filepath.Dir(p)) {
			t.Errorf("make install does not install into %s:\n%s", filepath.Dir(p), dry)
		}
	}
	if _, err := exec.LookPath("man"); err != nil {
		t.Skipf("man is not installed (package man-db; contrib/deps.sh installs it): %v", err)
	}
	c := exec.Command("man", "husk-run")
	c.Env = append(os.Environ(), "MANPATH="+dest+"/usr/share/man", "MANPAGER=cat", "PAGER=cat", "MANWIDTH=200",
		"LC_ALL=C", "MAN_KEEP_FORMATTING=")
	page, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("man husk-run: %v\n%s", err, page)
	}
	text := string(page)
	if !strings.Contains(text, "husk-run - create and run a container") {
		t.Errorf("man husk-run has no NAME line:\n%s", text)
	}
	for _, f := range runCommand.Flags {
		for _, n := range f.Names() {
			w := "--" + n
			if len(n) == 1 {
				w = "-" + n
			}
			if !strings.Contains(text, w) {
				t.Errorf("man husk-run does not show %s:\n%s", w, text)
			}
		}
	}
}
