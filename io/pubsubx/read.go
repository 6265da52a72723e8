package pubsubx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"reflect"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/wire"
)

func init() {
	register.DoFn7x2[context.Context, *sdf.ManualWatermarkEstimator, *sdf.LockRTracker, []byte,
		func(beam.EventTime, tickbeam.Message), func(beam.EventTime, tickbeam.DeadLetter), func(beam.EventTime, string, int64),
		sdf.ProcessContinuation, error](&readFn{})
	register.Emitter2[beam.EventTime, tickbeam.Message]()
	register.Emitter2[beam.EventTime, tickbeam.DeadLetter]()
	register.Emitter3[beam.EventTime, string, int64]()
	rt := reflect.TypeOf(restriction{})
	beam.RegisterType(rt)
	beam.RegisterCoder(rt, encodeRestriction, decodeRestriction)
}

// Namespace is the Beam metrics namespace of this package's counters.
const Namespace = "tickbeam/pubsub"

var (
	receivedCounter   = beam.NewCounter(Namespace, "received")
	ackedCounter      = beam.NewCounter(Namespace, "acked")
	nackedCounter     = beam.NewCounter(Namespace, "nacked")
	duplicatesCounter = beam.NewCounter(Namespace, "duplicates")
	badTimeCounter    = beam.NewCounter(Namespace, "bad_timestamps")
	lateCounter       = beam.NewCounter(Namespace, "late")
	// A late copy of a message already emitted: dropped, not late.
	lateDuplicatesCounter = beam.NewCounter(Namespace, "late_duplicates")
	// Acked before the outputs were known to hold them (MaxHeldMessages).
	ackedEarlyCounter = beam.NewCounter(Namespace, "acked_early")
	// holdResetsCounter counts batches pulled out of order by the watermark
	// hold's span or more: each puts the span back to 2 s for a minute, so
	// a stream that keeps counting them pays ~2 s more latency.
	holdResetsCounter = beam.NewCounter(Namespace, "hold_resets")
	// Messages a durable read holds unacked until the outputs are written:
	// what a crash would have Pub/Sub redeliver, and what the Pub/Sub
	// emulator walks on every Pull (BenchmarkEmulatorPullCost).
	heldGauge = beam.NewGauge(Namespace, "held")
)

// Defaults of ReadOptions.
const (
	DefaultIdleTimeout            = 5 * time.Second
	DefaultMaxBatch               = 1000
	DefaultMaxBatchWait           = 250 * time.Millisecond
	DefaultMaxOutstandingMessages = 10_000
	DefaultMaxOutstandingBytes    = 100 << 20
	DefaultCommitTimeout          = time.Minute
	DefaultDedupeWindow           = 10 * time.Minute
	DefaultMaxHeldMessages        = 500_000
)

// ReadOptions configure Read. Zero values take the defaults above.
type ReadOptions struct {
	// Subscription is "projects/P/subscriptions/S". Required.
	Subscription string
	// TimestampAttribute, if set, names the attribute holding each
	// message's event time (Unix milliseconds or RFC 3339, as Beam's Java
	// and Dataflow Pub/Sub I/O read it). Messages without it, or with a
	// value that is not a timestamp (counted as bad_timestamps), take their
	// publish time.
	TimestampAttribute string
	// IDAttribute, if set, names the attribute whose value identifies a
	// message for deduplication, as Dataflow's id attribute: a message whose
	// id was already committed within DedupeWindow is dropped (counted as
	// duplicates) and acked. Messages without it, and all messages when it
	// is empty, are deduplicated by Pub/Sub message id.
	IDAttribute string
	// IdleTimeout: once the subscription is drained (a Pull has waited
	// this long with nothing to hand out, nothing is buffered, and nothing
	// the reader put back is still due) the watermark advances to the wall
	// clock (minus WatermarkDelay), so the last windows close.
	IdleTimeout time.Duration
	// MaxOutstandingMessages and MaxOutstandingBytes bound what is pulled
	// and not yet acked (flow control): at the limit, pulling pauses until
	// committed bundles have been acked.
	MaxOutstandingMessages int
	MaxOutstandingBytes    int
	// A bundle holds at most MaxBatch messages; it waits at most
	// MaxBatchWait for the first.
	MaxBatch     int
	MaxBatchWait time.Duration
	// CommitTimeout bounds the wait for a bundle to commit: messages of a
	// bundle that has not committed by then (it failed, or the job stopped)
	// are nacked, so Pub/Sub redelivers them. Until then their leases are
	// extended.
	CommitTimeout time.Duration
	// DedupeWindow is how long committed ids are remembered (10 minutes,
	// as on Dataflow; at most about a million ids).
	DedupeWindow time.Duration
	// WatermarkDelay holds the watermark this far behind the message
	// timestamps (and the wall clock, when idle). Set it when the pipeline
	// re-timestamps elements with an earlier event time than the message's,
	// e.g. ticks stamped with their own time out of messages stamped with
	// their publish time, or when a live feed publishes out of order:
	// elements up to this much older than what Read has recently seen stay
	// on time. (A backlog needs none: the watermark trails the batches of
	// the last span of pulling, 250 ms to 2 s; see the package doc.)
	WatermarkDelay time.Duration
	// Native uses Beam's Pub/Sub read (beam:transform:pubsub_read:v1),
	// which only Dataflow implements; prism rejects it. Set it when the
	// pipeline runs on Dataflow, e.g. Native: !runners.IsLocal(runner).
	// Only Subscription, TimestampAttribute and IDAttribute apply then.
	Native bool
	// AllowedLateness applies to ReadWithLate only: a message whose event
	// time is more than this behind the watermark when it arrives would be
	// dropped by the runner at the first event-time aggregation with this
	// allowed lateness, so ReadWithLate diverts it to its late output.
	AllowedLateness time.Duration
	// AckHorizon applies to ReadDurable only: how far past the end of a
	// message's AckWindow (its event time when there is none, and then it
	// must be > 0) everything the pipeline computes from the message is
	// final and written: the allowed lateness, plus the longest window that
	// is not aligned with AckWindow, plus the windows the sinks batch rows
	// in that AckWindow does not cover. A message is acked once the
	// watermark of every collection given to AckWhenWritten has reached that
	// time. Keep it 0 where nothing else applies: prism holds a grouping's
	// output watermark at its earliest pending element, so while the next
	// window is open the sinks' watermark stays at its start, and a horizon
	// past the window's end waits for the next window to be written too
	// (with 1m windows, a minute more of messages held).
	AckHorizon time.Duration
	// AckWindow applies to ReadDurable only: the messages of each fixed
	// window of this length (aligned to the Unix epoch, as Beam's fixed
	// windows) are acked together, so a crash leaves the messages of a
	// window all unacked, or all acked (but for a window whose acks the
	// crash cut short), and a restarted run computes whole windows again,
	// equal to those it wrote before, never a part of one. Set it to a
	// multiple of every window length the pipeline groups messages in.
	// 0: each message on its own, at its event time plus AckHorizon.
	AckWindow time.Duration
	// MaxHeldMessages applies to ReadDurable only: at most this many
	// committed messages wait for their outputs; past it the earliest are
	// acked at once (counter acked_early, and a warning once a minute), and
	// a crash may then lose what they went into. Default
	// DefaultMaxHeldMessages.
	MaxHeldMessages int
}

// Validate reports what is wrong with o, or nil.
func (o ReadOptions) Validate() error {
	if _, _, err := ParseSubscription(o.Subscription); err != nil {
		return fmt.Errorf("pubsubx.Read: %w", err)
	}
	for name, v := range map[string]string{"TimestampAttribute": o.TimestampAttribute, "IDAttribute": o.IDAttribute} {
		if len(v) > 256 {
			return fmt.Errorf("pubsubx.Read: %s is %d bytes, Pub/Sub attribute keys have at most 256", name, len(v))
		}
	}
	for name, v := range map[string]time.Duration{"IdleTimeout": o.IdleTimeout, "MaxBatchWait": o.MaxBatchWait,
		"CommitTimeout": o.CommitTimeout, "DedupeWindow": o.DedupeWindow, "WatermarkDelay": o.WatermarkDelay, "AllowedLateness": o.AllowedLateness,
		"AckHorizon": o.AckHorizon, "AckWindow": o.AckWindow} {
		if v < 0 {
			return fmt.Errorf("pubsubx.Read: %s must be >= 0, got %v", name, v)
		}
	}
	for name, v := range map[string]int{"MaxBatch": o.MaxBatch, "MaxOutstandingMessages": o.MaxOutstandingMessages,
		"MaxOutstandingBytes": o.MaxOutstandingBytes, "MaxHeldMessages": o.MaxHeldMessages} {
		if v < 0 {
			return fmt.Errorf("pubsubx.Read: %s must be >= 0, got %d", name, v)
		}
	}
	return nil
}

func (o ReadOptions) withDefaults() ReadOptions {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.IdleTimeout, DefaultIdleTimeout)
	def(&o.MaxBatchWait, DefaultMaxBatchWait)
	def(&o.CommitTimeout, DefaultCommitTimeout)
	def(&o.DedupeWindow, DefaultDedupeWindow)
	defInt(&o.MaxBatch, DefaultMaxBatch)
	defInt(&o.MaxOutstandingMessages, DefaultMaxOutstandingMessages)
	defInt(&o.MaxOutstandingBytes, DefaultMaxOutstandingBytes)
	defInt(&o.MaxHeldMessages, DefaultMaxHeldMessages)
	return o
}

// Read returns an unbounded PCollection<tickbeam.Message> of the messages of
// opts.Subscription, each timestamped with its event time (see
// ReadOptions.TimestampAttribute).
//
// On the local runner (prism) a splittable DoFn emits the subscription's
// messages, one batch per bundle, and acks a batch only once the runner has
// committed the bundle that emitted it; messages of a bundle that fails are
// nacked after CommitTimeout and redelivered. Delivery is at least once;
// redeliveries within DedupeWindow are dropped. The watermark follows the
// data: the oldest event time of the batches of the last span of pulling
// (2 s, down to 250 ms on a feed that comes in order) and the one before
// them, never going back, never ahead of the wall clock, so a backlog
// waiting in the subscription is processed on time even when handed out
// somewhat out of order; it moves to the wall clock only once the
// subscription is drained (see IdleTimeout).
// Messages older than the watermark when they arrive are late.
//
// With opts.Native, Read uses Dataflow's Pub/Sub source instead.
//
// Read panics if opts is not valid; check it first with ReadOptions.Validate.
func Read(s beam.Scope, opts ReadOptions) beam.PCollection {
	s = s.Scope("pubsubx.Read")
	msgs, _, _ := read(s, opts, false, false)
	return msgs
}

// ReadWithLate is Read that also accounts for late data: a message whose
// event time is more than opts.AllowedLateness behind the watermark when it
// arrives leaves on the second PCollection, a tickbeam.DeadLetter with
// stage tickbeam.StageLate (counted in tickbeam/pubsub.late), instead of
// being dropped silently by the runner. A late message whose payload and
// attributes equal those of a message emitted within DedupeWindow (a trade
// the feed published twice, its first copy counted) is dropped instead and
// counted in tickbeam/pubsub.late_duplicates. Downstream event-time windows with
// at least opts.AllowedLateness of allowed lateness then never drop a
// message of the first PCollection: the reader's watermark never moves
// past a batch's oldest message, so a message it lets through is within
// the allowed lateness of every later watermark of its bundle.
//
// With opts.Native (Dataflow) the late PCollection is empty: Dataflow
// drops data later than a window's allowed lateness itself.
func ReadWithLate(s beam.Scope, opts ReadOptions) (msgs, late beam.PCollection) {
	s = s.Scope("pubsubx.ReadWithLate")
	msgs, late, _ = read(s, opts, true, false)
	return msgs, late
}

// Durable is what ReadDurable returns: the messages and late dead letters
// of ReadWithLate, and what AckWhenWritten needs to ack them.
type Durable struct {
	Messages, Late beam.PCollection

	marks beam.PCollection // run token -> ackAt, one per batch; invalid on Dataflow
}

// ReadDurable is ReadWithLate for a pipeline whose state is not durable
// (prism keeps it in memory): it acks a message only once what the pipeline
// computed from it has been written. The pipeline passes every PCollection
// its sinks return to AckWhenWritten; a message is acked when the watermark
// of all of them has passed the end of its opts.AckWindow plus
// opts.AckHorizon. Until then it is held: committed, its ack deadline
// extended. A process killed before then leaves its messages unacked, and
// Pub/Sub hands them to the next run once their short deadline passes; the
// next run holds its watermark until they are back, so its outputs are
// those of a run that never stopped, the windows of the last AckHorizon
// written again (the same rows). Without AckWhenWritten nothing is ever
// acked.
//
// opts.AckHorizon must be at least opts.AllowedLateness, and > 0 without
// an opts.AckWindow (a message's own time is not past it). With opts.Native (Dataflow, whose state is
// durable and whose source acks once it holds a message) AckWhenWritten
// does nothing.
func ReadDurable(s beam.Scope, opts ReadOptions) Durable {
	s = s.Scope("pubsubx.ReadDurable")
	if opts.AckHorizon < opts.AllowedLateness || opts.AckHorizon < 0 || opts.AckHorizon == 0 && opts.AckWindow < time.Millisecond {
		panic(fmt.Sprintf("pubsubx.ReadDurable: AckHorizon %v must be at least AllowedLateness %v, and > 0 without an AckWindow", opts.AckHorizon, opts.AllowedLateness))
	}
	msgs, late, marks := read(s, opts, true, true)
	return Durable{Messages: msgs, Late: late, marks: marks}
}

func read(s beam.Scope, opts ReadOptions, divertLate, durable bool) (msgs, late, marks beam.PCollection) {
	if err := opts.Validate(); err != nil {
		panic(err.Error())
	}
	if opts.Native {
		return readNative(s, opts), beam.CreateList(s, []tickbeam.DeadLetter(nil)), beam.PCollection{}
	}
	o := opts.withDefaults()
	fn := &readFn{
		Subscription:           o.Subscription,
		TimestampAttribute:     o.TimestampAttribute,
		IDAttribute:            o.IDAttribute,
		IdleTimeout:            o.IdleTimeout,
		MaxBatch:               o.MaxBatch,
		MaxBatchWait:           o.MaxBatchWait,
		MaxOutstandingMessages: o.MaxOutstandingMessages,
		MaxOutstandingBytes:    o.MaxOutstandingBytes,
		CommitTimeout:          o.CommitTimeout,
		DedupeWindow:           o.DedupeWindow,
		WatermarkDelay:         o.WatermarkDelay,
		DivertLate:             divertLate,
		AllowedLateness:        o.AllowedLateness,
	}
	if durable {
		fn.Durable, fn.AckHorizon, fn.AckWindow, fn.MaxHeldMessages = true, o.AckHorizon, o.AckWindow, o.MaxHeldMessages
	}
	return beam.ParDo3(s, fn, beam.Impulse(s))
}

// readFn is the splittable DoFn behind Read on the local runner. Each call
// of ProcessElement pulls one batch, emits it and checkpoints: the residual
// restriction carries the batch's lease, and the call that resumes it acks
// the batch. A runner schedules a checkpoint's residual only once it has
// committed the bundle that returned it, and never that of a failed bundle,
// so an ack there is an ack after commit.
//
// Why not bundle finalization, which is meant for this: with Beam v2.77.0
// the Go harness runs the callbacks of only the first bundle of each
// execution plan. Plan.Finalize swaps in a new bundleFinalizer, but the
// plan's DoFns keep the old one, so callbacks of every later bundle on a
// reused plan are dropped, and each such bundle logs "finalize bundle failed
// ... couldn't find plan in finalizing map". (prism, besides, finalizes only
// stages whose first transform asks for it.) TestBeamBundleFinalizationCanary
// watches for a fix.
type readFn struct {
	Subscription           string
	TimestampAttribute     string
	IDAttribute            string
	IdleTimeout            time.Duration
	MaxBatch               int
	MaxBatchWait           time.Duration
	MaxOutstandingMessages int
	MaxOutstandingBytes    int
	CommitTimeout          time.Duration
	DedupeWindow           time.Duration
	WatermarkDelay         time.Duration
	DivertLate             bool
	AllowedLateness        time.Duration
	// Durable: a read by ReadDurable, whose batches hold their acks until
	// AckWhenWritten sees the outputs reach their ackAt.
	Durable         bool
	AckHorizon      time.Duration
	AckWindow       time.Duration
	MaxHeldMessages int

	rd *reader
}

func (fn *readFn) Setup(ctx context.Context) error {
	rd, err := getReader(ctx, fn.Subscription, fn.IDAttribute, fn.DedupeWindow, fn.Durable)
	if err != nil {
		return err
	}
	fn.rd = rd
	return nil
}

// CreateInitialRestriction starts a run: its token keys the run's state
// in this process (nacks, watermark hold).
func (fn *readFn) CreateInitialRestriction(_ []byte) restriction {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return restriction{Token: hex.EncodeToString(b[:])}
}

// SplitRestriction does not split: one reader pulls the subscription.
func (fn *readFn) SplitRestriction(_ []byte, r restriction) []restriction {
	return []restriction{r}
}

// RestrictionSize is 1 while reading.
func (fn *readFn) RestrictionSize(_ []byte, r restriction) float64 {
	if r.Done {
		return 0
	}
	return 1
}

// CreateTracker returns a thread-safe tracker of r.
func (fn *readFn) CreateTracker(r restriction) *sdf.LockRTracker {
	return sdf.NewLockRTracker(&tracker{rest: r})
}

// TruncateRestriction stops reading when a pipeline drains.
func (fn *readFn) TruncateRestriction(rt *sdf.LockRTracker, _ []byte) restriction {
	r := rt.GetRestriction().(restriction)
	r.Done = true
	return r
}

// InitialWatermarkEstimatorState is the minimum timestamp, in Unix
// milliseconds: nothing is late before the first batch.
func (fn *readFn) InitialWatermarkEstimatorState(_ beam.EventTime, _ restriction, _ []byte) int64 {
	return int64(mtime.MinTimestamp)
}

// CreateWatermarkEstimator restores a manual estimator at ms.
func (fn *readFn) CreateWatermarkEstimator(ms int64) *sdf.ManualWatermarkEstimator {
	return &sdf.ManualWatermarkEstimator{State: mtime.Time(ms).ToTime()}
}

// WatermarkEstimatorState saves the estimator's watermark in Unix milliseconds.
func (fn *readFn) WatermarkEstimatorState(we *sdf.ManualWatermarkEstimator) int64 {
	return int64(mtime.FromTime(we.State))
}

// ProcessElement acks the batch of the bundle that checkpointed this
// restriction (it has been committed; a durable read holds it instead),
// takes and emits one batch, moves the watermark and checkpoints. A durable
// read also emits a mark of the run for AckWhenWritten.
func (fn *readFn) ProcessElement(ctx context.Context, we *sdf.ManualWatermarkEstimator, rt *sdf.LockRTracker,
	_ []byte, emit func(beam.EventTime, tickbeam.Message), emitLate func(beam.EventTime, tickbeam.DeadLetter),
	emitMark func(beam.EventTime, string, int64)) (sdf.ProcessContinuation, error) {
	r := rt.GetRestriction().(restriction)
	ackedCounter.Inc(ctx, int64(fn.rd.commitID(r.Lease)))
	run := runOf(r.Token)
	nackedCounter.Inc(ctx, run.unreported.Swap(0))
	durable := fn.Durable
	settled := true
	if durable {
		run.rd.Store(fn.rd)
		ackedEarlyCounter.Inc(ctx, run.unreportedEarly.Swap(0))
		heldGauge.Set(ctx, fn.rd.heldCount())
		// Until the run has gone for restartWait its watermark stays put,
		// for the messages a killed process held to come back first.
		settled = run.called(time.Now()) >= restartWait
	}
	if !rt.TryClaim(claim{}) {
		return sdf.StopProcessing(), rt.GetError()
	}

	b, err := fn.rd.pull(ctx, pullLimits{
		maxBatch:        fn.MaxBatch,
		maxWait:         fn.MaxBatchWait,
		maxOutstanding:  int64(fn.MaxOutstandingMessages),
		maxOutstandingB: int64(fn.MaxOutstandingBytes),
		commitTimeout:   fn.CommitTimeout,
		hold:            durable,
		maxHeld:         int64(fn.MaxHeldMessages),
	}, run)
	if err != nil {
		return sdf.StopProcessing(), err
	}
	receivedCounter.Inc(ctx, int64(b.received))
	duplicatesCounter.Inc(ctx, int64(b.duplicates))
	now := time.Now()

	if b.received == 0 {
		if settled && drained(b.sub, fn.IdleTimeout) {
			advance(we, idleWatermark(we.State, now, fn.WatermarkDelay))
		}
		return sdf.ResumeProcessingIn(0), nil
	}
	c := claim{}
	if b.lease != nil {
		c.lease = b.lease.id
	}
	if !rt.TryClaim(c) {
		if b.lease != nil {
			fn.rd.abandon(b.lease)
		}
		return sdf.StopProcessing(), rt.GetError()
	}
	var oldest time.Time
	var bad, late, lateDups int64
	// Lateness is judged against the watermark before this batch: the
	// watermark this bundle reports is never past the batch's oldest message.
	wm := we.State
	var latePayloads map[uint64]bool
	// A durable read's messages, and the time each one's outputs are
	// counted from: its event time, the watermark for a late dead letter.
	var outAt map[*pubsubpb.ReceivedMessage]time.Time
	if durable {
		outAt = make(map[*pubsubpb.ReceivedMessage]time.Time, len(b.msgs))
	}
	for i, rm := range b.msgs {
		m := toMessage(rm.GetMessage())
		if m.PublishTime.IsZero() {
			m.PublishTime = now
		}
		ts, ok := eventTime(m, fn.TimestampAttribute)
		if !ok {
			if bad == 0 {
				log.Warnf(ctx, "pubsubx: message %s on %s: attribute %s=%q is not a timestamp; using its publish time",
					m.ID, fn.Subscription, fn.TimestampAttribute, m.Attributes[fn.TimestampAttribute])
			}
			bad++
		}
		if oldest.IsZero() || ts.Before(oldest) {
			oldest = ts
		}
		if outAt != nil {
			outAt[rm] = ts
		}
		if fn.DivertLate && ts.Before(wm.Add(-fn.AllowedLateness)) {
			// A copy of a message already emitted (a trade the feed sent
			// twice) is a duplicate, not something for a user to look at.
			if pk := b.pkeys[i]; latePayloads[pk] || fn.rd.committedPayload(pk) {
				lateDups++
				continue
			} else if latePayloads == nil {
				latePayloads = map[uint64]bool{pk: true}
			} else {
				latePayloads[pk] = true
			}
			late++
			if outAt != nil {
				outAt[rm] = wm
			}
			err := fmt.Errorf("event time %s arrived %s behind the watermark %s, past the allowed lateness %s",
				ts.UTC().Format(time.RFC3339Nano), wm.Sub(ts).Round(time.Millisecond), wm.UTC().Format(time.RFC3339Nano), fn.AllowedLateness)
			d := tickbeam.NewDeadLetter(ts, m.Payload, m.Attributes, tickbeam.StageLate, m.Attributes["source"], err)
			// On time downstream, at the watermark: the dead-letter sink
			// must not drop it in turn.
			emitLate(mtime.FromTime(wm), d)
			continue
		}
		emit(mtime.FromTime(ts), m)
	}
	badTimeCounter.Inc(ctx, bad)
	lateCounter.Inc(ctx, late)
	lateDuplicatesCounter.Inc(ctx, lateDups)
	if durable && b.lease != nil {
		ackAt := make([]int64, len(b.acks))
		first := int64(math.MaxInt64)
		for i, rm := range b.acks {
			at, ok := outAt[rm]
			if !ok { // a duplicate dropped: acked with its window
				at, _ = eventTime(toMessage(rm.GetMessage()), fn.TimestampAttribute)
			}
			ackAt[i] = fn.ackAt(at)
			first = min(first, ackAt[i])
		}
		fn.rd.setAckAt(b.lease, ackAt)
		emitMark(mtime.FromTime(wm), r.Token, first)
	}
	if !oldest.IsZero() {
		if held, ok := run.hold.observe(now, oldest); ok && settled {
			advance(we, dataWatermark(we.State, held, now, fn.WatermarkDelay))
		}
		holdResetsCounter.Inc(ctx, run.hold.takeResets())
	}
	return sdf.ResumeProcessingIn(0), nil
}

// ackAt is when (Unix ms) a message whose outputs are counted from t may
// be acked: the end of its AckWindow, plus AckHorizon. It is later than the
// watermark before the bundle that emits the message, and than the message
// itself and the panes of its window (stamped at most the window's end less
// 1 ms), so the outputs' watermark reaching it means they are written.
func (fn *readFn) ackAt(t time.Time) int64 {
	ms := t.UnixMilli()
	if w := fn.AckWindow.Milliseconds(); w > 0 {
		q := ms / w
		if ms%w < 0 {
			q-- // floor, before 1970
		}
		ms = (q + 1) * w
	}
	return ms + fn.AckHorizon.Milliseconds()
}

// advance moves the watermark forward to t, never back.
func advance(we *sdf.ManualWatermarkEstimator, t time.Time) {
	if t.After(we.State) {
		we.UpdateWatermark(t)
	}
}

// restriction is a reader's run: Token identifies it, Lease is the batch
// the bundle that checkpointed it emitted (0: none), to ack once resumed.
// Done ends it.
type restriction struct {
	Token string
	Lease uint64
	Done  bool
}

func encodeRestriction(r restriction) ([]byte, error) {
	b := wire.AppendString(nil, r.Token)
	b = wire.AppendInt(b, int64(r.Lease))
	var done int64
	if r.Done {
		done = 1
	}
	return wire.AppendInt(b, done), nil
}

func decodeRestriction(b []byte) (restriction, error) {
	rd := wire.NewReader(b)
	r := restriction{Token: rd.String(), Lease: uint64(rd.Int()), Done: rd.Int() != 0}
	if err := rd.Err(); err != nil {
		return restriction{}, fmt.Errorf("decode pubsubx restriction: %w", err)
	}
	return r, nil
}

// claim is a tracker position: the lease of the batch (zero: a call just
// checking that the run is live, or a batch holding nothing).
type claim struct {
	lease uint64
}

// tracker tracks a run. It splits only to checkpoint (fraction 0): the
// primary is done and the residual carries the run on, with the lease of the
// batch claimed last. Splits at other fractions are declined: a runner may
// schedule their residual before the bundle commits.
type tracker struct {
	rest restriction
	err  error
}

func (t *tracker) TryClaim(pos any) bool {
	if t.err != nil || t.rest.Done {
		return false
	}
	c, ok := pos.(claim)
	if !ok {
		t.err = fmt.Errorf("pubsubx: claim of a %T, want pubsubx.claim", pos)
		return false
	}
	t.rest.Lease = c.lease
	return true
}

func (t *tracker) GetError() error { return t.err }

func (t *tracker) TrySplit(fraction float64) (primary, residual any, err error) {
	if t.err != nil || fraction > 0 || t.rest.Done {
		return t.rest, nil, nil
	}
	res := t.rest
	t.rest.Done = true
	t.rest.Lease = 0
	return t.rest, res, nil
}

func (t *tracker) GetProgress() (done, remaining float64) {
	if t.rest.Done {
		return 1, 0
	}
	return 0, 1
}

func (t *tracker) IsDone() bool { return t.err != nil || t.rest.Done }

func (t *tracker) GetRestriction() any { return t.rest }

func (t *tracker) IsBounded() bool { return false }
