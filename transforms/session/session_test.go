package session

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tickbeam/tickbeam/internal/testenv"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/teststream"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/internal/beamtest"
)

func TestMain(m *testing.M) { testenv.MainPrism(m) }

func mustCal(t *testing.T, name string) *calendar.Calendar {
	t.Helper()
	c, err := calendar.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func trade(sym, at string, price, size float64, side tickbeam.Side) tickbeam.Tick {
	return tickbeam.Tick{Symbol: sym, Kind: tickbeam.Trade, EventTime: utc(at), Price: price, Size: size, Side: side, Source: "test"}
}

// row builds an expected row from hand-computed totals and ratios; nothing
// is derived, so the test checks Derive's arithmetic too.
func row(sym, date, asOf, cal string, vol, notional, vwap float64, trades int64, buy, sell, strength, pressure float64, rev int64) tickbeam.SessionStats {
	return tickbeam.SessionStats{Symbol: sym, SessionDate: date, AsOf: utc(asOf), CumVolume: vol, CumNotional: notional, SessionVWAP: vwap,
		Trades: trades, BuyVolume: buy, SellVolume: sell, TradeStrength: strength, BuyPressure: pressure, Calendar: cal, Revision: rev}
}

func TestStatsHandComputed(t *testing.T) {
	// Samsung (005930) on XKRX, 2026-01-15; 09:00 KST is 00:00Z. Input out of
	// order, with a quote that must not count.
	in := []tickbeam.Tick{
		trade("005930", "2026-01-15T00:02:55Z", 71010, 7, tickbeam.Unknown),
		trade("005930", "2026-01-15T00:00:30Z", 71300, 5, tickbeam.Sell),
		trade("000660", "2026-01-15T00:01:30Z", 150000, 3, tickbeam.Buy),
		trade("005930", "2026-01-15T00:02:10Z", 71100, 19, tickbeam.Sell),
		trade("005930", "2026-01-15T00:00:05Z", 71200, 10, tickbeam.Buy),
		{Symbol: "005930", Kind: tickbeam.Quote, EventTime: utc("2026-01-15T00:00:20Z"), BidPrice: 71000, BidSize: 100, AskPrice: 71400, AskSize: 100},
		trade("005930", "2026-01-15T00:02:50Z", 71150, 2, tickbeam.Buy),
		trade("005930", "2026-01-15T00:00:45Z", 71250, 5, tickbeam.Unknown),
	}
	want := []tickbeam.SessionStats{
		// 09:00-09:01 KST: 71200×10 + 71300×5 + 71250×5 = 712000 + 356500 + 356250 = 1424750 over 20 = 71237.5;
		// buy 10, sell 5 (the UNKNOWN 5 in volume only): strength 10/5×100 = 200, pressure 10/20.
		row("005930", "2026-01-15", "2026-01-15T00:01:00Z", "XKRX", 20, 1424750, 71237.5, 3, 10, 5, 200, 0.5, 0),
		// No trade 09:01-09:02, no row. 09:02-09:03 adds 71100×19 + 71150×2 + 71010×7 = 1350900 + 142300 + 497070
		// = 1990270: 3415020 over 48 = 71146.25; buy 12, sell 24: strength 50, pressure 12/48.
		row("005930", "2026-01-15", "2026-01-15T00:03:00Z", "XKRX", 48, 3415020, 71146.25, 6, 12, 24, 50, 0.25, 0),
		// SK hynix: buys only, so strength is 0 (undefined) and pressure 1.
		row("000660", "2026-01-15", "2026-01-15T00:02:00Z", "XKRX", 3, 450000, 150000, 1, 3, 0, 0, 1, 0),
	}
	p, s := beam.NewPipelineWithRoot()
	got := Stats(s, beamtest.Ticks(s, in...), Options{Calendar: mustCal(t, "XKRX")})
	beamtest.Equals(s, got, want)
	r := ptest.RunAndValidate(t, p)
	if n := beamtest.Counter(t, r, "tickbeam/session", "outside"); n != 0 {
		t.Errorf("outside = %d, want 0", n)
	}
}

// An XKRX day runs 08:30-18:00 KST, 23:30Z the day before to 09:00Z: the
// totals restart at 23:30Z, not at UTC midnight.
func TestStatsResetsAtKoreanDay(t *testing.T) {
	in := []tickbeam.Tick{
		trade("005930", "2026-01-15T08:59:30Z", 100, 3, tickbeam.Buy),  // 17:59:30 KST, after-hours of 01-15
		trade("005930", "2026-01-15T23:50:10Z", 101, 2, tickbeam.Sell), // 08:50:10 KST 01-16: the gap before the open counts
		trade("005930", "2026-01-16T00:10:00Z", 103, 2, tickbeam.Buy),  // 09:10 KST 01-16: across UTC midnight, same day
		trade("005930", "2026-01-16T10:00:00Z", 100, 1, tickbeam.Buy),  // 19:00 KST: after the close, outside
		trade("005930", "2026-01-17T01:00:00Z", 100, 1, tickbeam.Buy),  // Saturday: outside
		trade("005930", "2026-02-17T01:00:00Z", 100, 1, tickbeam.Buy),  // Seollal: outside
	}
	want := []tickbeam.SessionStats{
		row("005930", "2026-01-15", "2026-01-15T09:00:00Z", "XKRX", 3, 300, 100, 1, 3, 0, 0, 1, 0),
		row("005930", "2026-01-16", "2026-01-15T23:51:00Z", "XKRX", 2, 202, 101, 1, 0, 2, 0, 0, 0),
		// 202 + 206 = 408 over 4 = 102; buy 2, sell 2: strength 100.
		row("005930", "2026-01-16", "2026-01-16T00:11:00Z", "XKRX", 4, 408, 102, 2, 2, 2, 100, 0.5, 0),
	}
	p, s := beam.NewPipelineWithRoot()
	// The calendar comes from the per-symbol map; the default (CRYPTO) would put all of it in UTC days.
	got := Stats(s, beamtest.Ticks(s, in...), Options{Calendars: map[string]*calendar.Calendar{"005930": mustCal(t, "XKRX")}})
	beamtest.Equals(s, got, want)
	r := ptest.RunAndValidate(t, p)
	if n := beamtest.Counter(t, r, "tickbeam/session", "outside"); n != 3 {
		t.Errorf("outside = %d, want 3", n)
	}
}

// XNYS days are 04:00-20:00 New York time across the DST changes of
// 2026-03-08 and 2026-11-01, with holidays and the 2026-11-27 early close
// (after-hours to 17:00). Hourly periods align to New York midnight; a 24h
// period is the whole day, as of its close.
func TestStatsNewYorkDST(t *testing.T) {
	in := []tickbeam.Tick{
		trade("AAPL", "2026-03-07T00:30:00Z", 100, 1, tickbeam.Buy), // Fri 03-06 19:30 EST
		trade("AAPL", "2026-03-08T14:00:00Z", 100, 1, tickbeam.Buy), // Sunday: outside
		trade("AAPL", "2026-03-09T07:59:00Z", 100, 1, tickbeam.Buy), // Mon 03:59 EDT: before the pre-market, outside
		trade("AAPL", "2026-03-09T08:00:00Z", 100, 2, tickbeam.Buy), // Mon 04:00 EDT: the day opens
		trade("AAPL", "2026-03-09T13:45:00Z", 100, 4, tickbeam.Buy), // 09:45 EDT
		trade("AAPL", "2026-10-30T08:30:00Z", 100, 1, tickbeam.Buy), // Fri 04:30 EDT
		trade("AAPL", "2026-11-02T08:30:00Z", 100, 1, tickbeam.Buy), // Mon 03:30 EST: outside
		trade("AAPL", "2026-11-02T09:30:00Z", 100, 2, tickbeam.Buy), // Mon 04:30 EST
		trade("AAPL", "2026-11-26T15:00:00Z", 100, 1, tickbeam.Buy), // Thanksgiving: outside
		trade("AAPL", "2026-11-27T21:30:00Z", 100, 3, tickbeam.Buy), // 16:30 EST, after-hours of the early close
		trade("AAPL", "2026-11-27T22:30:00Z", 100, 1, tickbeam.Buy), // 17:30 EST: closed, outside
	}
	r := func(date, asOf string, vol float64, trades int64) tickbeam.SessionStats {
		return row("AAPL", date, asOf, "XNYS", vol, 100*vol, 100, trades, vol, 0, 0, 1, 0)
	}
	hourly := []tickbeam.SessionStats{
		r("2026-03-06", "2026-03-07T01:00:00Z", 1, 1), // 20:00 EST
		r("2026-03-09", "2026-03-09T09:00:00Z", 2, 1), // 05:00 EDT: restarted, the Friday trade is not in it
		r("2026-03-09", "2026-03-09T14:00:00Z", 6, 2), // 10:00 EDT
		r("2026-10-30", "2026-10-30T09:00:00Z", 1, 1), // 05:00 EDT
		r("2026-11-02", "2026-11-02T10:00:00Z", 2, 1), // 05:00 EST
		r("2026-11-27", "2026-11-27T22:00:00Z", 3, 1), // 17:00 EST, the early close's last hour
	}
	daily := []tickbeam.SessionStats{
		r("2026-03-06", "2026-03-07T01:00:00Z", 1, 1), // 20:00 EST
		r("2026-03-09", "2026-03-10T00:00:00Z", 6, 2), // 20:00 EDT
		r("2026-10-30", "2026-10-31T00:00:00Z", 1, 1), // 20:00 EDT
		r("2026-11-02", "2026-11-03T01:00:00Z", 2, 1), // 20:00 EST
		r("2026-11-27", "2026-11-27T22:00:00Z", 3, 1), // 17:00 EST: cut at the early close, not midnight
	}
	p, s := beam.NewPipelineWithRoot()
	ticks := beamtest.Ticks(s, in...)
	xnys := mustCal(t, "XNYS")
	beamtest.Equals(s, Stats(s, ticks, Options{Calendar: xnys, Resolution: time.Hour}), hourly)
	beamtest.Equals(s, Stats(s, ticks, Options{Calendar: xnys, Resolution: 24 * time.Hour}), daily)
	res := ptest.RunAndValidate(t, p)
	if n := beamtest.Counter(t, res, "tickbeam/session", "outside"); n != 2*5 {
		t.Errorf("outside = %d, want 10 (5 per Stats)", n)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// On a stream, rows are emitted as the watermark passes their periods; a late
// trade within the allowed lateness restates the day's latest row, and one
// after the day has closed is dropped, both counted.
func TestStatsStreamingLateAndReset(t *testing.T) {
	ms := func(s string) int64 { return utc(s).UnixMilli() }
	cfg := teststream.NewConfig()
	// Ticks added together arrive together, in one bundle.
	add := func(ticks ...tickbeam.Tick) {
		t.Helper()
		must(t, cfg.AddElements(ticks[0].EventTime.UnixMilli(), beamtest.Any(ticks)...))
	}
	must(t, cfg.AdvanceWatermark(ms("2026-01-15T23:58:00Z")))
	add(trade("BTCUSDT", "2026-01-15T23:58:40Z", 100, 3, tickbeam.Buy),
		trade("BTCUSDT", "2026-01-15T23:58:10Z", 100, 1, tickbeam.Sell)) // out of order within the minute
	must(t, cfg.AdvanceWatermark(ms("2026-01-15T23:59:00Z")))
	add(trade("BTCUSDT", "2026-01-15T23:59:30Z", 105, 4, tickbeam.Buy))
	must(t, cfg.AdvanceWatermark(ms("2026-01-16T00:00:00Z")))
	// Late for the 00:00 row just emitted, but the day is open for an hour more.
	add(trade("BTCUSDT", "2026-01-15T23:59:50Z", 100, 7, tickbeam.Sell),
		trade("BTCUSDT", "2026-01-15T23:59:51Z", 100, 1, tickbeam.Unknown))
	// The new UTC day, its second minute arriving first, in another bundle.
	add(trade("BTCUSDT", "2026-01-16T00:01:10Z", 90, 2, tickbeam.Buy))
	add(trade("BTCUSDT", "2026-01-16T00:00:20Z", 90, 2, tickbeam.Sell))
	must(t, cfg.AdvanceWatermark(ms("2026-01-16T02:00:00Z")))
	add(trade("BTCUSDT", "2026-01-15T23:59:55Z", 100, 1, tickbeam.Buy)) // 01-15 has closed: dropped
	must(t, cfg.AdvanceWatermarkToInfinity())

	want := []tickbeam.SessionStats{
		row("BTCUSDT", "2026-01-15", "2026-01-15T23:59:00Z", "CRYPTO", 4, 400, 100, 2, 3, 1, 300, 0.75, 0),
		// + 105×4 = 420: 820 over 8 = 102.5; buy 7, sell 1.
		row("BTCUSDT", "2026-01-15", "2026-01-16T00:00:00Z", "CRYPTO", 8, 820, 102.5, 3, 7, 1, 700, 0.875, 0),
		// Restated: + 100×7 + 100×1 = 1620 over 16 = 101.25; sell 8: strength 87.5, pressure 7/16.
		row("BTCUSDT", "2026-01-15", "2026-01-16T00:00:00Z", "CRYPTO", 16, 1620, 101.25, 5, 7, 8, 87.5, 0.4375, 1),
		row("BTCUSDT", "2026-01-16", "2026-01-16T00:01:00Z", "CRYPTO", 2, 180, 90, 1, 0, 2, 0, 0, 0),
		row("BTCUSDT", "2026-01-16", "2026-01-16T00:02:00Z", "CRYPTO", 4, 360, 90, 2, 2, 2, 100, 0.5, 0),
	}
	p, s := beam.NewPipelineWithRoot()
	got := Stats(s, teststream.Create(s, cfg), Options{AllowedLateness: time.Hour})
	beamtest.Equals(s, got, want)
	r := ptest.RunAndValidate(t, p)
	for name, n := range map[string]int64{"late": 2, "dropped_late": 1, "outside": 0} {
		if got := beamtest.Counter(t, r, "tickbeam/session", name); got != n {
			t.Errorf("%s = %d, want %d", name, got, n)
		}
	}
}

func TestFilter(t *testing.T) {
	// XNYS on Thursday 2026-01-15 (EST): pre 04:00-09:30, regular 09:30-16:00, after 16:00-20:00.
	pre := trade("AAPL", "2026-01-15T12:00:00Z", 100, 1, tickbeam.Buy)     // 07:00
	regular := trade("AAPL", "2026-01-15T14:30:00Z", 100, 1, tickbeam.Buy) // 09:30, the open
	after := trade("AAPL", "2026-01-15T21:00:00Z", 100, 1, tickbeam.Buy)   // 16:00, the close: after-hours
	closed := trade("AAPL", "2026-01-16T02:00:00Z", 100, 1, tickbeam.Buy)  // 21:00
	all := []tickbeam.Tick{pre, regular, after, closed}
	for _, c := range []struct {
		name     string
		opts     FilterOptions
		want     []tickbeam.Tick
		filtered int64
	}{
		{"regular only", FilterOptions{Sessions: []calendar.SessionKind{calendar.Regular}}, []tickbeam.Tick{regular}, 3},
		{"extended hours", FilterOptions{Sessions: []calendar.SessionKind{calendar.Pre, calendar.After}}, []tickbeam.Tick{pre, after}, 2},
		{"any session", FilterOptions{}, []tickbeam.Tick{pre, regular, after}, 1},
		{"drop regular", FilterOptions{Sessions: []calendar.SessionKind{calendar.Regular}, Drop: true}, []tickbeam.Tick{pre, after, closed}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Calendar = mustCal(t, "XNYS")
			p, s := beam.NewPipelineWithRoot()
			beamtest.Equals(s, Filter(s, beamtest.Ticks(s, all...), c.opts), c.want)
			r := ptest.RunAndValidate(t, p)
			if n := beamtest.Counter(t, r, "tickbeam/session", "filtered"); n != c.filtered {
				t.Errorf("filtered = %d, want %d", n, c.filtered)
			}
		})
	}
}

// The period arithmetic, without a runner: which (day, as_of) each trade's
// partial gets.
func TestPartialPeriods(t *testing.T) {
	xkrx, xnys := mustCal(t, "XKRX"), mustCal(t, "XNYS")
	for _, c := range []struct {
		name    string
		cal     *calendar.Calendar
		res     time.Duration
		at      string
		date    string
		asOf    string
		outside bool
	}{
		{"XKRX pre-market", xkrx, time.Minute, "2026-01-14T23:30:00Z", "2026-01-15", "2026-01-14T23:31:00Z", false},
		{"XKRX gap before the open", xkrx, 5 * time.Minute, "2026-01-14T23:59:59Z", "2026-01-15", "2026-01-15T00:00:00Z", false},
		{"XKRX last second", xkrx, time.Hour, "2026-01-15T08:59:59.999Z", "2026-01-15", "2026-01-15T09:00:00Z", false},
		{"XKRX at the close", xkrx, time.Minute, "2026-01-15T09:00:00Z", "", "", true},
		{"XKRX exam day late open", xkrx, 24 * time.Hour, "2026-11-19T01:00:00Z", "2026-11-19", "2026-11-19T09:00:00Z", false},
		{"XNYS winter open", xnys, 30 * time.Minute, "2026-01-15T14:30:00Z", "2026-01-15", "2026-01-15T15:00:00Z", false},
		{"XNYS summer open", xnys, 30 * time.Minute, "2026-07-15T13:30:00Z", "2026-07-15", "2026-07-15T14:00:00Z", false},
		{"XNYS after-hours past UTC midnight", xnys, time.Minute, "2026-01-16T00:59:30Z", "2026-01-15", "2026-01-16T01:00:00Z", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cals, err := newCalendarSet(c.cal, nil)
			if err != nil {
				t.Fatal(err)
			}
			f := &partialFn{Calendars: cals, Resolution: c.res}
			var got []partial
			emit := func(_ beam.EventTime, sym string, b []byte) {
				p, err := decodePartial(b)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, p)
			}
			ctx := context.Background()
			f.StartBundle(ctx, emit)
			f.ProcessElement(ctx, trade("X", c.at, 10, 1, tickbeam.Buy), emit)
			if c.outside {
				if len(got) != 0 || f.outside != 1 {
					t.Fatalf("want outside, got %v (outside %d)", got, f.outside)
				}
				return
			}
			f.FinishBundle(ctx, emit)
			if len(got) != 1 {
				t.Fatalf("got %d partials, want 1", len(got))
			}
			type key struct{ Date, Cal, AsOf string }
			if diff := cmp.Diff(key{c.date, c.cal.Name(), c.asOf},
				key{got[0].date, got[0].cal, time.Unix(0, got[0].asOf).UTC().Format(time.RFC3339Nano)}); diff != "" {
				t.Errorf("partial (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOptionsPanics(t *testing.T) {
	for _, c := range []struct {
		opts Options
		want string
	}{
		{Options{Resolution: 7 * time.Minute}, "must divide a day evenly"},
		{Options{Resolution: 1500 * time.Millisecond}, "must be whole seconds"},
		{Options{Resolution: 48 * time.Hour}, "between 1s and 24h"},
		{Options{AllowedLateness: -time.Second}, "negative AllowedLateness"},
		{Options{Calendars: map[string]*calendar.Calendar{"X": nil}}, `symbol "X": nil calendar`},
	} {
		func() {
			defer func() {
				r := recover()
				if msg := fmt.Sprint(r); !strings.Contains(msg, c.want) {
					t.Errorf("Stats(%+v) panicked with %v, want %q", c.opts, r, c.want)
				}
			}()
			_, s := beam.NewPipelineWithRoot()
			Stats(s, beam.Create(s, tickbeam.Tick{}), c.opts)
		}()
	}
}

func TestOptionsValidate(t *testing.T) {
	xkrx, err := calendar.Lookup("XKRX")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"zero", Options{}.Validate(), ""},
		{"ok", Options{Resolution: 5 * time.Minute, AllowedLateness: time.Hour, Calendars: map[string]*calendar.Calendar{"005930": xkrx}}.Validate(), ""},
		{"resolution", Options{Resolution: 7 * time.Minute}.Validate(), "session: Resolution: resolution 7m0s: must divide a day evenly"},
		{"lateness", Options{AllowedLateness: -time.Second}.Validate(), "session: negative AllowedLateness -1s"},
		{"nil calendar", Options{Calendars: map[string]*calendar.Calendar{"X": nil}}.Validate(), `session: Calendars: symbol "X": nil calendar`},
		{"filter zero", FilterOptions{}.Validate(), ""},
		{"filter ok", FilterOptions{Sessions: []calendar.SessionKind{calendar.Pre, calendar.After}, Calendar: xkrx}.Validate(), ""},
		{"filter kind", FilterOptions{Sessions: []calendar.SessionKind{calendar.Regular, 9}}.Validate(), "session: Sessions[1]: unknown session kind SessionKind(9)"},
		{"filter nil calendar", FilterOptions{Calendars: map[string]*calendar.Calendar{"X": nil}}.Validate(), `session: Calendars: symbol "X": nil calendar`},
	} {
		var got string
		if c.err != nil {
			got = c.err.Error()
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: Validate (-want +got):\n%s", c.name, diff)
		}
	}
}
