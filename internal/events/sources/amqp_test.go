package sources

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
)

// amqpURL is the test broker: RabbitMQ on 127.0.0.1:5672 unless
// VIGIE_TEST_AMQP_URL says otherwise. Without it the tests skip, unless
// CI=true.
func amqpURL(t *testing.T) string {
	t.Helper()
	u := orDefault(os.Getenv("VIGIE_TEST_AMQP_URL"), "amqp://guest:guest@127.0.0.1:5672/")
	conn, err := amqp.Dial(u)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("RabbitMQ is not reachable at %s: %v", redactURL(u), err)
		}
		t.Skipf("RabbitMQ is not reachable at %s: %v", redactURL(u), err)
	}
	conn.Close()
	return u
}

// amqpTopology is a unique exchange and queue for one test, declared as
// the consumer declares them and deleted at cleanup.
type amqpTopology struct {
	url, exchange, queue, dead string
	conn                       *amqp.Connection
	ch                         *amqp.Channel
}

func newAMQPTopology(t *testing.T) *amqpTopology {
	t.Helper()
	u := amqpURL(t)
	name := fmt.Sprintf("vigie-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	tp := &amqpTopology{url: u, exchange: name + ".x", queue: name, dead: name + ".dead"}
	var err error
	if tp.conn, err = amqp.Dial(u); err != nil {
		t.Fatal(err)
	}
	if tp.ch, err = tp.conn.Channel(); err != nil {
		t.Fatal(err)
	}
	if err := tp.ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	a, _ := NewAMQP(tp.options(), nil)
	if err := a.declare(tp.ch); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		tp.ch.QueueDelete(tp.queue, false, false, false)
		tp.ch.QueueDelete(tp.dead, false, false, false)
		tp.ch.ExchangeDelete(tp.exchange, false, false)
		tp.conn.Close()
	})
	return tp
}

func (tp *amqpTopology) options() AMQPOptions {
	return AMQPOptions{URL: tp.url, Exchange: tp.exchange, Queue: tp.queue, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
}

func (tp *amqpTopology) publish(t *testing.T, key, body string) {
	t.Helper()
	conf, err := tp.ch.PublishWithDeferredConfirm(tp.exchange, key, false, false, amqp.Publishing{
		ContentType: "application/json", DeliveryMode: amqp.Persistent, Body: []byte(body),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !conf.Wait() {
		t.Fatal("publish not confirmed")
	}
}

// ready is the number of messages waiting in a queue (not delivered, or
// returned after their consumer went away).
func (tp *amqpTopology) ready(t *testing.T, queue string) int {
	t.Helper()
	q, err := tp.ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return q.Messages
}

func canopsisJSON(component string, state int) string {
	return fmt.Sprintf(`{"connector":"nagios","connector_name":"paris","event_type":"check","source_type":"resource",`+
		`"component":%q,"resource":"load","state":%d,"output":"load is %d","timestamp":1700000000}`, component, state, state)
}

func startAMQP(t *testing.T, opts AMQPOptions, sink *recordSink) (*prometheus.Registry, func()) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts.Registerer = reg
	a, err := NewAMQP(opts, sink)
	if err != nil {
		t.Fatal(err)
	}
	return reg, run(t, a.Run)
}

func TestAMQPConsumes(t *testing.T) {
	tp := newAMQPTopology(t)
	const n = 60
	for i := range n {
		tp.publish(t, fmt.Sprintf("nagios.paris.check.resource.host%d.load", i), canopsisJSON(fmt.Sprintf("host%d", i), i%4))
	}
	// An array counts as one message of two events.
	tp.publish(t, "nagios.paris.check.resource.pair", "["+canopsisJSON("a", 1)+","+canopsisJSON("b", 2)+"]")
	sink := &recordSink{}
	reg, stop := startAMQP(t, tp.options(), sink)
	waitFor(t, "all events", func() bool { return len(sink.events()) == n+2 })
	stop()
	evs := sink.events()
	seen := map[string]bool{}
	for _, ev := range evs {
		seen[ev.Component] = true
		if ev.Connector != "nagios" || ev.Resource != "load" || ev.Output != fmt.Sprintf("load is %d", ev.State) {
			t.Fatalf("event %+v", ev)
		}
	}
	if len(seen) != n+2 {
		t.Fatalf("%d distinct components, want %d", len(seen), n+2)
	}
	if got := tp.ready(t, tp.queue); got != 0 {
		t.Fatalf("%d messages left in the queue after the consumer stopped: not acknowledged", got)
	}
	if got := counterValue(t, reg, "vigie_events_received_total", map[string]string{"source": "amqp"}); got != n+2 {
		t.Fatalf("received counter %v", got)
	}
}

// A failing sink acknowledges nothing: every message is back in the queue
// once the consumer stops, and a new consumer stores them all.
func TestAMQPFailingSinkRedelivers(t *testing.T) {
	tp := newAMQPTopology(t)
	const n = 20
	for i := range n {
		tp.publish(t, "nagios.paris.check.resource.h.load", canopsisJSON(fmt.Sprintf("h%d", i), 2))
	}
	sink := &recordSink{}
	sink.setFail(errSinkDown)
	_, stop := startAMQP(t, tp.options(), sink)
	waitFor(t, "the sink to be tried twice", func() bool { return sink.ingestCalls() >= 2 })
	stop()
	waitFor(t, "every message back in the queue", func() bool { return tp.ready(t, tp.queue) == n })

	sink.setFail(nil)
	_, stop = startAMQP(t, tp.options(), sink)
	waitFor(t, "all events after the restart", func() bool { return len(sink.events()) == n })
	stop()
	if got := tp.ready(t, tp.queue); got != 0 {
		t.Fatalf("%d messages left after they were stored", got)
	}
}

// Malformed messages go to the dead-letter queue with the error in a
// header, are counted, and never block the good ones.
func TestAMQPDeadLetter(t *testing.T) {
	tp := newAMQPTopology(t)
	bad := []struct{ body, wantErr, reason string }{
		{"not json", "malformed JSON", ReasonParse},
		{`{"connector":"a","connector_name":"b","event_type":"log","source_type":"component","component":"c","colour":"red"}`, "colour: unknown field", ReasonInvalid},
		{canopsisJSON("x", 7), "state: must be an integer between 0 and 3", ReasonInvalid},
		{`{"output":"` + strings.Repeat("o", 3000) + `"}`, "larger than 2048 bytes", ReasonTooLarge},
	}
	tp.publish(t, "k.good1", canopsisJSON("good1", 1))
	for _, b := range bad {
		tp.publish(t, "k.bad", b.body)
	}
	tp.publish(t, "k.good2", canopsisJSON("good2", 1))
	sink := &recordSink{}
	opts := tp.options()
	opts.MaxMessageBytes = 2048
	reg, stop := startAMQP(t, opts, sink)
	waitFor(t, "the good events and the dead letters", func() bool {
		return len(sink.events()) == 2 && tp.ready(t, tp.dead) == len(bad)
	})
	stop()
	if got := tp.ready(t, tp.queue); got != 0 {
		t.Fatalf("%d messages left in the queue", got)
	}
	for i, b := range bad {
		d, ok, err := tp.ch.Get(tp.dead, true)
		if err != nil || !ok {
			t.Fatalf("dead letter %d: %v %v", i, ok, err)
		}
		if string(d.Body) != b.body || !strings.Contains(fmt.Sprint(d.Headers["x-vigie-error"]), b.wantErr) ||
			d.Headers["x-vigie-reason"] != b.reason || d.Headers["x-original-routing-key"] != "k.bad" {
			t.Fatalf("dead letter %d: headers %v", i, d.Headers)
		}
	}
	for _, r := range []string{ReasonParse, ReasonInvalid, ReasonTooLarge} {
		want := 0.0
		for _, b := range bad {
			if b.reason == r {
				want++
			}
		}
		if got := counterValue(t, reg, "vigie_events_refused_total", map[string]string{"source": "amqp", "reason": r}); got != want {
			t.Fatalf("refused{reason=%s} = %v, want %v", r, got, want)
		}
	}
}

// tcpProxy stands between the consumer and the real broker so that a test
// can cut the connection as a broker restart or a network cut would.
type tcpProxy struct {
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	target string
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

// cut closes every connection through the proxy.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *tcpProxy) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// When the connection drops, the consumer reconnects and goes on.
func TestAMQPReconnects(t *testing.T) {
	tp := newAMQPTopology(t)
	u, _ := url.Parse(tp.url)
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	opts := tp.options()
	opts.URL = u.String()
	sink := &recordSink{}
	_, stop := startAMQP(t, opts, sink)
	tp.publish(t, "k", canopsisJSON("before", 1))
	waitFor(t, "the first event", func() bool { return len(sink.events()) == 1 })
	proxy.cut()
	tp.publish(t, "k", canopsisJSON("after", 1))
	waitFor(t, "the event after the cut", func() bool {
		evs := sink.events()
		return len(evs) >= 2 && evs[len(evs)-1].Component == "after"
	})
	if proxy.connections() == 0 {
		t.Fatal("no new connection through the proxy")
	}
	stop()
}
