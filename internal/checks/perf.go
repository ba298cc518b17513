package checks

// Perf is one perfdata metric in Nagios' form
// 'label'=value[UOM];[warn];[crit];[min];[max].
type Perf struct {
	Label string   `json:"label"`
	Value float64  `json:"value"`
	Unit  string   `json:"unit,omitempty"`
	Warn  *Range   `json:"warn,omitempty"`
	Crit  *Range   `json:"crit,omitempty"`
	Min   *float64 `json:"min,omitempty"`
	Max   *float64 `json:"max,omitempty"`
}

// Range is a Nagios threshold range, [@]start:end. A value outside the range
// (or inside it when Inside is set) raises the alert. It is encoded in JSON as
// its text form ("10", "~:5", "@1:3") because its ends may be infinite.
type Range struct {
	Start  float64 // -Inf when open
	End    float64 // +Inf when open
	Inside bool    // '@' prefix: alert when Start <= v <= End
}
