package app

import (
	"context"
	"reflect"

	"github.com/vigie-monitoring/vigie/internal/alarms"
	"github.com/vigie-monitoring/vigie/internal/events"
	"github.com/vigie-monitoring/vigie/internal/events/rules"
)

// qualifiedAlarms is the alarm engine as the API sees it: events posted
// to it go through the qualification rules first, like every source's.
type qualifiedAlarms struct {
	*alarms.Engine
	sink events.Sink
}

func (q qualifiedAlarms) Ingest(ctx context.Context, evs []events.Event) error {
	return q.sink.Ingest(ctx, evs)
}

// sameRule compares two rules of the YAML, for a reload.
func sameRule(a, b rules.Rule) bool { return reflect.DeepEqual(a, b) }
