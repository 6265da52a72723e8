package portfolio

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// Position is one row of a positions file or table: Quantity units of
// Symbol bought at CostBasis per unit, in Currency. Its JSON names are the
// columns ParseCSV and a BigQuery positions table use.
//
// FromDate ("2026-01-15", optional) is the trading day the row holds from:
// a symbol's row with the latest FromDate on or before a window's trading
// day is its position then, and a symbol with no such row is not held. A
// row without FromDate holds from the beginning, so a file of plain rows is
// the portfolio at all times. Quantity 0 closes the position from FromDate.
//
// Split (optional, new shares per old share: 2 for a 2-for-1 split, 1.5 for
// 3-for-2, 0.1 for 1-for-10) says the symbol split on FromDate, its ex-date:
// prices before FromDate are divided by it wherever they meet prices from
// FromDate on (previous close, period return, drawdown peak). The row's
// Quantity and CostBasis are the post-split ones, as a broker states them.
type Position struct {
	Symbol    string  `json:"symbol"`
	Quantity  float64 `json:"quantity"`
	CostBasis float64 `json:"cost_basis"`
	Currency  string  `json:"currency"`
	FromDate  string  `json:"from_date,omitempty"`
	Split     float64 `json:"split,omitempty"`
}

// Columns are the positions columns in the order of a header-less CSV file;
// the last two are optional.
var Columns = []string{"symbol", "quantity", "cost_basis", "currency", "from_date", "split"}

// Limits of a positions source, so one bad file cannot exhaust a worker.
const (
	MaxPositions = 100_000
	MaxFileBytes = 16 << 20
	maxSymbol    = 64
)

var currencyRE = regexp.MustCompile(`^[A-Z0-9]{2,10}$`)

// Validate checks p and normalises it: trimmed symbol, upper-case currency,
// a YYYY-MM-DD FromDate.
func (p *Position) Validate() error {
	p.Symbol = strings.TrimSpace(p.Symbol)
	p.Currency = strings.ToUpper(strings.TrimSpace(p.Currency))
	p.FromDate = strings.TrimSpace(p.FromDate)
	var errs []error
	switch {
	case p.Symbol == "":
		errs = append(errs, errors.New("symbol: empty"))
	case len(p.Symbol) > maxSymbol || strings.ContainsAny(p.Symbol, " \t\x00") || p.Symbol == "*":
		errs = append(errs, fmt.Errorf("symbol %q: not a ticker", p.Symbol))
	}
	if !finite(p.Quantity) || p.Quantity < 0 {
		errs = append(errs, fmt.Errorf("quantity %v: want a number >= 0 (short positions are not supported)", p.Quantity))
	}
	if !finite(p.CostBasis) || p.CostBasis < 0 {
		errs = append(errs, fmt.Errorf("cost_basis %v: want a number >= 0 (per unit)", p.CostBasis))
	}
	if !currencyRE.MatchString(p.Currency) {
		errs = append(errs, fmt.Errorf("currency %q: want a code such as USD, KRW or USDT", p.Currency))
	}
	if p.FromDate != "" {
		d, err := calendar.ParseDate(p.FromDate)
		if err != nil {
			errs = append(errs, fmt.Errorf("from_date: %w", err))
		} else {
			p.FromDate = d.String()
		}
	}
	switch {
	case p.Split == 0:
	case !finite(p.Split) || p.Split <= 0:
		errs = append(errs, fmt.Errorf("split %v: want new shares per old share, > 0", p.Split))
	case p.FromDate == "":
		errs = append(errs, errors.New("split: needs from_date, the ex-date"))
	}
	return errors.Join(errs...)
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// Holdings is one complete read of a positions source. Each replaces the
// previous one whole, so a row deleted from the file is a position gone.
// Version identifies the content (NewHoldings hashes it): a re-read of an
// unchanged source has the same Version and changes nothing.
type Holdings struct {
	Version   string
	Positions []Position
}

// NewHoldings validates positions and returns them as Holdings, sorted by
// symbol and FromDate. Every problem is reported at once, each naming its
// row (index from 0); two rows of a symbol on the same FromDate, or a symbol
// in two currencies, are errors.
func NewHoldings(positions []Position) (Holdings, error) {
	if len(positions) > MaxPositions {
		return Holdings{}, fmt.Errorf("portfolio: %d positions: at most %d", len(positions), MaxPositions)
	}
	ps := slices.Clone(positions)
	var errs []error
	for i := range ps {
		if err := ps[i].Validate(); err != nil {
			errs = append(errs, fmt.Errorf("row %d: %w", i, err))
		}
	}
	if len(errs) > 0 {
		return Holdings{}, fmt.Errorf("portfolio: %w", errors.Join(errs...))
	}
	slices.SortStableFunc(ps, func(a, b Position) int {
		if c := strings.Compare(a.Symbol, b.Symbol); c != 0 {
			return c
		}
		return strings.Compare(a.FromDate, b.FromDate)
	})
	for i := 1; i < len(ps); i++ {
		a, b := ps[i-1], ps[i]
		if a.Symbol != b.Symbol {
			continue
		}
		if a.FromDate == b.FromDate {
			errs = append(errs, fmt.Errorf("%s: two rows from %q", a.Symbol, a.FromDate))
		}
		if a.Currency != b.Currency {
			errs = append(errs, fmt.Errorf("%s: rows in %s and %s (a symbol trades in one currency)", a.Symbol, a.Currency, b.Currency))
		}
	}
	if len(errs) > 0 {
		return Holdings{}, fmt.Errorf("portfolio: %w", errors.Join(errs...))
	}
	h := Holdings{Positions: ps}
	sum := sha256.Sum256(appendPositions(nil, ps))
	h.Version = hex.EncodeToString(sum[:12])
	return h, nil
}

// ParseCSV reads a positions CSV file (name is for errors). Lines are
// symbol,quantity,cost_basis,currency[,from_date[,split]], or the columns a
// header line names, in any order (symbol, quantity, cost_basis and currency
// required). Blank lines and lines starting with # are skipped. Every bad
// line is reported at once, as name:line: reason.
func ParseCSV(name string, data []byte) (Holdings, error) {
	if len(data) > MaxFileBytes {
		return Holdings{}, fmt.Errorf("portfolio: %s: %d bytes: at most %d", name, len(data), MaxFileBytes)
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	r.Comment = '#'
	r.ReuseRecord = true
	cols := map[string]int{}
	for i, c := range Columns {
		cols[c] = i
	}
	minFields, maxFields := 4, len(Columns)
	var ps []Position
	var errs []error
	for first := true; len(errs) < maxErrors; first = false {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		line, _ := r.FieldPos(0)
		bad := func(err error) { errs = append(errs, fmt.Errorf("%s:%d: %w", name, line, err)) }
		if err != nil {
			bad(err)
			continue
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if first && slices.ContainsFunc(rec, func(f string) bool { return strings.EqualFold(f, "symbol") }) {
			if cols, err = headerColumns(rec); err != nil {
				bad(err)
				break
			}
			minFields, maxFields = len(rec), len(rec)
			continue
		}
		if len(rec) < minFields || len(rec) > maxFields {
			bad(fmt.Errorf("%d fields, want %s", len(rec), fieldCount(minFields, maxFields)))
			continue
		}
		p, err := positionOf(rec, cols)
		if err == nil {
			err = p.Validate()
		}
		if err != nil {
			bad(err)
			continue
		}
		if len(ps) == MaxPositions {
			bad(fmt.Errorf("more than %d positions", MaxPositions))
			break
		}
		ps = append(ps, p)
	}
	if len(errs) > 0 {
		return Holdings{}, fmt.Errorf("portfolio: %w", errors.Join(errs...))
	}
	h, err := NewHoldings(ps)
	if err != nil {
		return Holdings{}, fmt.Errorf("%s: %w", name, err)
	}
	return h, nil
}

// headerColumns maps a header line's column names to their index.
func headerColumns(rec []string) (map[string]int, error) {
	cols := map[string]int{}
	for i, c := range rec {
		c = strings.ToLower(c)
		if !slices.Contains(Columns, c) {
			return nil, fmt.Errorf("header: unknown column %q (want %s)", c, strings.Join(Columns, ","))
		}
		if _, dup := cols[c]; dup {
			return nil, fmt.Errorf("header: column %q twice", c)
		}
		cols[c] = i
	}
	for _, c := range Columns[:4] {
		if _, ok := cols[c]; !ok {
			return nil, fmt.Errorf("header: column %q missing", c)
		}
	}
	return cols, nil
}

// maxErrors bounds the problems ParseCSV reports.
const maxErrors = 20

func fieldCount(lo, hi int) string {
	if lo == hi {
		return fmt.Sprintf("%d, as the header", lo)
	}
	return fmt.Sprintf("%d to %d (%s)", lo, hi, strings.Join(Columns, ","))
}

// positionOf reads one record by column index.
func positionOf(rec []string, cols map[string]int) (Position, error) {
	get := func(c string) string {
		if i, ok := cols[c]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	p := Position{Symbol: get("symbol"), Currency: get("currency"), FromDate: get("from_date")}
	var errs []error
	for _, f := range []struct {
		col      string
		dst      *float64
		optional bool
	}{{"quantity", &p.Quantity, false}, {"cost_basis", &p.CostBasis, false}, {"split", &p.Split, true}} {
		s := get(f.col)
		if s == "" && f.optional {
			continue
		}
		v, err := strconv.ParseFloat(s, 64)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s %q: not a number", f.col, s))
		case f.optional && !(v > 0):
			errs = append(errs, fmt.Errorf("%s %v: want new shares per old share, > 0 (or leave it empty)", f.col, v))
		}
		*f.dst = v
	}
	return p, errors.Join(errs...)
}

func appendPositions(b []byte, ps []Position) []byte {
	b = wire.AppendInt(b, int64(len(ps)))
	for _, p := range ps {
		b = wire.AppendString(b, p.Symbol)
		b = wire.AppendFloat(b, p.Quantity)
		b = wire.AppendFloat(b, p.CostBasis)
		b = wire.AppendString(b, p.Currency)
		b = wire.AppendString(b, p.FromDate)
		b = wire.AppendFloat(b, p.Split)
	}
	return b
}

func readPositions(r *wire.Reader, size int) []Position {
	n := r.Int()
	if n < 0 || n > int64(size) {
		r.Fail(fmt.Errorf("bad position count %d", n))
		return nil
	}
	ps := make([]Position, 0, n)
	for i := int64(0); i < n && r.Err() == nil; i++ {
		ps = append(ps, Position{Symbol: r.String(), Quantity: r.Float(), CostBasis: r.Float(), Currency: r.String(),
			FromDate: r.String(), Split: r.Float()})
	}
	return ps
}

// encodeHoldings and decodeHoldings are Holdings' Beam coder.
func encodeHoldings(h Holdings) ([]byte, error) {
	return appendPositions(wire.AppendString(nil, h.Version), h.Positions), nil
}

func decodeHoldings(b []byte) (Holdings, error) {
	r := wire.NewReader(b)
	h := Holdings{Version: r.String()}
	h.Positions = readPositions(r, len(b))
	if err := r.Err(); err != nil {
		return Holdings{}, fmt.Errorf("decode Holdings: %w", err)
	}
	return h, nil
}

// at returns the positions held on trading day day (YYYY-MM-DD): per
// symbol, the row with the latest FromDate on or before it, if its Quantity
// is not 0.
func (h *Holdings) at(day string) []Position {
	var out []Position
	for i, p := range h.Positions {
		if p.FromDate > day {
			continue
		}
		if i+1 < len(h.Positions) && h.Positions[i+1].Symbol == p.Symbol && h.Positions[i+1].FromDate <= day {
			continue // a later row of the symbol holds
		}
		if p.Quantity > 0 {
			out = append(out, p)
		}
	}
	return out
}

// splitFactor is what a price of symbol on trading day from is divided by to
// compare with prices of day to (from <= to): the product of the symbol's
// splits with an ex-date in (from, to].
func (h *Holdings) splitFactor(symbol, from, to string) float64 {
	f := 1.0
	if from >= to {
		return f
	}
	i, _ := slices.BinarySearchFunc(h.Positions, symbol, func(p Position, s string) int { return strings.Compare(p.Symbol, s) })
	for ; i < len(h.Positions) && h.Positions[i].Symbol == symbol; i++ {
		if p := h.Positions[i]; p.Split > 0 && p.FromDate > from && p.FromDate <= to {
			f *= p.Split
		}
	}
	return f
}
