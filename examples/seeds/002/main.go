// Seed 002 rebuilt with tickbeam: the course's end-to-end streaming
// architecture (live source -> streaming ingest -> stream processor -> data
// lake and warehouse -> visualization and notification), whose AWS option
// sends an SMS when a stock level falls below a value.
//
// Here the live source is tickbeam's synthetic feed (a seeded random walk;
// a vendor connection such as binance:?symbols=BTCUSDT takes its place
// unchanged), the stream processor is the monitor pipeline on Beam, the data
// lake its raw archive (dt=/hour= partitions), the warehouse its 1m bars
// (files here, bq:P.D.T on Google Cloud), and the notification a
// price_level rule that posts each alert to an SMS gateway's webhook,
// HMAC-signed. The gateway is played by a receiver on loopback that checks
// every signature, the way a real gateway's endpoint would.
//
//	go run ./examples/seeds/002
//
// The ingest step, on the Pub/Sub emulator (see README "Local GCP emulators"):
// tickbeam feed --input='synthetic:?symbols=BTCUSDT&rate=20' --to=pubsub:projects/P/topics/T,
// then this program's configuration with Input pubsub:projects/P/subscriptions/S.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/io/synthetic"
	"github.com/tickbeam/tickbeam/notify"
	"github.com/tickbeam/tickbeam/pipelines/monitor"
	"github.com/tickbeam/tickbeam/runners"
	"github.com/tickbeam/tickbeam/transforms/bars"
)

// SecretEnv holds the secret the pipeline signs webhooks with and the
// gateway checks them with; the rules file names the variable, never the
// secret.
const SecretEnv = "SMS_GATEWAY_SECRET"

// rulesYAML: an SMS when the price falls below level, re-armed once it is
// back above level + band, at most one per 15 minutes.
const rulesYAML = `notifiers:
  webhooks:
    - name: sms-gateway
      url: %s
      secret_env: ` + SecretEnv + `
rules:
  - name: below-level
    kind: price_level
    symbols: [%s]
    input: ticks
    direction: below
    threshold: %g
    band: %g
    cooldown: 15m
    severity: CRITICAL
    notify: [sms-gateway]
`

// Input is the seed's live source: BTCUSDT, one trade a second for 50
// minutes of event time, volatile enough to fall 2% (replayed at full
// speed).
const Input = "synthetic:?symbols=BTCUSDT&count=3000&rate=1&seed=2&vol=10&paced=false&start=2026-01-15T09:00:00Z"

// Level is 2% under the symbol's starting price.
func Level(symbol string) float64 { return synthetic.StartPrice(symbol) * 0.98 }

func main() {
	out := flag.String("out", "seed002-out", "directory receiving the raw archive, bars, alerts and dead letters")
	flag.Parse()
	beam.Init()
	if os.Getenv(SecretEnv) == "" {
		os.Setenv(SecretEnv, "a demo secret: set your gateway's")
	}
	if err := run(context.Background(), os.Stdout, Input, "BTCUSDT", *out); err != nil {
		fmt.Fprintln(os.Stderr, "seed002:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, input, symbol, out string) error {
	gw, err := startGateway(os.Getenv(SecretEnv))
	if err != nil {
		return err
	}
	defer gw.Close()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	rules := filepath.Join(out, "rules.yaml")
	level := Level(symbol)
	if err := os.WriteFile(rules, fmt.Appendf(nil, rulesYAML, gw.URL, symbol, level, level*0.005), 0o644); err != nil {
		return err
	}
	cfg := monitor.Config{Input: input, Bars: []bars.Resolution{bars.Resolution(time.Minute)},
		BarsOut: filepath.Join(out, "warehouse"), RawOut: filepath.Join(out, "lake"), DeadLetterOut: filepath.Join(out, "deadletters"),
		Rules: rules, AlertsOut: filepath.Join(out, "alerts"), Notify: true}
	r, err := monitor.Run(ctx, cfg, runners.Options{StopOnSignal: true})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d ticks of %s archived, 1m bars written; level %.2f\n", runners.Counter(r, "tickbeam/synthetic", "ticks"), symbol, level)
	for _, a := range gw.Received() {
		fmt.Fprintf(w, "SMS %s %s: %s\n", a.EventTime.Format(time.TimeOnly), a.Severity, a.Message)
	}
	return nil
}

// gateway is the SMS gateway's webhook endpoint: it accepts only requests
// signed with the shared secret, and each alert once.
type gateway struct {
	*http.Server
	URL    string
	secret string
	mu     sync.Mutex
	alerts map[string]tickbeam.Alert // by Idempotency-Key
}

func startGateway(secret string) (*gateway, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &gateway{URL: "http://" + l.Addr().String() + "/sms", secret: secret, alerts: map[string]tickbeam.Alert{}}
	g.Server = &http.Server{Handler: g}
	go g.Serve(l)
	return g, nil
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	ts := r.Header.Get("X-Tickbeam-Timestamp")
	if err == nil {
		err = notify.CheckTimestamp(ts, time.Now(), 5*time.Minute)
	}
	if err == nil {
		err = notify.VerifySignature(g.secret, ts, string(body), r.Header.Get("X-Tickbeam-Signature"))
	}
	var a tickbeam.Alert
	if err == nil {
		err = json.Unmarshal(body, &a)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	g.mu.Lock()
	g.alerts[r.Header.Get("Idempotency-Key")] = a
	g.mu.Unlock()
}

// Received returns the alerts delivered, in event-time order.
func (g *gateway) Received() []tickbeam.Alert {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []tickbeam.Alert
	for _, a := range g.alerts {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b tickbeam.Alert) int { return a.EventTime.Compare(b.EventTime) })
	return out
}
