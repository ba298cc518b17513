package inventory

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/vigie-monitoring/vigie/internal/checks"
)

// SourceTemplate marks a service made by a host group's SNMP template: the
// template owns it, so the API refuses to edit it and the template's
// changes reach it.
const SourceTemplate = "template"

// DiscoverySuffix ends Service.Template for the services a template's
// interface discovery made ("core-switches/discovery"), so that they are
// told apart from the template's items. Group names hold no slash, so the
// suffix cannot clash with a group's name.
const DiscoverySuffix = "/discovery"

// MinTemplateEvery bounds a template's scheduled discovery: a walk of a big
// switch is thousands of packets, times every member of the group.
const MinTemplateEvery = time.Minute

// SNMPTemplate is what every member of a host group polls, present and
// future: settings that are the defaults of their SNMP services (a host's
// own settings win over them, a service's own over both), value services,
// and an interface discovery.
type SNMPTemplate struct {
	SNMP      checks.Spec        `json:"snmp,omitempty" yaml:"snmp"`
	Services  []TemplateService  `json:"services" yaml:"services"`
	Discovery *TemplateDiscovery `json:"discovery,omitempty" yaml:"discovery"`
}

// TemplateService is one value every member polls: a service of kind snmp.
type TemplateService struct {
	Name string `json:"name" yaml:"name"`
	// OID is numeric or a name of the built-in table or a loaded MIB.
	OID      string   `json:"oid" yaml:"oid"`
	Label    string   `json:"label,omitempty" yaml:"label"`
	Warning  string   `json:"warning,omitempty" yaml:"warning"`
	Critical string   `json:"critical,omitempty" yaml:"critical"`
	Interval Duration `json:"interval,omitempty" yaml:"interval"`
}

// TemplateDiscovery is the interface discovery every member gets when it
// joins the group, and again every Every (0: only when it joins).
type TemplateDiscovery struct {
	// Name is a regular expression on ifName, ifDescr or ifAlias.
	Name string `json:"name,omitempty" yaml:"name"`
	// Types are ifType numbers (6 ethernetCsmacd…).
	Types []int `json:"types,omitempty" yaml:"types"`
	// OnlyUp keeps the interfaces whose oper status is up.
	OnlyUp bool `json:"only_up,omitempty" yaml:"only_up"`
	// Health also creates the device's uptime, CPU, memory, storage and
	// sensor services.
	Health bool `json:"health,omitempty" yaml:"health"`
	// Interfaces false skips the interfaces (health only).
	Interfaces *bool `json:"interfaces,omitempty" yaml:"interfaces"`
	// Warning and Critical are utilisation % ranges for the interfaces.
	Warning  string   `json:"warning,omitempty" yaml:"warning"`
	Critical string   `json:"critical,omitempty" yaml:"critical"`
	Interval Duration `json:"interval,omitempty" yaml:"interval"`
	Every    Duration `json:"every,omitempty" yaml:"every"`
}

// TemplateError names the field of a template that is wrong, relative to
// the template ("services[2].oid").
type TemplateError struct {
	Field, Msg string
}

func (e *TemplateError) Error() string { return e.Field + ": " + e.Msg }

// ItemSpec is the check of item i, before the settings defaults.
func (t *SNMPTemplate) ItemSpec(i int) checks.Spec {
	it := t.Services[i]
	spec := checks.Spec{"kind": "snmp", "oid": it.OID}
	if it.Label != "" {
		spec["label"] = it.Label
	}
	if it.Warning != "" {
		spec["warning"] = it.Warning
	}
	if it.Critical != "" {
		spec["critical"] = it.Critical
	}
	return spec
}

// Validate checks a template the way its services will be built, so that
// a bad OID or threshold is refused when the template is saved rather
// than found on every member.
func (t *SNMPTemplate) Validate() error {
	bad := func(field, format string, a ...any) error {
		return &TemplateError{Field: field, Msg: fmt.Sprintf(format, a...)}
	}
	for k := range t.SNMP {
		if !isSettingKey(k) {
			return bad("snmp."+k, "unknown SNMP setting (known: %s)", strings.Join(checks.SNMPSettingKeys, ", "))
		}
	}
	if err := checks.ValidateSNMPSettings(t.SNMP); err != nil {
		f, msg, _ := strings.Cut(err.Error(), ": ")
		return bad(f, "%s", msg)
	}
	names := map[string]bool{}
	for i, it := range t.Services {
		p := fmt.Sprintf("services[%d]", i)
		if err := ValidName(it.Name); err != nil {
			return bad(p+".name", "%v", err)
		}
		if names[it.Name] {
			return bad(p+".name", "service %q is defined twice", it.Name)
		}
		names[it.Name] = true
		if it.OID == "" {
			return bad(p+".oid", "is required")
		}
		if d := it.Interval.D(); d != 0 && d < time.Second {
			return bad(p+".interval", "must be at least 1s")
		}
		if _, err := checks.New(t.ItemSpec(i), checks.Options{Address: "127.0.0.1", SNMP: t.SNMP}); err != nil {
			return checkErr(p, err)
		}
	}
	if d := t.Discovery; d != nil {
		if d.Name != "" {
			if _, err := regexp.Compile(d.Name); err != nil {
				return bad("discovery.name", "not a regular expression: %v", err)
			}
		}
		for j, ty := range d.Types {
			if ty < 1 || ty > 1000 {
				return bad(fmt.Sprintf("discovery.types[%d]", j), "%d is not an ifType number", ty)
			}
		}
		if e := d.Every.D(); e != 0 && e < MinTemplateEvery {
			return bad("discovery.every", "must be 0 (only when a host joins) or at least %s", MinTemplateEvery)
		}
		if iv := d.Interval.D(); iv != 0 && iv < time.Second {
			return bad("discovery.interval", "must be at least 1s")
		}
		probe := checks.Spec{"kind": "snmp_interface", "index": 1}
		if d.Warning != "" {
			probe["warning"] = d.Warning
		}
		if d.Critical != "" {
			probe["critical"] = d.Critical
		}
		if _, err := checks.New(probe, checks.Options{Address: "127.0.0.1", SNMP: t.SNMP}); err != nil {
			return checkErr("discovery", err)
		}
	}
	return nil
}

// checkErr turns the checks package's "check.oid: …" into "prefix.oid: …".
func checkErr(prefix string, err error) error {
	msg := err.Error()
	if strings.HasPrefix(msg, "check.") {
		f, rest, _ := strings.Cut(strings.TrimPrefix(msg, "check."), ": ")
		return &TemplateError{Field: prefix + "." + f, Msg: rest}
	}
	return &TemplateError{Field: prefix, Msg: msg}
}

func isSettingKey(k string) bool {
	for _, s := range checks.SNMPSettingKeys {
		if s == k {
			return true
		}
	}
	return false
}
