package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigie-monitoring/vigie/internal/metrics"
	"github.com/vigie-monitoring/vigie/internal/metrics/remote"
	"github.com/vigie-monitoring/vigie/internal/prompeer"
)

type ingest struct {
	elapsed time.Duration
	samples int
}

func (r ingest) rate() float64 { return float64(r.samples) / r.elapsed.Seconds() }

// compareRemoteWrite sends the same samples through remote write (vigie's
// client, one connection, sequential requests of batch samples) to
// vigie's own receiver and to Debian's Prometheus, and prints ingestion
// time and disk use of both beside the in-process figures.
func compareRemoteWrite(hosts int, span time.Duration, batch int, inProc result) {
	bin := prompeer.Find()
	if bin == "" {
		fmt.Println("remote write: prometheus not installed, comparison skipped (apt install prometheus, or scripts/install-deps.sh --bench)")
		return
	}
	ctx := context.Background()
	t0 := time.Now()
	var bodies [][]byte
	var wire int64
	total := 0
	start := time.Now().Add(-span).Truncate(time.Hour) // as store does
	generate(hosts, start, span, batch, "", func(b []metrics.Sample) {
		body, err := remote.EncodeWriteRequest(b)
		must(err)
		bodies = append(bodies, body)
		wire += int64(len(body))
		total += len(b)
	})
	fmt.Printf("remote write of the same %d samples: %d requests of %d samples, one connection, in sequence; %.1f MB snappy protobuf, encoded in %.1f s\n",
		total, len(bodies), batch, float64(wire)/1e6, time.Since(t0).Seconds())

	// vigie's receiver, into a store of its own.
	vroot, err := os.MkdirTemp("", "vigie-bench-rw-")
	must(err)
	defer os.RemoveAll(vroot)
	// The rollup tiers go beside the store, inside vroot.
	vdir := filepath.Join(vroot, "tsdb")
	vdb, err := metrics.Open(vdir, metrics.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	must(err)
	defer vdb.Close()
	rcv := remote.NewReceiver(vdb, remote.Limits{}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if err := rcv.Receive(r.Context(), r.Header, r.Body); err != nil {
			var e *remote.Error
			status := http.StatusInternalServerError
			if errors.As(err, &e) {
				status = e.Status
			}
			http.Error(rw, err.Error(), status)
			return
		}
		rw.WriteHeader(http.StatusNoContent)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	vr, err := send(ctx, "http://"+ln.Addr().String()+"/api/v1/write", bodies, total)
	must(err)
	vDir := prompeer.DirSize(vdir)
	must(vdb.Compact(ctx))
	vSamples, vBytes := vdb.BlockStats()

	// Prometheus, admin API on for a snapshot of everything as blocks.
	pdir, err := os.MkdirTemp("", "vigie-bench-prometheus-")
	must(err)
	if os.Getenv("VIGIE_BENCH_KEEP") == "" {
		defer os.RemoveAll(pdir)
	} else {
		fmt.Println("prometheus dir:", pdir)
	}
	version := "prometheus"
	if out, err := exec.Command(bin, "--version").Output(); err == nil {
		version = strings.Replace(strings.TrimSpace(strings.SplitN(string(out), "(", 2)[0]), ", version", "", 1)
	}
	p, err := prompeer.Start(ctx, bin, pdir, "", "--web.enable-admin-api")
	must(err)
	defer p.Stop()
	pr, err := send(ctx, p.URL()+"/api/v1/write", bodies, total)
	must(err)
	data := filepath.Join(pdir, "data")
	blocks, wal, head := prometheusSizes(data)
	fmt.Printf("  waiting for Prometheus to finish cutting blocks…\n")
	pBlockSamples, pBlockBytes := settledBlocks(data, time.Minute)
	stored := "?"
	if n, err := storedSamples(ctx, p, start.Add(span)); err == nil {
		stored = fmt.Sprint(n)
	} else {
		fmt.Println("  counting what Prometheus stored:", err)
	}
	snap, err := snapshotSize(ctx, p, data)
	must(err)

	vPer, pPer := float64(vBytes)/float64(max(vSamples, 1)), float64(snap)/float64(total)
	fmt.Printf("  vigie receiver:       %6.1f s, %9.0f samples/s\n", vr.elapsed.Seconds(), vr.rate())
	fmt.Printf("    data dir right after ingestion: %d bytes (WAL and head)\n", vDir)
	fmt.Printf("    blocks after compaction: %d samples, %d bytes = %.2f bytes/sample (the last hours stay in the head, as in Prometheus)\n", vSamples, vBytes, vPer)
	fmt.Printf("  %-20s %6.1f s, %9.0f samples/s; %s samples stored (PromQL count)\n", version+":", pr.elapsed.Seconds(), pr.rate(), stored)
	fmt.Printf("    data dir right after ingestion: %d bytes (blocks %d, WAL %d, head chunks %d)\n", blocks+wal+head, blocks, wal, head)
	pbPer := float64(pBlockBytes) / float64(max(pBlockSamples, 1))
	fmt.Printf("    blocks it cut by itself: %d samples, %d bytes = %.2f bytes/sample\n", pBlockSamples, pBlockBytes, pbPer)
	fmt.Printf("    everything as blocks (admin snapshot, head included): %d samples, %d bytes = %.2f bytes/sample\n", total, snap, pPer)
	fmt.Printf("  prometheus / vigie: ingestion time %.2fx, data dir after ingestion %.2fx, bytes/sample in blocks %.2fx\n",
		pr.elapsed.Seconds()/vr.elapsed.Seconds(), float64(blocks+wal+head)/float64(max(vDir, 1)), pbPer/vPer)
	fmt.Printf("  in-process appender (above) / vigie receiver: %.1fx faster (no HTTP, no protobuf)\n",
		float64(inProc.written)/inProc.elapsed.Seconds()/vr.rate())
}

// send posts the bodies in order with vigie's remote-write client.
func send(ctx context.Context, url string, bodies [][]byte, total int) (ingest, error) {
	c, err := remote.NewClient(remote.Target{Name: "bench", URL: url, Timeout: time.Minute})
	if err != nil {
		return ingest{}, err
	}
	t0 := time.Now()
	for i, b := range bodies {
		if err := c.Send(ctx, b); err != nil {
			return ingest{}, fmt.Errorf("request %d to %s: %w", i, url, err)
		}
	}
	return ingest{elapsed: time.Since(t0), samples: total}, nil
}

// prometheusSizes splits a Prometheus data directory: blocks, WAL and the
// head's memory-mapped chunks.
func prometheusSizes(data string) (blocks, wal, head int64) {
	entries, _ := os.ReadDir(data)
	for _, e := range entries {
		p := filepath.Join(data, e.Name())
		switch {
		case e.Name() == "wal":
			wal += prompeer.DirSize(p)
		case e.Name() == "chunks_head":
			head += prompeer.DirSize(p)
		case e.IsDir() && e.Name() != "snapshots":
			blocks += prompeer.DirSize(p)
		}
	}
	return blocks, wal, head
}

// storedSamples counts the samples Prometheus holds, one metric name at a
// time (count_over_time drops the name, so that series differing only by
// it would collide).
func storedSamples(ctx context.Context, p *prompeer.Server, at time.Time) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+"/api/v1/label/__name__/values", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var names struct {
		Data []string `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&names); err != nil {
		return 0, err
	}
	total := 0
	for _, n := range names.Data {
		res, err := p.Query(ctx, fmt.Sprintf("sum(count_over_time(%s[1y]))", n), at)
		if err != nil {
			return 0, err
		}
		if len(res) == 1 {
			total += int(res[0].Points[0].V)
		}
	}
	return total, nil
}

// settledBlocks waits (at most max) until the blocks in a Prometheus data
// directory stop changing, and returns their samples (from each block's
// meta.json) and bytes.
func settledBlocks(data string, max time.Duration) (samples uint64, bytes int64) {
	deadline := time.Now().Add(max)
	last, stable := int64(-1), 0
	for time.Now().Before(deadline) && stable < 3 {
		b, _, _ := prometheusSizes(data)
		if b == last {
			stable++
		} else {
			stable, last = 0, b
		}
		time.Sleep(time.Second)
	}
	entries, _ := os.ReadDir(data)
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(data, e.Name(), "meta.json"))
		if err != nil {
			continue
		}
		var meta struct {
			Stats struct {
				NumSamples uint64 `json:"numSamples"`
			} `json:"stats"`
		}
		if json.Unmarshal(raw, &meta) == nil {
			samples += meta.Stats.NumSamples
			bytes += prompeer.DirSize(filepath.Join(data, e.Name()))
		}
	}
	return samples, bytes
}

// snapshotSize asks Prometheus for a snapshot (head included, written as
// a block) and returns its size: all the data persisted as blocks, as
// vigie's figure after compaction.
func snapshotSize(ctx context.Context, p *prompeer.Server, data string) (int64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.URL()+"/api/v1/admin/tsdb/snapshot", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var ans struct {
		Data struct {
			Name string `json:"name"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&ans); err != nil || ans.Data.Name == "" {
		return 0, fmt.Errorf("prometheus snapshot: %s, %v", resp.Status, err)
	}
	return prompeer.DirSize(filepath.Join(data, "snapshots", ans.Data.Name)), nil
}
