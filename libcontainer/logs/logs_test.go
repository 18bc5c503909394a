package logs

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"regexp"
	"testing"
)

func TestTextMatchesLogrus(t *testing.T) {
	var b bytes.Buffer
	h, err := New(&b, "text", slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	l := slog.New(h)
	l.Error("container does not exist")
	l.Warn("plain", "k", "v w")
	l.Debug("hidden")
	re := regexp.MustCompile(`^time="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)" level=error msg="container does not exist"\n` +
		`time="[^"]+" level=warning msg=plain k="v w"\n$`)
	if !re.Match(b.Bytes()) {
		t.Errorf("text log:\n%s", b.String())
	}
}

func TestJSONMatchesLogrus(t *testing.T) {
	var b bytes.Buffer
	h, _ := New(&b, "json", slog.LevelDebug)
	slog.New(h).Error("boom", "id", "c1")
	var m map[string]string
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, b.String())
	}
	if m["level"] != "error" || m["msg"] != "boom" || m["id"] != "c1" || m["time"] == "" {
		t.Errorf("json log %v", m)
	}
	// logrus writes keys in sorted order.
	if !regexp.MustCompile(`^\{"id":"c1","level":"error","msg":"boom","time":"[^"]+"\}\n$`).Match(b.Bytes()) {
		t.Errorf("key order: %s", b.String())
	}
}

// Numbers and booleans are JSON numbers and booleans, as logrus writes
// them; the text form has them bare.
func TestNumbersStayNumbers(t *testing.T) {
	var b bytes.Buffer
	h, _ := New(&b, "json", slog.LevelDebug)
	slog.New(h).Debug("process exited", "pid", 42, "ok", true, "id", "7")
	if !regexp.MustCompile(`^\{"id":"7","level":"debug","msg":"process exited","ok":true,"pid":42,"time":"[^"]+"\}\n$`).Match(b.Bytes()) {
		t.Errorf("json: %s", b.String())
	}
	b.Reset()
	h, _ = New(&b, "text", slog.LevelDebug)
	slog.New(h).Debug("process exited", "pid", 42, "status", 0)
	if !regexp.MustCompile(`level=debug msg="process exited" pid=42 status=0\n$`).Match(b.Bytes()) {
		t.Errorf("text: %s", b.String())
	}
}

func TestBadFormat(t *testing.T) {
	if _, err := New(nil, "xml", slog.LevelInfo); err == nil {
		t.Error("xml accepted")
	}
}
