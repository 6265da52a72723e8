package daily

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Report is one symbol's trading day: the daily report of seed 003, as a
// CSV file per symbol and day and as a row.
type Report struct {
	Symbol   string `json:"symbol"`
	Date     string `json:"date"` // exchange-local trading day, YYYY-MM-DD
	Calendar string `json:"calendar"`
	// Open, High, Low, Close, Volume, Notional, VWAP, Trades, BuyVolume and
	// SellVolume are the day's 1d bar (bars.Accumulator): every trade of the
	// trading day, pre-market and after-hours included.
	Open       float64 `json:"open"`
	High       float64 `json:"high"`
	Low        float64 `json:"low"`
	Close      float64 `json:"close"`
	Volume     float64 `json:"volume"`
	Notional   float64 `json:"notional"`
	VWAP       float64 `json:"vwap"`
	Trades     int64   `json:"trades"`
	BuyVolume  float64 `json:"buy_volume"`
	SellVolume float64 `json:"sell_volume"`
	// TradeStrength is buy volume / sell volume x 100 (0 with no sells), as
	// SessionStats.
	TradeStrength float64 `json:"trade_strength"`
	// PrevClose is the previous trading day's close (its last trade, as its
	// 1d bar), when the input holds that day; ReturnPct is Close against it.
	PrevClose *float64 `json:"prev_close"`
	ReturnPct *float64 `json:"return_pct"`
	// HighTime and LowTime are the first trades at the high and the low.
	HighTime time.Time `json:"high_time"`
	LowTime  time.Time `json:"low_time"`
	// The largest trade by size (the first of equals).
	LargestTradePrice float64   `json:"largest_trade_price"`
	LargestTradeSize  float64   `json:"largest_trade_size"`
	LargestTradeTime  time.Time `json:"largest_trade_time"`
	FirstTrade        time.Time `json:"first_trade"`
	LastTrade         time.Time `json:"last_trade"`
}

// Quality is one symbol's data quality on a trading day. The row of symbol
// "*" holds what belongs to no symbol: the day's dead letters by stage.
type Quality struct {
	Symbol   string `json:"symbol"`
	Date     string `json:"date"`
	Calendar string `json:"calendar"`
	// Trades counts the day's trades after deduplication; Duplicates the
	// redelivered copies dropped.
	Trades     int64 `json:"trades"`
	Duplicates int64 `json:"duplicates"`
	// OutOfSession counts trades on the day's local date outside every
	// session (pre, regular, after) of the calendar.
	OutOfSession int64 `json:"out_of_session"`
	// Gaps counts the stretches of the regular session, open and close
	// included as ends, with no trade for longer than GapMinutes;
	// LongestGapSeconds is the longest stretch.
	Gaps              int64   `json:"gaps"`
	GapMinutes        float64 `json:"gap_minutes"`
	LongestGapSeconds float64 `json:"longest_gap_seconds"`
	// First and last trades of the regular session against its open and
	// close (null with no regular session or no trade in it).
	RegularOpen       *time.Time `json:"regular_open"`
	RegularClose      *time.Time `json:"regular_close"`
	FirstRegularTrade *time.Time `json:"first_regular_trade"`
	LastRegularTrade  *time.Time `json:"last_regular_trade"`
	OpenDelaySeconds  *float64   `json:"open_delay_seconds"`
	CloseGapSeconds   *float64   `json:"close_gap_seconds"`
	// Outliers counts the symbol's trades of the day an outlier rule
	// quarantined (Config.Rules, or the streaming run's dead letters of
	// stage outlier); Late the trades that reached the streaming run after
	// their allowed lateness (its dead letters of stage late).
	Outliers int64 `json:"outliers"`
	Late     int64 `json:"late"`
	// DeadLetters is the day's dead letters by stage, "parse=2,late=1"
	// (row "*" only): late trades are the dead letters of stage late, which
	// the streaming run archived beside its ticks.
	DeadLetters string `json:"dead_letters"`
	// Failed lists the checks of Checks this row fails.
	Failed []string `json:"failed"`
}

// Checks are the quality checks --fail_on can name.
var Checks = []string{"gaps", "duplicates", "out_of_session", "outliers", "late", "dead_letters", "no_trades"}

// failed returns the checks q fails.
func (q *Quality) failed() []string {
	var out []string
	for _, c := range []struct {
		name string
		bad  bool
	}{{"gaps", q.Gaps > 0}, {"duplicates", q.Duplicates > 0}, {"out_of_session", q.OutOfSession > 0},
		{"outliers", q.Outliers > 0}, {"late", q.Late > 0},
		{"dead_letters", q.DeadLetters != ""}, {"no_trades", q.Symbol != "*" && q.Trades == 0}} {
		if c.bad {
			out = append(out, c.name)
		}
	}
	return out
}

// csvHeader and csvRow render a Report as seed 003's CSV.
var csvHeader = "symbol,date,open,high,low,close,volume,notional,vwap,trades,buy_volume,sell_volume,trade_strength,prev_close,return_pct,high_time,low_time,largest_trade_price,largest_trade_size,largest_trade_time,first_trade,last_trade"

func (r *Report) csvRow() string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	opt := func(x *float64) string {
		if x == nil {
			return ""
		}
		return f(*x)
	}
	t := func(x time.Time) string { return x.UTC().Format(time.RFC3339Nano) }
	return strings.Join([]string{csvField(r.Symbol), r.Date, f(r.Open), f(r.High), f(r.Low), f(r.Close), f(r.Volume), f(r.Notional), f(r.VWAP),
		strconv.FormatInt(r.Trades, 10), f(r.BuyVolume), f(r.SellVolume), f(r.TradeStrength), opt(r.PrevClose), opt(r.ReturnPct),
		t(r.HighTime), t(r.LowTime), f(r.LargestTradePrice), f(r.LargestTradeSize), t(r.LargestTradeTime), t(r.FirstTrade), t(r.LastTrade)}, ",")
}

// csvField quotes a field holding a comma, quote or line break (RFC 4180).
func csvField(s string) string {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// reportPath is where a report's CSV goes under prefix:
// daily_report/symbol=S/date=D.csv, S path-escaped so no symbol can leave
// its directory.
func reportPath(prefix, symbol, date string) (string, error) {
	seg := pathSegment(symbol)
	if seg == "" {
		return "", fmt.Errorf("symbol %q cannot name a directory", symbol)
	}
	return strings.TrimSuffix(prefix, "/") + "/daily_report/symbol=" + seg + "/date=" + date + ".csv", nil
}

// pathSegment escapes everything but [A-Za-z0-9._-] as %XX; "." and ".."
// are refused.
func pathSegment(s string) string {
	if s == "" || s == "." || s == ".." {
		return ""
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
