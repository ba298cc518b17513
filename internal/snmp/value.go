package snmp

import (
	"fmt"
	"math/big"
	"net"
	"strings"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"
)

// Value is one variable an agent returned.
type Value struct {
	OID  string `json:"oid"` // numeric, without the leading dot
	Type string `json:"type"`
	// Number is set for numeric types; Text for the others (and a text
	// form of numbers too).
	Number  float64 `json:"-"`
	Numeric bool    `json:"-"`
	Text    string  `json:"value"`
	// Width is 32 or 64 for counters, 0 otherwise.
	Width int `json:"-"`
	// Uint is the exact value of unsigned types (a Counter64 does not
	// fit a float64 exactly).
	Uint uint64 `json:"-"`
}

// Counter reports whether the value is a counter (Counter32/Counter64),
// whose rate is what matters.
func (v Value) Counter() bool { return v.Width != 0 }

// Missing reports whether the agent said the object does not exist.
func (v Value) Missing() bool {
	switch v.Type {
	case "NoSuchObject", "NoSuchInstance", "EndOfMibView", "Null":
		return true
	}
	return false
}

func valueOf(p gosnmp.SnmpPDU) Value {
	v := Value{OID: strings.TrimPrefix(p.Name, "."), Type: typeName(p.Type)}
	switch p.Type {
	case gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Integer, gosnmp.Uinteger32, gosnmp.Counter64:
		b := gosnmp.ToBigInt(p.Value)
		f, _ := new(big.Float).SetInt(b).Float64()
		v.Number, v.Numeric, v.Text = f, true, b.String()
		if b.Sign() >= 0 && b.IsUint64() {
			v.Uint = b.Uint64()
		}
		switch p.Type {
		case gosnmp.Counter32:
			v.Width = 32
		case gosnmp.Counter64:
			v.Width = 64
		}
	case gosnmp.OctetString:
		b, _ := p.Value.([]byte)
		v.Text = octets(b)
	case gosnmp.ObjectIdentifier:
		s, _ := p.Value.(string)
		v.Text = strings.TrimPrefix(s, ".")
	case gosnmp.IPAddress:
		v.Text = fmt.Sprint(p.Value)
	case gosnmp.OpaqueFloat:
		if f, ok := p.Value.(float32); ok {
			v.Number, v.Numeric, v.Text = float64(f), true, fmt.Sprint(f)
		}
	case gosnmp.OpaqueDouble:
		if f, ok := p.Value.(float64); ok {
			v.Number, v.Numeric, v.Text = f, true, fmt.Sprint(f)
		}
	default:
		if p.Value != nil {
			v.Text = fmt.Sprint(p.Value)
		}
	}
	// Text goes into JSON and outputs: never invalid UTF-8.
	v.Text = strings.ToValidUTF8(v.Text, "\uFFFD")
	return v
}

// octets shows an OCTET STRING as text when it is printable UTF-8 (a
// sysDescr, an ifAlias), else as hex bytes (a MAC address), as net-snmp's
// tools do.
func octets(b []byte) string {
	if len(b) == 6 && !printable(b) {
		return net.HardwareAddr(b).String()
	}
	if printable(b) {
		return strings.TrimRight(string(b), "\x00")
	}
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%02X", c)
	}
	return sb.String()
}

func printable(b []byte) bool {
	// A trailing NUL is common in C agents' strings.
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
	}
	return true
}

func typeName(t gosnmp.Asn1BER) string {
	switch t {
	case gosnmp.Integer:
		return "Integer"
	case gosnmp.OctetString:
		return "OctetString"
	case gosnmp.ObjectIdentifier:
		return "OID"
	case gosnmp.IPAddress:
		return "IpAddress"
	case gosnmp.Counter32:
		return "Counter32"
	case gosnmp.Gauge32:
		return "Gauge32"
	case gosnmp.TimeTicks:
		return "TimeTicks"
	case gosnmp.Counter64:
		return "Counter64"
	case gosnmp.Uinteger32:
		return "Uinteger32"
	case gosnmp.OpaqueFloat, gosnmp.OpaqueDouble, gosnmp.Opaque:
		return "Opaque"
	case gosnmp.NoSuchObject:
		return "NoSuchObject"
	case gosnmp.NoSuchInstance:
		return "NoSuchInstance"
	case gosnmp.EndOfMibView:
		return "EndOfMibView"
	case gosnmp.Null:
		return "Null"
	}
	return t.String()
}
