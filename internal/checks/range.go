package checks

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseRange parses a Nagios threshold range, [@]start:end, following the
// plugin development guidelines: "10" is 0:10, "10:" is 10:+inf, "~:10" is
// -inf:10, "@10:20" alerts inside. An empty string is an error.
func ParseRange(s string) (Range, error) {
	r := Range{Start: 0, End: math.Inf(1)}
	t := strings.TrimSpace(s)
	if t == "" {
		return r, fmt.Errorf("empty range")
	}
	if strings.HasPrefix(t, "@") {
		r.Inside = true
		t = t[1:]
	}
	start, end, hasColon := strings.Cut(t, ":")
	if !hasColon {
		end, start = start, ""
	}
	switch start {
	case "":
		r.Start = 0
	case "~":
		r.Start = math.Inf(-1)
	default:
		v, err := parseNumber(start)
		if err != nil {
			return r, fmt.Errorf("range %q: start %q is not a number", s, start)
		}
		r.Start = v
	}
	if end == "" {
		if !hasColon {
			return r, fmt.Errorf("range %q: no end", s)
		}
		r.End = math.Inf(1)
	} else {
		v, err := parseNumber(end)
		if err != nil {
			return r, fmt.Errorf("range %q: end %q is not a number", s, end)
		}
		r.End = v
	}
	if r.Start > r.End {
		return r, fmt.Errorf("range %q: start is greater than end", s)
	}
	return r, nil
}

func parseNumber(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("not a number")
	}
	return v, nil
}

// Alert reports whether v raises the alert: outside [Start, End], or inside
// it for an '@' range.
func (r Range) Alert(v float64) bool {
	in := v >= r.Start && v <= r.End
	if r.Inside {
		return in
	}
	return !in
}

// String renders the range in Nagios' text form.
func (r Range) String() string {
	var b strings.Builder
	if r.Inside {
		b.WriteByte('@')
	}
	switch {
	case math.IsInf(r.Start, -1):
		b.WriteString("~:")
	case r.Start != 0 || r.Inside:
		b.WriteString(formatFloat(r.Start))
		b.WriteByte(':')
	}
	if !math.IsInf(r.End, 1) {
		b.WriteString(formatFloat(r.End))
	} else if r.Start == 0 && !r.Inside {
		// 0:inf has no shorter form.
		b.WriteString("0:")
	}
	return b.String()
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// MarshalJSON writes the range as its text form, since its ends may be
// infinite.
func (r Range) MarshalJSON() ([]byte, error) { return json.Marshal(r.String()) }

// UnmarshalJSON reads the text form, or a bare number (the upper end).
func (r *Range) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var f float64
		if json.Unmarshal(b, &f) != nil {
			return fmt.Errorf("range must be a string such as \"10:20\"")
		}
		s = formatFloat(f)
	}
	v, err := ParseRange(s)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// stateOf applies warning and critical ranges to a value.
func stateOf(v float64, warn, crit *Range) State {
	switch {
	case crit != nil && crit.Alert(v):
		return Critical
	case warn != nil && warn.Alert(v):
		return Warning
	}
	return OK
}
