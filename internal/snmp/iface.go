package snmp

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Interface is one row of ifTable/ifXTable as discovery sees it.
type Interface struct {
	Index       int    `json:"index"`
	Name        string `json:"name"` // ifName, else ifDescr
	Descr       string `json:"descr"`
	Alias       string `json:"alias"`
	Type        int    `json:"type"`
	PhysAddress string `json:"phys_address,omitempty"`
	// SpeedBps is ifHighSpeed·10^6 when the agent has it, else ifSpeed.
	SpeedBps    float64 `json:"speed_bps"`
	AdminStatus int     `json:"admin_status"` // 1 up, 2 down, 3 testing
	OperStatus  int     `json:"oper_status"`  // 1 up, 2 down, … 7 lowerLayerDown
	// HC says the agent has the 64-bit ifHCInOctets counters.
	HC bool `json:"hc"`
}

// StatusName names an ifAdminStatus/ifOperStatus value as IF-MIB does.
func StatusName(s int) string {
	names := []string{"", "up", "down", "testing", "unknown", "dormant", "notPresent", "lowerLayerDown"}
	if s > 0 && s < len(names) {
		return names[s]
	}
	return strconv.Itoa(s)
}

// ParseStatus reads "up", "down"… or a number.
func ParseStatus(s string) (int, bool) {
	for i := 1; i <= 7; i++ {
		if strings.EqualFold(s, StatusName(i)) || s == strconv.Itoa(i) {
			return i, true
		}
	}
	return 0, false
}

// maxInterfaces bounds discovery: a chassis with tens of thousands of
// sub-interfaces would otherwise fill memory and the inventory.
const maxInterfaces = 10000

// Interfaces walks ifTable and ifXTable (v2c/v3; ifTable only in v1,
// whose agents rarely have ifXTable) and returns the interfaces by index.
func (c *Client) Interfaces(ctx context.Context) ([]Interface, error) {
	byIndex := map[int]*Interface{}
	var order []int
	row := func(oid, column string) (*Interface, bool) {
		rest, ok := strings.CutPrefix(oid, column+".")
		if !ok {
			return nil, false
		}
		idx, err := strconv.Atoi(rest)
		if err != nil {
			return nil, false
		}
		it := byIndex[idx]
		if it == nil {
			if len(byIndex) >= maxInterfaces {
				return nil, false
			}
			it = &Interface{Index: idx}
			byIndex[idx] = it
			order = append(order, idx)
		}
		return it, true
	}
	cols := []string{"ifDescr", "ifType", "ifSpeed", "ifPhysAddress", "ifAdminStatus", "ifOperStatus"}
	if c.cfg.Version != "1" {
		cols = append(cols, "ifName", "ifAlias", "ifHighSpeed", "ifHCInOctets")
	}
	for _, col := range cols {
		base := builtin[col]
		vals, _, err := c.Walk(ctx, base, maxInterfaces)
		if err != nil {
			return nil, fmt.Errorf("walking %s: %w", col, err)
		}
		for _, v := range vals {
			it, ok := row(v.OID, base)
			if !ok {
				continue
			}
			switch col {
			case "ifDescr":
				it.Descr = v.Text
			case "ifType":
				it.Type = int(v.Number)
			case "ifSpeed":
				if it.SpeedBps == 0 {
					it.SpeedBps = v.Number
				}
			case "ifPhysAddress":
				it.PhysAddress = v.Text
			case "ifAdminStatus":
				it.AdminStatus = int(v.Number)
			case "ifOperStatus":
				it.OperStatus = int(v.Number)
			case "ifName":
				it.Name = v.Text
			case "ifAlias":
				it.Alias = v.Text
			case "ifHighSpeed":
				// ifSpeed saturates at 4.29 Gb/s; ifHighSpeed is in Mb/s.
				if v.Number > 0 {
					it.SpeedBps = v.Number * 1e6
				}
			case "ifHCInOctets":
				it.HC = v.Type == "Counter64"
			}
		}
	}
	out := make([]Interface, 0, len(order))
	for _, idx := range order {
		it := byIndex[idx]
		if it.Name == "" {
			it.Name = it.Descr
		}
		if it.Name == "" {
			it.Name = "if" + strconv.Itoa(idx)
		}
		out = append(out, *it)
	}
	return out, nil
}

// IfSample is one poll of one interface's counters.
type IfSample struct {
	Time        time.Time
	Uptime      float64 // sysUpTime in hundredths of a second
	AdminStatus int
	OperStatus  int
	In, Out     uint64 // octets
	Width       int    // 64 when In/Out are the HC counters, else 32
	InErrors    uint64 // Counter32s
	OutErrors   uint64
	InDiscards  uint64
	OutDiscards uint64
	SpeedBps    float64
	// Present is false when the agent has no interface with this index
	// (it was removed, or renumbered after a reboot).
	Present bool
}

// PollInterface reads one interface's status and counters in one request.
func (c *Client) PollInterface(ctx context.Context, index int) (IfSample, error) {
	i := "." + strconv.Itoa(index)
	names := []string{"sysUpTime", "ifAdminStatus", "ifOperStatus", "ifInOctets", "ifOutOctets",
		"ifInErrors", "ifOutErrors", "ifInDiscards", "ifOutDiscards", "ifSpeed"}
	// v1 answers noSuchName for the whole request when one object is
	// missing, and v1 agents rarely have ifXTable: ask for it in v2c/v3
	// only.
	if c.cfg.Version != "1" {
		names = append(names, "ifHCInOctets", "ifHCOutOctets", "ifHighSpeed")
	}
	oids := make([]string, len(names))
	for k, n := range names {
		if n == "sysUpTime" {
			oids[k] = builtin[n] + ".0"
		} else {
			oids[k] = builtin[n] + i
		}
	}
	vals, err := c.Get(ctx, oids)
	s := IfSample{Time: time.Now(), Width: 32}
	if err != nil {
		return s, err
	}
	got := map[string]Value{}
	for k, v := range vals {
		if k < len(names) && !v.Missing() {
			got[names[k]] = v
		}
	}
	_, s.Present = got["ifOperStatus"]
	s.Uptime = got["sysUpTime"].Number
	s.AdminStatus = int(got["ifAdminStatus"].Number)
	s.OperStatus = int(got["ifOperStatus"].Number)
	s.In, s.Out = got["ifInOctets"].Uint, got["ifOutOctets"].Uint
	if hin, ok := got["ifHCInOctets"]; ok && hin.Width == 64 {
		if hout, ok := got["ifHCOutOctets"]; ok && hout.Width == 64 {
			s.In, s.Out, s.Width = hin.Uint, hout.Uint, 64
		}
	}
	s.InErrors, s.OutErrors = got["ifInErrors"].Uint, got["ifOutErrors"].Uint
	s.InDiscards, s.OutDiscards = got["ifInDiscards"].Uint, got["ifOutDiscards"].Uint
	s.SpeedBps = got["ifSpeed"].Number
	if hs := got["ifHighSpeed"].Number; hs > 0 {
		s.SpeedBps = hs * 1e6
	}
	return s, nil
}

// CounterDelta is how much a counter of width bits grew from prev to cur,
// a decrease being a wrap through 2^width. (A reset looks the same; the
// caller detects those from sysUpTime.)
func CounterDelta(prev, cur uint64, width int) uint64 {
	if width == 64 {
		return cur - prev // unsigned arithmetic wraps through 2^64
	}
	return (cur - prev) & 0xffffffff
}
