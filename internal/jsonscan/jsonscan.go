// Package jsonscan is a small JSON scanner for hot parse paths. It walks the
// members of an object or the elements of an array in place, handing out the
// raw bytes of each value, without allocating and without reflection.
//
// It validates what it walks over (RFC 8259 grammar, including values it
// skips), reports errors with their byte offset, and never panics or loops on
// truncated or garbage input. Nesting is limited to MaxDepth levels; skipping
// a nested value uses no recursion.
//
// Strings are handed out still escaped (Value.Raw between the quotes), with
// Value.Escaped set when they hold a backslash: Unquote decodes only those.
// Values alias the input, which jsonscan never modifies: copy what you keep.
package jsonscan

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of objects and arrays the scanner accepts.
const MaxDepth = 512

// Kind is the type of a JSON value.
type Kind uint8

// Kinds of value. Invalid is the zero Value's kind.
const (
	Invalid Kind = iota
	Null
	False
	True
	Number
	String
	Array
	Object
)

var kindNames = [...]string{"invalid", "null", "false", "true", "number", "string", "array", "object"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one JSON value as it appears in the input.
type Value struct {
	// Raw is the value's text in the input: for a string, the bytes between
	// its quotes, still escaped; for an object or array, including brackets.
	Raw  []byte
	Kind Kind
	// Escaped reports a string that holds backslash escapes.
	Escaped bool
}

// Bool reports whether v is the literal true.
func (v Value) Bool() bool { return v.Kind == True }

// IsNull reports a null or absent (zero) value.
func (v Value) IsNull() bool { return v.Kind == Null || v.Kind == Invalid }

// Text returns a string's decoded bytes: Raw itself when it holds no escapes
// (aliasing the input), else the decoded text appended to buf[:0]. For other
// kinds it returns Raw.
func (v Value) Text(buf []byte) []byte {
	if v.Kind != String || !v.Escaped {
		return v.Raw
	}
	return Unquote(buf[:0], v.Raw)
}

// Members iterates the members of an object value.
func (v Value) Members() Iter {
	if v.Kind != Object {
		return Iter{err: &SyntaxError{Msg: "value is a " + v.Kind.String() + ", not an object"}, state: stateDone}
	}
	return Members(v.Raw)
}

// Elements iterates the elements of an array value.
func (v Value) Elements() Iter {
	if v.Kind != Array {
		return Iter{err: &SyntaxError{Msg: "value is a " + v.Kind.String() + ", not an array"}, state: stateDone}
	}
	return Elements(v.Raw)
}

// SyntaxError is a malformed input, with the byte offset where it was seen.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return "jsonscan: " + e.Msg + " at offset " + strconv.Itoa(e.Offset)
}

func errEOF(off int, what string) error {
	return &SyntaxError{Offset: off, Msg: "unexpected end of input" + what}
}

func errAt(d []byte, off int, what string) error {
	if off >= len(d) {
		return errEOF(off, what)
	}
	c := d[off]
	var s string
	if c >= 0x20 && c < 0x7f {
		s = strconv.QuoteRune(rune(c))
	} else {
		s = fmt.Sprintf("byte 0x%02x", c)
	}
	return &SyntaxError{Offset: off, Msg: "invalid character " + s + what}
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// SkipSpace returns the offset of the first non-whitespace byte at or after i.
func SkipSpace(d []byte, i int) int {
	for i < len(d) && isSpace(d[i]) {
		i++
	}
	return i
}

// Parse validates that data holds exactly one JSON value (surrounding
// whitespace allowed) and returns it.
func Parse(data []byte) (Value, error) {
	v, end, err := Next(data, 0)
	if err != nil {
		return Value{}, err
	}
	if end = SkipSpace(data, end); end != len(data) {
		return Value{}, errAt(data, end, " after top-level value")
	}
	return v, nil
}

// Next scans the value that starts at data[i] (after optional whitespace),
// validating it, and returns it with the offset just past it.
func Next(data []byte, i int) (v Value, end int, err error) {
	if i < 0 {
		i = 0
	}
	i = SkipSpace(data, i)
	k, start, stop, esc, end, err := scan(data, i)
	if err != nil {
		return Value{}, end, err
	}
	return Value{Kind: k, Raw: data[start:stop], Escaped: esc}, end, nil
}

// scan scans the value that starts at d[i] (no leading whitespace). The
// value's text is d[start:stop] (a string's without its quotes) and end is
// the offset just past it.
func scan(d []byte, i int) (k Kind, start, stop int, esc bool, end int, err error) {
	if i >= len(d) {
		return Invalid, i, i, false, i, errEOF(i, " (expected a value)")
	}
	switch c := d[i]; c {
	case '"':
		end, esc, err = scanString(d, i)
		if err != nil {
			return Invalid, i, i, false, end, err
		}
		return String, i + 1, end - 1, esc, end, nil
	case '{', '[':
		end, err = skipContainer(d, i)
		if err != nil {
			return Invalid, i, i, false, end, err
		}
		k = Object
		if c == '[' {
			k = Array
		}
		return k, i, end, false, end, nil
	case 't':
		k, end, err = literal(d, i, "true", True)
	case 'f':
		k, end, err = literal(d, i, "false", False)
	case 'n':
		k, end, err = literal(d, i, "null", Null)
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			end, err = scanNumber(d, i)
			k = Number
		} else {
			return Invalid, i, i, false, i, errAt(d, i, " looking for beginning of value")
		}
	}
	if err != nil {
		return Invalid, i, i, false, end, err
	}
	return k, i, end, false, end, nil
}

func literal(d []byte, i int, lit string, k Kind) (Kind, int, error) {
	for j := 0; j < len(lit); j++ {
		if i+j >= len(d) {
			return Invalid, i + j, errEOF(i+j, " in literal "+lit)
		}
		if d[i+j] != lit[j] {
			return Invalid, i + j, errAt(d, i+j, " in literal "+lit)
		}
	}
	return k, i + len(lit), nil
}

// plain marks the bytes a string can hold as they are: not '"', '\\' or
// a control character.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString scans the string whose opening quote is d[i] and returns the
// offset just past its closing quote.
func scanString(d []byte, i int) (end int, escaped bool, err error) {
	i++
	for {
		for i < len(d) && plain[d[i]] {
			i++
		}
		if i >= len(d) {
			return i, escaped, errEOF(i, " in string literal")
		}
		switch c := d[i]; {
		case c == '"':
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(d) {
				return i + 1, escaped, errEOF(i+1, " in string escape")
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for j := i + 2; j < i+6; j++ {
					if j >= len(d) {
						return j, escaped, errEOF(j, " in \\u escape")
					}
					if unhex(d[j]) < 0 {
						return j, escaped, errAt(d, j, " in \\u escape")
					}
				}
				i += 6
			default:
				return i + 1, escaped, errAt(d, i+1, " in string escape")
			}
		default:
			return i, escaped, errAt(d, i, " in string literal")
		}
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func scanNumber(d []byte, i int) (int, error) {
	if d[i] == '-' {
		i++
	}
	if i >= len(d) {
		return i, errEOF(i, " in number")
	}
	switch c := d[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		i++
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	default:
		return i, errAt(d, i, " in number")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) {
			return i, errEOF(i, " after decimal point in number")
		}
		if !isDigit(d[i]) {
			return i, errAt(d, i, " after decimal point in number")
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) {
			return i, errEOF(i, " in exponent of number")
		}
		if !isDigit(d[i]) {
			return i, errAt(d, i, " in exponent of number")
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	return i, nil
}

// skipContainer validates the object or array that opens at d[i] and returns
// the offset just past its closing bracket. It keeps its own stack of open
// containers (one bit each) instead of recursing.
func skipContainer(d []byte, i int) (int, error) {
	var stack [MaxDepth / 64]uint64 // bit set: object; clear: array
	depth := 0
	inObject := func() bool { return stack[(depth-1)/64]&(1<<uint((depth-1)%64)) != 0 }
	closer := func() byte {
		if inObject() {
			return '}'
		}
		return ']'
	}
	// Each turn of the loop starts at a value (or an opening bracket).
	for {
		c := d[i]
		if c == '{' || c == '[' {
			if depth == MaxDepth {
				return i, &SyntaxError{Offset: i, Msg: "nesting deeper than " + strconv.Itoa(MaxDepth) + " levels"}
			}
			w, b := depth/64, uint(depth%64)
			if c == '{' {
				stack[w] |= 1 << b
			} else {
				stack[w] &^= 1 << b
			}
			depth++
			i = SkipSpace(d, i+1)
			if i >= len(d) {
				return i, errEOF(i, "")
			}
			if d[i] == closer() {
				i++
				depth--
				goto afterValue
			}
			goto member
		}
		{
			// A scalar.
			_, end, err := Next(d, i)
			if err != nil {
				return end, err
			}
			i = end
		}
	afterValue:
		for {
			if depth == 0 {
				return i, nil
			}
			i = SkipSpace(d, i)
			if i >= len(d) {
				return i, errEOF(i, "")
			}
			if d[i] == ',' {
				i = SkipSpace(d, i+1)
				break
			}
			if d[i] == closer() {
				i++
				depth--
				continue
			}
			if inObject() {
				return i, errAt(d, i, " after object member (expected ',' or '}')")
			}
			return i, errAt(d, i, " after array element (expected ',' or ']')")
		}
	member:
		if inObject() {
			if i >= len(d) || d[i] != '"' {
				return i, errAt(d, i, " looking for object key")
			}
			end, _, err := scanString(d, i)
			if err != nil {
				return end, err
			}
			i = SkipSpace(d, end)
			if i >= len(d) || d[i] != ':' {
				return i, errAt(d, i, " after object key (expected ':')")
			}
			i++
		}
		i = SkipSpace(d, i)
		if i >= len(d) {
			return i, errEOF(i, " (expected a value)")
		}
	}
}

const (
	stateStart = iota
	stateIn
	stateDone
)

// Iter walks the members of an object or the elements of an array:
//
//	it := jsonscan.Members(data)
//	for it.Next() {
//		key, val := it.Key(), it.Value()
//		...
//	}
//	if err := it.Err(); err != nil { ... }
//
// Each value is validated as it is reached; a syntax error stops the walk and
// is reported by Err. After the walk, End is the offset just past the closing
// bracket, and Finish checks that only whitespace follows.
type Iter struct {
	data []byte
	err  error
	pos  int
	// The current key and value, as offsets into data: storing offsets
	// rather than slices keeps pointer writes (and GC write barriers) out of
	// the loop.
	ks, ke, vs, ve int
	state          uint8
	obj            bool
	kEsc, vEsc     bool
	vKind          Kind
}

// Members iterates the object at the start of data (after optional whitespace).
func Members(data []byte) Iter { return Iter{data: data, obj: true} }

// Elements iterates the array at the start of data (after optional whitespace).
func Elements(data []byte) Iter { return Iter{data: data} }

// Next advances to the next member or element and reports whether there is one.
func (it *Iter) Next() bool {
	if it.state != stateIn {
		if it.state == stateDone {
			return false
		}
		return it.first()
	}
	d := it.data
	i := it.pos
	for i < len(d) && isSpace(d[i]) {
		i++
	}
	if i < len(d) {
		switch d[i] {
		case ',':
			return it.member(SkipSpace(d, i+1))
		case it.close():
			it.pos, it.state = i+1, stateDone
			return false
		}
	}
	if it.obj {
		return it.fail(errAt(d, i, " after object member (expected ',' or '}')"))
	}
	return it.fail(errAt(d, i, " after array element (expected ',' or ']')"))
}

func (it *Iter) close() byte {
	if it.obj {
		return '}'
	}
	return ']'
}

// first opens the container and reads its first member.
func (it *Iter) first() bool {
	d := it.data
	open := byte('[')
	if it.obj {
		open = '{'
	}
	i := SkipSpace(d, it.pos)
	if i >= len(d) || d[i] != open {
		if it.obj {
			return it.fail(errAt(d, i, " looking for beginning of object"))
		}
		return it.fail(errAt(d, i, " looking for beginning of array"))
	}
	i = SkipSpace(d, i+1)
	if i < len(d) && d[i] == it.close() {
		it.pos, it.state = i+1, stateDone
		return false
	}
	it.state = stateIn
	return it.member(i)
}

// member reads the member or element that starts at d[i]. Plain keys,
// plain strings, integers and literals are scanned inline; everything else
// goes through scanString and scan.
func (it *Iter) member(i int) bool {
	d := it.data
	if it.obj {
		if i >= len(d) || d[i] != '"' {
			return it.fail(errAt(d, i, " looking for object key"))
		}
		j := i + 1
		for j < len(d) && plain[d[j]] {
			j++
		}
		if j < len(d) && d[j] == '"' {
			it.ks, it.ke, it.kEsc = i+1, j, false
			i = j + 1
		} else {
			end, esc, err := scanString(d, i)
			if err != nil {
				return it.fail(err)
			}
			it.ks, it.ke, it.kEsc = i+1, end-1, esc
			i = end
		}
		for i < len(d) && isSpace(d[i]) {
			i++
		}
		if i >= len(d) || d[i] != ':' {
			return it.fail(errAt(d, i, " after object key (expected ':')"))
		}
		i++
	}
	for i < len(d) && isSpace(d[i]) {
		i++
	}
	if i < len(d) {
		switch c := d[i]; {
		case c == '"':
			j := i + 1
			for j < len(d) && plain[d[j]] {
				j++
			}
			if j < len(d) && d[j] == '"' {
				it.vKind, it.vs, it.ve, it.vEsc, it.pos = String, i+1, j, false, j+1
				return true
			}
		case c >= '1' && c <= '9':
			j := i + 1
			for j < len(d) && isDigit(d[j]) {
				j++
			}
			if j >= len(d) || (d[j] != '.' && d[j] != 'e' && d[j] != 'E') {
				it.vKind, it.vs, it.ve, it.vEsc, it.pos = Number, i, j, false, j
				return true
			}
		case c == 't':
			if i+4 <= len(d) && string(d[i:i+4]) == "true" {
				it.vKind, it.vs, it.ve, it.vEsc, it.pos = True, i, i+4, false, i+4
				return true
			}
		case c == 'f':
			if i+5 <= len(d) && string(d[i:i+5]) == "false" {
				it.vKind, it.vs, it.ve, it.vEsc, it.pos = False, i, i+5, false, i+5
				return true
			}
		}
	}
	k, start, stop, esc, end, err := scan(d, i)
	if err != nil {
		return it.fail(err)
	}
	it.vKind, it.vs, it.ve, it.vEsc, it.pos = k, start, stop, esc, end
	return true
}

func (it *Iter) fail(err error) bool {
	it.err, it.state = err, stateDone
	it.ks, it.ke, it.vs, it.ve, it.vKind = 0, 0, 0, 0, Invalid
	return false
}

// Key is the current member's key (a String value); zero for arrays.
func (it *Iter) Key() Value {
	if !it.obj || it.vKind == Invalid {
		return Value{}
	}
	return Value{Kind: String, Raw: it.data[it.ks:it.ke], Escaped: it.kEsc}
}

// Value is the current member's or element's value.
func (it *Iter) Value() Value {
	if it.vKind == Invalid {
		return Value{}
	}
	return Value{Kind: it.vKind, Raw: it.data[it.vs:it.ve], Escaped: it.vEsc}
}

// Err is the syntax error that stopped the walk, if any.
func (it *Iter) Err() error { return it.err }

// End is the offset just past the closing bracket once Next has returned
// false without error.
func (it *Iter) End() int { return it.pos }

// Finish walks any remaining members, then checks that only whitespace
// follows the closing bracket. It returns the first error.
func (it *Iter) Finish() error {
	for it.Next() {
	}
	if it.err != nil {
		return it.err
	}
	if i := SkipSpace(it.data, it.pos); i != len(it.data) {
		it.err = errAt(it.data, i, " after top-level value")
	}
	return it.err
}

// Lookup follows path from v: an object member by key, or an array element
// by decimal index. It reports whether the whole path was found. Keys are
// compared after unescaping; the first matching member wins.
func Lookup(v Value, path []string) (Value, bool, error) {
	var buf [64]byte
	for _, seg := range path {
		switch v.Kind {
		case Object:
			it := v.Members()
			found := false
			for it.Next() {
				k := it.Key()
				if string(k.Text(buf[:0])) == seg {
					v, found = it.Value(), true
					break
				}
			}
			if err := it.Err(); err != nil {
				return Value{}, false, err
			}
			if !found {
				return Value{}, false, nil
			}
		case Array:
			n, err := strconv.Atoi(seg)
			if err != nil || n < 0 {
				return Value{}, false, nil
			}
			it := v.Elements()
			found := false
			for j := 0; it.Next(); j++ {
				if j == n {
					v, found = it.Value(), true
					break
				}
			}
			if err := it.Err(); err != nil {
				return Value{}, false, err
			}
			if !found {
				return Value{}, false, nil
			}
		default:
			return Value{}, false, nil
		}
	}
	return v, true, nil
}

func unhex(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return rune(c-'A') + 10
	}
	return -1
}

// hex4 decodes the 4 hex digits at b[i:], or returns -1.
func hex4(b []byte, i int) rune {
	if i+4 > len(b) {
		return -1
	}
	var r rune
	for _, c := range b[i : i+4] {
		h := unhex(c)
		if h < 0 {
			return -1
		}
		r = r<<4 | h
	}
	return r
}

// Unquote appends the decoded form of raw, the escaped bytes between a JSON
// string's quotes, to dst. Invalid or unpaired \u surrogates decode to
// U+FFFD, as encoding/json does; a malformed escape is copied through as is.
func Unquote(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			dst = append(dst, c)
			i++
			continue
		}
		switch raw[i+1] {
		case '"', '\\', '/':
			dst = append(dst, raw[i+1])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(raw, i+2)
			if r < 0 {
				dst = append(dst, c)
				i++
				continue
			}
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+1 < len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					r2 = hex4(raw, i+2)
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default:
			dst = append(dst, c)
			i++
			continue
		}
		i += 2
	}
	return dst
}
