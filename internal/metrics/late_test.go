package metrics

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// A sample later than the newest by less than OutOfOrderWindow is stored,
// one older is refused as too old: the window is what an agent's backlog
// after an outage must fit in.
func TestOutOfOrderWindow(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	for _, tt := range []struct {
		window time.Duration
		late   time.Duration
		stored bool
	}{
		{0, 30 * time.Minute, true}, // the default, one hour
		{0, 3 * time.Hour, false},
		{48 * time.Hour, 3 * time.Hour, true},
		{48 * time.Hour, 47 * time.Hour, true},
		{48 * time.Hour, 49 * time.Hour, false},
	} {
		t.Run(fmt.Sprintf("%s late in %s", tt.late, tt.window), func(t *testing.T) {
			d, err := Open(t.TempDir(), Options{OutOfOrderWindow: tt.window})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			s := series("perfdata", "host", "h", "service", "s", "metric", "m")
			if err := d.Append(ctx, []Sample{{Labels: s, T: now, V: 1}}); err != nil {
				t.Fatal(err)
			}
			err = d.Append(ctx, []Sample{{Labels: s, T: now.Add(-tt.late), V: 2}})
			var re *RefusedError
			switch {
			case tt.stored && err != nil:
				t.Fatalf("a sample %s late refused: %v", tt.late, err)
			case !tt.stored && (!errors.As(err, &re) || re.Refused[0].Reason() != "too_old"):
				t.Fatalf("a sample %s late: %v, want it refused as too old", tt.late, err)
			}
			if tt.stored {
				r, err := d.Query(ctx, `perfdata`, now.Add(-tt.late))
				if err != nil || r.String() == "" {
					t.Fatalf("the late sample is not there: %v %v", r, err)
				}
			}
		})
	}
}
