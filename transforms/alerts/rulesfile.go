package alerts

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/notify"
	"gopkg.in/yaml.v3"
)

// RuleSet is a validated rules file: the rules and the notifiers they name.
type RuleSet struct {
	Source   string // the file name given to ParseRules, or the path
	Rules    []Rule
	Webhooks []NamedWebhook
	Emails   []NamedEmail
	lines    map[string]int // rule name → line
}

// NamedWebhook is a webhook notifier of a rules file. SecretEnv names the
// environment variable holding the signing secret (secrets never live in the
// file).
type NamedWebhook struct {
	Config    notify.WebhookConfig
	SecretEnv string
}

// NamedEmail is an email notifier of a rules file. PasswordEnv names the
// environment variable holding the SMTP password.
type NamedEmail struct {
	Config      notify.EmailConfig
	PasswordEnv string
}

// Line is the line of the rules file where the named rule starts, 0 if unknown.
func (rs *RuleSet) Line(rule string) int { return rs.lines[rule] }

// Rule returns the named rule.
func (rs *RuleSet) Rule(name string) (Rule, bool) {
	for _, r := range rs.Rules {
		if r.Name == name {
			return r, true
		}
	}
	return Rule{}, false
}

// Split divides rs in two RuleSets with its source, lines and notifiers:
// the rules that filter the ticks (outlier rules, which quarantine ticks
// before anything else reads them) and the rest, each nil when it would
// have no rule. A pipeline applies filters to its ticks first and computes
// bars, changes, indicators and the rest's inputs from Outputs.CleanTicks;
// Apply on the whole set does the same within its own inputs.
func (rs *RuleSet) Split() (filters, rest *RuleSet) {
	if rs == nil {
		return nil, nil
	}
	f, r := *rs, *rs
	f.Rules, r.Rules = nil, nil
	for _, rule := range rs.Rules {
		if k := rule.spec(); k != nil && k.filter {
			f.Rules = append(f.Rules, rule)
		} else {
			r.Rules = append(r.Rules, rule)
		}
	}
	if len(f.Rules) > 0 {
		filters = &f
	}
	if len(r.Rules) > 0 {
		rest = &r
	}
	return filters, rest
}

// Needs reports whether a rule of rs reads in (its Input, or its kind's
// default), so that a pipeline computes only the Inputs its rules read:
// price changes when Needs(InputChanges), indicator rows when
// Needs(InputIndicators), .... A nil rs needs nothing.
func (rs *RuleSet) Needs(in Input) bool {
	if rs == nil {
		return false
	}
	for i := range rs.Rules {
		if rs.Rules[i].input() == in {
			return true
		}
	}
	return false
}

// Notifiers builds the file's notifiers by name, reading secrets and
// passwords from their environment variables (getenv: os.Getenv when nil).
func (rs *RuleSet) Notifiers(getenv func(string) string) (map[string]notify.Notifier, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	out := map[string]notify.Notifier{}
	for _, w := range rs.Webhooks {
		cfg := w.Config
		if w.SecretEnv != "" {
			if cfg.Secret = getenv(w.SecretEnv); cfg.Secret == "" {
				return nil, fmt.Errorf("alerts: webhook %s: environment variable %s is empty", cfg.Name, w.SecretEnv)
			}
		}
		n, err := notify.NewWebhook(cfg)
		if err != nil {
			return nil, fmt.Errorf("alerts: webhook %s: %w", cfg.Name, err)
		}
		out[cfg.Name] = n
	}
	for _, e := range rs.Emails {
		cfg := e.Config
		if e.PasswordEnv != "" {
			if cfg.Password = getenv(e.PasswordEnv); cfg.Password == "" {
				return nil, fmt.Errorf("alerts: email %s: environment variable %s is empty", cfg.Name, e.PasswordEnv)
			}
		}
		n, err := notify.NewEmail(cfg)
		if err != nil {
			return nil, fmt.Errorf("alerts: email %s: %w", cfg.Name, err)
		}
		out[cfg.Name] = n
	}
	return out, nil
}

// Problem is one error in a rules file, at a line and field.
type Problem struct {
	File  string
	Line  int
	Field string // e.g. rules[1].threshold
	Msg   string
}

func (p Problem) String() string {
	if p.Line == 0 { // the whole file
		return fmt.Sprintf("%s: %s", p.File, p.Msg)
	}
	if p.Field == "" {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, p.Field, p.Msg)
}

// RulesError lists every problem of a rules file, in line order, one per
// line of Error().
type RulesError struct{ Problems []Problem }

func (e *RulesError) Error() string {
	s := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		s[i] = p.String()
	}
	return strings.Join(s, "\n")
}

// Bounds of a rules file. Real files hold a few to a few thousand rules
// (kilobytes; 512 KiB is ~10k rules); the bounds keep a hostile or mistaken
// file (a log given as --rules, 100k unknown keys) from costing seconds and
// gigabytes before it is refused: yaml.v3 alone spends about 0.6 s and
// 75 MB of nodes per MB of YAML.
const (
	// MaxRulesBytes is the largest rules file accepted.
	MaxRulesBytes = 512 << 10
	// maxProblems is how many problems a RulesError lists; the rest are
	// counted in one last line.
	maxProblems = 50
)

// LoadRules reads and validates the rules file at path.
func LoadRules(path string) (*RuleSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > MaxRulesBytes {
		// Refused before reading a byte.
		return nil, tooBig(path, st.Size())
	}
	return ParseRules(f, path)
}

func tooBig(name string, size int64) error {
	what := fmt.Sprintf("%d bytes", size)
	if size < 0 {
		what = "more bytes"
	}
	return &RulesError{Problems: []Problem{{File: name, Msg: fmt.Sprintf("%s, over the %d-byte limit of a rules file (alerts.MaxRulesBytes)", what, MaxRulesBytes)}}}
}

// ParseRules reads and validates a rules file; name is used in errors. It
// returns a *RulesError listing every problem with its line and field:
//
//	rules.yaml:7: rules[1].threshold: must be > 0
//
// Unknown fields are errors, so a typo cannot silently disable a limit.
func ParseRules(r io.Reader, name string) (*RuleSet, error) {
	src, err := io.ReadAll(io.LimitReader(r, MaxRulesBytes+1))
	if err != nil {
		return nil, fmt.Errorf("alerts: read %s: %w", name, err)
	}
	if len(src) > MaxRulesBytes {
		return nil, tooBig(name, -1)
	}
	d := &decoder{file: name}
	rs := d.file1(src)
	if len(d.probs) > 0 {
		sort.SliceStable(d.probs, func(i, j int) bool { return d.probs[i].Line < d.probs[j].Line })
		if n := len(d.probs); n > maxProblems {
			last := d.probs[maxProblems-1]
			d.probs = append(d.probs[:maxProblems], Problem{File: name, Line: last.Line, Msg: fmt.Sprintf("%d more problems not listed", n-maxProblems)})
		}
		return nil, &RulesError{Problems: d.probs}
	}
	rs.Source = name
	return rs, nil
}

type decoder struct {
	file     string
	probs    []Problem
	bad      map[string]bool // fields (full paths) whose value did not decode
	unknowns int             // unknown fields reported
}

func (d *decoder) add(n *yaml.Node, field, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.probs = append(d.probs, Problem{File: d.file, Line: line, Field: field, Msg: oneLine(fmt.Sprintf(format, args...))})
	if d.bad == nil {
		d.bad = map[string]bool{}
	}
	d.bad[field] = true
}

func (d *decoder) file1(src []byte) *RuleSet {
	if line, msg := notText(src); line > 0 {
		d.probs = append(d.probs, Problem{File: d.file, Line: line, Msg: "invalid YAML: " + msg})
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		line, msg := 1, err.Error()
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			// "yaml: line 3: did not find expected key"
			msg = strings.TrimPrefix(msg, "yaml: ")
			if rest, ok := strings.CutPrefix(msg, "line "); ok {
				if n, after, ok := strings.Cut(rest, ": "); ok {
					if l, err := strconv.Atoi(n); err == nil {
						line, msg = l, after
					}
				}
			}
		}
		d.probs = append(d.probs, Problem{File: d.file, Line: line, Msg: "invalid YAML: " + oneLine(msg)})
		return nil
	}
	rs := &RuleSet{lines: map[string]int{}}
	if d.aliases(&doc) {
		return rs
	}
	if len(doc.Content) == 0 {
		d.add(&yaml.Node{Line: 1}, "", "empty rules file: want a mapping with rules:")
		return rs
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		d.add(root, "", "want a mapping with rules:, got %s", describe(root))
		return rs
	}
	var rulesNode *yaml.Node
	d.mapping(root, "", func(key string, k, v *yaml.Node) {
		switch key {
		case "version":
			if n, ok := d.int(v, "version"); ok && n != 1 {
				d.add(v, "version", "unsupported version %d (want 1)", n)
			}
		case "notifiers":
			d.notifiers(v, rs)
		case "rules":
			rulesNode = v
		default:
			d.unknown(k, "", key, []string{"version", "notifiers", "rules"})
		}
	})
	if rulesNode == nil {
		d.add(root, "rules", "required: a list of rules")
		return rs
	}
	if rulesNode.Kind != yaml.SequenceNode {
		d.add(rulesNode, "rules", "want a list of rules, got %s", describe(rulesNode))
		return rs
	}
	if len(rulesNode.Content) == 0 {
		d.add(rulesNode, "rules", "no rules")
	}
	names := map[string]bool{}
	for _, w := range rs.Webhooks {
		names[w.Config.Name] = true
	}
	for _, e := range rs.Emails {
		names[e.Config.Name] = true
	}
	firstLine := map[string]int{}
	for i, n := range rulesNode.Content {
		path := fmt.Sprintf("rules[%d]", i)
		r, lines, ok := d.rule(n, path)
		if !ok {
			continue
		}
		line := func(field string) int {
			for f := field; f != ""; {
				if l, ok := lines[f]; ok {
					return l
				}
				cut := strings.LastIndexAny(f, ".[")
				if cut < 0 {
					break
				}
				f = f[:cut]
			}
			return n.Line
		}
		for _, e := range r.validate() {
			if d.bad[path+"."+e.Field] {
				continue // reported as undecodable already
			}
			d.probs = append(d.probs, Problem{File: d.file, Line: line(e.Field), Field: path + "." + e.Field, Msg: e.Message})
		}
		if r.Name != "" {
			if l, dup := firstLine[r.Name]; dup {
				d.probs = append(d.probs, Problem{File: d.file, Line: line("name"), Field: path + ".name",
					Msg: fmt.Sprintf("duplicate rule name %q (first at line %d)", r.Name, l)})
			} else {
				firstLine[r.Name] = line("name")
			}
		}
		for j, nn := range r.Notify {
			if !names[nn] {
				f := fmt.Sprintf("notify[%d]", j)
				d.probs = append(d.probs, Problem{File: d.file, Line: line(f), Field: path + "." + f,
					Msg: fmt.Sprintf("unknown notifier %q (%s)", nn, definedList(names))})
			}
		}
		rs.Rules = append(rs.Rules, r)
		rs.lines[r.Name] = n.Line
	}
	return rs
}

// aliases reports every alias in the document and whether there was one.
// Rules files take none: an alias costs nothing to write and can stand for
// an exponential amount of data ("billion laughs"), and the decoder reads
// nodes, where an alias would be one more thing to follow.
func (d *decoder) aliases(doc *yaml.Node) bool {
	seen := map[string]bool{}
	stack := []*yaml.Node{doc}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n.Kind == yaml.AliasNode {
			if !seen[n.Value] { // once per anchor: a bomb repeats each many times
				seen[n.Value] = true
				d.add(n, "", "aliases (*%s) are not supported in rules files: write the value out", truncate(n.Value, 64))
			}
			continue
		}
		stack = append(stack, n.Content...)
	}
	return len(seen) > 0
}

// notText finds the first invalid UTF-8 sequence or control character in
// src, with its line: yaml.v3 reports both at line 1.
func notText(src []byte) (line int, msg string) {
	line, col := 1, 1
	for i := 0; i < len(src); col++ {
		r, size := utf8.DecodeRune(src[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return line, fmt.Sprintf("invalid UTF-8 (byte 0x%02x at column %d)", src[i], col)
		case r == '\n':
			line, col = line+1, 0
		case r < 0x20 && r != '\t' && r != '\r', r == 0x7f:
			return line, fmt.Sprintf("control character %U at column %d", r, col)
		}
		i += size
	}
	return 0, ""
}

// oneLine folds a message onto one line: a RulesError has one problem a line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// truncate cuts s to at most n bytes (on a rune boundary), marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

func definedList(names map[string]bool) string {
	if len(names) == 0 {
		return "no notifiers are defined: add them under notifiers.webhooks or notifiers.emails"
	}
	return "defined: " + strings.Join(sortedKeys(names), ", ")
}

// ruleKeys are the keys of a rule mapping, Rule's yaml tags in its order.
var ruleKeys = func() []string {
	keys := make([]string, len(ruleFields))
	for i, f := range ruleFields {
		keys[i] = f.key
	}
	return keys
}()

// ruleField is the index in Rule of the field of each key.
var ruleFieldIndex = func() map[string]int {
	m := make(map[string]int, len(ruleFields))
	for _, f := range ruleFields {
		m[f.key] = f.index
	}
	return m
}()

// rule decodes one rule mapping into the Rule fields its keys name (their
// yaml tags); lines maps each field it saw to its line. Values decode by
// the field's type, with the decoder's messages (want a number, ...): a
// value that does not decode is a problem at its line and field, and the
// other fields still decode.
func (d *decoder) rule(n *yaml.Node, path string) (Rule, map[string]int, bool) {
	var r Rule
	lines := map[string]int{}
	if n.Kind != yaml.MappingNode {
		d.add(n, path, "want a rule mapping (name:, kind:, ...), got %s", describe(n))
		return r, lines, false
	}
	rv := reflect.ValueOf(&r).Elem()
	d.mapping(n, path, func(key string, k, v *yaml.Node) {
		i, ok := ruleFieldIndex[key]
		if !ok {
			d.unknown(k, path, key, ruleKeys)
			return
		}
		lines[key] = v.Line
		d.value(rv.Field(i), key, path+"."+key, v, lines)
	})
	// up and down read as above and below (change_pct's words), except
	// for kinds whose directions are others (ma_cross: golden and death).
	if readsUpDown(r.Kind) {
		switch r.Direction {
		case "up":
			r.Direction = Above
		case "down":
			r.Direction = Below
		}
	}
	return r, lines, true
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	sessionsType = reflect.TypeOf(&Sessions{})
	stringsType  = reflect.TypeOf([]string{})
	labelsType   = reflect.TypeOf(map[string]string{})
)

// normalize spells string values of some types as Validate wants them:
// directions in lower case, the known severities in upper case.
var normalize = map[reflect.Type]func(string) string{
	reflect.TypeOf(Direction("")): strings.ToLower,
	reflect.TypeOf(tickbeam.Severity("")): func(s string) string {
		switch sev := tickbeam.Severity(strings.ToUpper(s)); sev {
		case tickbeam.Info, tickbeam.Warning, tickbeam.Critical:
			return string(sev)
		}
		return s
	},
}

// value decodes v into the Rule field fv (key key, full path field).
func (d *decoder) value(fv reflect.Value, key, field string, v *yaml.Node, lines map[string]int) {
	switch t := fv.Type(); {
	case t == durationType:
		x, _ := d.dur(v, field)
		fv.SetInt(int64(x))
	case t == sessionsType:
		fv.Set(reflect.ValueOf(d.sessions(v, field, lines)))
	case t == stringsType:
		items, nodes := d.strList(v, field)
		fv.Set(reflect.ValueOf(items))
		for i, in := range nodes {
			lines[fmt.Sprintf("%s[%d]", key, i)] = in.Line
		}
	case t == labelsType:
		fv.Set(reflect.ValueOf(d.labels(v, field)))
	case t.Kind() == reflect.String:
		s, _ := d.str(v, field)
		if norm := normalize[t]; norm != nil {
			s = norm(s)
		}
		fv.SetString(s)
	case t.Kind() == reflect.Float64:
		x, _ := d.num(v, field)
		fv.SetFloat(x)
	case t.Kind() == reflect.Int:
		x, _ := d.int(v, field)
		fv.SetInt(int64(x))
	default:
		panic(fmt.Sprintf("alerts: Rule field %s: no rules-file decoding for %v", key, t))
	}
}

func (d *decoder) sessions(n *yaml.Node, path string, lines map[string]int) *Sessions {
	if n.Kind != yaml.MappingNode {
		d.add(n, path, "want a mapping (calendar:, kinds:, hours:), got %s", describe(n))
		return nil
	}
	s := &Sessions{}
	d.mapping(n, path, func(key string, k, v *yaml.Node) {
		f := path + "." + key
		lines["sessions."+key] = v.Line
		switch key {
		case "calendar":
			s.Calendar, _ = d.str(v, f)
		case "hours":
			s.Hours, _ = d.str(v, f)
		case "kinds":
			items, nodes := d.strList(v, f)
			for i, it := range items {
				if strings.EqualFold(strings.TrimSpace(it), "all") {
					s.Kinds = nil
					break
				}
				ks, err := calendar.ParseSessions(it)
				if err != nil {
					d.add(nodes[i], fmt.Sprintf("%s[%d]", f, i), "unknown session %q (want pre, regular, after or all)", it)
					continue
				}
				for _, k := range ks {
					if !hasKind(s.Kinds, k) {
						s.Kinds = append(s.Kinds, k)
					}
				}
			}
			sort.Slice(s.Kinds, func(i, j int) bool { return s.Kinds[i] < s.Kinds[j] })
		default:
			d.unknown(k, path, key, []string{"calendar", "kinds", "hours"})
		}
	})
	return s
}

func (d *decoder) labels(n *yaml.Node, path string) map[string]string {
	if n.Kind != yaml.MappingNode {
		d.add(n, path, "want a mapping of label keys to values, got %s", describe(n))
		return nil
	}
	m := map[string]string{}
	d.mapping(n, path, func(key string, _, v *yaml.Node) {
		if s, ok := d.str(v, path+"."+key); ok {
			m[key] = s
		}
	})
	return m
}

// notifiers decodes notifiers: {webhooks: [...], emails: [...]}.
func (d *decoder) notifiers(n *yaml.Node, rs *RuleSet) {
	if n.Kind != yaml.MappingNode {
		d.add(n, "notifiers", "want a mapping with webhooks: and emails:, got %s", describe(n))
		return
	}
	seen := map[string]int{}
	name := func(v *yaml.Node, field, nm string) {
		switch {
		case nm == "":
			d.add(v, field+".name", "required: rules name notifiers by it")
		case seen[nm] != 0:
			d.add(v, field+".name", "duplicate notifier name %q (first at line %d)", nm, seen[nm])
		default:
			seen[nm] = v.Line
		}
	}
	d.mapping(n, "notifiers", func(key string, k, v *yaml.Node) {
		switch key {
		case "webhooks", "emails":
			if v.Kind != yaml.SequenceNode {
				d.add(v, "notifiers."+key, "want a list, got %s", describe(v))
				return
			}
			for i, item := range v.Content {
				field := fmt.Sprintf("notifiers.%s[%d]", key, i)
				if key == "webhooks" {
					var w NamedWebhook
					var extra map[string]string
					if !d.config(item, field, &w.Config, []string{"secret_env"}, &extra) {
						continue
					}
					w.SecretEnv = extra["secret_env"]
					if w.Config.Secret != "" {
						d.add(item, field+".secret", "do not put secrets in a rules file: name an environment variable with secret_env")
					}
					name(item, field, w.Config.Name)
					d.fieldErrors(item, field, w.Config.Validate())
					rs.Webhooks = append(rs.Webhooks, w)
				} else {
					var e NamedEmail
					var extra map[string]string
					if !d.config(item, field, &e.Config, []string{"password_env"}, &extra) {
						continue
					}
					e.PasswordEnv = extra["password_env"]
					if e.Config.Password != "" {
						d.add(item, field+".password", "do not put passwords in a rules file: name an environment variable with password_env")
					}
					name(item, field, e.Config.Name)
					check := e.Config
					if e.PasswordEnv != "" {
						check.Password = "(from " + e.PasswordEnv + ")"
					}
					d.fieldErrors(item, field, check.Validate())
					rs.Emails = append(rs.Emails, e)
				}
			}
		default:
			d.unknown(k, "notifiers", key, []string{"webhooks", "emails"})
		}
	})
}

// config decodes a notify config mapping into out, whose yaml tags (plus
// extraKeys, returned in extra) are the only keys accepted.
func (d *decoder) config(n *yaml.Node, path string, out any, extraKeys []string, extra *map[string]string) bool {
	if n.Kind != yaml.MappingNode {
		d.add(n, path, "want a mapping, got %s", describe(n))
		return false
	}
	known := append(yamlKeys(reflect.TypeOf(out).Elem()), extraKeys...)
	*extra = map[string]string{}
	clean := &yaml.Node{Kind: yaml.MappingNode, Tag: n.Tag, Line: n.Line, Column: n.Column}
	ok := true
	d.mapping(n, path, func(key string, k, v *yaml.Node) {
		switch {
		case contains(extraKeys, key):
			(*extra)[key], _ = d.str(v, path+"."+key)
		case contains(known, key):
			clean.Content = append(clean.Content, k, v)
		default:
			d.unknown(k, path, key, known)
		}
	})
	if err := clean.Decode(out); err != nil {
		d.add(n, path, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		ok = false
	}
	return ok
}

// fieldErrors reports a notify config's Validate errors at their keys' lines.
func (d *decoder) fieldErrors(n *yaml.Node, path string, err error) {
	if err == nil {
		return
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		var fe *notify.FieldError
		if !errors.As(e, &fe) {
			d.add(n, path, "%v", e)
			continue
		}
		line := n.Line
		key, _, _ := strings.Cut(fe.Field, "[")
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				line = n.Content[i+1].Line
			}
		}
		d.probs = append(d.probs, Problem{File: d.file, Line: line, Field: path + "." + fe.Field, Msg: fe.Message})
	}
}

func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("yaml")
		if name, _, _ := strings.Cut(tag, ","); name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// mapping calls fn for each key of a mapping node, reporting duplicate and
// non-string keys.
func (d *decoder) mapping(n *yaml.Node, path string, fn func(key string, k, v *yaml.Node)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.add(k, path, "keys must be plain names")
			continue
		}
		field := k.Value
		if path != "" {
			field = path + "." + k.Value
		}
		if l, dup := seen[k.Value]; dup {
			d.add(k, field, "given twice (first at line %d)", l)
			continue
		}
		seen[k.Value] = k.Line
		fn(k.Value, k, v)
	}
}

func (d *decoder) unknown(k *yaml.Node, path, key string, known []string) {
	field := key
	if path != "" {
		field = path + "." + key
	}
	// Suggestions cost an edit distance per known key: only for the
	// unknown fields a RulesError lists.
	if d.unknowns++; d.unknowns > maxProblems {
		d.add(k, field, "unknown field")
		return
	}
	if s := closest(key, known); s != "" {
		d.add(k, field, "unknown field (did you mean %s?)", s)
		return
	}
	d.add(k, field, "unknown field")
}

// closest is the known key within edit distance 2 of key, if any.
func closest(key string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if dd := editDistance(key, k); dd < bestD {
			best, bestD = k, dd
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "nothing"
	}
	// A value may be megabytes: quote its start.
	return strconv.Quote(truncate(n.Value, 64))
}

func (d *decoder) str(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.add(n, field, "want a string, got %s", describe(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) num(n *yaml.Node, field string) (float64, bool) {
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		if f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); err == nil && !isNaNOrInf(f) {
			return f, true
		}
	}
	d.add(n, field, "want a number, got %s", describe(n))
	return 0, false
}

func isNaNOrInf(f float64) bool { return f != f || f > 1e308 || f < -1e308 }

func (d *decoder) int(n *yaml.Node, field string) (int, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		if i, err := strconv.Atoi(strings.ReplaceAll(n.Value, "_", "")); err == nil {
			return i, true
		}
	}
	d.add(n, field, "want a whole number, got %s", describe(n))
	return 0, false
}

func (d *decoder) dur(n *yaml.Node, field string) (time.Duration, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		if v, err := time.ParseDuration(n.Value); err == nil {
			return v, true
		}
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" && n.Value == "0" {
		return 0, true
	}
	d.add(n, field, "want a duration such as 90s, 5m or 24h, got %s", describe(n))
	return 0, false
}

// strList accepts a list of strings or one string.
func (d *decoder) strList(n *yaml.Node, field string) ([]string, []*yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{n.Value}, []*yaml.Node{n}
	}
	if n.Kind != yaml.SequenceNode {
		d.add(n, field, "want a list of strings, got %s", describe(n))
		return nil, nil
	}
	var out []string
	var nodes []*yaml.Node
	for i, it := range n.Content {
		if s, ok := d.str(it, fmt.Sprintf("%s[%d]", field, i)); ok {
			out = append(out, s)
			nodes = append(nodes, it)
		}
	}
	return out, nodes
}
