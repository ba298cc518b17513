package inventory

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration written as Go text ("30s", "5m") in JSON and
// YAML, because operators write durations, not nanoseconds.
type Duration time.Duration

func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n float64
		if json.Unmarshal(b, &n) == nil {
			*d = Duration(time.Duration(n * float64(time.Second)))
			return nil
		}
		return fmt.Errorf("duration must be a string such as \"30s\"")
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseDuration parses Go duration text; a bare number is seconds.
func ParseDuration(s string) (Duration, error) {
	if v, err := time.ParseDuration(s); err == nil {
		if v < 0 {
			return 0, fmt.Errorf("duration %q is negative", s)
		}
		return Duration(v), nil
	}
	var n float64
	if _, err := fmt.Sscanf(s, "%g", &n); err == nil && fmt.Sprint(n) == s && n >= 0 {
		return Duration(time.Duration(n * float64(time.Second))), nil
	}
	return 0, fmt.Errorf("invalid duration %q (use e.g. \"30s\", \"5m\")", s)
}
