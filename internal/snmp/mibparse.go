package snmp

import (
	"fmt"
	"strconv"
)

// mibDef is one assignment of a MIB module: name ::= { parent arcs... }.
type mibDef struct {
	name   string
	parent string // "" when the value starts with a number
	arcs   []uint32
}

// macros are the SMI constructs whose value is an OID. Type assignments
// (uppercase names, TEXTUAL-CONVENTION, SEQUENCE) are skipped.
var macros = map[string]bool{
	"OBJECT-TYPE": true, "MODULE-IDENTITY": true, "OBJECT-IDENTITY": true,
	"NOTIFICATION-TYPE": true, "TRAP-TYPE": false, "OBJECT-GROUP": true,
	"NOTIFICATION-GROUP": true, "MODULE-COMPLIANCE": true, "AGENT-CAPABILITIES": true,
}

const maxMIBTokens = 1 << 20

// ParseMIB reads the OID assignments of one MIB module (SMIv1 or SMIv2):
// "x OBJECT IDENTIFIER ::= { y 3 }" and the macros whose value is an OID
// (OBJECT-TYPE, MODULE-IDENTITY, NOTIFICATION-TYPE…). It is no full ASN.1
// parser: it understands enough to number objects, and skips the rest.
// Input that is not a MIB gives an error or no definitions, never a panic.
func ParseMIB(src []byte) ([]mibDef, error) {
	toks, err := tokenize(src)
	if err != nil {
		return nil, err
	}
	var defs []mibDef
	for i := 0; i < len(toks); i++ {
		name := toks[i]
		if !isValueName(name) || i+1 >= len(toks) {
			continue
		}
		j := i + 1
		switch {
		case toks[j] == "OBJECT" && j+1 < len(toks) && toks[j+1] == "IDENTIFIER":
			j += 2
			if j >= len(toks) || toks[j] != "::=" {
				continue // "SYNTAX OBJECT IDENTIFIER" inside a macro, say
			}
		case macros[toks[j]]:
			// Skip the macro's clauses to its "::=". Clauses never
			// contain "::=" (strings are single tokens), so the first
			// one is the value's.
			for j < len(toks) && toks[j] != "::=" {
				j++
			}
			if j >= len(toks) {
				return defs, fmt.Errorf("%s %s: no ::= before the end", name, toks[i+1])
			}
		default:
			continue
		}
		// toks[j] is "::=".
		d, end, err := parseOIDValue(toks, j+1)
		if err != nil {
			return defs, fmt.Errorf("%s: %w", name, err)
		}
		d.name = name
		defs = append(defs, d)
		i = end
	}
	return defs, nil
}

// parseOIDValue reads "{ parent n name(n) ... }" at toks[i].
func parseOIDValue(toks []string, i int) (mibDef, int, error) {
	var d mibDef
	if i >= len(toks) || toks[i] != "{" {
		return d, i, fmt.Errorf("expected { after ::=")
	}
	i++
	first := true
	for ; i < len(toks) && toks[i] != "}"; i++ {
		t := toks[i]
		switch {
		case isNumber(t):
			n, err := strconv.ParseUint(t, 10, 32)
			if err != nil {
				return d, i, fmt.Errorf("arc %q is too large", t)
			}
			d.arcs = append(d.arcs, uint32(n))
		case isValueName(t):
			// name(n): the number counts, the name is a label.
			if i+3 < len(toks) && toks[i+1] == "(" && isNumber(toks[i+2]) && toks[i+3] == ")" {
				n, err := strconv.ParseUint(toks[i+2], 10, 32)
				if err != nil {
					return d, i, fmt.Errorf("arc %q is too large", toks[i+2])
				}
				if first && (t == "iso" || t == "ccitt" || t == "joint-iso-ccitt") {
					d.parent = t
				} else {
					d.arcs = append(d.arcs, uint32(n))
				}
				i += 3
			} else if first {
				d.parent = t
			} else {
				return d, i, fmt.Errorf("name %q inside an OID value", t)
			}
		default:
			return d, i, fmt.Errorf("unexpected %q in an OID value", t)
		}
		first = false
		if len(d.arcs) > maxOIDArcs {
			return d, i, fmt.Errorf("more than %d arcs", maxOIDArcs)
		}
	}
	if i >= len(toks) {
		return d, i, fmt.Errorf("OID value not closed by }")
	}
	if d.parent == "" && len(d.arcs) == 0 {
		return d, i, fmt.Errorf("empty OID value")
	}
	return d, i, nil
}

func isNumber(t string) bool {
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return false
		}
	}
	return true
}

// isValueName: ASN.1 value references start with a lowercase letter.
func isValueName(t string) bool {
	if t == "" || t[0] < 'a' || t[0] > 'z' {
		return false
	}
	for i := 1; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// tokenize splits ASN.1 source into words, numbers, "::=", ".." and single
// punctuation; comments ("--" to the end of the line or the next "--")
// and strings (kept as one token) never produce words.
func tokenize(src []byte) ([]string, error) {
	var toks []string
	line := 1
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			i += 2
			for i < len(src) && src[i] != '\n' {
				if src[i] == '-' && i+1 < len(src) && src[i+1] == '-' {
					i += 2
					break
				}
				i++
			}
		case c == '"':
			j := i + 1
			for j < len(src) && src[j] != '"' {
				if src[j] == '\n' {
					line++
				}
				j++
			}
			if j >= len(src) {
				return toks, fmt.Errorf("line %d: string not closed", line)
			}
			toks = append(toks, `""`)
			i = j + 1
		case c == ':' && i+2 < len(src) && src[i+1] == ':' && src[i+2] == '=':
			toks = append(toks, "::=")
			i += 3
		case c == '.' && i+1 < len(src) && src[i+1] == '.':
			toks = append(toks, "..")
			i += 2
		case isWordByte(c):
			j := i
			for j < len(src) && (isWordByte(src[j]) || (src[j] == '-' && j+1 < len(src) && src[j+1] != '-' && isWordByte(src[j+1]))) {
				j++
			}
			toks = append(toks, string(src[i:j]))
			i = j
		case c == '\'':
			// 'hex'H and 'bits'B literals.
			j := i + 1
			for j < len(src) && src[j] != '\'' && src[j] != '\n' {
				j++
			}
			if j+1 < len(src) {
				j++
				if src[j] == 'H' || src[j] == 'h' || src[j] == 'B' || src[j] == 'b' {
					j++
				}
			}
			toks = append(toks, "''")
			i = j
		default:
			toks = append(toks, string(c))
			i++
		}
		if len(toks) > maxMIBTokens {
			return nil, fmt.Errorf("more than %d tokens", maxMIBTokens)
		}
	}
	return toks, nil
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}
