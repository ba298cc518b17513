package snmp

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// HealthItem is one device-health value discovery found and proposes to
// poll: the parameters of a "snmp" check.
type HealthItem struct {
	Service   string `json:"service"`
	OID       string `json:"oid"` // a name with its index, readable in the check
	PercentOf string `json:"percent_of,omitempty"`
	// Multiplier scales sensor values (ENTITY-SENSOR scale and precision).
	Multiplier float64 `json:"multiplier,omitempty"`
	Label      string  `json:"label"`
	Warning    string  `json:"warning,omitempty"`
	Critical   string  `json:"critical,omitempty"`
}

// hrStorage types (HOST-RESOURCES-TYPES).
const (
	hrStorageRAM       = "1.3.6.1.2.1.25.2.1.2"
	hrStorageFixedDisk = "1.3.6.1.2.1.25.2.1.4"
)

// maxHealthItems bounds what one discovery proposes (a chassis has many
// sensors).
const maxHealthItems = 200

// Health finds what the device tells of its health: uptime, CPU
// (hrProcessorLoad, else the UCD load average), memory (UCD available
// real memory, else hrStorage RAM), fixed disks (hrStorage) and
// temperature sensors (ENTITY-SENSOR, celsius). Missing tables are
// skipped; a failed walk is an error only when nothing answered at all.
func (c *Client) Health(ctx context.Context) ([]HealthItem, error) {
	var out []HealthItem
	vals, err := c.Get(ctx, []string{builtin["sysUpTime"] + ".0", builtin["memTotalReal"] + ".0", builtin["memAvailReal"] + ".0", builtin["laLoad"] + ".1"})
	if err != nil {
		return nil, err
	}
	if !vals[0].Missing() {
		out = append(out, HealthItem{Service: "uptime", OID: "sysUpTime.0", Label: "uptime"})
	}
	cpus, _, err := c.Walk(ctx, builtin["hrProcessorLoad"], maxHealthItems)
	if err != nil {
		return out, err
	}
	n := 0
	for _, v := range cpus {
		idx, ok := strings.CutPrefix(v.OID, builtin["hrProcessorLoad"]+".")
		if !ok || !v.Numeric {
			continue
		}
		n++
		out = append(out, HealthItem{Service: "cpu " + strconv.Itoa(n), OID: "hrProcessorLoad." + idx, Label: "cpu", Warning: "80", Critical: "95"})
	}
	if n == 0 && !vals[3].Missing() {
		out = append(out, HealthItem{Service: "load", OID: "laLoad.1", Label: "load1"})
	}
	haveMem := false
	if !vals[1].Missing() && !vals[2].Missing() && vals[1].Number > 0 {
		haveMem = true
		out = append(out, HealthItem{Service: "memory available", OID: "memAvailReal.0", PercentOf: "memTotalReal.0", Label: "memory_available", Warning: "10:", Critical: "5:"})
	}
	types, _, err := c.Walk(ctx, builtin["hrStorageType"], maxHealthItems)
	if err != nil {
		return out, err
	}
	var disks []string
	for _, v := range types {
		idx, ok := strings.CutPrefix(v.OID, builtin["hrStorageType"]+".")
		if !ok {
			continue
		}
		switch v.Text {
		case hrStorageRAM:
			if !haveMem {
				haveMem = true
				out = append(out, HealthItem{Service: "memory used", OID: "hrStorageUsed." + idx, PercentOf: "hrStorageSize." + idx, Label: "memory_used", Warning: "90", Critical: "95"})
			}
		case hrStorageFixedDisk:
			disks = append(disks, idx)
		}
	}
	if len(disks) > 0 {
		oids := make([]string, 0, 2*len(disks))
		for _, idx := range disks {
			oids = append(oids, builtin["hrStorageDescr"]+"."+idx, builtin["hrStorageSize"]+"."+idx)
		}
		info, err := c.Get(ctx, oids)
		if err != nil {
			return out, err
		}
		for i, idx := range disks {
			descr, size := info[2*i], info[2*i+1]
			if descr.Missing() || size.Missing() || size.Number <= 0 || len(out) >= maxHealthItems {
				continue // a pseudo file system of size 0
			}
			out = append(out, HealthItem{Service: "storage " + pathName(descr.Text), OID: "hrStorageUsed." + idx, PercentOf: "hrStorageSize." + idx, Label: "used", Warning: "85", Critical: "95"})
		}
	}
	sensors, _, err := c.Walk(ctx, builtin["entPhySensorType"], maxHealthItems)
	if err != nil {
		return out, err
	}
	for _, v := range sensors {
		idx, ok := strings.CutPrefix(v.OID, builtin["entPhySensorType"]+".")
		if !ok || int(v.Number) != 8 { // celsius(8)
			continue
		}
		meta, err := c.Get(ctx, []string{builtin["entPhySensorScale"] + "." + idx, builtin["entPhySensorPrecision"] + "." + idx, builtin["entPhysicalName"] + "." + idx})
		if err != nil {
			return out, err
		}
		name := "sensor " + idx
		if !meta[2].Missing() && meta[2].Text != "" {
			name = meta[2].Text
		}
		out = append(out, HealthItem{Service: "temperature " + name, OID: "entPhySensorValue." + idx, Label: "celsius",
			Multiplier: SensorMultiplier(int(meta[0].Number), int(meta[1].Number))})
		if len(out) >= maxHealthItems {
			break
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the agent has none of sysUpTime, hrProcessorLoad, UCD memory, hrStorage or ENTITY-SENSOR")
	}
	return out, nil
}

// pathName makes a mount point fit a service name, which may not hold a
// slash: "/" is "root", "/var/log" is "var-log".
func pathName(p string) string {
	p = strings.TrimSpace(p)
	if p == "/" {
		return "root"
	}
	if t := strings.Trim(p, "/"); t != "" {
		p = t
	}
	return strings.ReplaceAll(p, "/", "-")
}

// SensorMultiplier turns an entPhySensorValue into units: its scale
// (units(9) is 10^0, milli(8) 10^-3, kilo(10) 10^3…) and its precision
// (digits after the decimal point).
func SensorMultiplier(scale, precision int) float64 {
	if scale < 1 || scale > 17 {
		scale = 9
	}
	if precision < -8 || precision > 9 {
		precision = 0
	}
	return math.Pow(10, float64(3*(scale-9)-precision))
}
