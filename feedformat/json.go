package feedformat

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/jsonscan"
)

func init() { constructors["json"] = newJSON }

// jsonParser maps fields of arbitrary JSON objects to ticks through
// Options.JSONFields: tick field -> dotted path, where a numeric segment
// indexes an array ("data.p", "p.1"). A payload may hold one object or an
// array of them. When every path starts with an index, a top-level array is
// one record instead (array-shaped messages such as [id, "te", [...]]).
type jsonParser struct {
	b         builder
	paths     [nFields][]string
	dotted    [nFields]string
	arrayRoot bool
}

func newJSON(o Options) (Parser, error) {
	if len(o.JSONFields) == 0 {
		return nil, errors.New("Options.JSONFields is empty: map tick fields to dotted JSON paths, e.g. {\"symbol\": \"s\", \"price\": \"p\", \"event_time\": \"T\"}")
	}
	p := &jsonParser{arrayRoot: true}
	var have [nFields]bool
	names := make([]string, 0, len(o.JSONFields))
	for name := range o.JSONFields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := o.JSONFields[name]
		f, _ := fieldByName(name) // Options.check vouched for names and paths
		segs := strings.Split(path, ".")
		if _, err := strconv.Atoi(segs[0]); err != nil {
			p.arrayRoot = false
		}
		p.paths[f], p.dotted[f], have[f] = segs, path, true
	}
	if err := checkRequired(&have, o); err != nil {
		return nil, fmt.Errorf("JSONFields: %w", err)
	}
	b, err := newBuilder(o)
	if err != nil {
		return nil, err
	}
	p.b = b
	return p, nil
}

func (p *jsonParser) Parse(dst []tickbeam.Tick, payload []byte) ([]tickbeam.Tick, error) {
	root, err := jsonscan.Parse(payload)
	if err != nil {
		return dst, errors.New("json: invalid JSON: " + err.Error())
	}
	if root.Kind != jsonscan.Array || p.arrayRoot {
		t, err := p.record(root, "")
		if err != nil {
			return dst, err
		}
		return append(dst, t), nil
	}
	n := len(dst)
	it := root.Elements()
	for i := 0; it.Next(); i++ {
		t, err := p.record(it.Value(), fmt.Sprintf("record[%d]: ", i))
		if err != nil {
			return dst[:n], err
		}
		dst = append(dst, t)
	}
	if err := it.Err(); err != nil { // unreachable: Parse validated the payload
		return dst[:n], errors.New("json: invalid JSON: " + err.Error())
	}
	if len(dst) == n {
		return dst, ErrControl // an empty array
	}
	return dst, nil
}

func (p *jsonParser) record(v jsonscan.Value, where string) (tickbeam.Tick, error) {
	if v.Kind != jsonscan.Object && v.Kind != jsonscan.Array {
		what := where
		if what == "" {
			what = "payload "
		}
		return tickbeam.Tick{}, fmt.Errorf("json: %sis a JSON %s, not an object", what, v.Kind)
	}
	var cells [nFields]cell
	for f, path := range p.paths {
		if path == nil {
			continue
		}
		x, found, err := jsonscan.Lookup(v, path)
		if err != nil {
			return tickbeam.Tick{}, errors.New("json: " + where + "invalid JSON: " + err.Error())
		}
		if !found || x.Kind == jsonscan.Null {
			if (f == int(fSymbol) && p.b.symbol == "") || f == int(fPrice) || f == int(fEventTime) {
				return tickbeam.Tick{}, fmt.Errorf("json: %sfield %s: path %q not found", where, field(f), p.dotted[f])
			}
			continue
		}
		switch x.Kind {
		case jsonscan.String:
			cells[f] = cell{text: x.Text(nil), set: true}
		case jsonscan.Number:
			cells[f] = cell{text: x.Raw, set: true}
		default:
			return tickbeam.Tick{}, fmt.Errorf("json: %sfield %s (path %q): want a string or number, got %s",
				where, field(f), p.dotted[f], x.Kind)
		}
	}
	t, ferr := p.b.build(&cells)
	if ferr != nil {
		return tickbeam.Tick{}, fmt.Errorf("json: %sfield %s (path %q): %s", where, ferr.f, p.dotted[ferr.f], ferr.msg)
	}
	return t, nil
}
