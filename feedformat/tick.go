package feedformat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tickbeam/tickbeam"
)

func init() { constructors["tick"] = newTickParser }

// tickParser reads tickbeam's own Tick JSON (the public schema): what the
// raw archive holds and what `tickbeam feed` publishes for the synthetic feed,
// so an archive replays into the same ticks. A payload is one object or an
// array of them. A tick keeps its own source; Options.Source fills it in only
// when it is empty, so replayed trades keep their dedupe identity.
type tickParser struct{ source string }

func newTickParser(o Options) (Parser, error) { return &tickParser{source: o.Source}, nil }

func (p *tickParser) Parse(dst []tickbeam.Tick, payload []byte) ([]tickbeam.Tick, error) {
	var ticks []tickbeam.Tick
	trimmed := bytes.TrimSpace(payload)
	var err error
	if len(trimmed) > 0 && trimmed[0] == '[' {
		err = json.Unmarshal(trimmed, &ticks)
	} else {
		var t tickbeam.Tick
		err = json.Unmarshal(trimmed, &t)
		ticks = append(ticks, t)
	}
	if err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return dst, fmt.Errorf("tick: invalid JSON at offset %d: %v", syn.Offset, syn)
		}
		return dst, fmt.Errorf("tick: %v", err)
	}
	if len(ticks) == 0 {
		return dst, errors.New("tick: empty array")
	}
	for i := range ticks {
		t := &ticks[i]
		if t.Kind != tickbeam.Trade && t.Kind != tickbeam.Quote {
			return dst, fmt.Errorf("tick %d: kind %s is not TRADE or QUOTE", i+1, quote(string(t.Kind)))
		}
		switch t.Side {
		case "", tickbeam.Buy, tickbeam.Sell, tickbeam.Unknown:
		default:
			return dst, fmt.Errorf("tick %d: side %s is not BUY, SELL or UNKNOWN", i+1, quote(string(t.Side)))
		}
		if t.Source == "" {
			t.Source = p.source
		}
		if t.Side == "" {
			t.Side = tickbeam.Unknown
		}
		t.EventTime = t.EventTime.UTC()
		t.IngestTime = time.Time{} // set on arrival by the caller, as for every format
	}
	return append(dst, ticks...), nil
}
