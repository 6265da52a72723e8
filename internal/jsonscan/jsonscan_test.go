package jsonscan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseValid(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind Kind
		raw  string
	}{
		{`null`, Null, `null`},
		{` true `, True, `true`},
		{"\tfalse\n", False, `false`},
		{`0`, Number, `0`},
		{`-0.5e+10`, Number, `-0.5e+10`},
		{`123456789012345678901234567890`, Number, `123456789012345678901234567890`},
		{`""`, String, ``},
		{`"a\"b"`, String, `a\"b`},
		{`"\u00e9\ud83d\ude00"`, String, `\u00e9\ud83d\ude00`},
		{`"é"`, String, `é`},
		{`{}`, Object, `{}`},
		{` { "a" : [ 1 , { } , [ ] ] } `, Object, `{ "a" : [ 1 , { } , [ ] ] }`},
		{`[[[[]]]]`, Array, `[[[[]]]]`},
		{`["]", "}", "\\"]`, Array, `["]", "}", "\\"]`},
	} {
		v, err := Parse([]byte(tc.in))
		if err != nil || v.Kind != tc.kind || string(v.Raw) != tc.raw {
			t.Errorf("Parse(%q) = %v %q, %v; want %v %q", tc.in, v.Kind, v.Raw, err, tc.kind, tc.raw)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{``, `jsonscan: unexpected end of input (expected a value) at offset 0`},
		{`   `, `jsonscan: unexpected end of input (expected a value) at offset 3`},
		{`nul`, `jsonscan: unexpected end of input in literal null at offset 3`},
		{`nulL`, `jsonscan: invalid character 'L' in literal null at offset 3`},
		{`01`, `jsonscan: invalid character '1' after top-level value at offset 1`},
		{`-`, `jsonscan: unexpected end of input in number at offset 1`},
		{`1.`, `jsonscan: unexpected end of input after decimal point in number at offset 2`},
		{`1.e5`, `jsonscan: invalid character 'e' after decimal point in number at offset 2`},
		{`1e`, `jsonscan: unexpected end of input in exponent of number at offset 2`},
		{`+1`, `jsonscan: invalid character '+' looking for beginning of value at offset 0`},
		{`"abc`, `jsonscan: unexpected end of input in string literal at offset 4`},
		{`"a` + "\n" + `"`, `jsonscan: invalid character byte 0x0a in string literal at offset 2`},
		{`"\x"`, `jsonscan: invalid character 'x' in string escape at offset 2`},
		{`"\u12G4"`, `jsonscan: invalid character 'G' in \u escape at offset 5`},
		{`"\u12`, `jsonscan: unexpected end of input in \u escape at offset 5`},
		{`[1,]`, `jsonscan: invalid character ']' looking for beginning of value at offset 3`},
		{`[1 2]`, `jsonscan: invalid character '2' after array element (expected ',' or ']') at offset 3`},
		{`{"a" 1}`, `jsonscan: invalid character '1' after object key (expected ':') at offset 5`},
		{`{"a":1,}`, `jsonscan: invalid character '}' looking for object key at offset 7`},
		{`{1:2}`, `jsonscan: invalid character '1' looking for object key at offset 1`},
		{`{"a":1]`, `jsonscan: invalid character ']' after object member (expected ',' or '}') at offset 6`},
		{`[`, `jsonscan: unexpected end of input at offset 1`},
		{`[{"a":[`, `jsonscan: unexpected end of input at offset 7`},
		{`{} {}`, `jsonscan: invalid character '{' after top-level value at offset 3`},
		{"\x00", `jsonscan: invalid character byte 0x00 looking for beginning of value at offset 0`},
		{strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), `jsonscan: nesting deeper than 512 levels at offset 512`},
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil || err.Error() != tc.err {
			t.Errorf("Parse(%.40q) error:\n got %v\nwant %s", tc.in, err, tc.err)
		}
	}
	deep := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := Parse([]byte(deep)); err != nil {
		t.Errorf("Parse of %d nested arrays: %v", MaxDepth, err)
	}
}

func TestMembers(t *testing.T) {
	in := []byte(` {"e":"trade", "k\"ey" : {"x":[1,{"y":2}]}, "n":-1.5e3,"t":true,"f":false,"z":null,"s":"a\nb"} `)
	type kv struct {
		k    string
		kind Kind
		raw  string
		esc  bool
	}
	var got []kv
	it := Members(in)
	for it.Next() {
		k, v := it.Key(), it.Value()
		got = append(got, kv{string(k.Text(nil)), v.Kind, string(v.Raw), v.Escaped})
	}
	if err := it.Finish(); err != nil {
		t.Fatal(err)
	}
	want := []kv{
		{"e", String, "trade", false},
		{`k"ey`, Object, `{"x":[1,{"y":2}]}`, false},
		{"n", Number, "-1.5e3", false},
		{"t", True, "true", false},
		{"f", False, "false", false},
		{"z", Null, "null", false},
		{"s", String, `a\nb`, true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d members %v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("member %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if n := it.End(); in[n-1] != '}' {
		t.Errorf("End() = %d, not just past the object", n)
	}

	// Errors stop the walk.
	it = Members([]byte(`{"a":1,"b":tru}`))
	n := 0
	for it.Next() {
		n++
	}
	if n != 1 || it.Err() == nil || it.Err().Error() != `jsonscan: invalid character '}' in literal true at offset 14` {
		t.Errorf("walk of bad object: %d members, err %v", n, it.Err())
	}
	if it.Next() {
		t.Error("Next after an error returned true")
	}
	if k, v := it.Key(), it.Value(); k.Kind != Invalid || v.Kind != Invalid {
		t.Errorf("after error Key, Value = %v, %v; want zero", k, v)
	}

	// Trailing data.
	it = Members([]byte(`{"a":1} x`))
	if err := it.Finish(); err == nil || err.Error() != `jsonscan: invalid character 'x' after top-level value at offset 8` {
		t.Errorf("Finish with trailing data: %v", err)
	}
	// Wrong container.
	it = Members([]byte(`[1]`))
	if it.Next() || it.Err() == nil {
		t.Errorf("Members of an array: %v", it.Err())
	}
	it = Value{Kind: Number, Raw: []byte("1")}.Members()
	if it.Next() || it.Err() == nil || it.Err().Error() != "jsonscan: value is a number, not an object at offset 0" {
		t.Errorf("Members of a number: %v", it.Err())
	}
}

func TestElements(t *testing.T) {
	var got []string
	it := Elements([]byte(`[ 1, "two" ,[3], {"four":4} ]`))
	for it.Next() {
		if k := it.Key(); k.Kind != Invalid {
			t.Errorf("array element has key %v", k)
		}
		got = append(got, string(it.Value().Raw))
	}
	if err := it.Finish(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != `1|two|[3]|{"four":4}` {
		t.Errorf("elements = %q", got)
	}
	it = Elements([]byte(`[]`))
	if it.Next() || it.Finish() != nil {
		t.Error("empty array")
	}
}

func TestLookup(t *testing.T) {
	v, err := Parse([]byte(`{"data":{"p":"1.5","arr":[10,[20,21]],"k\u0065y":"v"},"data":{"p":"dup"}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path  string
		found bool
		raw   string
	}{
		{"data.p", true, "1.5"}, // the first of duplicate keys
		{"data.arr.0", true, "10"},
		{"data.arr.1.1", true, "21"},
		{"data.arr.2", false, ""},
		{"data.arr.-1", false, ""},
		{"data.arr.x", false, ""},
		{"data.key", true, "v"},
		{"data.p.q", false, ""},
		{"nope", false, ""},
	} {
		got, found, err := Lookup(v, strings.Split(tc.path, "."))
		if err != nil || found != tc.found || string(got.Raw) != tc.raw {
			t.Errorf("Lookup(%s) = %q, %v, %v; want %q, %v", tc.path, got.Raw, found, err, tc.raw, tc.found)
		}
	}
}

func TestUnquote(t *testing.T) {
	for _, in := range []string{
		`plain`, `a\"b\\c\/d\b\f\n\r\t`, `\u00e9\u4e2d`, `\ud83d\ude00`, `\ud83d`, `\ude00x`, `\ud83dx`,
		`\ud83d\u0041`, `\u0000`, `é€😀`,
	} {
		var want string
		if err := json.Unmarshal([]byte(`"`+in+`"`), &want); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if got := string(Unquote(nil, []byte(in))); got != want {
			t.Errorf("Unquote(%q) = %q, want %q", in, got, want)
		}
	}
	// Malformed escapes (never produced by the scanner) pass through.
	for _, in := range []string{`\`, `\q`, `\u12`, `\uZZZZ`} {
		if got := string(Unquote(nil, []byte(in))); got != in {
			t.Errorf("Unquote(%q) = %q", in, got)
		}
	}
	// Text avoids the copy when there is nothing to decode.
	raw := []byte(`{"s":"abc"}`)
	v, _, _ := Lookup(mustParse(t, raw), []string{"s"})
	if got := v.Text(nil); &got[0] != &raw[6] {
		t.Error("Text copied an unescaped string")
	}
}

func mustParse(t *testing.T, b []byte) Value {
	v, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	in := []byte(`{"e":"trade","E":1705312215123,"s":"BTCUSDT","t":3366123456,"p":"42817.55000000","q":"0.00125000","T":1705312215122,"m":true,"M":true,"x":{"deep":[1,2,{"a":null}]}}`)
	allocs := testing.AllocsPerRun(100, func() {
		it := Members(in)
		for it.Next() {
			_ = it.Key()
			_ = it.Value()
		}
		if it.Finish() != nil {
			t.Fatal("bad input")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per walk, want 0", allocs)
	}
}

func TestKindString(t *testing.T) {
	if Object.String() != "object" || Kind(99).String() != "Kind(99)" {
		t.Error(Object.String(), Kind(99).String())
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,2,{"b":null}],"c":"\u00e9\n"}`, `-0.1e-5`, `"\ud83d\ude00"`, `[1,]`, `{"a"}`,
		`{"e":"trade","E":1705312215123,"s":"BTCUSDT","t":3366123456,"p":"42817.55","q":"0.001","T":1705312215122,"m":true}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		v, err := Parse(b)
		if !bytes.Equal(b, orig) {
			t.Fatal("input modified")
		}
		deep := bytes.Count(b, []byte("["))+bytes.Count(b, []byte("{")) > MaxDepth
		if valid := json.Valid(b); valid != (err == nil) && !(valid && deep) {
			t.Fatalf("Parse error %v, but json.Valid = %v", err, valid)
		}
		// Walking never panics nor loops, valid or not.
		for _, it := range []Iter{Members(b), Elements(b)} {
			n := 0
			for it.Next() {
				n++
				if n > len(b) {
					t.Fatal("more members than bytes")
				}
			}
			_ = it.Finish()
		}
		if err != nil {
			return
		}
		switch v.Kind {
		case Array:
			var want []json.RawMessage
			if json.Unmarshal(b, &want) != nil {
				return
			}
			it := v.Elements()
			i := 0
			for ; it.Next(); i++ {
				raw := it.Value().Raw
				if it.Value().Kind == String {
					raw = []byte(`"` + string(it.Value().Raw) + `"`)
				}
				if i >= len(want) || !bytes.Equal(raw, want[i]) {
					t.Fatalf("element %d = %s, encoding/json says %s", i, raw, want)
				}
			}
			if it.Err() != nil || i != len(want) {
				t.Fatalf("%d elements, err %v; want %d", i, it.Err(), len(want))
			}
		case String:
			if !utf8.Valid(v.Raw) {
				return
			}
			var want string
			if json.Unmarshal(b, &want) == nil && string(v.Text(nil)) != want && utf8.ValidString(want) && !strings.ContainsRune(want, utf8.RuneError) {
				t.Fatalf("Text = %q, encoding/json says %q", v.Text(nil), want)
			}
		}
	})
}
