package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// A run that adds to a host cache that was there takes out what it added
// and nothing else; one that made the host cache removes it.
func TestPrivateCache(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "")
	host := filepath.Join(t.TempDir(), "husk")
	old := filepath.Join(host, "seccomp", "old")
	if err := os.MkdirAll(filepath.Dir(old), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	done := privateCache(host)
	private := os.Getenv("XDG_CACHE_HOME")
	if private == "" {
		t.Fatal("XDG_CACHE_HOME not set")
	}
	added := filepath.Join(host, "seccomp", "added")
	if err := os.WriteFile(added, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	done()
	if _, err := os.Stat(added); !os.IsNotExist(err) {
		t.Errorf("%s, added by the run, is still there (%v)", added, err)
	}
	if _, err := os.Stat(old); err != nil {
		t.Errorf("%s, there before the run: %v", old, err)
	}
	if _, err := os.Stat(private); !os.IsNotExist(err) {
		t.Errorf("the private cache %s is still there (%v)", private, err)
	}

	host2 := filepath.Join(t.TempDir(), "husk")
	done = privateCache(host2)
	if err := os.MkdirAll(filepath.Join(host2, "seccomp"), 0o700); err != nil {
		t.Fatal(err)
	}
	done()
	if _, err := os.Stat(host2); !os.IsNotExist(err) {
		t.Errorf("%s, made by the run, is still there (%v)", host2, err)
	}
}
