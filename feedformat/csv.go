package feedformat

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tickbeam/tickbeam"
)

func init() { constructors["csv"] = newCSV }

// skipColumn marks a CSV column that maps to no field.
const skipColumn = nFields

// csvParser maps the columns of CSV lines to ticks through
// Options.CSVColumns. A payload is normally one line; every line of a
// multi-line payload becomes a tick. Quoted cells follow RFC 4180.
//
// Header lines return ErrControl: a line whose every mapped cell equals its
// column's field name (ignoring case) always is one; with Options.CSVHeader,
// so is a line whose price and event_time cells both fail to parse (a header
// with names of its own). A payload holds no position in its file, so "the
// first line" cannot be told apart otherwise.
type csvParser struct {
	b      builder
	cols   []field
	header bool
}

func newCSV(o Options) (Parser, error) {
	if len(o.CSVColumns) == 0 {
		return nil, errors.New(`Options.CSVColumns is empty: name the tick field of each column, e.g. ["event_time", "symbol", "price", "size"]`)
	}
	p := &csvParser{cols: make([]field, len(o.CSVColumns)), header: o.CSVHeader}
	var have [nFields]bool
	for i, name := range o.CSVColumns {
		if name == "" || name == "-" {
			p.cols[i] = skipColumn
			continue
		}
		f, _ := fieldByName(name) // Options.check vouched for names, each once
		p.cols[i], have[f] = f, true
	}
	if err := checkRequired(&have, o); err != nil {
		return nil, fmt.Errorf("CSVColumns: %w", err)
	}
	b, err := newBuilder(o)
	if err != nil {
		return nil, err
	}
	p.b = b
	return p, nil
}

func (p *csvParser) Parse(dst []tickbeam.Tick, payload []byte) ([]tickbeam.Tick, error) {
	n := len(dst)
	r := csv.NewReader(bytes.NewReader(payload))
	r.FieldsPerRecord = len(p.cols)
	r.ReuseRecord = true
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return dst[:n], csvError(err, len(p.cols), len(rec))
		}
		line, _ := r.FieldPos(0)
		if p.isHeader(rec) {
			continue
		}
		var cells [nFields]cell
		for i, f := range p.cols {
			if f != skipColumn {
				cells[f] = cell{text: []byte(rec[i]), set: true}
			}
		}
		t, ferr := p.b.build(&cells)
		if ferr != nil {
			col := 0
			for i, f := range p.cols {
				if f == ferr.f {
					col = i + 1
				}
			}
			return dst[:n], fmt.Errorf("csv: line %d: column %d (%s): %s", line, col, ferr.f, ferr.msg)
		}
		dst = append(dst, t)
	}
	if len(dst) == n {
		return dst, ErrControl // header or blank lines only
	}
	return dst, nil
}

// isHeader reports a header line (see csvParser).
func (p *csvParser) isHeader(rec []string) bool {
	all := true
	var price, at string
	for i, f := range p.cols {
		if f == skipColumn {
			continue
		}
		cell := strings.TrimSpace(rec[i])
		if !strings.EqualFold(cell, f.String()) {
			all = false
		}
		switch f {
		case fPrice:
			price = cell
		case fEventTime:
			at = cell
		}
	}
	if all {
		return true
	}
	if !p.header {
		return false
	}
	if _, ok := parseDecimal([]byte(price)); ok {
		return false
	}
	if at == "" {
		return true
	}
	_, msg := p.b.times.parse([]byte(at))
	return msg != ""
}

func csvError(err error, want, got int) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("csv: %v", err)
	}
	if errors.Is(pe.Err, csv.ErrFieldCount) {
		return fmt.Errorf("csv: line %d: want %d columns (Options.CSVColumns), got %d", pe.StartLine, want, got)
	}
	return fmt.Errorf("csv: line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
}
