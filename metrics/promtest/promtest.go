// Package promtest starts a real Prometheus server for tests: the Debian
// package's binary (installed by scripts/testtools.sh), on loopback,
// scraping one target every 250 ms, and queries it through its HTTP API.
package promtest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a running Prometheus server.
type Server struct {
	// API is its base URL, http://127.0.0.1:PORT.
	API string
}

// Start starts Prometheus scraping target (host:port, path /metrics) and
// waits until it has tried to scrape it once; it stops with the test, logging its log if the
// test failed. A missing binary fails the test: make test installs it.
func Start(t testing.TB, target string) *Server {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not installed (make test installs it: bash scripts/testtools.sh): %v", err)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 250ms
  scrape_timeout: 200ms
scrape_configs:
  - job_name: tickbeam
    static_configs:
      - targets: [%q]
`, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Logf("prometheus log:\n%s", b)
		}
	})
	p := &Server{API: "http://" + addr}
	deadline := time.Now().Add(30 * time.Second)
	for !p.scraping(target) {
		if time.Now().After(deadline) {
			t.Fatalf("prometheus on %s has not tried to scrape %s after 30 s", addr, target)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return p
}

// scraping reports whether Prometheus has tried to scrape target, up or
// not: its discovery hands new targets to the scrapers only every 5 s, so a
// short run started before then would go unseen.
func (p *Server) scraping(target string) bool {
	resp, err := http.Get(p.API + "/api/v1/targets")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			ActiveTargets []struct {
				ScrapeURL  string    `json:"scrapeUrl"`
				LastScrape time.Time `json:"lastScrape"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil {
		return false
	}
	for _, a := range body.Data.ActiveTargets {
		if strings.Contains(a.ScrapeURL, "//"+target+"/") && a.LastScrape.Year() > 2000 {
			return true
		}
	}
	return false
}

// FreeAddr returns a loopback address with a free port, for a server a
// test starts later (the target Prometheus scrapes).
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Sample is one series of an instant query (Value) or a range query
// (Values): [unix seconds, "value"] pairs.
type Sample struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
	Values [][]any           `json:"values"`
}

// Query runs a query at path (/api/v1/query or /api/v1/query_range) and
// returns its series; a query Prometheus rejects fails the test.
func (p *Server) Query(t testing.TB, path string, params url.Values) []Sample {
	t.Helper()
	resp, err := http.Get(p.API + path + "?" + params.Encode())
	if err != nil {
		t.Fatalf("query prometheus: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []Sample `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("query %v: %v %s", params, err, body.Error)
	}
	return body.Data.Result
}

// Instant returns the value of an instant query with one series, and
// whether there was exactly one.
func (p *Server) Instant(t testing.TB, q string) (float64, bool) {
	t.Helper()
	res := p.Query(t, "/api/v1/query", url.Values{"query": {q}})
	if len(res) != 1 {
		return 0, false
	}
	return Value(t, res[0].Value), true
}

// Value reads a [time, "value"] pair.
func Value(t testing.TB, pair []any) float64 {
	t.Helper()
	s, _ := pair[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("sample %v: %v", pair, err)
	}
	return v
}

// WaitFor polls q for up to 20 s until it has one series equal to want,
// and reports an error otherwise.
func (p *Server) WaitFor(t testing.TB, q string, want float64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var got float64
	var ok bool
	for time.Now().Before(deadline) {
		if got, ok = p.Instant(t, q); ok && got == want {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("prometheus %s = %v (found: %v), want %v", q, got, ok, want)
}
