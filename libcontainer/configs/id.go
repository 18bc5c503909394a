package configs

import (
	"errors"
	"fmt"
	"strings"
)

// idChar is what runc accepts in a container id: ^[\w+\-.]+$.
func idChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '+' || c == '-' || c == '.'
}

// ValidateID checks a container id as runc does: it names the state
// directory, so it must be one path element.
func ValidateID(id string) error {
	if id == "" {
		return errors.New("container id cannot be empty")
	}
	if strings.IndexFunc(id, func(c rune) bool { return !idChar(c) }) >= 0 || id == "." || id == ".." || len(id) > 1024 {
		return fmt.Errorf("invalid container id %q: use letters, digits, '_', '+', '-' and '.'", id)
	}
	return nil
}
