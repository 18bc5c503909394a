package testutil

import (
	"os/exec"
	"strings"
	"sync"
)

// CriuUnusable says why CRIU cannot checkpoint on this host ("" when it
// can): no criu binary, or `criu check` failing on the running kernel
// (Debian 12's CRIU 3.17 works on Debian's kernel, the tests/vm guests'
// one, not on every host's). Asked once per test binary.
var CriuUnusable = sync.OnceValue(func() string {
	path, err := exec.LookPath("criu")
	if err != nil {
		return "no criu binary in PATH"
	}
	out, err := exec.Command(path, "check").CombinedOutput()
	if err != nil {
		why := err.Error()
		if l := strings.Split(strings.TrimSpace(string(out)), "\n"); l[len(l)-1] != "" {
			why = l[len(l)-1]
		}
		return "`criu check` fails on this kernel: " + why
	}
	return ""
})
