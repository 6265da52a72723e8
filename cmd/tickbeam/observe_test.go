package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func freeLoopback(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer is a bytes.Buffer safe to read while run writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// monitor --metrics_addr serves the run's counters while it runs (the
// metrics package tests them against a real Prometheus server).
func TestMonitorMetricsAddr(t *testing.T) {
	addr := freeLoopback(t)
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- run(context.Background(), []string{"monitor", "--input=synthetic:?symbols=AAA&rate=50&seed=1&paced=true",
			"--bar=1s", "--bars_out=" + t.TempDir(), "--duration=6s", "--metrics_addr=" + addr}, &stdout, &stderr)
	}()
	var scraped string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(scraped, "tickbeam_freshness_seconds") {
		time.Sleep(250 * time.Millisecond)
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		scraped = string(b)
	}
	if code := <-done; code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	for _, want := range []string{"tickbeam_pipeline_up 1", "tickbeam_synthetic_ticks_total ", `tickbeam_freshness_seconds{source="synthetic"}`} {
		if !strings.Contains(scraped, want) {
			t.Errorf("a scrape during the run lacks %q:\n%s", want, scraped)
		}
	}
	if !strings.Contains(stderr.String(), "Prometheus metrics at http://"+addr+"/metrics") {
		t.Errorf("stderr does not say where the metrics are:\n%s", stderr.String())
	}
	if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
		t.Error("the metrics server still answers after the run")
	}
}

func TestMonitorMetricsAddrErrors(t *testing.T) {
	for _, c := range []struct{ args, want string }{
		{"--metrics_addr=nonsense", `metrics address "nonsense": want host:port`},
		{"--metrics_addr=:9464 --runner=dataflow --bars_out=gs://b/bars", "local runner"},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"monitor", "--input=testdata/binance-small.jsonl", "--format=binance", "--bars_out=" + t.TempDir()}, strings.Fields(c.args)...)
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("%s: exit %d, want 2", c.args, code)
		}
		if !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%s: stderr %q lacks %q", c.args, stderr.String(), c.want)
		}
	}
}

// monitor --ui serves the page, its script and the bars as events while the
// run goes on (the dashboard package draws them in Chromium).
func TestMonitorUI(t *testing.T) {
	addr := freeLoopback(t)
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- run(context.Background(), []string{"monitor", "--input=synthetic:?symbols=AAA&rate=50&seed=1&paced=true",
			"--bar=1s", "--bars_out=" + t.TempDir(), "--duration=5s", "--ui=" + addr}, &stdout, &stderr)
	}()
	get := func(path string) string {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return string(b)
	}
	var page, script string
	for i := 0; i < 40 && page == ""; i++ {
		time.Sleep(100 * time.Millisecond)
		page = get("/")
	}
	script = get("/app.js")
	// The event stream, read until a bar arrives.
	gotBar := make(chan bool, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/events")
		if err != nil {
			gotBar <- false
			return
		}
		defer resp.Body.Close()
		buf := make([]byte, 64<<10)
		var seen strings.Builder
		for !strings.Contains(seen.String(), `"type":"bar"`) {
			n, err := resp.Body.Read(buf)
			seen.Write(buf[:n])
			if err != nil {
				gotBar <- false
				return
			}
		}
		gotBar <- true
	}()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(page, `<script src="app.js">`) || !strings.Contains(script, "EventSource") {
		t.Errorf("page or script not served: page %d bytes, script %d bytes", len(page), len(script))
	}
	if !<-gotBar {
		t.Error("no bar event on /events during the run")
	}
	if !strings.Contains(stderr.String(), "live dashboard at http://"+addr+"/") {
		t.Errorf("stderr does not say where the dashboard is:\n%s", stderr.String())
	}
}
