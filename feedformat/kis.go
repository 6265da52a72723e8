package feedformat

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/jsonscan"
)

func init() { constructors["kis"] = newKIS }

// kis parses Korea Investment & Securities real-time domestic stock trades
// (tr_id H0STCNT0): "0|H0STCNT0|NNN|" then NNN records of 46 '^'-separated
// fields, all joined by '^'.
//
// KIS sends no trade id. A trade is identified by (symbol, BSOP_DATE,
// ACML_VOL): the day's cumulative volume grows with every trade. TradeID is
// BSOP_DATE followed by ACML_VOL zero-padded to 12 digits
// ("20260115000012345678"), numeric and ordered within the day.
//
// JSON frames are control messages: PINGPONG heartbeats and subscription
// responses. A refused subscription (rt_cd other than "0") returns an error
// that wraps ErrControl and carries msg_cd and msg1; the AES key and iv of a
// successful response are never repeated.
type kis struct {
	source string
	syms   interner
	id     []byte
}

func newKIS(o Options) (Parser, error) { return &kis{source: o.Source}, nil }

// H0STCNT0 field positions.
const (
	kisFields    = 46
	kisSymbol    = 0  // MKSC_SHRN_ISCD
	kisHour      = 1  // STCK_CNTG_HOUR, HHMMSS
	kisPrice     = 2  // STCK_PRPR
	kisSign      = 3  // PRDY_VRSS_SIGN
	kisChange    = 4  // PRDY_VRSS
	kisVolume    = 12 // CNTG_VOL
	kisCumVolume = 13 // ACML_VOL
	kisSide      = 21 // CCLD_DVSN
	kisDate      = 33 // BSOP_DATE, YYYYMMDD
)

var kisFieldNames = map[int]string{
	kisSymbol: "MKSC_SHRN_ISCD", kisHour: "STCK_CNTG_HOUR", kisPrice: "STCK_PRPR",
	kisSign: "PRDY_VRSS_SIGN", kisChange: "PRDY_VRSS", kisVolume: "CNTG_VOL",
	kisCumVolume: "ACML_VOL", kisSide: "CCLD_DVSN", kisDate: "BSOP_DATE",
}

func (p *kis) Parse(dst []tickbeam.Tick, payload []byte) ([]tickbeam.Tick, error) {
	b := trimSpace(payload)
	if len(b) > 0 && b[0] == '{' {
		return dst, kisJSON(b)
	}
	// 0|H0STCNT0|003|body
	var head [3][]byte
	rest := b
	for i := range head {
		j := bytes.IndexByte(rest, '|')
		if j < 0 {
			return dst, fmt.Errorf("kis: invalid frame: want 4 '|'-separated parts (flag|tr_id|count|data), got %d", i+1)
		}
		head[i], rest = rest[:j], rest[j+1:]
	}
	switch string(head[0]) {
	case "0":
	case "1":
		return dst, errors.New("kis: encrypted payload (AES) not supported; subscribe to unencrypted H0STCNT0")
	default:
		return dst, fmt.Errorf("kis: invalid frame: encryption flag %s is not 0 or 1", quoteBytes(head[0]))
	}
	if string(head[1]) != "H0STCNT0" {
		return dst, fmt.Errorf("kis: unsupported tr_id %s", printable(head[1]))
	}
	count, ok := parseUint(head[2])
	if !ok || count == 0 || count > 999 {
		return dst, fmt.Errorf("kis: invalid record count %s", quoteBytes(head[2]))
	}
	if got := bytes.Count(rest, []byte{'^'}) + 1; uint64(got) != count*kisFields {
		return dst, fmt.Errorf("kis: H0STCNT0 with %d records needs %d fields, got %d", count, count*kisFields, got)
	}
	n := len(dst)
	var f [kisFields][]byte
	for r := 0; r < int(count); r++ {
		for i := range f {
			j := bytes.IndexByte(rest, '^')
			if j < 0 {
				f[i], rest = rest, nil
			} else {
				f[i], rest = rest[:j], rest[j+1:]
			}
		}
		t, err := p.record(&f, r)
		if err != nil {
			return dst[:n], err
		}
		dst = append(dst, t)
	}
	return dst, nil
}

func (p *kis) record(f *[kisFields][]byte, r int) (tickbeam.Tick, error) {
	bad := func(i int, what string) error {
		return fmt.Errorf("kis: record[%d]: field %s: invalid %s %s", r, kisFieldNames[i], what, quoteBytes(f[i]))
	}
	if len(f[kisSymbol]) == 0 {
		return tickbeam.Tick{}, bad(kisSymbol, "symbol")
	}
	date, ok := kisParseDate(f[kisDate])
	if !ok {
		return tickbeam.Tick{}, bad(kisDate, "date")
	}
	h, m, s, ok := kisClock(f[kisHour])
	if !ok {
		return tickbeam.Tick{}, bad(kisHour, "time")
	}
	at := time.Date(date.Year(), date.Month(), date.Day(), h, m, s, 0, seoul).UTC()
	price, ok := parseDecimal(f[kisPrice])
	if !ok {
		return tickbeam.Tick{}, bad(kisPrice, "price")
	}
	change, ok := parseDecimal(f[kisChange])
	if !ok {
		return tickbeam.Tick{}, bad(kisChange, "change")
	}
	switch string(f[kisSign]) {
	case "4", "5": // lower limit, down: real payloads already carry the minus
		if change > 0 {
			change = -change
		}
	case "1", "2", "3":
	default:
		return tickbeam.Tick{}, bad(kisSign, "change sign")
	}
	size, ok := parseDecimal(f[kisVolume])
	if !ok {
		return tickbeam.Tick{}, bad(kisVolume, "volume")
	}
	cum, ok := parseUint(f[kisCumVolume])
	if !ok {
		return tickbeam.Tick{}, bad(kisCumVolume, "cumulative volume")
	}
	side := tickbeam.Unknown
	switch string(f[kisSide]) {
	case "1":
		side = tickbeam.Buy
	case "5":
		side = tickbeam.Sell
	}
	// TradeID: BSOP_DATE + ACML_VOL zero-padded to 12 digits.
	p.id = append(p.id[:0], f[kisDate]...)
	var digits [20]byte
	d := strconv.AppendUint(digits[:0], cum, 10)
	for pad := 12 - len(d); pad > 0; pad-- {
		p.id = append(p.id, '0')
	}
	p.id = append(p.id, d...)

	changeText := f[kisChange]
	if len(changeText) > 0 && (changeText[0] == '-' || changeText[0] == '+') {
		changeText = changeText[1:]
	}
	return tickbeam.Tick{
		Symbol:    p.syms.get(f[kisSymbol]),
		Venue:     "XKRX",
		Kind:      tickbeam.Trade,
		EventTime: at,
		Price:     price,
		Size:      size,
		Side:      side,
		TradeID:   string(p.id),
		PrevClose: diff(price, change, f[kisPrice], changeText),
		Source:    p.source,
		Currency:  "KRW",
	}, nil
}

// kisParseDate parses YYYYMMDD, refusing dates time.Date would normalise.
func kisParseDate(b []byte) (time.Time, bool) {
	if len(b) != 8 {
		return time.Time{}, false
	}
	v, ok := parseUint(b)
	if !ok {
		return time.Time{}, false
	}
	y, m, d := int(v/10000), int(v/100%100), int(v%100)
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return time.Time{}, false
	}
	return t, true
}

// kisClock parses HHMMSS.
func kisClock(b []byte) (h, m, s int, ok bool) {
	if len(b) != 6 {
		return 0, 0, 0, false
	}
	v, ok := parseUint(b)
	if !ok {
		return 0, 0, 0, false
	}
	h, m, s = int(v/10000), int(v/100%100), int(v%100)
	if h > 23 || m > 59 || s > 59 {
		return 0, 0, 0, false
	}
	return h, m, s, true
}

// kisJSON classifies a JSON frame: a control message when it names its
// tr_id (a heartbeat, a subscription reply), else an error.
func kisJSON(b []byte) error {
	root, err := jsonscan.Parse(b)
	if err != nil {
		return errors.New("kis: invalid JSON frame: " + err.Error())
	}
	trID, _, _ := jsonscan.Lookup(root, []string{"header", "tr_id"})
	if trID.Kind != jsonscan.String || len(trID.Raw) == 0 {
		// Heartbeats and subscription replies name their tr_id: {} or a
		// null header is a malformed message, not a control one.
		return errors.New("kis: JSON frame without a header.tr_id")
	}
	if string(trID.Raw) == "PINGPONG" {
		return ErrControl
	}
	rt, found, _ := jsonscan.Lookup(root, []string{"body", "rt_cd"})
	if !found || string(rt.Raw) == "0" {
		return ErrControl
	}
	code, _, _ := jsonscan.Lookup(root, []string{"body", "msg_cd"})
	msg, _, _ := jsonscan.Lookup(root, []string{"body", "msg1"})
	return errControlf("kis: %s subscription failed (rt_cd %s, msg_cd %s): %s",
		printable(trID.Text(nil)), printable(rt.Text(nil)), printable(code.Text(nil)), quoteLong(msg.Text(nil)))
}

// printable returns b as is when it is a short run of letters, digits, '_'
// or '-' (a tr_id, a code), else quoted.
func printable(b []byte) string {
	if len(b) == 0 || len(b) > 32 {
		return quoteBytes(b)
	}
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return quoteBytes(b)
		}
	}
	return string(b)
}
