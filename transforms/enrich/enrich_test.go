package enrich

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/teststream"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/internal/beamtest"
	"github.com/tickbeam/tickbeam/internal/testenv"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
)

// TestMain does what testenv.MainPrism(m) does but lets testenv.Main run
// the tests, so the BigQuery emulator of TestCheckReferencesEmulator is
// stopped at the end.
func TestMain(m *testing.M) {
	flag.Parse()
	if *ptest.Runner == "" {
		*ptest.Runner = "prism"
	}
	beam.Init()
	os.Exit(testenv.Main(m))
}

const ns = "tickbeam/enrich"

func mustCal(t testing.TB, name string) *calendar.Calendar {
	t.Helper()
	c, err := calendar.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func utc(y int, m time.Month, d, hh, mm, ss int) time.Time {
	return time.Date(y, m, d, hh, mm, ss, 0, time.UTC)
}

func trade(sym, id string, at time.Time, price float64) tickbeam.Tick {
	return tickbeam.Tick{Symbol: sym, Kind: tickbeam.Trade, EventTime: at, Price: price, Size: 1, Side: tickbeam.Unknown,
		TradeID: id, Source: "test"}
}

// row is the PriceChange of a trade from trade().
func row(sym, id string, at time.Time, day string, price, prev float64, src string, factor, change, pct float64, flag string) tickbeam.PriceChange {
	return tickbeam.PriceChange{Symbol: sym, Kind: tickbeam.Trade, Source: "test", TradeID: id, EventTime: at, SessionDate: day,
		Price: price, PrevClose: prev, PrevCloseSource: src, SplitFactor: factor, Change: change, ChangePct: pct, Flag: flag}
}

// none is the row of a trade with no previous close.
func none(sym, id string, at time.Time, day string, price float64) tickbeam.PriceChange {
	return row(sym, id, at, day, price, 0, tickbeam.PrevCloseNone, 1, 0, 0, tickbeam.FlagNeutral)
}

func wantCounters(t *testing.T, r beam.PipelineResult, want map[string]int64) {
	t.Helper()
	for name, n := range want {
		if got := beamtest.Counter(t, r, ns, name); got != n {
			t.Errorf("counter %s = %d, want %d", name, got, n)
		}
	}
}

func TestFlag(t *testing.T) {
	for _, c := range []struct {
		pct, threshold float64
		want           string
	}{
		{5, 5, tickbeam.FlagNeutral}, // exactly +X is not above it
		{-5, 5, tickbeam.FlagNeutral},
		{math.Nextafter(5, 6), 5, tickbeam.FlagPositive},
		{math.Nextafter(-5, -6), 5, tickbeam.FlagNegative},
		{5.5, 5, tickbeam.FlagPositive},
		{-5.5, 5, tickbeam.FlagNegative},
		{0, 5, tickbeam.FlagNeutral},
		{2.5, 2, tickbeam.FlagPositive},
		{math.NaN(), 5, tickbeam.FlagNeutral},
		{math.Inf(1), 5, tickbeam.FlagPositive},
	} {
		if got := Flag(c.pct, c.threshold); got != c.want {
			t.Errorf("Flag(%v, %v) = %s, want %s", c.pct, c.threshold, got, c.want)
		}
	}
}

func TestResolve(t *testing.T) {
	at := utc(2026, 1, 16, 15, 0, 0)
	base := item{Row: tickbeam.PriceChange{Symbol: "AAPL", Kind: tickbeam.Trade, Source: "test", TradeID: "1", EventTime: at,
		SessionDate: "2026-01-16", Price: 105}, Factor: 2}
	with := func(feed, ref float64) item { it := base; it.Feed, it.Ref = feed, ref; return it }
	all := []Source{SourceFeed, SourceReference, SourceLastClose}
	for _, c := range []struct {
		name      string
		plan      plan
		it        item
		lastClose float64
		waits     bool
		want      tickbeam.PriceChange
		ok        bool
	}{
		// The feed's close is for the tick's own session: never split-adjusted.
		{"feed first", plan{Sources: all, Threshold: 5}, with(100, 400), 300, false,
			row("AAPL", "1", at, "2026-01-16", 105, 100, "FEED", 1, 5, 5, "NEUTRAL"), true},
		// Reference 400 before a 2-for-1 split: 200; 105 − 200 = −95, −47.5%.
		{"reference adjusted by the split", plan{Sources: all, Threshold: 5}, with(0, 400), 300, false,
			row("AAPL", "1", at, "2026-01-16", 105, 200, "REFERENCE", 2, -95, -47.5, "NEGATIVE"), true},
		{"reference already adjusted", plan{Sources: all, Threshold: 5, ReferenceAdjusted: true}, with(0, 100), 300, false,
			row("AAPL", "1", at, "2026-01-16", 105, 100, "REFERENCE", 1, 5, 5, "NEUTRAL"), true},
		// Last close 200 / 2 = 100.
		{"last close", plan{Sources: all, Threshold: 5}, with(0, 0), 200, true,
			row("AAPL", "1", at, "2026-01-16", 105, 100, "LAST_CLOSE", 2, 5, 5, "NEUTRAL"), true},
		{"last close first", plan{Sources: []Source{SourceLastClose, SourceFeed}, Threshold: 4}, with(90, 0), 200, true,
			row("AAPL", "1", at, "2026-01-16", 105, 100, "LAST_CLOSE", 2, 5, 5, "POSITIVE"), true},
		{"last close first but unknown: the feed", plan{Sources: []Source{SourceLastClose, SourceFeed}, Threshold: 5}, with(100, 0), 0, true,
			row("AAPL", "1", at, "2026-01-16", 105, 100, "FEED", 1, 5, 5, "NEUTRAL"), true},
		{"none", plan{Sources: all, Threshold: 5}, with(0, 0), 0, true,
			row("AAPL", "1", at, "2026-01-16", 105, 0, "NONE", 1, 0, 0, "NEUTRAL"), true},
		{"none skipped", plan{Sources: []Source{SourceFeed}, Threshold: 5, SkipMissing: true}, with(0, 400), 200, false,
			row("AAPL", "1", at, "2026-01-16", 105, 0, "NONE", 1, 0, 0, "NEUTRAL"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			it := c.it
			if got := c.plan.waits(&it); got != c.waits {
				t.Errorf("waits = %v, want %v", got, c.waits)
			}
			got, ok := c.plan.resolve(context.Background(), &it, c.lastClose)
			if ok != c.ok {
				t.Errorf("ok = %v, want %v", ok, c.ok)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("resolve (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSessionDate(t *testing.T) {
	xnys := mustCal(t, "XNYS")
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{utc(2026, 1, 15, 14, 30, 0), "2026-01-15"}, // 09:30 ET, regular open
		{utc(2026, 1, 15, 9, 0, 0), "2026-01-15"},   // 04:00 ET, pre-market open
		{utc(2026, 1, 15, 8, 59, 0), "2026-01-15"},  // 03:59 ET: before the day, overnight toward it
		{utc(2026, 1, 16, 0, 59, 0), "2026-01-15"},  // 19:59 ET, after-hours
		{utc(2026, 1, 16, 1, 0, 0), "2026-01-16"},   // 20:00 ET: the day is over, overnight toward Friday
		{utc(2026, 1, 17, 3, 0, 0), "2026-01-20"},   // Friday 22:00 ET: Saturday to Monday (MLK Day) are closed
		{utc(2026, 1, 19, 15, 0, 0), "2026-01-20"},  // MLK Day itself
	} {
		if got := sessionDate(xnys, c.at).String(); got != c.want {
			t.Errorf("sessionDate(XNYS, %v) = %s, want %s", c.at, got, c.want)
		}
	}
}

func TestKeyState(t *testing.T) {
	xnys := mustCal(t, "XNYS")
	d15, d16, d20 := calendar.Date{Year: 2026, Month: 1, Day: 15}, calendar.Date{Year: 2026, Month: 1, Day: 16}, calendar.Date{Year: 2026, Month: 1, Day: 20}
	st := keyState{watermark: noWatermark}
	at := utc(2026, 1, 15, 20, 59, 59).UnixNano()
	// Arrival order does not matter: (time, id numerically) decides.
	st.observe(d15, at, "10", 200)
	st.observe(d15, at, "9", 199)
	st.observe(d15, at-1, "11", 198)
	st.observe(d16, utc(2026, 1, 16, 20, 0, 0).UnixNano(), "1", 190)
	if got := [2]float64{st.close(d15), st.close(d16)}; got != [2]float64{200, 190} {
		t.Errorf("closes = %v, want [200 190]", got)
	}
	if st.knows(0) {
		t.Error("knows a watermark before any timer fired")
	}
	// The watermark at Friday 21:00Z: ticks from then are Friday's or later
	// and need Thursday's close at the earliest.
	st.watermark = utc(2026, 1, 16, 21, 0, 0).UnixMilli()
	st.prune(xnys)
	if len(st.days) != 2 {
		t.Errorf("pruned to %d days at Friday's close, want 2", len(st.days))
	}
	// At Tuesday's open only Friday's close can still be needed.
	st.watermark = utc(2026, 1, 20, 14, 30, 0).UnixMilli()
	st.prune(xnys)
	if len(st.days) != 1 || st.days[0].day != d16 || st.close(d20) != 0 {
		t.Errorf("pruned at Tuesday's open to %+v, want Friday's close only", st.days)
	}
}

func TestItemCoderRoundTrip(t *testing.T) {
	it := item{Row: row("AAPL", "7", utc(2026, 1, 16, 15, 0, 0), "2026-01-16", 105, 0, "", 0, 0, 0, ""),
		Day: calendar.Date{Year: 2026, Month: 1, Day: 16}, CloseDay: calendar.Date{Year: 2026, Month: 1, Day: 15},
		ReadyAt: utc(2026, 1, 15, 21, 0, 0).UnixMilli(), Feed: 1, Ref: 2, Factor: 0.5, Regular: true, Waits: true,
		DayClose: utc(2026, 1, 16, 21, 0, 0).UnixMilli()}
	b, _ := encodeItem(it)
	got, err := decodeItem(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(it, got, cmp.AllowUnexported(item{})); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if _, err := decodeItem(b[:len(b)-1]); err == nil {
		t.Error("truncated item decoded")
	}
}

// KIS trades and a TradingView quote carry their previous close.
func TestPrevCloseFeed(t *testing.T) {
	xkrx := mustCal(t, "XKRX")
	kis := func(id string, at time.Time, price float64) tickbeam.Tick {
		tk := trade("005930", id, at, price)
		tk.PrevClose = 70000
		return tk
	}
	k1, k2 := utc(2026, 1, 15, 0, 5, 0), utc(2026, 1, 15, 0, 6, 0) // 09:05, 09:06 KST
	tv := tickbeam.Tick{Symbol: "AAPL", Kind: tickbeam.Quote, EventTime: utc(2026, 1, 15, 15, 0, 0), Price: 94.5, PrevClose: 100, Source: "test"}
	alpacaQuote := tickbeam.Tick{Symbol: "AAPL", Kind: tickbeam.Quote, EventTime: utc(2026, 1, 15, 15, 0, 1), BidPrice: 99, AskPrice: 101, Source: "test"}

	for _, batched := range []bool{false, true} {
		t.Run(fmt.Sprintf("batched=%v", batched), func(t *testing.T) {
			p, s := beam.NewPipelineWithRoot()
			in := beamtest.Ticks(s, kis("1", k1, 73850), kis("2", k2, 66500), tv, alpacaQuote)
			if batched { // dedupe's batches: prepared in the keyed step, the quote without a price counted once
				in = dedupe.Batches(s, in, dedupe.Options{Window: time.Hour})
			}
			got := PrevClose(s, in, Options{Calendars: map[string]*calendar.Calendar{"005930": xkrx}})
			quoteRow := row("AAPL", "", tv.EventTime, "2026-01-15", 94.5, 100, "FEED", 1, -5.5, -5.5, "NEGATIVE")
			quoteRow.Kind = tickbeam.Quote
			beamtest.Equals(s, got, []tickbeam.PriceChange{
				// 73850 − 70000 = 3850: 5.5%.
				row("005930", "1", k1, "2026-01-15", 73850, 70000, "FEED", 1, 3850, 5.5, "POSITIVE"),
				// 66500 − 70000 = −3500: exactly −5%, not below it.
				row("005930", "2", k2, "2026-01-15", 66500, 70000, "FEED", 1, -3500, -5, "NEUTRAL"),
				quoteRow, // 94.5 − 100
			})
			r := ptest.RunAndValidate(t, p)
			wantCounters(t, r, map[string]int64{"no_price": 1, "no_prev_close": 0, "from_feed": 3})
		})
	}
}

// With QuoteMidpoint an Alpaca quote is priced at (bid+ask)/2, as the
// MSK/Flink sample flags quotes.
func TestPrevCloseQuoteMidpoint(t *testing.T) {
	at := utc(2026, 1, 15, 15, 0, 1)
	q := tickbeam.Tick{Symbol: "AAPL", Kind: tickbeam.Quote, EventTime: at, BidPrice: 104, AskPrice: 108, PrevClose: 100, Source: "test"}
	p, s := beam.NewPipelineWithRoot()
	got := PrevClose(s, beamtest.Ticks(s, q), Options{QuoteMidpoint: true, Sources: []Source{SourceFeed}})
	want := row("AAPL", "", at, "2026-01-15", 106, 100, "FEED", 1, 6, 6, "POSITIVE")
	want.Kind = tickbeam.Quote
	beamtest.Equals(s, got, []tickbeam.PriceChange{want})
	ptest.RunAndValidate(t, p)
}

// XNYS, January 2026 (EST, UTC−5: regular session 14:30Z–21:00Z). Thursday
// the 15th's last regular trade makes Friday's previous close; after-hours
// and pre-market trades do not count. Monday the 19th is MLK Day, so
// Tuesday moves against Friday's close.
var (
	thuPre     = trade("AAPL", "1", utc(2026, 1, 15, 13, 0, 0), 180)    // 08:00 ET, pre-market
	thuOpen    = trade("AAPL", "2", utc(2026, 1, 15, 15, 0, 0), 190)    // 10:00 ET
	thuLast9   = trade("AAPL", "9", utc(2026, 1, 15, 20, 59, 59), 199)  // 15:59:59 ET, two trades:
	thuLast10  = trade("AAPL", "10", utc(2026, 1, 15, 20, 59, 59), 200) // id 10 after 9 numerically: the close
	thuAfter   = trade("AAPL", "11", utc(2026, 1, 15, 21, 30, 0), 250)  // 16:30 ET, after-hours: ignored
	friPre     = trade("AAPL", "12", utc(2026, 1, 16, 12, 0, 0), 210)   // 07:00 ET
	friOpen    = trade("AAPL", "13", utc(2026, 1, 16, 14, 31, 0), 211)
	friMid     = trade("AAPL", "14", utc(2026, 1, 16, 17, 0, 0), 189)
	friLast    = trade("AAPL", "15", utc(2026, 1, 16, 20, 59, 0), 190) // Friday's close
	satNight   = trade("AAPL", "16", utc(2026, 1, 17, 3, 0, 0), 171)   // Friday 22:00 ET: toward Tuesday
	tueOpen    = trade("AAPL", "17", utc(2026, 1, 20, 14, 35, 0), 199.5)
	lastCloseW = []tickbeam.PriceChange{
		none("AAPL", "1", thuPre.EventTime, "2026-01-15", 180),
		none("AAPL", "2", thuOpen.EventTime, "2026-01-15", 190),
		none("AAPL", "9", thuLast9.EventTime, "2026-01-15", 199),
		none("AAPL", "10", thuLast10.EventTime, "2026-01-15", 200),
		none("AAPL", "11", thuAfter.EventTime, "2026-01-15", 250),
		// 210 − 200 = 10: exactly +5%, neutral.
		row("AAPL", "12", friPre.EventTime, "2026-01-16", 210, 200, "LAST_CLOSE", 1, 10, 5, "NEUTRAL"),
		row("AAPL", "13", friOpen.EventTime, "2026-01-16", 211, 200, "LAST_CLOSE", 1, 11, 5.5, "POSITIVE"),
		row("AAPL", "14", friMid.EventTime, "2026-01-16", 189, 200, "LAST_CLOSE", 1, -11, -5.5, "NEGATIVE"),
		row("AAPL", "15", friLast.EventTime, "2026-01-16", 190, 200, "LAST_CLOSE", 1, -10, -5, "NEUTRAL"),
		// 171 − 190 = −19: −10%.
		row("AAPL", "16", satNight.EventTime, "2026-01-20", 171, 190, "LAST_CLOSE", 1, -19, -10, "NEGATIVE"),
		// 199.5 − 190 = 9.5: 950 / 190 = 5%.
		row("AAPL", "17", tueOpen.EventTime, "2026-01-20", 199.5, 190, "LAST_CLOSE", 1, 9.5, 5, "NEUTRAL"),
	}
)

func TestPrevCloseLastClose(t *testing.T) {
	for _, batched := range []bool{false, true} {
		t.Run(fmt.Sprintf("batched=%v", batched), func(t *testing.T) {
			p, s := beam.NewPipelineWithRoot()
			// Out of order, as a batch may deliver them.
			in := beamtest.Ticks(s, tueOpen, friMid, thuLast10, satNight, friPre, thuAfter, friLast, thuPre, thuLast9, friOpen, thuOpen)
			if batched { // dedupe's batches, read without a step per tick
				in = dedupe.Batches(s, in, dedupe.Options{Window: time.Hour})
			}
			got := PrevClose(s, in, Options{Sources: []Source{SourceLastClose}})
			beamtest.Equals(s, got, lastCloseW)
			r := ptest.RunAndValidate(t, p)
			wantCounters(t, r, map[string]int64{"no_prev_close": 5, "from_last_close": 6, "late_close_trades": 0, "released": 1})
		})
	}
}

// On a stream the first ticks of a day wait for the watermark to pass the
// previous day's regular close, and the rest go straight through.
func TestPrevCloseLastCloseStreaming(t *testing.T) {
	ms := func(tm time.Time) int64 { return tm.UnixMilli() }
	cfg := teststream.NewConfig()
	add := func(ticks ...tickbeam.Tick) {
		for _, tk := range ticks {
			if err := cfg.AddElements(ms(tk.EventTime), tk); err != nil {
				t.Fatal(err)
			}
		}
	}
	advance := func(tm time.Time) {
		if err := cfg.AdvanceWatermark(ms(tm)); err != nil {
			t.Fatal(err)
		}
	}
	advance(utc(2026, 1, 15, 12, 0, 0))
	add(thuPre, thuOpen, thuLast10, thuLast9)
	advance(utc(2026, 1, 15, 21, 0, 0))
	add(thuAfter)
	advance(utc(2026, 1, 16, 11, 0, 0))
	add(friPre, friOpen, friMid)
	advance(utc(2026, 1, 16, 20, 0, 0))
	add(friLast, satNight)
	advance(utc(2026, 1, 17, 3, 0, 0))
	add(tueOpen)
	if err := cfg.AdvanceWatermarkToInfinity(); err != nil {
		t.Fatal(err)
	}

	p, s := beam.NewPipelineWithRoot()
	got := PrevClose(s, teststream.Create(s, cfg), Options{})
	beamtest.Equals(s, got, lastCloseW)
	r := ptest.RunAndValidate(t, p)
	wantCounters(t, r, map[string]int64{"no_prev_close": 5, "from_last_close": 6})
}

// A batch run's packed batches wait in Pending undecoded, their trades
// not observed (defers) until a flush reads them. Here Friday's rows come
// in a batch before Thursday's close, and still move against it,
// and a late Friday batch after Friday's close is known counts its close
// as late and leaves it alone.
func TestPrevCloseDeferredOutOfOrder(t *testing.T) {
	batch := func(ticks ...tickbeam.Tick) []byte {
		b, err := dedupe.Batch{Ticks: ticks}.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cfg := teststream.NewConfig()
	step := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	step(cfg.AdvanceWatermark(utc(2026, 1, 15, 12, 0, 0).UnixMilli()))
	// The first batch starts on Thursday but holds Friday's trades; the
	// third holds Thursday's close and an after-hours trade of the same day.
	step(cfg.AddElements(thuPre.EventTime.UnixMilli(), batch(thuPre, friOpen, friMid, friLast)))
	step(cfg.AddElements(thuOpen.EventTime.UnixMilli(), batch(thuOpen, thuLast9)))
	step(cfg.AddElements(thuLast10.EventTime.UnixMilli(), batch(thuLast10, thuAfter)))
	step(cfg.AddElements(friPre.EventTime.UnixMilli(), batch(friPre)))
	step(cfg.AddElements(satNight.EventTime.UnixMilli(), batch(satNight)))
	step(cfg.AdvanceWatermark(utc(2026, 1, 17, 0, 0, 0).UnixMilli())) // past Friday's close
	late := trade("AAPL", "99", utc(2026, 1, 16, 20, 59, 30), 500)    // Friday 15:59:30 ET, after it is known
	step(cfg.AddElements(utc(2026, 1, 17, 0, 0, 0).UnixMilli(), batch(late, tueOpen)))
	step(cfg.AdvanceWatermarkToInfinity())

	p, s := beam.NewPipelineWithRoot()
	in := beam.ParDo(s, dedupe.DecodeBatch, teststream.Create(s, cfg))
	got := PrevClose(s, in, Options{Sources: []Source{SourceLastClose}})
	want := append([]tickbeam.PriceChange{
		// 500 − 200 (Thursday's close): +150%; it does not move Friday's close.
		row("AAPL", "99", late.EventTime, "2026-01-16", 500, 200, "LAST_CLOSE", 1, 300, 150, "POSITIVE"),
	}, lastCloseW...)
	beamtest.Equals(s, got, want)
	r := ptest.RunAndValidate(t, p)
	wantCounters(t, r, map[string]int64{"no_prev_close": 5, "from_last_close": 7, "late_close_trades": 1})
}

func TestOptionsInvalid(t *testing.T) {
	for name, o := range map[string]Options{
		"unknown source":     {Sources: []Source{"VENDOR"}},
		"duplicate source":   {Sources: []Source{SourceFeed, SourceFeed}},
		"negative threshold": {FlagThreshold: -1},
		"negative quiet":     {Quiet: -time.Hour},
		"nil calendar":       {Calendars: map[string]*calendar.Calendar{"AAPL": nil}},
	} {
		if _, err := o.withDefaults(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// A batch mixing ticks that resolve at once (a feed close) with ticks that
// wait for the last close keeps only the waiting ones, and each gets its own
// source.
func TestPrevCloseMixedBatch(t *testing.T) {
	wed := utc(2026, 1, 14, 20, 0, 0) // 15:00 ET: Wednesday's last regular trade
	fed := trade("AAPL", "2", utc(2026, 1, 15, 15, 0, 0), 103)
	fed.PrevClose = 100
	plain := trade("AAPL", "3", utc(2026, 1, 15, 15, 1, 0), 106)

	p, s := beam.NewPipelineWithRoot()
	got := PrevClose(s, beamtest.Ticks(s, trade("AAPL", "1", wed, 100), fed, plain), Options{})
	beamtest.Equals(s, got, []tickbeam.PriceChange{
		none("AAPL", "1", wed, "2026-01-14", 100), // nothing of Tuesday
		// 103 − 100 (the feed's close) = 3: 3%.
		row("AAPL", "2", fed.EventTime, "2026-01-15", 103, 100, "FEED", 1, 3, 3, "NEUTRAL"),
		// 106 − 100 (Wednesday's last trade) = 6: 6%.
		row("AAPL", "3", plain.EventTime, "2026-01-15", 106, 100, "LAST_CLOSE", 1, 6, 6, "POSITIVE"),
	})
	r := ptest.RunAndValidate(t, p)
	wantCounters(t, r, map[string]int64{"no_prev_close": 1, "from_feed": 1, "from_last_close": 1})
}
