// Package logs is a log/slog handler that writes what runc's logrus writes,
// so that clients parsing runc's log lines (containerd's shim reads the
// JSON ones on failure) read husk's the same way:
//
//	text: time="2026-11-24T01:53:13Z" level=error msg="container does not exist"
//	json: {"level":"error","msg":"container does not exist","time":"2026-11-24T01:53:13Z"}
package logs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Handler is a logrus-compatible slog.Handler.
type Handler struct {
	mu    *sync.Mutex
	w     io.Writer
	json  bool
	level slog.Leveler
	attrs []slog.Attr
}

// New returns a handler writing to w in "text" or "json" format.
func New(w io.Writer, format string, level slog.Leveler) (*Handler, error) {
	if format != "text" && format != "json" {
		return nil, fmt.Errorf("unknown log format %q: use text or json", format)
	}
	return &Handler{mu: &sync.Mutex{}, w: w, json: format == "json", level: level}, nil
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	h2 := *h
	h2.attrs = append(append([]slog.Attr{}, h.attrs...), as...)
	return &h2
}

// WithGroup implements slog.Handler; groups are flattened.
func (h *Handler) WithGroup(string) slog.Handler { return h }

func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warning"
	case l >= slog.LevelInfo:
		return "info"
	}
	return "debug"
}

// Handle implements slog.Handler.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	fields := map[string]string{}
	// In JSON, numbers and booleans stay what they are, as logrus writes
	// them ("pid":123).
	raw := map[string]any{}
	add := func(a slog.Attr) {
		v := a.Value.Resolve()
		fields[a.Key] = v.String()
		switch v.Kind() {
		case slog.KindInt64, slog.KindUint64, slog.KindFloat64, slog.KindBool:
			raw[a.Key] = v.Any()
		default:
			delete(raw, a.Key)
		}
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(func(a slog.Attr) bool { add(a); return true })
	ts := t.Format(time.RFC3339)
	var line []byte
	if h.json {
		m := map[string]any{"level": levelName(r.Level), "msg": r.Message, "time": ts}
		for k, v := range fields {
			var val any = v
			if n, ok := raw[k]; ok {
				val = n
			}
			if _, clash := m[k]; clash {
				k = "fields." + k
			}
			m[k] = val
		}
		b, err := json.Marshal(m) // keys come out sorted, as logrus writes them
		if err != nil {
			return err
		}
		line = append(b, '\n')
	} else {
		var b strings.Builder
		fmt.Fprintf(&b, "time=%s level=%s msg=%s", quote(ts), levelName(r.Level), quote(r.Message))
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, " %s=%s", k, quote(fields[k]))
		}
		b.WriteByte('\n')
		line = []byte(b.String())
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(line)
	return err
}

// quote quotes s as logrus does: only when it has characters beyond
// letters, digits and -._/@^+.
func quote(s string) string {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.ContainsRune("-._/@^+", c)) {
			return strconv.Quote(s)
		}
	}
	return s
}
