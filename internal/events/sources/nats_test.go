package sources

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// natsURL is the test server: NATS with JetStream on 127.0.0.1:4222
// unless VIGIE_TEST_NATS_URL says otherwise. Without it the tests skip,
// unless CI=true.
func natsURL(t *testing.T) string {
	t.Helper()
	u := orDefault(os.Getenv("VIGIE_TEST_NATS_URL"), "nats://127.0.0.1:4222")
	nc, err := nats.Connect(u, nats.Timeout(5*time.Second))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("NATS is not reachable at %s: %v", u, err)
		}
		t.Skipf("NATS is not reachable at %s: %v", u, err)
	}
	nc.Close()
	return u
}

// natsStream is a unique stream and subject for one test, deleted at
// cleanup.
type natsStream struct {
	opts NATSOptions
	nc   *nats.Conn
	js   jetstream.JetStream
	base string // subjects are base + ".…"
}

func newNATSStream(t *testing.T) *natsStream {
	t.Helper()
	u := natsURL(t)
	id := fmt.Sprintf("%d_%d", os.Getpid(), time.Now().UnixNano())
	ns := &natsStream{base: "vigietest." + id}
	ns.opts = NATSOptions{URL: u, Subject: ns.base + ".>", Stream: "VIGIE_TEST_" + id, Durable: "vigie-test",
		AckWait: 2 * time.Second, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	var err error
	if ns.nc, err = nats.Connect(u); err != nil {
		t.Fatal(err)
	}
	if ns.js, err = jetstream.New(ns.nc); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := ns.js.AccountInfo(ctx); err != nil {
		t.Skipf("no JetStream at %s: %v", u, err)
	}
	// Created as the consumer creates it, so that nothing published
	// before the consumer starts is lost.
	if _, err := ns.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: ns.opts.Stream, Subjects: []string{ns.opts.Subject},
		Storage: jetstream.FileStorage, MaxMsgSize: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ns.js.DeleteStream(ctx, ns.opts.Stream)
		ns.nc.Close()
	})
	return ns
}

func (ns *natsStream) publish(t *testing.T, body string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := ns.js.Publish(ctx, ns.base+".nagios.paris.check.resource.h", []byte(body)); err != nil {
		t.Fatal(err)
	}
}

// settled says whether the durable consumer has nothing left to deliver
// and nothing waiting for an ack.
func (ns *natsStream) settled(t *testing.T) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := ns.js.Consumer(ctx, ns.opts.Stream, ns.opts.Durable)
	if err != nil {
		return false
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.NumPending == 0 && info.NumAckPending == 0 && info.NumRedelivered == 0
}

func startNATS(t *testing.T, opts NATSOptions, sink *recordSink) (*prometheus.Registry, func()) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts.Registerer = reg
	n, err := NewNATS(opts, sink)
	if err != nil {
		t.Fatal(err)
	}
	return reg, run(t, n.Run)
}

func TestNATSJetStreamConsumes(t *testing.T) {
	ns := newNATSStream(t)
	const n = 50
	for i := range n {
		ns.publish(t, canopsisJSON(fmt.Sprintf("h%d", i), i%4))
	}
	sink := &recordSink{}
	reg, stop := startNATS(t, ns.opts, sink)
	waitFor(t, "all events", func() bool { return len(sink.events()) == n })
	waitFor(t, "every message acknowledged", func() bool { return ns.settled(t) })
	stop()
	for i, ev := range sink.events() {
		if ev.Component != fmt.Sprintf("h%d", i) || ev.State != i%4 {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	if got := counterValue(t, reg, "vigie_events_received_total", map[string]string{"source": "nats"}); got != n {
		t.Fatalf("received counter %v", got)
	}
}

// A failing sink acknowledges nothing; once it recovers, every event
// arrives, including after a consumer restart.
func TestNATSFailingSinkRedelivers(t *testing.T) {
	ns := newNATSStream(t)
	const n = 10
	for i := range n {
		ns.publish(t, canopsisJSON(fmt.Sprintf("h%d", i), 3))
	}
	sink := &recordSink{}
	sink.setFail(errSinkDown)
	_, stop := startNATS(t, ns.opts, sink)
	waitFor(t, "the sink to be tried twice", func() bool { return sink.ingestCalls() >= 2 })
	stop()
	if ns.settled(t) {
		t.Fatal("messages acknowledged although the sink failed")
	}
	sink.setFail(nil)
	_, stop = startNATS(t, ns.opts, sink)
	waitFor(t, "every event once the sink is back", func() bool {
		seen := map[string]bool{}
		for _, ev := range sink.events() {
			seen[ev.Component] = true
		}
		return len(seen) == n
	})
	waitFor(t, "every message acknowledged", func() bool { return ns.settled(t) })
	stop()
}

// Malformed messages are refused, counted and never redelivered; the good
// ones pass.
func TestNATSMalformed(t *testing.T) {
	ns := newNATSStream(t)
	ns.publish(t, "not json")
	ns.publish(t, `{"connector":"a","connector_name":"b","event_type":"log","source_type":"component","component":"c","extra":1}`)
	ns.publish(t, `{"output":"`+strings.Repeat("x", 3000)+`"}`)
	ns.publish(t, canopsisJSON("good", 1))
	sink := &recordSink{}
	opts := ns.opts
	opts.MaxMessageBytes = 2048
	reg, stop := startNATS(t, opts, sink)
	waitFor(t, "the good event", func() bool { return len(sink.events()) == 1 })
	refused := func(r string) float64 {
		return counterValue(t, reg, "vigie_events_refused_total", map[string]string{"source": "nats", "reason": r})
	}
	waitFor(t, "the refusals", func() bool {
		return refused(ReasonParse) == 1 && refused(ReasonInvalid) == 1 && refused(ReasonTooLarge) == 1
	})
	waitFor(t, "nothing left to deliver", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := ns.js.Consumer(ctx, ns.opts.Stream, ns.opts.Durable)
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
	stop()
}

// Against a server without JetStream (the real nats-server binary, on
// its own port), events are read with a plain subscription.
func TestNATSWithoutJetStream(t *testing.T) {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("nats-server is missing")
		}
		t.Skip("nats-server is missing")
	}
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-a", "127.0.0.1", "-p", fmt.Sprint(port))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("nats-server logs:\n%s", logs.String())
		}
	})
	u := fmt.Sprintf("nats://127.0.0.1:%d", port)
	var nc *nats.Conn
	waitFor(t, "nats-server", func() bool {
		nc, err = nats.Connect(u)
		return err == nil
	})
	defer nc.Close()
	sink := &recordSink{}
	_, stop := startNATS(t, NATSOptions{URL: u, Subject: "canopsis.events.>"}, sink)
	// The subscription starts asynchronously: publish until one arrives.
	waitFor(t, "an event over core NATS", func() bool {
		nc.Publish("canopsis.events.x", []byte(canopsisJSON("core", 2)))
		nc.Flush()
		return len(sink.events()) > 0
	})
	stop()
	if ev := sink.events()[0]; ev.Component != "core" || ev.State != 2 {
		t.Fatalf("event %+v", ev)
	}
}

// When the connection drops, the client reconnects and the durable
// consumer goes on where it was.
func TestNATSReconnects(t *testing.T) {
	ns := newNATSStream(t)
	u := strings.TrimPrefix(ns.opts.URL, "nats://")
	proxy := newTCPProxy(t, u)
	opts := ns.opts
	opts.URL = "nats://" + proxy.ln.Addr().String()
	sink := &recordSink{}
	_, stop := startNATS(t, opts, sink)
	ns.publish(t, canopsisJSON("before", 1))
	waitFor(t, "the first event", func() bool { return len(sink.events()) == 1 })
	proxy.cut()
	ns.publish(t, canopsisJSON("after", 1))
	waitFor(t, "the event after the cut", func() bool {
		for _, ev := range sink.events() {
			if ev.Component == "after" {
				return true
			}
		}
		return false
	})
	waitFor(t, "every message acknowledged", func() bool { return ns.settled(t) })
	stop()
}
