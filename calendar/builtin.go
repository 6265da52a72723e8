package calendar

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"sync"
	"time"

	// Embedded zone data: the built-in calendars load their zones on
	// machines and containers without a zoneinfo database.
	_ "time/tzdata"
)

//go:embed data/*.txt
var data embed.FS

func hm(h, m int) time.Duration { return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute }

var satSun = []time.Weekday{time.Saturday, time.Sunday}

// builtins are the calendars Lookup knows, built on first use.
var builtins = map[string]func() (*Calendar, error){
	// Korea Exchange stock market. The sessions are the windows in which KRX
	// executes trades (global.krx.co.kr, "Trading Hours" and "Off-hours
	// Trading"):
	//   pre      08:30-08:40  pre-hours off-hours trading at the previous close
	//   regular  09:00-15:30  opening call auction at 09:00 (orders from
	//                         08:30), continuous trading, closing call auction
	//                         15:20-15:30
	//   after    15:40-18:00  post-hours off-hours trading at the close
	//                         (15:40-16:00), then off-hours single-price
	//                         call auctions every 10 minutes (16:00-18:00)
	// The 08:40-09:00 and 15:30-15:40 gaps execute nothing, so a quiet feed
	// there is no outage. KRX announced a pre-market at 07:00-08:00 and an
	// after-market at 16:00-20:00 from 2026-06-29, then reviewed delaying it
	// (March 2026); these hours do not include it. Build a Config with new
	// Hours if it applies to your data.
	"XKRX": sync.OnceValues(func() (*Calendar, error) {
		return builtin("XKRX", "Asia/Seoul", "data/xkrx.txt", []SessionHours{
			{Pre, hm(8, 30), hm(8, 40)},
			{Regular, hm(9, 0), hm(15, 30)},
			{After, hm(15, 40), hm(18, 0)},
		}, satSun)
	}),
	// U.S. equities. Regular is NYSE's and Nasdaq's core session; pre and
	// after are the extended hours of NYSE Arca and Nasdaq (early trading
	// from 04:00, late trading to 20:00), where consolidated feeds report
	// trades of NYSE- and Nasdaq-listed stocks outside core hours.
	"XNYS": sync.OnceValues(func() (*Calendar, error) {
		return builtin("XNYS", "America/New_York", "data/xnys.txt", usHours, satSun)
	}),
	"XNAS": sync.OnceValues(func() (*Calendar, error) {
		return builtin("XNAS", "America/New_York", "data/xnys.txt", usHours, satSun)
	}),
	// Crypto venues trade around the clock; the day is the UTC date, as
	// exchanges such as Binance and Coinbase cut their daily candles.
	"CRYPTO": sync.OnceValues(func() (*Calendar, error) {
		return New(Config{Name: "CRYPTO", Location: time.UTC, Hours: []SessionHours{{Regular, 0, 24 * time.Hour}}})
	}),
}

var usHours = []SessionHours{
	{Pre, hm(4, 0), hm(9, 30)},
	{Regular, hm(9, 30), hm(16, 0)},
	{After, hm(16, 0), hm(20, 0)},
}

var aliases = map[string]string{
	"KRX":    "XKRX",
	"NYSE":   "XNYS",
	"NASDAQ": "XNAS",
	"24/7":   "CRYPTO",
	"24X7":   "CRYPTO",
}

// Names lists the built-in calendars.
func Names() []string { return []string{"XKRX", "XNYS", "XNAS", "CRYPTO"} }

// Lookup returns a built-in calendar by name, in any case: "XKRX" (alias
// "KRX"), "XNYS" ("NYSE"), "XNAS" ("NASDAQ") or "CRYPTO" ("24/7", "24x7").
// Every call returns the same immutable *Calendar.
func Lookup(name string) (*Calendar, error) {
	key := strings.ToUpper(strings.TrimSpace(name))
	if a, ok := aliases[key]; ok {
		key = a
	}
	build, ok := builtins[key]
	if !ok {
		return nil, fmt.Errorf("calendar: unknown calendar %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return build()
}

func builtin(name, zone, file string, hours []SessionHours, weekend []time.Weekday) (*Calendar, error) {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, fmt.Errorf("calendar: %s: %w", name, err)
	}
	c, err := New(Config{Name: name, Location: loc, Hours: hours, Weekend: weekend})
	if err != nil {
		return nil, err
	}
	b, err := data.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("calendar: %s: %w", name, err)
	}
	return c.loadHolidays(bytes.NewReader(b), file)
}
