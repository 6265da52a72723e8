package bars

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// Daily is the resolution whose bars follow Options.Calendar's trading days.
const Daily = Resolution(24 * time.Hour)

// Counters of daily bars on session days, in namespace tickbeam/bars.
var (
	cOutsideSession = beam.NewCounter("tickbeam/bars", "outside_session") // trades in no trading day: no daily bar
	cDroppedLate    = beam.NewCounter("tickbeam/bars", "dropped_late")    // trades for a session day already released
)

func init() {
	register.DoFn6x1[context.Context, state.Provider, timers.Provider, string, Accumulator, func(beam.EventTime, tickbeam.Bar), error](&sessionDayFn{})
}

// sessionDays computes the daily bars of partials (symbol, Accumulator of one
// trading day) in the global window: Beam Go has no custom WindowFn, and an
// exchange day (XNYS 04:00-20:00 New York, 23- or 25-hour days at DST
// changes) is no fixed window.
func sessionDays(s beam.Scope, partials beam.PCollection, opts Options) beam.PCollection {
	global := beam.WindowInto(s, window.NewGlobalWindows(), partials)
	return beam.ParDo(s, &sessionDayFn{Calendar: opts.Calendar, AllowedLateness: opts.AllowedLateness,
		Days: state.MakeValueState[[]byte]("days"), Timer: timers.InEventTime("day")}, global)
}

// Timer tags of sessionDayFn, each followed by the day's end in Unix ms. One
// family with tags: prism v2.77 can hang a stateful DoFn with two families.
const (
	tagClose   = "close@"   // the watermark passed the day's last close: ON_TIME pane
	tagRelease = "release@" // and its allowed lateness: the day's state goes
)

// sessionDayFn, keyed by symbol, adds each partial to its trading day and
// emits the day's bar when the watermark passes the day's last close
// (ON_TIME, pane 0), then a LATE pane with the whole day for each partial
// arriving within the allowed lateness. Its state is the open days and the
// end of the latest released day, so a partial for a released day is
// recognised, counted in tickbeam/bars.dropped_late and dropped.
type sessionDayFn struct {
	Calendar        *calendar.Calendar
	AllowedLateness time.Duration

	Days  state.Value[[]byte]
	Timer timers.EventTime
}

// dayState is a symbol's open trading days; panes is 0 until the day's
// ON_TIME pane fired.
type dayState struct {
	released int64 // end of the latest released day, Unix ms
	open     []openWindow
}

func (f *sessionDayFn) ProcessElement(ctx context.Context, sp state.Provider, tp timers.Provider, symbol string, in Accumulator,
	emit func(beam.EventTime, tickbeam.Bar)) error {
	st, err := f.read(sp)
	if err != nil {
		return fmt.Errorf("bars: %s: %w", symbol, err)
	}
	d, ok := f.Calendar.SessionDay(time.Unix(0, in.First.Time))
	if !ok { // preAggregateFn only passes trades inside a trading day
		return fmt.Errorf("bars: %s: trade at %v in no %s trading day", symbol, time.Unix(0, in.First.Time).UTC(), f.Calendar)
	}
	start, end, _ := f.Calendar.DayBounds(d)
	if end.UnixMilli() <= st.released {
		cDroppedLate.Inc(ctx, in.Trades)
		return nil
	}
	i := slices.IndexFunc(st.open, func(w openWindow) bool { return w.start == start.UnixMilli() })
	if i < 0 {
		st.open = append(st.open, openWindow{start: start.UnixMilli(), end: end.UnixMilli()})
		i = len(st.open) - 1
		at := mtime.FromTime(end) - 1 // the bar's timestamp: the last instant of its day
		f.Timer.Set(tp, at.ToTime(), timers.WithTag(tagClose+strconv.FormatInt(end.UnixMilli(), 10)), timers.WithOutputTimestamp(at.ToTime()))
	}
	w := &st.open[i]
	w.acc.Merge(&in)
	if w.panes > 0 {
		f.emit(symbol, w, tickbeam.Late, emit)
	}
	return f.write(sp, st)
}

func (f *sessionDayFn) OnTimer(ctx context.Context, _ beam.EventTime, sp state.Provider, tp timers.Provider, symbol string, timer timers.Context,
	emit func(beam.EventTime, tickbeam.Bar)) error {
	st, err := f.read(sp)
	if err != nil {
		return fmt.Errorf("bars: %s: %w", symbol, err)
	}
	tag, endText, _ := strings.Cut(timer.Tag, "@")
	end, err := strconv.ParseInt(endText, 10, 64)
	if err != nil {
		return fmt.Errorf("bars: %s: bad timer tag %q", symbol, timer.Tag)
	}
	i := slices.IndexFunc(st.open, func(w openWindow) bool { return w.end == end })
	if i < 0 {
		return nil
	}
	release := tag+"@" == tagRelease
	if !release {
		f.emit(symbol, &st.open[i], tickbeam.OnTime, emit)
		if f.AllowedLateness > 0 {
			at := mtime.FromMilliseconds(end) - 1 + mtime.FromDuration(f.AllowedLateness)
			f.Timer.Set(tp, at.ToTime(), timers.WithTag(tagRelease+endText), timers.WithOutputTimestamp(at.ToTime()))
		} else {
			release = true
		}
	}
	if release {
		st.open = slices.Delete(st.open, i, i+1)
		st.released = max(st.released, end)
	}
	return f.write(sp, st)
}

// emit emits the whole day so far as the day's next pane.
func (f *sessionDayFn) emit(symbol string, w *openWindow, timing tickbeam.Timing, emit func(beam.EventTime, tickbeam.Bar)) {
	b := w.acc.Bar(symbol, Daily, time.UnixMilli(w.start), time.UnixMilli(w.end))
	b.Timing, b.PaneIndex = timing, w.panes
	w.panes++
	emit(mtime.FromMilliseconds(w.end)-1, b)
}

func (f *sessionDayFn) read(sp state.Provider) (dayState, error) {
	b, ok, err := f.Days.Read(sp)
	if err != nil || !ok {
		return dayState{}, err
	}
	r := wire.NewReader(b)
	st := dayState{released: r.Int()}
	st.open, err = readOpenWindows(r)
	return st, err
}

func (f *sessionDayFn) write(sp state.Provider, st dayState) error {
	return f.Days.Write(sp, appendOpenWindows(wire.AppendInt(nil, st.released), st.open))
}
