package libcontainer

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// workloadEnv is the environment the workload gets, as runc makes it: a
// key given twice is set once, to its last value, where that last one
// stands; an empty HOME counts as unset; an unset HOME is the user's home
// from the container's /etc/passwd ("/" without one).
func workloadEnv(env []string, uid uint32) ([]string, error) {
	out := make([]string, 0, len(env)+1)
	seen := make(map[string]bool, len(env))
	home := false
	for i := len(env) - 1; i >= 0; i-- {
		key, val, ok := strings.Cut(env[i], "=")
		switch {
		case !ok:
			return nil, errors.New("invalid environment variable: missing '='")
		case key == "":
			return nil, errors.New("invalid environment variable: name cannot be empty")
		case seen[key]:
			continue
		}
		seen[key] = true
		if strings.IndexByte(env[i], 0) >= 0 {
			return nil, fmt.Errorf("invalid environment variable %q: contains nul byte (\\x00)", key)
		}
		if key == "HOME" {
			if val == "" {
				continue
			}
			home = true
		}
		out = append(out, env[i])
	}
	slices.Reverse(out)
	if !home {
		out = append(out, "HOME="+homeOf(uid))
	}
	return out, nil
}
