package monitor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/io/bigqueryx"
	"github.com/tickbeam/tickbeam/io/endpoint"
	"github.com/tickbeam/tickbeam/runners"
	"github.com/tickbeam/tickbeam/transforms/bars"
)

// build resolves c for the local runner and builds it, as Run does.
func build(s beam.Scope, c Config) error {
	p, err := c.Resolve(runners.Local)
	if err != nil {
		return err
	}
	return Build(s, p)
}

const priceRule = "rules:\n  - name: any-price\n    kind: price_level\n    input: ticks\n    direction: above\n    threshold: 0.01\n    cooldown: 24h\n    severity: INFO\n"

// Resolve applies each runner's policy and parses every setting into typed
// values; a bad setting is one error naming its flag.
func TestResolve(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte(priceRule), 0o644); err != nil {
		t.Fatal(err)
	}
	rsiRules := filepath.Join(dir, "rsi.yaml")
	if err := os.WriteFile(rsiRules, []byte("rules:\n  - {name: rsi, kind: rsi, input: indicators, overbought: 70}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	changeRules := filepath.Join(dir, "change.yaml")
	if err := os.WriteFile(changeRules, []byte("rules:\n  - {name: move, kind: change_pct, symbols: ['*'], threshold: 5}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := []bars.Resolution{bars.Resolution(time.Minute)}
	files := Config{Input: "a.jsonl", Format: "binance", Bars: res, BarsOut: dir, AllowedLateness: AutoAllowedLateness}
	remote := Config{Input: "pubsub:projects/tickbeam-test/subscriptions/trades", Bars: res, BarsOut: "bq:tickbeam-test.d.bars", DeadLetterOut: "pubsub:projects/tickbeam-test/topics/dead",
		RawOut: "gs://b/raw", BigQuery: bigqueryx.Options{Endpoint: "http://127.0.0.1:9050", StorageEndpoint: "127.0.0.1:9060"},
		AllowedLateness: AutoAllowedLateness}
	with := func(c Config, f func(*Config)) Config { f(&c); return c }
	for _, tc := range []struct {
		name, runner string
		cfg          Config
		want         string // an error's prefix
		check        func(t *testing.T, p Plan)
	}{
		{name: "local files", runner: "", cfg: files, check: func(t *testing.T, p Plan) {
			if !p.Local || p.AllowedLateness != 0 || !p.Bounded || p.Input.Kind != endpoint.FileInput {
				t.Errorf("plan = local %v, lateness %v, bounded %v, input kind %v; want local, 0, bounded, files", p.Local, p.AllowedLateness, p.Bounded, p.Input.Kind)
			}
			if d := p.Outputs.DeadLetters; d.Kind != endpoint.FileOutput || d.URI != dir || d.Flag != "--deadletter_out" {
				t.Errorf("dead letters go to %+v, want --bars_out's directory", d)
			}
			if p.DedupeWindow != time.Minute {
				t.Errorf("dedupe window %v, want the 1m bars' (a batch run waits for nothing)", p.DedupeWindow)
			}
		}},
		{name: "explicit lateness on prism", runner: "prism", cfg: with(files, func(c *Config) { c.AllowedLateness = 30 * time.Second }),
			check: func(t *testing.T, p Plan) {
				if p.AllowedLateness != 30*time.Second {
					t.Errorf("lateness %v, want the 30s set", p.AllowedLateness)
				}
			}},
		{name: "pubsub on prism", runner: "prism", cfg: remote, check: func(t *testing.T, p Plan) {
			if p.PubSub.Native || !p.Durable || p.PubSub.AckWindow == 0 || p.AllowedLateness != 0 {
				t.Errorf("pubsub = native %v, durable %v, ack window %v, lateness %v; want tickbeam's durable reader, lateness 0",
					p.PubSub.Native, p.Durable, p.PubSub.AckWindow, p.AllowedLateness)
			}
			if p.PubSub.Subscription != "projects/tickbeam-test/subscriptions/trades" || p.PubSub.TimestampAttribute != DefaultTimestampAttribute ||
				p.PubSub.WatermarkDelay != DefaultWatermarkDelay {
				t.Errorf("pubsub read = %+v, want the subscription and defaults", p.PubSub)
			}
			if p.DedupeWindow != DefaultStreamDedupeWindow {
				t.Errorf("dedupe window %v with 1m bars, want %v: change rows wait for it", p.DedupeWindow, DefaultStreamDedupeWindow)
			}
		}},
		{name: "ack on commit", runner: "prism", cfg: with(remote, func(c *Config) { c.AckOnCommit = true }), check: func(t *testing.T, p Plan) {
			if p.Durable || p.PubSub.Native {
				t.Errorf("durable %v native %v, want neither", p.Durable, p.PubSub.Native)
			}
		}},
		{name: "pubsub on dataflow", runner: "dataflow", cfg: remote, check: func(t *testing.T, p Plan) {
			if p.Local || !p.PubSub.Native || p.Durable || p.AllowedLateness != DefaultAllowedLateness || p.Bars.AllowedLateness != DefaultAllowedLateness {
				t.Errorf("plan = local %v, native %v, durable %v, lateness %v (bars %v); want native, %v",
					p.Local, p.PubSub.Native, p.Durable, p.AllowedLateness, p.Bars.AllowedLateness, DefaultAllowedLateness)
			}
			o := p.Outputs
			if o.Bars.Kind != endpoint.TableOutput || o.Bars.Table.String() != "tickbeam-test.d.bars" || o.DeadLetters.Kind != endpoint.TopicOutput ||
				o.DeadLetters.Topic != "projects/tickbeam-test/topics/dead" || o.Raw.Kind != endpoint.FileOutput || o.Alerts.Set() || len(o.List()) != 3 {
				t.Errorf("outputs = %+v", o)
			}
		}},
		{name: "local output on dataflow", runner: "dataflow", cfg: with(remote, func(c *Config) { c.RawOut = "raw" }),
			want: "--raw_out raw is a local path, but --runner=dataflow writes from remote workers: use gs://, bq: or pubsub:"},
		{name: "live on dataflow", runner: "dataflow", cfg: with(remote, func(c *Config) { c.Input = "binance:?symbols=BTCUSDT" }),
			want: "--input: live inputs run on the local runner"},
		{name: "live on prism", runner: "prism", cfg: with(files, func(c *Config) { c.Input, c.Format, c.GapsOut = "binance:?symbols=BTCUSDT", "", dir }),
			check: func(t *testing.T, p Plan) {
				if p.Input.Kind != endpoint.LiveInput || p.Input.Live.Vendor != "binance" || p.Bounded || p.Outputs.Gaps.Kind != endpoint.FileOutput {
					t.Errorf("input %+v bounded %v gaps %+v", p.Input, p.Bounded, p.Outputs.Gaps)
				}
				if p.Live.WatermarkDelay != DefaultLiveWatermarkDelay || p.DedupeWindow != DefaultStreamDedupeWindow {
					t.Errorf("live watermark delay %v, dedupe window %v; want %v (no hold of its own), %v",
						p.Live.WatermarkDelay, p.DedupeWindow, DefaultLiveWatermarkDelay, DefaultStreamDedupeWindow)
				}
			}},
		{name: "gaps without live", runner: "prism", cfg: with(files, func(c *Config) { c.GapsOut = dir }), want: "--gaps_out needs a live --input (alpaca:, "},
		{name: "synthetic bounded by duration", runner: "prism", cfg: with(files, func(c *Config) {
			c.Input, c.Format, c.Duration = "synthetic:?symbols=A&rate=10&paced=false", "", time.Minute
		}), check: func(t *testing.T, p Plan) {
			if p.Input.Kind != endpoint.SyntheticInput || p.Input.Synthetic.Duration != time.Minute || !p.Bounded {
				t.Errorf("input %+v bounded %v; want synthetic for 1m, bounded", p.Input, p.Bounded)
			}
		}},
		{name: "rules", runner: "prism", cfg: with(files, func(c *Config) { c.Rules, c.AlertsOut = rules, dir }), check: func(t *testing.T, p Plan) {
			if p.RuleSet == nil || p.Rules == nil || p.Outliers != nil || p.Changes {
				t.Errorf("rules %v, outliers %v, changes %v; want one price rule", p.Rules, p.Outliers, p.Changes)
			}
		}},
		{name: "changes written", runner: "prism", cfg: with(files, func(c *Config) { c.ChangesOut = dir }), check: func(t *testing.T, p Plan) {
			if !p.Changes || p.PrevClose.SkipMissing {
				t.Errorf("changes %v, skip missing %v; want every row written, those without a previous close too", p.Changes, p.PrevClose.SkipMissing)
			}
		}},
		{name: "changes for rules only", runner: "prism", cfg: with(files, func(c *Config) { c.Rules, c.AlertsOut = changeRules, dir }),
			check: func(t *testing.T, p Plan) {
				if !p.Changes || !p.PrevClose.SkipMissing {
					t.Errorf("changes %v, skip missing %v; want changes without the rows no rule reads", p.Changes, p.PrevClose.SkipMissing)
				}
			}},
		{name: "stream dedupe window", runner: "prism", cfg: with(remote, func(c *Config) { c.DedupeWindow = 250 * time.Millisecond }),
			check: func(t *testing.T, p Plan) {
				if p.DedupeWindow != 250*time.Millisecond {
					t.Errorf("dedupe window %v, want the 250ms set", p.DedupeWindow)
				}
			}},
		{name: "dedupe window of a file", runner: "prism", cfg: with(files, func(c *Config) { c.DedupeWindow = 10 * time.Second }),
			check: func(t *testing.T, p Plan) {
				if p.DedupeWindow != 10*time.Second {
					t.Errorf("dedupe window %v, want the 10s set", p.DedupeWindow)
				}
			}},
		{name: "dedupe window not tiling the bars", runner: "prism", cfg: with(files, func(c *Config) { c.DedupeWindow = 7 * time.Second }),
			want: "--dedupe_window 7s must divide every --bar resolution (their greatest common divisor is 1m0s)"},
		{name: "negative dedupe window", runner: "prism", cfg: with(files, func(c *Config) { c.DedupeWindow = -time.Second }),
			want: "--dedupe_window -1s: want > 0"},
		{name: "missing rules", runner: "prism", cfg: with(files, func(c *Config) { c.Rules, c.AlertsOut = filepath.Join(dir, "nope.yaml"), dir }),
			want: "--rules: alerts: open "},
		{name: "rules on indicators without them", runner: "prism", cfg: with(files, func(c *Config) { c.Rules, c.AlertsOut = rsiRules, dir }),
			want: "--rules: a rule reads indicator rows"},
		{name: "table input", runner: "prism", cfg: with(files, func(c *Config) { c.Input = "bq:p.d.t" }), want: "--input: bq is an output, not an input"},
		{name: "bad subscription", runner: "prism", cfg: with(remote, func(c *Config) { c.Input = "pubsub:projects/tickbeam-test/topics/ticks" }), want: "--input: "},
		{name: "bad topic", runner: "prism", cfg: with(remote, func(c *Config) { c.DeadLetterOut = "pubsub:nope" }), want: "--deadletter_out: "},
		{name: "bad table", runner: "prism", cfg: with(remote, func(c *Config) { c.BarsOut = "bq:nope" }), want: "--bars_out: "},
		{name: "table needs dead letters", runner: "prism", cfg: with(remote, func(c *Config) { c.DeadLetterOut = "" }),
			want: "--deadletter_out is required when --bars_out is a table or topic"},
		{name: "bad indicators", runner: "prism", cfg: with(files, func(c *Config) { c.Indicators, c.IndicatorsOut = "sma:0", dir }), want: "--indicators: "},
		{name: "negative lateness", runner: "prism", cfg: with(files, func(c *Config) { c.AllowedLateness = -time.Second }), want: "--allowed_lateness -1s: want >= 0"},
		{name: "bad calendar", runner: "prism", cfg: with(files, func(c *Config) { c.Calendar = "XMARS" }), want: "--calendar: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.cfg.Resolve(tc.runner)
			if tc.want != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
					t.Fatalf("Resolve(%q) = %v, want an error starting %q", tc.runner, err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q) = %v", tc.runner, err)
			}
			tc.check(t, p)
		})
	}
}

// Build takes only a Plan from Resolve.
func TestBuildNeedsResolve(t *testing.T) {
	_, s := beam.NewPipelineWithRoot()
	if err := Build(s, Plan{}); err == nil || !strings.Contains(err.Error(), "Config.Resolve") {
		t.Errorf("Build(zero Plan) = %v, want an error naming Config.Resolve", err)
	}
}
