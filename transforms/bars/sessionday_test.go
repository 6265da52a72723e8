package bars

import (
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/teststream"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/internal/beamtest"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func tradeAt(sym, at, id string, price, size float64, side tickbeam.Side) tickbeam.Tick {
	return tickbeam.Tick{Symbol: sym, Kind: tickbeam.Trade, EventTime: utc(at), Price: price, Size: size, Side: side, TradeID: id, Source: "test"}
}

func dayBar(sym, start, end string, o, h, l, c, vol, notional float64, trades int64, buy, sell float64) tickbeam.Bar {
	return tickbeam.Bar{Symbol: sym, Resolution: "1d", WindowStart: utc(start), WindowEnd: utc(end),
		Open: o, High: h, Low: l, Close: c, Volume: vol, Notional: notional, VWAP: notional / vol, Trades: trades,
		BuyVolume: buy, SellVolume: sell, Timing: tickbeam.OnTime}
}

func mustCalendar(t *testing.T, name string) *calendar.Calendar {
	t.Helper()
	c, err := calendar.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Daily bars under a calendar cover its trading days, 04:00-20:00 New York
// time on XNYS in EST and EDT alike, 08:30-18:00 Seoul time on XKRX across
// UTC midnight; trades overnight, on weekends and holidays make none.
func TestComputeDailyOnSessionDays(t *testing.T) {
	for _, c := range []struct {
		name    string
		ticks   []tickbeam.Tick
		want    []tickbeam.Bar
		outside int64
	}{{
		name: "XNYS",
		ticks: []tickbeam.Tick{
			// Friday 2026-03-06, EST (UTC-5): the day is 09:00Z to 01:00Z.
			tradeAt("AAPL", "2026-03-06T09:30:00Z", "1", 100, 10, tickbeam.Buy), // 04:30 pre-market
			tradeAt("AAPL", "2026-03-07T00:30:00Z", "2", 102, 5, tickbeam.Sell), // 19:30 after-hours, next UTC date
			tradeAt("AAPL", "2026-03-07T01:30:00Z", "3", 99, 1, tickbeam.Buy),   // 20:30: closed
			// Monday 2026-03-09, EDT (UTC-4) since Sunday: 08:00Z to 00:00Z.
			tradeAt("AAPL", "2026-03-09T07:59:00Z", "4", 98, 1, tickbeam.Buy),      // 03:59: closed
			tradeAt("AAPL", "2026-03-09T08:00:00Z", "5", 101, 2, tickbeam.Unknown), // 04:00, the open
			tradeAt("AAPL", "2026-03-09T23:59:00Z", "6", 103, 1, tickbeam.Buy),     // 19:59
			tradeAt("AAPL", "2026-01-19T15:00:00Z", "7", 97, 1, tickbeam.Buy),      // Martin Luther King, Jr. Day
		},
		want: []tickbeam.Bar{
			// 100x10 + 102x5 = 1510 over 15.
			dayBar("AAPL", "2026-03-06T09:00:00Z", "2026-03-07T01:00:00Z", 100, 102, 100, 102, 15, 1510, 2, 10, 5),
			// 101x2 + 103x1 = 305 over 3; the unknown-side 2 in volume only.
			dayBar("AAPL", "2026-03-09T08:00:00Z", "2026-03-10T00:00:00Z", 101, 103, 101, 103, 3, 305, 2, 1, 0),
		},
		outside: 3,
	}, {
		name: "XKRX",
		ticks: []tickbeam.Tick{
			// Thursday 2026-01-15 KST (UTC+9): 23:30Z on the 14th to 09:00Z.
			tradeAt("005930", "2026-01-15T06:00:00Z", "2", 71000, 20, tickbeam.Sell), // 15:00
			tradeAt("005930", "2026-01-14T23:40:00Z", "1", 70000, 10, tickbeam.Buy),  // 08:40, the 14th in UTC
			tradeAt("005930", "2026-01-15T08:59:00Z", "3", 70500, 2, tickbeam.Buy),   // 17:59
			tradeAt("005930", "2026-01-15T09:00:00Z", "4", 69000, 1, tickbeam.Buy),   // 18:00: closed
		},
		want: []tickbeam.Bar{
			// 700000 + 1420000 + 141000 = 2261000 over 32.
			dayBar("005930", "2026-01-14T23:30:00Z", "2026-01-15T09:00:00Z", 70000, 71000, 70000, 70500, 32, 2261000, 3, 12, 20),
		},
		outside: 1,
	}, {
		name: "CRYPTO",
		ticks: []tickbeam.Tick{
			tradeAt("BTCUSDT", "2026-01-17T23:59:59Z", "1", 50000, 0.5, tickbeam.Buy), // a Saturday
			tradeAt("BTCUSDT", "2026-01-18T00:00:00Z", "2", 50100, 1, tickbeam.Sell),
		},
		want: []tickbeam.Bar{
			dayBar("BTCUSDT", "2026-01-17T00:00:00Z", "2026-01-18T00:00:00Z", 50000, 50000, 50000, 50000, 0.5, 25000, 1, 0.5, 0),
			dayBar("BTCUSDT", "2026-01-18T00:00:00Z", "2026-01-19T00:00:00Z", 50100, 50100, 50100, 50100, 1, 50100, 1, 0, 1),
		},
	}} {
		t.Run(c.name, func(t *testing.T) {
			p, s := beam.NewPipelineWithRoot()
			got := Compute(s, beamtest.Ticks(s, c.ticks...), Options{Resolutions: []Resolution{Daily}, Calendar: mustCalendar(t, c.name)})
			beamtest.Equals(s, got[Daily], c.want)
			r := ptest.RunAndValidate(t, p)
			if got := beamtest.Counter(t, r, "tickbeam/bars", "outside_session"); got != c.outside {
				t.Errorf("outside_session = %d, want %d", got, c.outside)
			}
		})
	}
}

// On a stream a session day fires ON_TIME when the watermark passes its last
// close, a LATE pane with the whole day for a trade within the allowed
// lateness, and counts a trade for a released day.
func TestComputeDailyStreamingPanes(t *testing.T) {
	ms := func(s string) int64 { return utc(s).UnixMilli() }
	cfg := teststream.NewConfig()
	must(t, cfg.AdvanceWatermark(ms("2026-01-14T23:00:00Z")))
	must(t, cfg.AddElements(ms("2026-01-15T06:00:00Z"), tradeAt("005930", "2026-01-15T06:00:00Z", "2", 71000, 20, tickbeam.Sell)))
	must(t, cfg.AddElements(ms("2026-01-14T23:40:00Z"), tradeAt("005930", "2026-01-14T23:40:00Z", "1", 70000, 10, tickbeam.Buy)))
	must(t, cfg.AdvanceWatermark(ms("2026-01-15T09:00:00Z")))
	// 1 minute behind the close, within the hour of allowed lateness.
	must(t, cfg.AddElements(ms("2026-01-15T08:59:00Z"), tradeAt("005930", "2026-01-15T08:59:00Z", "3", 70500, 2, tickbeam.Buy)))
	must(t, cfg.AdvanceWatermark(ms("2026-01-15T10:30:00Z")))
	// The day was released at 10:00Z.
	must(t, cfg.AddElements(ms("2026-01-15T08:00:00Z"), tradeAt("005930", "2026-01-15T08:00:00Z", "4", 1, 1, tickbeam.Buy)))
	must(t, cfg.AdvanceWatermarkToInfinity())

	// 700000 + 1420000 = 2120000 over 30.
	onTime := dayBar("005930", "2026-01-14T23:30:00Z", "2026-01-15T09:00:00Z", 70000, 71000, 70000, 71000, 30, 2120000, 2, 10, 20)
	// + 70500x2 = 2261000 over 32, closing at 70500.
	late := dayBar("005930", "2026-01-14T23:30:00Z", "2026-01-15T09:00:00Z", 70000, 71000, 70000, 70500, 32, 2261000, 3, 12, 20)
	late.Timing, late.PaneIndex = tickbeam.Late, 1

	p, s := beam.NewPipelineWithRoot()
	got := Compute(s, teststream.Create(s, cfg), Options{Resolutions: []Resolution{Daily}, Calendar: mustCalendar(t, "XKRX"),
		AllowedLateness: time.Hour})
	beamtest.Equals(s, got[Daily], []tickbeam.Bar{onTime, late})
	r := ptest.RunAndValidate(t, p)
	if got := beamtest.Counter(t, r, "tickbeam/bars", "dropped_late"); got != 1 {
		t.Errorf("dropped_late = %d, want 1", got)
	}
}
