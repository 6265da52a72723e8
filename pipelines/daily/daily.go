package daily

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/feedformat"
	"github.com/tickbeam/tickbeam/io/bigqueryx"
	"github.com/tickbeam/tickbeam/io/endpoint"
	"github.com/tickbeam/tickbeam/io/lake"
	"github.com/tickbeam/tickbeam/io/lines"
	"github.com/tickbeam/tickbeam/transforms/alerts"
	"github.com/tickbeam/tickbeam/transforms/bars"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
	"github.com/tickbeam/tickbeam/transforms/parse"
)

// DefaultGap is Config.Gap's default.
const DefaultGap = 5 * time.Minute

// Config is one day's batch run.
type Config struct {
	// Input is the raw archive (monitor --raw_out: a directory or gs://
	// prefix holding dt=YYYY-MM-DD/hour=HH/ partitions), whose partitions
	// of the day and the previous trading day are read; or any file glob.
	Input string
	// Format of the input lines; default "tick" (the archive's Tick JSON).
	Format       string
	ParseOptions feedformat.Options
	// Calendar names the exchange calendar (calendar.Lookup); Date is the
	// trading day; the zero Date means LastClosed(calendar, now).
	Calendar string
	Date     calendar.Date
	// Gap is the quality check's longest stretch of the regular session
	// without a trade; default DefaultGap.
	Gap time.Duration
	// KeepDuplicates keeps redelivered trades (default: dropped, counted).
	KeepDuplicates bool
	// Rules is an alerts rules file whose outlier rules judge the day's
	// trades as monitor --rules does: a quarantined trade leaves the report
	// and counts in its symbol's Quality.Outliers. For captures; the raw
	// archive holds the streaming run's clean trades already.
	Rules string
	// DeadLetters is a file glob of the streaming run's dead letters
	// (monitor --deadletter_out JSON lines): those of the day count by stage
	// in row "*", and the late and outlier ones also per symbol.
	DeadLetters string
	// ReportOut is a directory or gs:// prefix receiving
	// daily_report/symbol=S/date=D.csv.
	ReportOut string
	// RowsOut receives Report rows, QualityOut Quality rows, DeadLetterOut
	// DeadLetter rows: bq:P.D.T or a directory or gs:// prefix (JSONL files).
	RowsOut, QualityOut, DeadLetterOut string
	// BigQuery says where BigQuery is for bq: outputs.
	BigQuery bigqueryx.Options
}

// LastClosed returns the last trading day of cal whose last session closed
// at or before now.
func LastClosed(cal *calendar.Calendar, now time.Time) calendar.Date {
	d := calendar.DateOf(now.In(cal.Location()))
	for i := 0; i < 400; i++ {
		if _, end, ok := cal.DayBounds(d); ok && !end.After(now) {
			return d
		}
		d = d.AddDays(-1)
	}
	return calendar.Date{}
}

// Validate checks c before a pipeline is built.
func (c Config) Validate() error {
	_, err := c.resolve()
	return err
}

// resolved is what Build builds from: c's input, rules and outputs, each
// parsed once.
type resolved struct {
	input    endpoint.Input
	outliers *alerts.RuleSet
	// report is ReportOut, rows, quality and dead the outputs of Report,
	// Quality and DeadLetter rows (Kind NoOutput when not set).
	report, rows, quality, dead endpoint.Output
}

// resolve checks c and parses its settings through the registry of
// io/endpoint.
func (c Config) resolve() (resolved, error) {
	var r resolved
	if c.Input == "" {
		return r, errors.New("--input is required: the raw archive (monitor --raw_out) or a file glob")
	}
	in, err := endpoint.ParseInput(c.Input)
	if err == nil && in.Kind != endpoint.FileInput {
		err = errors.New("want the raw archive (a directory or gs:// prefix) or a file glob")
	}
	if err != nil {
		return r, fmt.Errorf("--input %s: %w", c.Input, err)
	}
	r.input = in
	if _, err := feedformat.New(c.format(), c.ParseOptions); err != nil {
		return r, fmt.Errorf("--format: %w", err)
	}
	cal, err := calendar.Lookup(c.calendarName())
	if err != nil {
		return r, fmt.Errorf("--calendar: %w", err)
	}
	if c.Date.IsZero() {
		return r, errors.New("--date: no trading day")
	}
	if !cal.IsTradingDay(c.Date) {
		return r, fmt.Errorf("--date %s: %s does not trade that day", c.Date, cal.Name())
	}
	if c.Gap < 0 {
		return r, errors.New("--gap must be >= 0")
	}
	if r.outliers, err = c.outlierRules(); err != nil {
		return r, err
	}
	if c.ReportOut == "" && c.RowsOut == "" && c.QualityOut == "" {
		return r, errors.New("no output: set --report_out, --rows_out or --quality_out")
	}
	for _, o := range []struct {
		flag, v string
		dst     *endpoint.Output
		tables  bool
	}{{"--report_out", c.ReportOut, &r.report, false}, {"--rows_out", c.RowsOut, &r.rows, true},
		{"--quality_out", c.QualityOut, &r.quality, true}, {"--deadletter_out", c.DeadLetterOut, &r.dead, true}} {
		out, err := endpoint.ParseOutput(o.v)
		switch {
		case err != nil:
		case out.Kind == endpoint.TopicOutput || (out.Kind == endpoint.TableOutput && !o.tables):
			err = fmt.Errorf("%s is not a directory or gs:// prefix", o.v)
			if o.tables {
				err = fmt.Errorf("%s is not bq:P.D.T, a directory or gs:// prefix", o.v)
			}
		}
		if err != nil {
			return r, fmt.Errorf("%s: %w", o.flag, err)
		}
		*o.dst = out
	}
	return r, nil
}

func (c Config) format() string {
	if c.Format == "" {
		return "tick"
	}
	return c.Format
}

func (c Config) calendarName() string {
	if c.Calendar == "" {
		return "CRYPTO"
	}
	return c.Calendar
}

// outlierRules returns the outlier rules of c.Rules, nil without any.
func (c Config) outlierRules() (*alerts.RuleSet, error) {
	if c.Rules == "" {
		return nil, nil
	}
	rs, err := alerts.LoadRules(c.Rules)
	if err != nil {
		return nil, fmt.Errorf("--rules: %w", err)
	}
	outliers, _ := rs.Split()
	if outliers == nil {
		return nil, fmt.Errorf("--rules %s: no outlier rule", c.Rules)
	}
	return outliers, nil
}

func (c Config) gap() time.Duration {
	if c.Gap == 0 {
		return DefaultGap
	}
	return c.Gap
}

// globs returns the file globs Build reads of input (c.Input parsed): for
// an archive, its hour partitions of the UTC dates that the previous trading
// day and the day span, those that hold files (a day may have no previous
// day archived); any other input as it is.
func (c Config) globs(ctx context.Context, input endpoint.Input) ([]string, error) {
	if !isArchive(input) {
		return []string{c.Input}, nil
	}
	cal, err := calendar.Lookup(c.calendarName())
	if err != nil {
		return nil, err
	}
	prev := cal.PrevTradingDay(c.Date)
	start, _, ok := cal.DayBounds(prev)
	if !ok {
		start = c.Date.In(cal.Location())
	}
	// The day's local date may extend past its last close (out-of-session
	// trades): read to the local midnight after it.
	end := c.Date.AddDays(1).In(cal.Location())
	root := strings.TrimSuffix(c.Input, "/")
	var globs []string
	for d := calendar.DateOf(start.UTC()); !d.In(time.UTC).After(end.UTC()); d = d.AddDays(1) {
		g := root + "/dt=" + d.String() + "/hour=*/*"
		fs, err := filesystem.New(ctx, g)
		if err != nil {
			return nil, fmt.Errorf("--input %s: %w", c.Input, err)
		}
		files, err := fs.List(ctx, g)
		fs.Close()
		if err != nil {
			return nil, fmt.Errorf("--input %s: %w", g, err)
		}
		if len(files) > 0 {
			globs = append(globs, g)
		}
	}
	if len(globs) == 0 {
		return nil, fmt.Errorf("--input %s: no dt=/hour= partitions around %s", c.Input, c.Date)
	}
	return globs, nil
}

// isArchive reports whether input names a raw archive root: a gs:// prefix
// ending in "/", or a local directory.
func isArchive(input endpoint.Input) bool {
	if input.Remote() {
		return strings.HasSuffix(input.URI, "/")
	}
	st, err := os.Stat(input.URI)
	return err == nil && st.IsDir()
}

func init() {
	beam.RegisterType(reflect.TypeOf((*Report)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*Quality)(nil)).Elem())
	register.DoFn2x0[tickbeam.Tick, func(string, tickbeam.Tick)](&dayTradesFn{})
	register.Emitter2[string, tickbeam.Tick]()
	register.DoFn2x0[tickbeam.Tick, func(string, int64)](&dayCountFn{})
	register.Emitter2[string, int64]()
	register.DoFn7x0[context.Context, string, func(*tickbeam.Tick) bool, func(*int64) bool, func(*string) bool, func(Report), func(Quality)](&reportFn{})
	register.Iter1[tickbeam.Tick]()
	register.Iter1[int64]()
	register.Emitter1[Report]()
	register.Emitter1[Quality]()
	register.DoFn2x1[context.Context, Report, error](&csvFn{})
	register.Function2x0[tickbeam.DeadLetter, func(string, string)](keyDeadLetter)
	register.DoFn4x0[context.Context, string, func(*string) bool, func(Quality)](&deadQualityFn{})
	register.Emitter2[string, string]()
	register.Iter1[string]()
	register.DoFn2x1[string, func(tickbeam.DeadLetter), error](&deadLetterInFn{})
	register.Emitter1[tickbeam.DeadLetter]()
	register.DoFn2x0[tickbeam.DeadLetter, func(string, string)](&symbolDeadFn{})
}

// Counters, in namespace tickbeam/quality: symbols failing each check, the
// figures `tickbeam daily --fail_on` reads.
const NamespaceQuality = "tickbeam/quality"

// Build adds the daily pipeline to s.
func Build(s beam.Scope, c Config) error {
	r, err := c.resolve()
	if err != nil {
		return err
	}
	globs, err := c.globs(context.Background(), r.input)
	if err != nil {
		return err
	}
	s = s.Scope("daily")
	pc := parse.Config{Format: c.format(), Options: c.ParseOptions}
	var ticks, dead []beam.PCollection
	for _, g := range globs {
		raw, oversized := lines.ReadBlocks(s, g)
		t, d := parse.Blocks(s, raw, pc)
		ticks = append(ticks, t)
		dead = append(dead, oversized, d)
	}
	all := beam.Flatten(s, ticks...)
	days := dayFilter{Calendar: c.calendarName(), Date: c.Date.String()}
	unique := all
	if !c.KeepDuplicates {
		unique = dedupe.Ticks(s, all, dedupe.Options{Window: 24 * time.Hour})
	}
	// dedupe windows its output; the counts are in the global window.
	unique = beam.WindowInto(s, window.NewGlobalWindows(), unique)
	// Each trade counts +1 before and -1 after deduplication: the sum per
	// symbol is its duplicates, whatever an outlier rule takes out later.
	counts := beam.Flatten(s, beam.ParDo(s, &dayCountFn{dayFilter: days, Sign: 1}, all),
		beam.ParDo(s, &dayCountFn{dayFilter: days, Sign: -1}, unique))
	if r.outliers != nil {
		out, err := alerts.TryApply(s, alerts.Inputs{Ticks: unique}, r.outliers)
		if err != nil {
			return fmt.Errorf("--rules: %w", err)
		}
		unique = out.CleanTicks
		dead = append(dead, out.Quarantined)
	}
	if c.DeadLetters != "" {
		raw, oversized := lines.Read(s, c.DeadLetters)
		dead = append(dead, oversized, beam.ParDo(s, &deadLetterInFn{dayFilter: days}, raw))
	}
	deadAll := beam.WindowInto(s, window.NewGlobalWindows(), beam.Flatten(s, dead...))
	keyed := beam.ParDo(s, &dayTradesFn{dayFilter: days}, unique)
	symbolDead := beam.ParDo(s, &symbolDeadFn{dayFilter: days, Format: c.format(), Options: c.ParseOptions}, deadAll)
	grouped := beam.CoGroupByKey(s, keyed, counts, symbolDead)
	reports, quality := beam.ParDo2(s, &reportFn{dayFilter: days, Gap: c.gap()}, grouped)
	deadRows := beam.ParDo(s, &deadQualityFn{dayFilter: days}, beam.GroupByKey(s, beam.ParDo(s, keyDeadLetter, deadAll)))
	quality = beam.Flatten(s, quality, deadRows)
	if r.report.Set() {
		beam.ParDo0(s, &csvFn{Prefix: r.report.URI}, reports)
	}
	for _, o := range []struct {
		flag, name string
		out        endpoint.Output
		rows       beam.PCollection
	}{{"--rows_out", "daily_report", r.rows, reports}, {"--quality_out", "quality", r.quality, quality}, {"--deadletter_out", "deadletters", r.dead, deadAll}} {
		if !o.out.Set() {
			continue
		}
		if err := write(s, o.out, o.name, o.rows, c.BigQuery); err != nil {
			return fmt.Errorf("%s: %w", o.flag, err)
		}
	}
	return nil
}

func write(s beam.Scope, out endpoint.Output, name string, rows beam.PCollection, bq bigqueryx.Options) error {
	if out.Kind == endpoint.TableOutput {
		_, err := bigqueryx.TryWrite(s, out.Table.String(), rows, bigqueryx.WriteOptions{TableOptions: bigqueryx.TableOptions{Options: bq}})
		return err
	}
	_, err := lake.TryWrite(s, out.URI, rows, lake.Options{Name: name})
	return err
}

// dayFilter places a tick against the day and its previous trading day.
type dayFilter struct {
	Calendar string
	Date     string

	cal        *calendar.Calendar
	day, prev  calendar.Date
	regular    calendar.Session
	hasRegular bool
}

func (f *dayFilter) setup() error {
	if f.cal != nil {
		return nil
	}
	cal, err := calendar.Lookup(f.Calendar)
	if err != nil {
		return err
	}
	d, err := calendar.ParseDate(f.Date)
	if err != nil {
		return err
	}
	f.cal, f.day, f.prev = cal, d, cal.PrevTradingDay(d)
	for _, ss := range cal.Sessions(d) {
		if ss.Kind == calendar.Regular {
			f.regular, f.hasRegular = ss, true
		}
	}
	return nil
}

// role says what a trade is to the report: of the day, of the previous
// trading day, on the day's local date outside every session, or none.
type role int

const (
	roleNone role = iota
	roleDay
	rolePrev
	roleOutside
)

func (f *dayFilter) role(t *tickbeam.Tick) role {
	if t.Kind != tickbeam.Trade {
		return roleNone
	}
	if _, ok := f.cal.SessionAt(t.EventTime); !ok && calendar.DateOf(t.EventTime.In(f.cal.Location())) == f.day {
		return roleOutside
	}
	switch d, ok := f.cal.SessionDay(t.EventTime); {
	case !ok:
		return roleNone
	case d == f.day:
		return roleDay
	case d == f.prev:
		return rolePrev
	}
	return roleNone
}

// dayTradesFn keys the trades that matter to the day by symbol.
type dayTradesFn struct{ dayFilter }

func (f *dayTradesFn) Setup() error { return f.setup() }

func (f *dayTradesFn) ProcessElement(t tickbeam.Tick, emit func(string, tickbeam.Tick)) {
	if f.role(&t) != roleNone {
		emit(t.Symbol, t)
	}
}

// dayCountFn counts the day's trades per symbol, Sign each.
type dayCountFn struct {
	dayFilter
	Sign int64
}

func (f *dayCountFn) Setup() error { return f.setup() }

func (f *dayCountFn) ProcessElement(t tickbeam.Tick, emit func(string, int64)) {
	if r := f.role(&t); r == roleDay || r == roleOutside {
		emit(t.Symbol, f.Sign)
	}
}

// reportFn computes a symbol's Report and Quality in one pass over its
// trades of the day (and of the previous trading day, for the close).
type reportFn struct {
	dayFilter
	Gap time.Duration
}

func (f *reportFn) Setup() error { return f.setup() }

func (f *reportFn) ProcessElement(ctx context.Context, symbol string, trades func(*tickbeam.Tick) bool, counts func(*int64) bool,
	deadStages func(*string) bool, emitReport func(Report), emitQuality func(Quality)) {
	var day []tickbeam.Tick
	var acc, prevAcc bars.Accumulator
	q := Quality{Symbol: symbol, Date: f.Date, Calendar: f.cal.Name(), GapMinutes: f.Gap.Minutes()}
	var t tickbeam.Tick
	for trades(&t) {
		r := f.role(&t)
		switch r {
		case roleDay:
			day = append(day, t)
			acc.Add(&t)
		case rolePrev:
			prevAcc.Add(&t)
			continue
		case roleOutside:
			q.OutOfSession++
		}
		q.Trades++
	}
	for n := int64(0); counts(&n); {
		q.Duplicates += n
	}
	for stage := ""; deadStages(&stage); {
		switch stage {
		case tickbeam.StageLate:
			q.Late++
		case tickbeam.StageOutlier:
			q.Outliers++
		}
	}
	sort.SliceStable(day, func(i, j int) bool { return day[i].EventTime.Before(day[j].EventTime) })
	f.regularQuality(&q, day)
	q.Failed = q.failed()
	for _, c := range q.Failed {
		beam.NewCounter(NamespaceQuality, c).Inc(ctx, 1)
	}
	emitQuality(q)
	if acc.Trades == 0 {
		return
	}
	start, end, _ := f.cal.DayBounds(f.day)
	b := acc.Bar(symbol, bars.Resolution(24*time.Hour), start, end)
	r := Report{Symbol: symbol, Date: f.Date, Calendar: f.cal.Name(), Open: b.Open, High: b.High, Low: b.Low, Close: b.Close,
		Volume: b.Volume, Notional: b.Notional, VWAP: b.VWAP, Trades: b.Trades, BuyVolume: b.BuyVolume, SellVolume: b.SellVolume,
		FirstTrade: time.Unix(0, acc.First.Time).UTC(), LastTrade: time.Unix(0, acc.Last.Time).UTC()}
	if b.SellVolume > 0 {
		r.TradeStrength = b.BuyVolume / b.SellVolume * 100
	}
	if prevAcc.Trades > 0 && prevAcc.Last.Price != 0 {
		pc := prevAcc.Last.Price
		ret := (b.Close - pc) / pc * 100
		r.PrevClose, r.ReturnPct = &pc, &ret
	}
	for _, d := range day {
		if f.role(&d) != roleDay {
			continue
		}
		if d.Price == b.High && r.HighTime.IsZero() {
			r.HighTime = d.EventTime.UTC()
		}
		if d.Price == b.Low && r.LowTime.IsZero() {
			r.LowTime = d.EventTime.UTC()
		}
		if d.Size > r.LargestTradeSize {
			r.LargestTradePrice, r.LargestTradeSize, r.LargestTradeTime = d.Price, d.Size, d.EventTime.UTC()
		}
	}
	emitReport(r)
}

// regularQuality fills the regular session's gaps and the first and last
// trades against its open and close; day is in event-time order.
func (f *reportFn) regularQuality(q *Quality, day []tickbeam.Tick) {
	if !f.hasRegular {
		return
	}
	open, close := f.regular.Open.UTC(), f.regular.Close.UTC()
	q.RegularOpen, q.RegularClose = &open, &close
	prev := open
	gap := func(to time.Time) {
		d := to.Sub(prev)
		if d > f.Gap {
			q.Gaps++
		}
		q.LongestGapSeconds = math.Max(q.LongestGapSeconds, d.Seconds())
	}
	for i := range day {
		t := day[i].EventTime.UTC()
		if !f.regular.Contains(t) {
			continue
		}
		if q.FirstRegularTrade == nil {
			first := t
			q.FirstRegularTrade = &first
			delay := t.Sub(open).Seconds()
			q.OpenDelaySeconds = &delay
		}
		gap(t)
		prev = t
		last := t
		q.LastRegularTrade = &last
	}
	gap(close)
	if q.LastRegularTrade != nil {
		cg := close.Sub(*q.LastRegularTrade).Seconds()
		q.CloseGapSeconds = &cg
	}
}

// keyDeadLetter keys every dead letter by its stage under one key, so one
// row carries the day's dead letters.
func keyDeadLetter(d tickbeam.DeadLetter, emit func(string, string)) {
	stage := d.Stage
	if stage == "" {
		stage = "unknown"
	}
	emit("*", stage)
}

// deadQualityFn makes the "*" quality row: dead letters by stage.
type deadQualityFn struct{ dayFilter }

func (f *deadQualityFn) ProcessElement(ctx context.Context, key string, stages func(*string) bool, emit func(Quality)) {
	n := map[string]int64{}
	var st string
	for stages(&st) {
		n[st]++
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, n[k])
	}
	q := Quality{Symbol: key, Date: f.Date, Calendar: f.Calendar, DeadLetters: strings.Join(parts, ",")}
	q.Failed = q.failed()
	for _, c := range q.Failed {
		beam.NewCounter(NamespaceQuality, c).Inc(ctx, 1)
	}
	emit(q)
}

// csvFn writes each report as its own CSV file, header and one row; a retry
// rewrites the same file.
type csvFn struct{ Prefix string }

func (f *csvFn) ProcessElement(ctx context.Context, r Report) error {
	path, err := reportPath(f.Prefix, r.Symbol, r.Date)
	if err != nil {
		return err
	}
	fs, err := filesystem.New(ctx, path)
	if err != nil {
		return fmt.Errorf("daily report %s: %w", path, err)
	}
	defer fs.Close()
	w, err := fs.OpenWrite(ctx, path)
	if err != nil {
		return fmt.Errorf("daily report %s: %w", path, err)
	}
	if _, err := fmt.Fprintf(w, "%s\n%s\n", csvHeader, r.csvRow()); err != nil {
		w.Close()
		return fmt.Errorf("daily report %s: %w", path, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("daily report %s: %w", path, err)
	}
	return nil
}

// deadLetterInFn reads the streaming run's DeadLetter JSON lines and keeps
// those of the day (their timestamp is the message's event time).
type deadLetterInFn struct{ dayFilter }

func (f *deadLetterInFn) Setup() error { return f.setup() }

func (f *deadLetterInFn) ProcessElement(line string, emit func(tickbeam.DeadLetter)) error {
	var d tickbeam.DeadLetter
	if err := json.Unmarshal([]byte(line), &d); err != nil {
		return fmt.Errorf("--deadletters: a line is not a DeadLetter: %w", err)
	}
	if day, ok := f.cal.SessionDay(d.Timestamp); (ok && day == f.day) || calendar.DateOf(d.Timestamp.In(f.cal.Location())) == f.day {
		emit(d)
	}
	return nil
}

// symbolDeadFn keys the late and outlier dead letters by the symbol of
// their trades: an outlier's "symbol" attribute, or what the payload
// parses to in the format of its "format" attribute (a late Pub/Sub
// message), else in the day's input format.
type symbolDeadFn struct {
	dayFilter
	Format  string
	Options feedformat.Options

	parsers map[string]feedformat.Parser
	buf     []tickbeam.Tick
}

func (f *symbolDeadFn) Setup() error {
	f.parsers = map[string]feedformat.Parser{}
	return f.setup()
}

func (f *symbolDeadFn) ProcessElement(d tickbeam.DeadLetter, emit func(string, string)) {
	if d.Stage != tickbeam.StageLate && d.Stage != tickbeam.StageOutlier {
		return
	}
	format := f.Format
	for _, a := range d.Attributes {
		switch a.Key {
		case "symbol":
			emit(a.Value, d.Stage)
			return
		case feedformat.FormatAttribute:
			format = a.Value
		}
	}
	p, ok := f.parsers[format]
	if !ok {
		p, _ = feedformat.New(format, f.Options) // nil for an unknown format: not counted per symbol
		f.parsers[format] = p
	}
	if p == nil {
		return
	}
	f.buf, _ = p.Parse(f.buf[:0], d.PayloadBytes)
	for i := range f.buf {
		if t := &f.buf[i]; f.role(t) == roleDay || f.role(t) == roleOutside {
			emit(t.Symbol, d.Stage)
		}
	}
}
