package checks

import (
	"fmt"
	"strconv"
	"strings"
)

// ParsePerfdata parses Nagios perfdata:
//
//	'label'=value[UOM];[warn];[crit];[min];[max] ...
//
// It is lenient, as real plugins are sloppy: items that parse are kept and
// the first bad item is reported in the error.
func ParsePerfdata(s string) ([]Perf, error) {
	var (
		out      []Perf
		firstErr error
	)
	for _, item := range splitPerf(s) {
		p, err := parsePerfItem(item)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("perfdata item %q: %w", truncateStr(item, 80), err)
			}
			continue
		}
		out = append(out, p)
	}
	return out, firstErr
}

// splitPerf splits on blanks outside single-quoted labels.
func splitPerf(s string) []string {
	var items []string
	var b strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' && (quoted || b.Len() == 0):
			// A quote opens a label only at the start of an item; '' inside
			// quotes is an escaped quote.
			if quoted && i+1 < len(s) && s[i+1] == '\'' {
				b.WriteString("''")
				i++
				continue
			}
			quoted = !quoted
			b.WriteByte(c)
		case (c == ' ' || c == '\t' || c == '\n' || c == '\r') && !quoted:
			if b.Len() > 0 {
				items = append(items, b.String())
				b.Reset()
			}
		default:
			b.WriteByte(c)
		}
	}
	if b.Len() > 0 {
		items = append(items, b.String())
	}
	return items
}

func parsePerfItem(item string) (Perf, error) {
	var p Perf
	eq := strings.LastIndex(item, "=")
	if eq <= 0 {
		return p, fmt.Errorf("no label=value")
	}
	label, rest := item[:eq], item[eq+1:]
	if strings.HasPrefix(label, "'") {
		if len(label) < 2 || !strings.HasSuffix(label, "'") {
			return p, fmt.Errorf("unterminated quoted label")
		}
		label = strings.ReplaceAll(label[1:len(label)-1], "''", "'")
	}
	if label == "" {
		return p, fmt.Errorf("empty label")
	}
	p.Label = label
	fields := strings.Split(rest, ";")
	val := fields[0]
	// The value is a number followed by its unit of measure.
	end := 0
	for end < len(val) && strings.IndexByte("0123456789.-+eE", val[end]) >= 0 {
		// 'e' may start a unit only when not followed by a digit or sign.
		if (val[end] == 'e' || val[end] == 'E') && (end+1 >= len(val) || strings.IndexByte("0123456789+-", val[end+1]) < 0) {
			break
		}
		end++
	}
	if end == 0 {
		if val == "U" {
			return p, fmt.Errorf("value unknown (U)")
		}
		return p, fmt.Errorf("value %q is not a number", val)
	}
	v, err := strconv.ParseFloat(val[:end], 64)
	if err != nil {
		return p, fmt.Errorf("value %q is not a number", val)
	}
	p.Value, p.Unit = v, val[end:]
	if len(p.Unit) > 16 || strings.ContainsAny(p.Unit, " \t'\"=;") {
		return p, fmt.Errorf("unit %q is not a unit of measure", p.Unit)
	}
	get := func(i int) string {
		if i < len(fields) {
			return strings.TrimSpace(fields[i])
		}
		return ""
	}
	if s := get(1); s != "" {
		r, err := ParseRange(s)
		if err != nil {
			return p, fmt.Errorf("warning: %w", err)
		}
		p.Warn = &r
	}
	if s := get(2); s != "" {
		r, err := ParseRange(s)
		if err != nil {
			return p, fmt.Errorf("critical: %w", err)
		}
		p.Crit = &r
	}
	for i, dst := range []**float64{&p.Min, &p.Max} {
		if s := get(3 + i); s != "" {
			f, err := parseNumber(s)
			if err != nil {
				return p, fmt.Errorf("min/max %q is not a number", s)
			}
			*dst = &f
		}
	}
	return p, nil
}

// String renders the metric in Nagios' perfdata form, quoting the label
// when it needs it.
func (p Perf) String() string {
	var b strings.Builder
	if strings.ContainsAny(p.Label, " '=\t") {
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(p.Label, "'", "''"))
		b.WriteByte('\'')
	} else {
		b.WriteString(p.Label)
	}
	b.WriteByte('=')
	b.WriteString(formatFloat(p.Value))
	b.WriteString(p.Unit)
	parts := []string{"", "", "", ""}
	if p.Warn != nil {
		parts[0] = p.Warn.String()
	}
	if p.Crit != nil {
		parts[1] = p.Crit.String()
	}
	if p.Min != nil {
		parts[2] = formatFloat(*p.Min)
	}
	if p.Max != nil {
		parts[3] = formatFloat(*p.Max)
	}
	n := len(parts)
	for n > 0 && parts[n-1] == "" {
		n--
	}
	for _, s := range parts[:n] {
		b.WriteByte(';')
		b.WriteString(s)
	}
	return b.String()
}

// ParsePluginOutput splits a plugin's output the Nagios way: the first line
// is the output, following lines the long output; perfdata follows a '|' on
// the first line and on any later line (everything after the first '|' in
// the long text is perfdata).
func ParsePluginOutput(out []byte) (output, long string, perf []Perf) {
	text := strings.ReplaceAll(string(out), "\r\n", "\n")
	first, rest, _ := strings.Cut(text, "\n")
	var perfText []string
	if o, p, ok := strings.Cut(first, "|"); ok {
		first = o
		perfText = append(perfText, p)
	}
	if l, p, ok := strings.Cut(rest, "|"); ok {
		rest = l
		perfText = append(perfText, p)
	}
	perf, _ = ParsePerfdata(strings.Join(perfText, " "))
	return strings.TrimSpace(first), strings.TrimRight(rest, "\n \t"), perf
}

func truncateStr(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
