package agent

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestValidatePush(t *testing.T) {
	at := time.Unix(1_700_000_000, 0).UTC()
	ok := Batch{ID: "e-1", Time: at, Samples: []Sample{{Service: "cpu", Metric: "user", Value: 1}}, Results: []Result{{Service: "cpu"}}}
	with := func(f func(b *Batch)) Push {
		b := ok
		b.Samples = append([]Sample(nil), ok.Samples...)
		b.Results = append([]Result(nil), ok.Results...)
		f(&b)
		return Push{Batches: []Batch{b}, Interval: Duration(10 * time.Second)}
	}
	iv := Duration(10 * time.Second)
	tests := []struct {
		name string
		p    Push
		err  string
	}{
		{"valid", Push{Batches: []Batch{ok}, Interval: iv}, ""},
		{"empty", Push{Interval: iv}, "batches: is empty"},
		{"no interval", Push{Batches: []Batch{ok}}, "interval: must be between 1s and 1h"},
		{"too many", Push{Batches: make([]Batch, MaxBatchesPerPush+1), Interval: iv}, "at most 100"},
		{"no id", with(func(b *Batch) { b.ID = "" }), "batches[0].id"},
		{"no time", with(func(b *Batch) { b.Time = time.Time{} }), "batches[0].time"},
		{"unnamed sample", with(func(b *Batch) { b.Samples[0].Metric = "" }), "batches[0].samples[0]"},
		{"long unit", with(func(b *Batch) { b.Samples[0].Unit = strings.Repeat("u", 21) }), "unit at most 20"},
		{"bad state", with(func(b *Batch) { b.Results[0].State = 4 }), "results[0].state"},
		{"long output", with(func(b *Batch) { b.Results[0].Output = strings.Repeat("x", MaxOutputLen+1) }), "results[0].output"},
		{"too many samples", with(func(b *Batch) { b.Samples = make([]Sample, MaxSamplesPerBatch+1) }), "at most 20000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidatePush(&tt.p)
			if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("err %v, want %q", err, tt.err)
			}
		})
	}
}

func TestDesiredValidate(t *testing.T) {
	for _, tt := range []struct {
		d   Desired
		err string
	}{
		{Desired{Interval: Duration(time.Minute), Collect: []string{"cpu"}}, ""},
		{Desired{Interval: Duration(time.Millisecond)}, "interval"},
		{Desired{Collect: []string{"gpu"}}, `unknown collector "gpu"`},
	} {
		err := tt.d.Validate()
		if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%+v: %v, want %q", tt.d, err, tt.err)
		}
	}
}

// FuzzPush decodes pushes as the server does: whatever the bytes, no
// panic, and a push that validates keeps within the bounds.
func FuzzPush(f *testing.F) {
	f.Add([]byte(`{"interval":"10s","batches":[{"id":"a-1","seq":1,"time":"2026-11-23T08:00:00Z","samples":[{"s":"cpu","m":"user","u":"%","v":1}],"results":[{"service":"cpu","state":0}]}]}`))
	f.Add([]byte(`{"batches":[{"id":"","time":"x"}]}`))
	f.Add([]byte(`{"interval":"-5s","batches":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Push
		if json.Unmarshal(b, &p) != nil {
			return
		}
		if ValidatePush(&p) != nil {
			return
		}
		if len(p.Batches) == 0 || len(p.Batches) > MaxBatchesPerPush {
			t.Fatalf("%d batches validated", len(p.Batches))
		}
		for _, x := range p.Batches {
			for _, r := range x.Results {
				if r.State < 0 || r.State > 3 {
					t.Fatalf("state %d validated", r.State)
				}
			}
		}
	})
}
