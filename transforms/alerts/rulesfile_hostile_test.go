package alerts

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Hostile rules files are refused with line- and field-numbered problems
// after reading at most MaxRulesBytes+1 bytes. How fast and with how much
// memory: BenchmarkParseRulesHostile.

// aliasBomb is a "billion laughs": each level repeats the previous one ten
// times, so expanding all levels gives 10^levels strings.
func aliasBomb(levels int) string {
	var b strings.Builder
	b.WriteString("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= levels; i++ {
		refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", ")
		fmt.Fprintf(&b, "a%d: &a%d [%s]\n", i, i, refs)
	}
	b.WriteString("rules: []\n")
	return b.String()
}

// unknownKeys is a file just under MaxRulesBytes of unknown top-level keys.
func unknownKeys() string {
	var b strings.Builder
	for i := 0; b.Len() < MaxRulesBytes-32; i++ {
		fmt.Fprintf(&b, "k%07d: 1\n", i)
	}
	b.WriteString("rules: []\n")
	return b.String()
}

// countingReader counts what is read from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// endless reads as n bytes of one rule repeated, never holding them.
type endless struct{ left int64 }

func (e *endless) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	const rule = "  - {name: r, kind: price_level, direction: below, threshold: 1}\n"
	n := min(int64(len(p)), e.left)
	for i := range p[:n] {
		p[i] = rule[i%len(rule)]
	}
	e.left -= n
	return int(n), nil
}

func problems(t *testing.T, err error) []string {
	t.Helper()
	var re *RulesError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a *RulesError", err)
	}
	var out []string
	for _, p := range re.Problems {
		out = append(out, p.String())
	}
	if got := strings.Join(out, "\n"); got != re.Error() {
		t.Errorf("Error() is not one problem a line:\n%s", re.Error())
	}
	return out
}

func TestParseRulesHostile(t *testing.T) {
	const tooBigMsg = "more bytes, over the 524288-byte limit of a rules file (alerts.MaxRulesBytes)"
	for _, c := range []struct {
		name string
		src  func() io.Reader
		want []string // whole problems; a trailing "..." matches a prefix
		// maxRead bounds the bytes read from src (0: MaxRulesBytes+1).
		maxRead int64
	}{
		{
			name: "anchor bomb",
			src:  func() io.Reader { return strings.NewReader(aliasBomb(9)) },
			want: func() []string {
				var w []string
				for i := 1; i <= 9; i++ {
					w = append(w, fmt.Sprintf("r.yaml:%d: aliases (*a%d) are not supported in rules files: write the value out", i+1, i-1))
				}
				return w
			}(),
		},
		{
			name: "merge key",
			src: func() io.Reader {
				return strings.NewReader("base: &base {kind: price_level, direction: below}\nrules:\n  - name: a\n    <<: *base\n    threshold: 1\n")
			},
			want: []string{"r.yaml:4: aliases (*base) are not supported in rules files: write the value out"},
		},
		{
			name: "alias as a key",
			src:  func() io.Reader { return strings.NewReader("k: &k name\nrules:\n  - *k : a\n") },
			want: []string{"r.yaml:3: aliases (*k) are not supported in rules files: write the value out"},
		},
		{
			name:    "50 MB",
			src:     func() io.Reader { return &endless{left: 50 << 20} },
			want:    []string{"r.yaml: " + tooBigMsg},
			maxRead: MaxRulesBytes + 1,
		},
		{
			name: "one byte over",
			src: func() io.Reader {
				return io.MultiReader(strings.NewReader("rules:\n"), &endless{left: MaxRulesBytes + 1 - 7})
			},
			want: []string{"r.yaml: " + tooBigMsg},
		},
		{
			name: "unknown keys up to the limit",
			src:  func() io.Reader { return strings.NewReader(unknownKeys()) },
			want: func() []string {
				var w []string
				for i := 0; i < maxProblems; i++ {
					w = append(w, fmt.Sprintf("r.yaml:%d: k%07d: unknown field", i+1, i))
				}
				// Every key but rules, and rules: [] holds no rules.
				n := strings.Count(unknownKeys(), "\n")
				return append(w, fmt.Sprintf("r.yaml:%d: %d more problems not listed", maxProblems, n-maxProblems))
			}(),
		},
		{
			name: "unknown keys at every level",
			src: func() io.Reader {
				return strings.NewReader(`versoin: 1
notifiers:
  webhook: []
  webhooks:
    - name: w
      url: https://example.com/
      secret_envv: W
  emails:
    - name: e
      host: smtp.example.com
      from: a@example.com
      to: [b@example.com]
      pasword_env: P
rules:
  - name: r
    kind: stale_feed
    max_silence: 5m
    sesions: {}
    sessions:
      calendar: XKRX
      hour: "09:00-15:30"
    labels: {anything: goes}
`)
			},
			want: []string{
				"r.yaml:1: versoin: unknown field (did you mean version?)",
				"r.yaml:3: notifiers.webhook: unknown field (did you mean webhooks?)",
				"r.yaml:7: notifiers.webhooks[0].secret_envv: unknown field (did you mean secret_env?)",
				"r.yaml:13: notifiers.emails[0].pasword_env: unknown field (did you mean password_env?)",
				"r.yaml:18: rules[0].sesions: unknown field (did you mean sessions?)",
				"r.yaml:21: rules[0].sessions.hour: unknown field (did you mean hours?)",
			},
		},
		{
			name: "deep nesting",
			src:  func() io.Reader { return strings.NewReader("rules: " + strings.Repeat("[", 100_000)) },
			want: []string{"r.yaml:1: invalid YAML: exceeded max depth of 10000"},
		},
		{
			name: "deep block nesting",
			src: func() io.Reader {
				var b strings.Builder
				b.WriteString("rules:\n")
				for i := 0; i < 20_000; i++ {
					b.WriteString("- ")
				}
				b.WriteString("x\n")
				return strings.NewReader(b.String())
			},
			want: []string{"r.yaml:2: invalid YAML: exceeded max depth of 10000"},
		},
		{
			name: "400 KB scalar",
			src: func() io.Reader {
				return strings.NewReader("rules:\n  - name: r\n    kind: " + strings.Repeat("x", 400<<10) + "\n")
			},
			want: []string{`r.yaml:3: rules[0].kind: unknown kind "` + strings.Repeat("x", 64) + `...`},
		},
		{
			name: "invalid UTF-8",
			src:  func() io.Reader { return strings.NewReader("rules:\n  - name: \xff\xfe\n") },
			want: []string{"r.yaml:2: invalid YAML: invalid UTF-8 (byte 0xff at column 11)"},
		},
		{
			name: "NUL byte",
			src:  func() io.Reader { return strings.NewReader("rules:\n  - name: a\x00b\n") },
			want: []string{"r.yaml:2: invalid YAML: control character U+0000 at column 12"},
		},
		{
			name: "duplicate keys",
			src: func() io.Reader {
				return strings.NewReader("rules:\n  - name: a\n    kind: price_level\n    direction: below\n    threshold: 1\n    threshold: 1e400\nrules: []\n")
			},
			want: []string{
				"r.yaml:6: rules[0].threshold: given twice (first at line 5)",
				"r.yaml:7: rules: given twice (first at line 1)",
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			cr := &countingReader{r: c.src()}
			_, err := ParseRules(cr, "r.yaml")
			got := problems(t, err)
			if len(got) == len(c.want) {
				for i, w := range c.want {
					if p, ok := strings.CutSuffix(w, "..."); ok && strings.HasPrefix(got[i], p) {
						got[i] = w
					}
				}
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			for _, p := range got {
				if len(p) > 512 {
					t.Errorf("problem of %d bytes: %.100s...", len(p), p)
				}
			}
			if max := int64(MaxRulesBytes + 1); cr.n > max {
				t.Errorf("read %d bytes, want at most %d", cr.n, max)
			}
		})
	}
}

// LoadRules refuses a file over the limit from its size, and a device or
// a directory after reading at most the limit.
func TestLoadRulesHostileFiles(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: 50 MB that cost no disk; were it read, it would be NULs.
	if err := f.Truncate(50 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, c := range []struct{ path, want string }{
		{big, big + ": 52428800 bytes, over the 524288-byte limit of a rules file (alerts.MaxRulesBytes)"},
		{"/dev/zero", "/dev/zero: more bytes, over the 524288-byte limit of a rules file (alerts.MaxRulesBytes)"},
	} {
		_, err := LoadRules(c.path)
		if diff := cmp.Diff([]string{c.want}, problems(t, err)); diff != "" {
			t.Errorf("LoadRules(%s) (-want +got):\n%s", c.path, diff)
		}
	}
	_, err = LoadRules(dir)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("LoadRules(directory) = %v, want one line saying it is a directory", err)
	}
}

// BenchmarkParseRulesHostile measures what refusing each hostile file costs
// (ns/op, B/op); it should be milliseconds and a few MB, whatever the input.
func BenchmarkParseRulesHostile(b *testing.B) {
	for _, c := range []struct {
		name string
		src  func() io.Reader
	}{
		{"anchor_bomb", func() io.Reader { return strings.NewReader(aliasBomb(9)) }},
		{"50MB", func() io.Reader { return &endless{left: 50 << 20} }},
		{"unknown_keys_512KB", func() io.Reader { return strings.NewReader(unknownKeys()) }},
		{"deep_nesting", func() io.Reader { return strings.NewReader("rules: " + strings.Repeat("[", 100_000)) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			src, _ := io.ReadAll(io.LimitReader(c.src(), 2*MaxRulesBytes))
			b.ReportAllocs()
			b.SetBytes(int64(len(src)))
			for i := 0; i < b.N; i++ {
				if _, err := ParseRules(bytes.NewReader(src), "r.yaml"); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}
