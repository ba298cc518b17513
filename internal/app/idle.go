package app

import (
	"fmt"

	"github.com/vigie-monitoring/vigie/internal/alarms"
	"github.com/vigie-monitoring/vigie/internal/config"
)

// idleRules compiles alarms.idle_rules for the alarm engine.
func idleRules(in []config.IdleRule) ([]alarms.IdleRule, error) {
	out := make([]alarms.IdleRule, 0, len(in))
	for i, r := range in {
		conn, connName, comp, err := r.Match.Patterns()
		if err != nil {
			return nil, fmt.Errorf("compiling alarms.idle_rules[%d]: %w", i, err)
		}
		out = append(out, alarms.IdleRule{Name: r.Name, Connector: conn, ConnectorName: connName, Component: comp, After: r.After.D()})
	}
	return out, nil
}
