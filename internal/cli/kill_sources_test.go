package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/vigie-monitoring/vigie/internal/testenv"
)

// The kill -9 proofs of the event sources whose senders keep what vigie
// has not acknowledged: RELP (rsyslog omrelp), AMQP (RabbitMQ) and NATS
// JetStream. Each sends n events, each opening an alarm of its own
// (component <source>-<i>), kills the server with SIGKILL while it
// stores them, restarts it on the same port and data directory, and
// waits until every one of the n alarms is there: the sender sends again
// what was not acknowledged, and what was acknowledged must have been
// stored. Duplicates are allowed (at-least-once) and counted.

const killN = 5000

// killRun is one server under test: its data dir and addresses stay
// across the restart.
type killRun struct {
	t      *testing.T
	dir    string
	addr   string
	env    []string
	cmd    *exec.Cmd
	client *http.Client
}

func newKillRun(t *testing.T, env ...string) *killRun {
	if testing.Short() {
		t.Skip("starts the server twice")
	}
	k := &killRun{t: t, dir: t.TempDir(), addr: freeAddr(t), env: env, client: &http.Client{Timeout: 10 * time.Second}}
	t.Cleanup(func() {
		if k.cmd == nil {
			return
		}
		k.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { k.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Errorf("the server did not stop 15s after SIGTERM")
			k.cmd.Process.Kill()
			<-done
		}
	})
	return k
}

func (k *killRun) start() { k.cmd = startServerProcess(k.t, k.dir, k.addr, k.env...) }

func (k *killRun) kill() {
	k.cmd.Process.Signal(syscall.SIGKILL)
	k.cmd.Wait()
	k.cmd = nil
}

// received is the server's vigie_events_received_total for source, 0
// when it cannot tell.
func (k *killRun) received(source string) float64 {
	resp, err := k.client.Get("http://" + k.addr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	prefix := `vigie_events_received_total{source="` + source + `"} `
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// killWhen waits until the server stored at least n events of source
// (and no more than all of them), then kills it.
func (k *killRun) killWhen(source string, n float64) {
	deadline := time.Now().Add(20 * time.Second)
	for k.received(source) < n {
		if time.Now().After(deadline) {
			k.t.Fatalf("the server stored %v events of %s in 20s, not %v", k.received(source), source, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	k.kill()
}

// alarms is the event count of every alarm of connector, by component.
func (k *killRun) alarms(connector string) map[string]int64 {
	have := map[string]int64{}
	for cursor := ""; ; {
		var page struct {
			Items []struct {
				Component string `json:"component"`
				Count     int64  `json:"count"`
			} `json:"items"`
			Next string `json:"next_cursor"`
		}
		req, _ := http.NewRequest("GET", "http://"+k.addr+"/api/v1/alarms?connector="+connector+"&limit=1000&cursor="+cursor, nil)
		req.SetBasicAuth("admin", "kill-test-pw")
		resp, err := k.client.Do(req)
		if err != nil {
			k.t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			k.t.Fatal(err)
		}
		for _, a := range page.Items {
			have[a.Component] += a.Count
		}
		if cursor = page.Next; cursor == "" {
			return have
		}
	}
}

// waitAll waits until the n alarms prefix-0 … prefix-(n-1) of connector
// are there, and returns the events they count beyond one each.
func (k *killRun) waitAll(connector, prefix string, n int) (duplicates int64) {
	deadline := time.Now().Add(25 * time.Second)
	for {
		have := k.alarms(connector)
		missing := 0
		var first string
		duplicates = 0
		for i := range n {
			c := fmt.Sprintf("%s-%d", prefix, i)
			if have[c] == 0 {
				if missing == 0 {
					first = c
				}
				missing++
			}
			duplicates += max(have[c]-1, 0)
		}
		if missing == 0 {
			return duplicates
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("%d of %d events missing after the restart (first: %s)", missing, n, first)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestKill9RELP runs on SQLite and on PostgreSQL.
func TestKill9RELP(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server twice")
	}
	t.Run("sqlite", func(t *testing.T) { kill9RELP(t, nil) })
	t.Run("postgres", func(t *testing.T) {
		kill9RELP(t, []string{"VIGIE_STORAGE_DRIVER=postgres", "VIGIE_STORAGE_DSN=" + pgDatabase(t)})
	})
}

func kill9RELP(t *testing.T, store []string) {
	relpAddr := freeAddr(t)
	k := newKillRun(t, append(store, "VIGIE_SYSLOG_RELP_LISTEN="+relpAddr)...)
	watch := newRELPWatch(t, relpAddr)
	input, _ := testenv.Rsyslog(t, watch.addr())
	k.start()

	conn, err := net.Dial("tcp", input)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Severity err (3): each message opens an alarm on its host.
	var buf bytes.Buffer
	for i := range killN {
		fmt.Fprintf(&buf, "<11>1 2026-01-02T03:04:05Z relp-%d kill - - - message %d\n", i, i)
	}
	if _, err := conn.Write(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	k.killWhen("relp", killN/5)
	time.Sleep(200 * time.Millisecond) // the answers written before the kill reach the watch
	acked := watch.ackedSet()
	if len(acked) == 0 || len(acked) >= killN {
		t.Fatalf("%d messages answered before the kill: the kill did not land during the load", len(acked))
	}
	k.start()
	dups := k.waitAll("syslog", "relp", killN)
	have := k.alarms("syslog")
	for c := range acked {
		if have[c] == 0 {
			t.Fatalf("%s was answered 200 OK before the kill and is lost", c)
		}
	}
	t.Logf("RELP: %d messages answered 200 OK before SIGKILL; after the restart all %d are in their alarms, %d duplicates (resent by rsyslog)",
		len(acked), killN, dups)
}

// relpWatch stands between rsyslog and vigie and notes which messages
// vigie answered 200 OK: the test knows what was acknowledged when the
// server died.
type relpWatch struct {
	t      *testing.T
	ln     net.Listener
	target string
	mu     sync.Mutex
	acked  map[string]bool // hosts of the messages answered 200 OK
}

func newRELPWatch(t *testing.T, target string) *relpWatch {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &relpWatch{t: t, ln: ln, target: target, acked: map[string]bool{}}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go w.proxy(c)
		}
	}()
	return w
}

func (w *relpWatch) addr() string { return w.ln.Addr().String() }

func (w *relpWatch) ackedSet() map[string]bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]bool, len(w.acked))
	for k := range w.acked {
		out[k] = true
	}
	return out
}

var relpOK = regexp.MustCompile(`^(\d+) rsp 6 200 OK\n$`)

func (w *relpWatch) proxy(c net.Conn) {
	defer c.Close()
	s, err := net.DialTimeout("tcp", w.target, time.Second)
	if err != nil {
		return // vigie is down: rsyslog tries again
	}
	defer s.Close()
	var mu sync.Mutex
	hosts := map[int]string{} // txnr → host of this session's messages
	go func() {
		defer s.Close()
		defer c.Close()
		r := bufio.NewReader(c)
		for {
			txnr, cmd, data, err := readTestFrame(r)
			if err != nil {
				return
			}
			if cmd == "syslog" {
				if f := strings.Fields(string(data)); len(f) > 2 {
					mu.Lock()
					hosts[txnr] = f[2]
					mu.Unlock()
				}
			}
			frame := fmt.Sprintf("%d %s %d", txnr, cmd, len(data))
			if len(data) > 0 {
				frame += " " + string(data)
			}
			if _, err := io.WriteString(s, frame+"\n"); err != nil {
				return
			}
		}
	}()
	r := bufio.NewReader(s)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if m := relpOK.FindStringSubmatch(line); m != nil {
			txnr, _ := strconv.Atoi(m[1])
			mu.Lock()
			h := hosts[txnr]
			mu.Unlock()
			w.mu.Lock()
			w.acked[h] = true
			w.mu.Unlock()
		}
		if _, err := io.WriteString(c, line); err != nil {
			return
		}
	}
}

// readTestFrame reads a RELP frame from rsyslog, trusted here.
func readTestFrame(r *bufio.Reader) (txnr int, cmd string, data []byte, err error) {
	head, err := r.ReadString(' ')
	if err != nil {
		return
	}
	txnr, _ = strconv.Atoi(strings.TrimSpace(head))
	if cmd, err = r.ReadString(' '); err != nil {
		return
	}
	cmd = strings.TrimSpace(cmd)
	var size int
	for {
		b, err := r.ReadByte()
		if err != nil {
			return 0, "", nil, err
		}
		if b < '0' || b > '9' {
			if size > 0 {
				data = make([]byte, size)
				if _, err := io.ReadFull(r, data); err != nil {
					return 0, "", nil, err
				}
				_, err = r.ReadByte() // the trailer
			}
			return txnr, cmd, data, err
		}
		size = size*10 + int(b-'0')
	}
}

func killEventJSON(connectorName, component string) []byte {
	return fmt.Appendf(nil, `{"connector":"kill","connector_name":%q,"event_type":"check","source_type":"component","component":%q,"state":2,"output":"x"}`,
		connectorName, component)
}

// TestKill9AMQP runs on SQLite and on PostgreSQL.
func TestKill9AMQP(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server twice")
	}
	t.Run("sqlite", func(t *testing.T) { kill9AMQP(t, nil) })
	t.Run("postgres", func(t *testing.T) {
		kill9AMQP(t, []string{"VIGIE_STORAGE_DRIVER=postgres", "VIGIE_STORAGE_DSN=" + pgDatabase(t)})
	})
}

func kill9AMQP(t *testing.T, store []string) {
	u := "amqp://guest:guest@127.0.0.1:5672/"
	conn, err := amqp.Dial(u)
	testenv.Need(t, err == nil, fmt.Sprintf("RabbitMQ is not reachable at 127.0.0.1:5672: %v", err))
	defer conn.Close()
	// A topology of its own: tests run in parallel on one broker.
	id := fmt.Sprintf("vigie-kill-%d-%d", os.Getpid(), time.Now().UnixNano())
	exchange, queue := "canopsis.events."+id, id
	k := newKillRun(t, append(store, "VIGIE_AMQP_URL="+u, "VIGIE_AMQP_EXCHANGE="+exchange, "VIGIE_AMQP_QUEUE="+queue)...)
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ch.QueueDelete(queue, false, false, false)
		ch.QueueDelete(queue+".dead", false, false, false)
		ch.ExchangeDelete(exchange, false, false)
	})
	// Declared here as vigie declares them, before anything is
	// published: a message to an exchange without its queue bound yet
	// would be dropped by the broker, not lost by vigie.
	if err := ch.ExchangeDeclare(exchange, "topic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{queue, queue + ".dead"} {
		if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.QueueBind(queue, "#", exchange, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	k.start()
	published := make(chan error, 1)
	go func() {
		// Every message confirmed by the broker: then it is the
		// broker's to keep until vigie acknowledges it.
		var confs []*amqp.DeferredConfirmation
		for i := range killN {
			key := fmt.Sprintf("kill.amqp.check.component.amqp-%d", i)
			c, err := ch.PublishWithDeferredConfirm(exchange, key, false, false, amqp.Publishing{
				ContentType: "application/json", DeliveryMode: amqp.Persistent, Body: killEventJSON("amqp", fmt.Sprintf("amqp-%d", i)),
			})
			if err != nil {
				published <- err
				return
			}
			confs = append(confs, c)
		}
		for _, c := range confs {
			if !c.Wait() {
				published <- fmt.Errorf("a publish was not confirmed")
				return
			}
		}
		published <- nil
	}()
	k.killWhen("amqp", killN/5)
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	// What vigie acknowledged is gone from the queue; the broker puts
	// back what it had delivered and not acknowledged once the
	// connection is seen closed.
	var ready int
	deadline := time.Now().Add(10 * time.Second)
	for {
		q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if q.Consumers == 0 {
			ready = q.Messages
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the broker still sees vigie's consumer 10s after the kill")
		}
		time.Sleep(50 * time.Millisecond)
	}
	acked := killN - ready
	if acked == 0 || acked == killN {
		t.Fatalf("%d messages acknowledged before the kill: the kill did not land during the load", acked)
	}
	k.start()
	dups := k.waitAll("kill", "amqp", killN)
	t.Logf("AMQP: %d messages acknowledged by vigie before SIGKILL; after the restart all %d are in their alarms, %d duplicates (redelivered by RabbitMQ)",
		acked, killN, dups)
}

// TestKill9NATS runs on SQLite and on PostgreSQL.
func TestKill9NATS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server twice")
	}
	t.Run("sqlite", func(t *testing.T) { kill9NATS(t, nil) })
	t.Run("postgres", func(t *testing.T) {
		kill9NATS(t, []string{"VIGIE_STORAGE_DRIVER=postgres", "VIGIE_STORAGE_DSN=" + pgDatabase(t)})
	})
}

func kill9NATS(t *testing.T, store []string) {
	u := "nats://127.0.0.1:4222"
	nc, err := nats.Connect(u, nats.Timeout(5*time.Second))
	testenv.Need(t, err == nil, fmt.Sprintf("NATS is not reachable at %s: %v", u, err))
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	testenv.Need(t, err == nil, fmt.Sprintf("no JetStream at %s: %v", u, err))
	id := fmt.Sprintf("%d_%d", os.Getpid(), time.Now().UnixNano())
	subject, stream, durable := "vigiekill."+id, "VIGIE_KILL_"+id, "vigie-kill"
	// ack_wait 2s: what was delivered to the killed server and not
	// acknowledged comes back 2s later, not after the default 30s.
	k := newKillRun(t, append(store, "VIGIE_NATS_URL="+u, "VIGIE_NATS_SUBJECT="+subject+".>", "VIGIE_NATS_STREAM="+stream,
		"VIGIE_NATS_DURABLE="+durable, "VIGIE_NATS_ACK_WAIT=2s")...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		js.DeleteStream(ctx, stream)
	})
	// Created here as vigie creates it, so that no publish can come
	// before the stream exists.
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{subject + ".>"},
		Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	k.start()
	published := make(chan error, 1)
	go func() {
		// Every message acknowledged by JetStream: stored in the stream
		// until vigie acknowledges it.
		var acks []jetstream.PubAckFuture
		for i := range killN {
			subj := fmt.Sprintf("%s.kill.nats.check.component.nats-%d", subject, i)
			f, err := js.PublishAsync(subj, killEventJSON("nats", fmt.Sprintf("nats-%d", i)))
			if err != nil {
				published <- err
				return
			}
			acks = append(acks, f)
		}
		for _, f := range acks {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				published <- err
				return
			case <-ctx.Done():
				published <- ctx.Err()
				return
			}
		}
		published <- nil
	}()
	k.killWhen("nats", killN/5)
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	cons, err := js.Consumer(ctx, stream, durable)
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	acked := killN - int(info.NumPending) - info.NumAckPending
	if acked <= 0 || acked >= killN {
		t.Fatalf("%d messages acknowledged before the kill: the kill did not land during the load", acked)
	}
	k.start()
	dups := k.waitAll("kill", "nats", killN)
	t.Logf("NATS: %d messages acknowledged by vigie before SIGKILL; after the restart all %d are in their alarms, %d duplicates (redelivered by JetStream)",
		acked, killN, dups)
}
