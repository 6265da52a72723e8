package dedupe

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tickbeam/tickbeam/internal/testenv"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/beamtest"
)

func TestMain(m *testing.M) { testenv.MainPrism(m) }

var t0 = time.Date(2026, 1, 15, 14, 30, 0, 0, time.UTC)

func tick(src, sym, id string, at time.Duration, ingest time.Duration, price float64) tickbeam.Tick {
	return tickbeam.Tick{Source: src, Symbol: sym, TradeID: id, Kind: tickbeam.Trade, EventTime: t0.Add(at),
		IngestTime: t0.Add(ingest), Price: price, Size: 1, Side: tickbeam.Buy}
}

func TestTicks(t *testing.T) {
	first := tick("binance", "BTCUSDT", "7", time.Second, 2*time.Second, 100)
	redelivered := first
	// A redelivery is the same message again; ingest time is set after dedupe sees it.
	otherSource := tick("coinbase", "BTCUSDT", "7", time.Second, 2*time.Second, 100)
	otherSymbol := tick("binance", "ETHUSDT", "7", time.Second, 2*time.Second, 100)
	next := tick("binance", "BTCUSDT", "8", 59*time.Second, 60*time.Second, 101)
	quote := tickbeam.Tick{Source: "alpaca", Symbol: "AAPL", Kind: tickbeam.Quote, EventTime: t0.Add(3 * time.Second), BidPrice: 10, AskPrice: 11}
	quoteAgain := quote

	otherQuote := quote
	otherQuote.AskPrice = 11.5

	in := []tickbeam.Tick{redelivered, first, otherSource, otherSymbol, next, redelivered, quoteAgain, quote, otherQuote}
	want := []tickbeam.Tick{first, otherSource, otherSymbol, next, quote, otherQuote}

	p, s := beam.NewPipelineWithRoot()
	out := Ticks(s, beamtest.Ticks(s, in...), Options{})
	beamtest.Equals(s, out, want)
	r := ptest.RunAndValidate(t, p)
	if got := beamtest.Counter(t, r, "tickbeam/dedupe", "duplicates"); got != int64(len(in)-len(want)) {
		t.Errorf("duplicates counter = %d, want %d", got, len(in)-len(want))
	}
}

// A group of several batches (one per bundle that saw the window) drops the
// copies across batches; a group of one batch is passed through whole.
func TestUniqueAcrossBatches(t *testing.T) {
	a := tick("binance", "BTCUSDT", "1", time.Second, time.Second, 100)
	b := tick("binance", "BTCUSDT", "2", 2*time.Second, 2*time.Second, 101)
	c := tick("binance", "BTCUSDT", "3", 3*time.Second, 3*time.Second, 102)
	x := tick("binance", "BTCUSDT", "x9", 4*time.Second, 4*time.Second, 103)
	for _, tc := range []struct {
		name      string
		batches   [][]tickbeam.Tick
		want      []tickbeam.Tick
		wantDupes int64
	}{
		{"one batch", [][]tickbeam.Tick{{a, b}}, []tickbeam.Tick{a, b}, 0},
		{"copy in second batch", [][]tickbeam.Tick{{a, b}, {b, c}}, []tickbeam.Tick{a, b, c}, 1},
		{"copies in third batch", [][]tickbeam.Tick{{a}, {b}, {a, b, c}}, []tickbeam.Tick{a, b, c}, 2},
		{"no batch", nil, nil, 0},
		{"disjoint ranges", [][]tickbeam.Tick{{b}, {a}, {c}}, []tickbeam.Tick{b, a, c}, 0},
		{"a range inside another", [][]tickbeam.Tick{{a, c}, {b}, {c}}, []tickbeam.Tick{a, c, b}, 1},
		{"copy after disjoint ranges", [][]tickbeam.Tick{{a}, {b}, {c, a}}, []tickbeam.Tick{a, b, c}, 1},
		{"not numbers", [][]tickbeam.Tick{{x}, {a}, {x, b}}, []tickbeam.Tick{x, a, b}, 1},
	} {
		for _, encoded := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/encoded=%v", tc.name, encoded), func(t *testing.T) {
				ctx := metrics.SetPTransformID(metrics.SetBundleID(context.Background(), "bundle"), "unique")
				i := 0
				next := func(out *Batch) bool {
					if i == len(tc.batches) {
						return false
					}
					// A decoded batch is a fresh slice, as the runner hands it over.
					*out = Batch{Ticks: append([]tickbeam.Tick(nil), tc.batches[i]...)}
					if encoded { // as it crossed the runner, with its id range
						enc, err := encodeBatch(*out)
						if err != nil {
							t.Fatal(err)
						}
						if *out, err = DecodeBatch(enc); err != nil {
							t.Fatal(err)
						}
					}
					i++
					return true
				}
				var got []tickbeam.Tick
				err := (&uniqueFn{}).ProcessElement(ctx, "binance\x00BTCUSDT", next, func(b Batch) {
					ticks, err := b.All()
					if err != nil || len(ticks) == 0 {
						t.Errorf("emitted a batch of %d ticks, err %v", len(ticks), err)
					}
					got = append(got, ticks...)
				})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("ticks (-want +got):\n%s", diff)
				}
				var dupes int64
				metrics.Extractor{SumInt64: func(l metrics.Labels, v int64) {
					if l.Name() == "duplicates" {
						dupes += v
					}
				}}.ExtractFrom(metrics.GetStore(ctx))
				if dupes != tc.wantDupes {
					t.Errorf("duplicates counter = %d, want %d", dupes, tc.wantDupes)
				}
			})
		}
	}
}

// A bundle's batch drops copies whether trade ids come ascending (no
// identities kept) or not (identities kept from the first id out of order).
func TestBatchDropsCopies(t *testing.T) {
	at := func(id string) tickbeam.Tick { return tick("binance", "BTCUSDT", id, time.Second, time.Second, 100) }
	q := tickbeam.Tick{Source: "alpaca", Symbol: "BTCUSDT", Kind: tickbeam.Quote, EventTime: t0, BidPrice: 1, AskPrice: 2}
	for _, tc := range []struct {
		name string
		in   []string // trade ids; "q" is the same quote
		want []string
	}{
		{"ascending", []string{"1", "2", "10"}, []string{"1", "2", "10"}},
		{"copy of an earlier id", []string{"1", "2", "3", "2", "4"}, []string{"1", "2", "3", "4"}},
		{"copy of the last id", []string{"1", "2", "2"}, []string{"1", "2"}},
		{"out of order, no copies", []string{"5", "3", "4", "6"}, []string{"5", "3", "4", "6"}},
		{"copies after out of order", []string{"5", "3", "5", "3", "6"}, []string{"5", "3", "6"}},
		{"zero first", []string{"0", "0", "1"}, []string{"0", "1"}},
		{"not numbers", []string{"a", "07", "a", "7", "07"}, []string{"a", "07", "7"}},
		{"quotes", []string{"q", "1", "q"}, []string{"q", "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := metrics.SetPTransformID(metrics.SetBundleID(context.Background(), "bundle"), "batch")
			f := &batchFn{Window: time.Minute}
			var got []string
			emit := func(_ beam.EventTime, _ string, packed Batch) {
				enc, err := encodeBatch(packed) // as it crosses the runner
				if err != nil {
					t.Fatal(err)
				}
				b, err := DecodeBatch(enc)
				if err != nil {
					t.Fatal(err)
				}
				ticks, err := b.All()
				if err != nil {
					t.Fatal(err)
				}
				for _, tk := range ticks {
					if tk.Kind == tickbeam.Quote {
						got = append(got, "q")
					} else {
						got = append(got, tk.TradeID)
					}
				}
			}
			f.StartBundle(ctx, emit)
			for _, id := range tc.in {
				tk := q
				if id != "q" {
					tk = at(id)
					tk.Source = q.Source // one batch: same source, symbol and window
					tk.EventTime = t0
				}
				f.ProcessElement(ctx, tk, emit)
			}
			f.FinishBundle(ctx, emit)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ticks (-want +got):\n%s", diff)
			}
		})
	}
}
