package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// initMarkers are the beginnings of the records the init's two stages send
// with --debug: the bootstrap (namespaces; runc's nsexec) and the rest of
// the init (husk's plan, runc's Go init).
func initMarkers() (cStage, goInit string) {
	if isRunc() {
		return "nsexec", "child process in init()"
	}
	return "nsenter[", "init["
}

var logrusText = regexp.MustCompile(`^time="[^"]+" level=(debug|info|warning|error) msg=`)

// debugRecords parses text log lines, failing the test on a line that is
// not a logrus record, and returns their messages.
func debugRecords(t *testing.T, what, out string) []string {
	t.Helper()
	var msgs []string
	for _, l := range lines(out) {
		if !logrusText.MatchString(l) {
			t.Errorf("%s: not a log record: %q", what, l)
			continue
		}
		if strings.Contains(l, " level=debug ") {
			msgs = append(msgs, l)
		}
	}
	return msgs
}

func countWith(msgs []string, s string) int {
	n := 0
	for _, m := range msgs {
		if strings.Contains(m, s) {
			n++
		}
	}
	return n
}

// --debug logs the progress of create, start and exec, one record per
// step, the init's steps (its C stage's and its Go side's) included: as
// text on stderr, or as JSON in the --log file. Without --debug nothing
// is logged.
func TestDebugLogsProgress(t *testing.T) {
	e := newEnv(t)
	cStage, goInit := initMarkers()
	b := e.newBundle(withShell("sleep 1000"))
	e.track("dbg")
	r := e.ok("--debug", "create", "--bundle", b.Dir, "dbg")
	msgs := debugRecords(t, "create", r.Stderr)
	if countWith(msgs, cStage) < 2 || countWith(msgs, goInit) < 1 || len(msgs) < 10 {
		t.Errorf("create --debug: %d records, %d of the C stage (%q), %d of the Go init (%q):\n%s",
			len(msgs), countWith(msgs, cStage), cStage, countWith(msgs, goInit), goInit, r.Stderr)
	}

	r = e.ok("--debug", "start", "dbg")
	msgs = debugRecords(t, "start", r.Stderr)
	if !isRunc() && len(msgs) < 2 { // runc 1.5.3 logs nothing at start
		t.Errorf("start --debug: %q", r.Stderr)
	}

	r = e.ok("--debug", "exec", "dbg", "true")
	msgs = debugRecords(t, "exec", r.Stderr)
	if countWith(msgs, cStage) < 2 || countWith(msgs, goInit) < 1 || countWith(msgs, `msg="process exited"`) != 1 {
		t.Errorf("exec --debug: %d records:\n%s", len(msgs), r.Stderr)
	}

	// JSON, in the --log file; nothing on stderr.
	logFile := filepath.Join(e.dir, "debug.json")
	r = e.ok("--debug", "--log", logFile, "--log-format", "json", "exec", "dbg", "true")
	if r.Stderr != "" {
		t.Errorf("exec --debug --log FILE: stderr %q", r.Stderr)
	}
	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	var fromInit int
	for _, l := range lines(string(data)) {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Errorf("not a JSON record: %q: %v", l, err)
			continue
		}
		msg, _ := m["msg"].(string)
		if m["level"] != "debug" || msg == "" || m["time"] == nil {
			t.Errorf("JSON record %v", m)
		}
		if strings.Contains(msg, cStage) || strings.Contains(msg, goInit) {
			fromInit++
		}
	}
	if fromInit < 3 {
		t.Errorf("exec --debug --log-format json: %d records from the init in %s", fromInit, data)
	}

	// Without --debug, not a record.
	b2 := e.newBundle(withShell("sleep 1000"))
	e.track("quiet")
	if r := e.ok("create", "--bundle", b2.Dir, "quiet"); r.Stderr != "" {
		t.Errorf("create without --debug: %q", r.Stderr)
	}
	if r := e.ok("start", "quiet"); r.Stderr != "" {
		t.Errorf("start without --debug: %q", r.Stderr)
	}
	if r := e.ok("exec", "quiet", "true"); r.Stderr != "" {
		t.Errorf("exec without --debug: %q", r.Stderr)
	}
}
