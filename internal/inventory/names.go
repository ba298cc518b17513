package inventory

import (
	"errors"
	"fmt"
	"strings"
)

// ValidName checks an object name: not empty, at most 200 characters, no
// control characters and no slash (names appear in URLs), no surrounding
// spaces.
func ValidName(name string) error {
	if strings.TrimSpace(name) == "" {
		return errors.New("must not be empty")
	}
	if len(name) > 200 {
		return errors.New("must be at most 200 characters")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '/' {
			return fmt.Errorf("must not contain %q", r)
		}
	}
	if name != strings.TrimSpace(name) {
		return errors.New("must not start or end with spaces")
	}
	return nil
}
