package system

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ReadFile and WriteFile behave as os's: the content, whole past any
// buffer size, and errors that are *os.PathError with the errno.
func TestReadWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	long := strings.Repeat("0123456789", 300)
	if err := os.WriteFile(p, []byte("old content that is longer"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, long); err != nil {
		t.Fatal(err)
	}
	b, err := ReadFile(p)
	if err != nil || string(b) != long {
		t.Fatalf("ReadFile = %d bytes, %v; want %d bytes", len(b), err, len(long))
	}
	want, _ := os.ReadFile("/proc/self/status")
	got, err := ReadFile("/proc/self/status")
	if err != nil || !strings.HasPrefix(string(got), "Name:") || len(got) < len(want)/2 {
		t.Errorf("ReadFile(/proc/self/status) = %q, %v", got, err)
	}
	_, err = ReadFile(filepath.Join(dir, "missing"))
	var pe *os.PathError
	if !errors.Is(err, os.ErrNotExist) || !errors.As(err, &pe) || pe.Op != "open" {
		t.Errorf("missing file: %v", err)
	}
	if err := WriteFile(filepath.Join(dir, "missing"), "x"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("WriteFile of a missing file (it must not create it): %v", err)
	}
	if err := WriteFile(dir, "x"); err == nil {
		t.Error("WriteFile of a directory succeeded")
	}
}
