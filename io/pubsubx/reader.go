package pubsubx

import (
	"context"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/pubsub/v2"
	vkit "cloud.google.com/go/pubsub/v2/apiv1"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Lease handling of pulled messages that wait for their bundle to commit.
// Variables so tests can shorten them.
var (
	// firstExtension comes before the shortest ack deadline Pub/Sub allows
	// (10s), which is what a pulled message starts with.
	firstExtension = 5 * time.Second
	// Later extensions push the deadline to leaseDeadline every extendEvery.
	extendEvery   = 15 * time.Second
	leaseDeadline = 30 * time.Second

	// A durable reader (ReadDurable) sets its messages' ack deadline to
	// durableLeaseDeadline as soon as it pulls them, and extends it every
	// durableExtendEvery: the deadline is what a restart after a crash
	// waits for (restartWait), so it is short, and the subscription's own
	// deadline (up to 600 s) must not decide it. Each extension costs one
	// request per 1000 messages held.
	durableExtendEvery   = 4 * time.Second
	durableLeaseDeadline = 12 * time.Second
	// restartWait is how long a durable run holds its watermark where it
	// starts, to data and to the idle clock alike: messages a killed
	// process held come back only when their ack deadline passes, up to
	// durableLeaseDeadline after it died, and must not arrive behind a
	// watermark the new run has already moved.
	restartWait = durableLeaseDeadline + backMargin
)

const (
	// deferDeadline is how long a message is put back when its id is
	// pending in a bundle not yet committed: it comes back once that
	// bundle has committed (and is dropped) or failed (and is emitted).
	deferDeadline = 2 * time.Second
	// backMargin is how long after it is due a message this reader put back
	// may take to be pulled again; the subscription is not drained before.
	backMargin = time.Second
	// ackChunk bounds the ack ids of one request, well under its 512 KB.
	ackChunk = 1000
	// chunksInFlight bounds the requests of one ack or deadline change.
	chunksInFlight = 4
	// pollEvery is the pump's pause while flow control holds it.
	pollEvery = 50 * time.Millisecond
	// pumpLinger is how long the pump keeps pulling after the last bundle
	// asked for messages (the run stopped, or prism paused it).
	pumpLinger = 10 * time.Second
	// maxSeen bounds the dedupe memory (8 bytes of hash and time per id).
	maxSeen = 1 << 20
	// rpcTimeout bounds acks, nacks and lease extensions.
	rpcTimeout = 30 * time.Second
)

// Backoff of the pump's pulls while Pub/Sub is unreachable (a reader's
// retryFirst and retryMax, which tests shorten on their own reader).
const (
	defaultRetryFirst = 100 * time.Millisecond
	defaultRetryMax   = 5 * time.Second
)

// clients are shared by every reader and writer of a project in this
// process: one gRPC connection, kept for the life of the process.
var clients struct {
	sync.Mutex
	m map[string]*pubsub.Client
}

// client returns the shared client of project. The emulator host is part of
// the key so tests that point PUBSUB_EMULATOR_HOST elsewhere get a client
// for it.
func client(ctx context.Context, project string) (*pubsub.Client, error) {
	key := project + "\x00" + os.Getenv("PUBSUB_EMULATOR_HOST")
	clients.Lock()
	defer clients.Unlock()
	if c, ok := clients.m[key]; ok {
		return c, nil
	}
	// The client outlives the bundle or call that creates it.
	c, err := pubsub.NewClient(context.WithoutCancel(ctx), project, reconnect)
	if err != nil {
		return nil, fmt.Errorf("pubsubx: client for project %s: %w", project, err)
	}
	if clients.m == nil {
		clients.m = map[string]*pubsub.Client{}
	}
	clients.m[key] = c
	return c, nil
}

// reconnect bounds the pause between attempts to reconnect to Pub/Sub at 5 s
// (gRPC's default grows to 2 minutes), so pulls resume soon after an outage.
var reconnect = option.WithGRPCDialOption(grpc.WithConnectParams(grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 5 * time.Second},
	MinConnectTimeout: 5 * time.Second,
}))

// noRetry turns off the client's retries of a call: the pump retries
// pulls itself, and a failed ack or deadline change is not worth holding a
// bundle up (the message comes back and is dropped as a duplicate).
var noRetry = gax.WithRetry(func() gax.Retryer { return nil })

// readers holds one reader per subscription (and dedupe attribute) in this
// process, shared by the DoFn instances reading it: the leases of pulled
// messages must outlive the DoFn instance and bundle that pulled them.
var readers struct {
	sync.Mutex
	m map[string]*reader
}

func getReader(ctx context.Context, subscription, idAttr string, dedupeWindow time.Duration, durable bool) (*reader, error) {
	project, _, err := ParseSubscription(subscription)
	if err != nil {
		return nil, fmt.Errorf("pubsubx: %w", err)
	}
	key := fmt.Sprint(subscription, "\x00", idAttr, "\x00", os.Getenv("PUBSUB_EMULATOR_HOST"), "\x00", durable)
	readers.Lock()
	defer readers.Unlock()
	if r, ok := readers.m[key]; ok {
		return r, nil
	}
	c, err := client(ctx, project)
	if err != nil {
		return nil, err
	}
	r := newReader(c.SubscriptionAdminClient, subscription, idAttr, dedupeWindow)
	r.durable = durable
	if readers.m == nil {
		readers.m = map[string]*reader{}
	}
	readers.m[key] = r
	return r, nil
}

// reader pulls a subscription and holds each batch it hands to a bundle
// under a lease until that bundle has been committed (commit acks it) or the
// commit timeout passes (the keeper nacks it, so Pub/Sub redelivers it).
// Until then the keeper extends the messages' ack deadlines. A durable
// reader (ReadDurable) keeps a committed batch's messages held, their
// deadlines extended, until ackDue finds the pipeline's outputs have passed
// each message's ackAt.
//
// A pump goroutine pulls into a buffer that bundles take from. It awaits
// every Pull to its end, however long the server holds it: a Pull cancelled
// by the client may still have been handed messages, which Pub/Sub then
// redelivers only after their ack deadline, behind the watermark.
type reader struct {
	sub          *vkit.SubscriptionAdminClient
	name         string
	idAttr       string
	dedupeWindow time.Duration
	retryFirst   time.Duration
	retryMax     time.Duration
	durable      bool // ReadDurable's: short leases, set at once

	mu       sync.Mutex
	nextID   uint64
	pending  map[uint64]*lease
	expired  map[uint64]*lease // nacked for want of a commit, kept for a late one
	keys     map[uint64]uint64 // dedupe key -> pending lease holding it
	seen     seenSet           // dedupe keys of committed messages
	payloads seenSet           // payload keys of committed messages
	msgs     int64             // messages held under pending leases
	bytes    int64
	keeping  bool
	wake     chan struct{}
	// Committed messages of durable runs waiting for their outputs, by
	// run and ackAt, and how many they are.
	held       map[*runState]*heldRun
	heldMsgs   int64
	warnedHeld time.Time // the last warning of messages acked early

	// The pump's side.
	buf        []pulled // pulled, not yet taken by a bundle, in pull order
	bufBytes   int64
	pumping    bool
	askedAt    time.Time     // when a bundle last asked for messages
	lim        pullLimits    // that bundle's limits
	quietSince time.Time     // start of the pulls that brought nothing since the last data; zero while not pulling
	handedAt   time.Time     // when a bundle last took messages
	backBy     time.Time     // what this reader put back is pulled again by then
	pumpErr    error         // the pull error that stopped the pump, for the next bundle
	reached    bool          // a Pull has succeeded: the subscription exists
	down       outage        // the pulls failing since, while Pub/Sub is unreachable
	ready      chan struct{} // the buffer grew or the pump stopped
	space      chan struct{} // a bundle took from the buffer or acked

	acked, nacked atomic.Int64 // totals of this process, for tests
}

// outage is a run of failed pulls.
type outage struct {
	since    time.Time // zero while pulls succeed
	failures int
	last     error
}

// transient reports whether a pull error may pass by itself: the service
// unreachable or restarting, and (once a pull has succeeded) a subscription
// not found because it is being recreated. Refused credentials, bad names
// and a subscription missing from the start fail the run.
func transient(err error, reached bool) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.Unknown, codes.Aborted, codes.Internal, codes.ResourceExhausted, codes.Canceled:
		return true
	case codes.NotFound:
		return reached
	}
	return false
}

// pulled is a message in the pump's buffer.
type pulled struct {
	m        *pubsubpb.ReceivedMessage
	extendAt time.Time // when the keeper extends its ack deadline
}

func newReader(sub *vkit.SubscriptionAdminClient, name, idAttr string, dedupeWindow time.Duration) *reader {
	return &reader{
		sub:          sub,
		name:         name,
		idAttr:       idAttr,
		dedupeWindow: dedupeWindow,
		retryFirst:   defaultRetryFirst,
		retryMax:     defaultRetryMax,
		pending:      map[uint64]*lease{},
		held:         map[*runState]*heldRun{},
		expired:      map[uint64]*lease{},
		keys:         map[uint64]uint64{},
		seen:         seenSet{at: map[uint64]int64{}},
		payloads:     seenSet{at: map[uint64]int64{}},
		wake:         make(chan struct{}, 1),
		ready:        make(chan struct{}, 1),
		space:        make(chan struct{}, 1),
	}
}

// lease is a pulled batch waiting for its bundle to commit.
type lease struct {
	id       uint64
	run      *runState
	ackIDs   []string // everything to ack on commit, dropped duplicates included
	keys     []uint64 // dedupe keys of the emitted messages
	pkeys    []uint64 // payload keys of the emitted messages
	msgIDs   []string // message ids of the emitted messages
	bytes    int64
	nackedAt time.Time
	extendAt time.Time
	expireAt time.Time
	// commitTimeout, after its run's last call, also ends a held lease's
	// messages: the run stopped.
	commitTimeout time.Duration
	state         leaseState
	// hold: the commit does not ack; durable does, message by message,
	// once the outputs have passed ackAt (Unix ms, parallel to ackIDs; set
	// by the bundle that emits the batch).
	hold  bool
	ackAt []int64
}

type leaseState int

const (
	leasePending leaseState = iota
	leaseCommitted
	leaseNacked
)

// runState is what this process keeps of one pipeline run: its nacks and
// early acks, which happen outside its bundles, so the run's next
// ProcessElement reports them as Beam counters; its watermark hold; and,
// for a durable run, its reader (for AckWhenWritten) and when it was called.
type runState struct {
	nacked, unreported atomic.Int64
	unreportedEarly    atomic.Int64
	hold               hold // used by the run's one ProcessElement at a time
	rd                 atomic.Pointer[reader]
	started, lastCall  atomic.Int64 // Unix ns of its first and latest call
}

// called records a call of the run's ProcessElement at now and returns how
// long the run has been going.
func (t *runState) called(now time.Time) time.Duration {
	t.started.CompareAndSwap(0, now.UnixNano())
	t.lastCall.Store(now.UnixNano())
	return now.Sub(time.Unix(0, t.started.Load()))
}

// heldRun is what a durable run holds: ack ids by ackAt (Unix ms).
type heldRun struct {
	at            map[int64]*heldGroup
	commitTimeout time.Duration // its runs' silence after which it stopped
}

// heldGroup is the ack ids of a run's messages sharing an ackAt.
type heldGroup struct {
	ids      []string
	extendAt time.Time
}

func (t *runState) addNacked(n int) {
	t.nacked.Add(int64(n))
	t.unreported.Add(int64(n))
}

// runs maps a run's token (in its restriction) to its state.
var runs sync.Map

func runOf(token string) *runState {
	t, _ := runs.LoadOrStore(token, new(runState))
	return t.(*runState)
}

// pullLimits bound one batch.
type pullLimits struct {
	maxBatch        int
	maxWait         time.Duration
	maxOutstanding  int64
	maxOutstandingB int64
	commitTimeout   time.Duration
	// hold: the batch's lease holds its acks past the commit (ReadDurable),
	// up to maxHeld messages in all.
	hold    bool
	maxHeld int64
}

// batch is what one pull returns: the messages to emit, held under lease
// (nil when nothing is held), and the state of the subscription after it.
type batch struct {
	msgs       []*pubsubpb.ReceivedMessage
	acks       []*pubsubpb.ReceivedMessage // the lease's messages, in the order of its ackIDs (dropped duplicates too)
	pkeys      []uint64                    // payload keys of msgs
	lease      *lease
	received   int // messages pulled, duplicates included
	duplicates int
	deferred   int
	sub        subState
}

// subState is what the reader knows of its subscription's backlog.
type subState struct {
	// quiet is how long the pump has been waiting on pulls that brought
	// nothing and no bundle has taken messages (0 while the pump is not
	// waiting: data came, flow control holds it, or a pull failed).
	quiet time.Duration
	// buffered messages are pulled and not yet taken.
	buffered int
	// back is how long until what this reader put back (nacked, deferred)
	// is surely pulled again; <= 0 when nothing is due.
	back time.Duration
}

// drained reports whether the subscription has nothing left to deliver:
// nothing buffered, the pump waiting on the subscription for at least idle
// with nothing coming, and nothing this reader put back still due. (Pub/Sub
// has no backlog count to ask; a Pull that has waited that long found no
// message to hand out.) Only then may the watermark jump to the wall clock.
func drained(s subState, idle time.Duration) bool {
	return s.buffered == 0 && s.quiet > 0 && s.quiet >= idle && s.back <= 0
}

// pull hands the bundle of run t up to lim.maxBatch pulled messages, waiting
// up to lim.maxWait for the first; drops duplicates and leases the rest. It
// starts the pump if it is not running.
func (r *reader) pull(ctx context.Context, lim pullLimits, t *runState) (batch, error) {
	deadline := time.Now().Add(lim.maxWait)
	for {
		r.mu.Lock()
		r.askedAt, r.lim = time.Now(), lim
		if err := r.pumpErr; err != nil {
			r.pumpErr = nil
			r.mu.Unlock()
			return batch{}, err
		}
		if !r.pumping {
			r.pumping = true
			go r.pump()
		}
		if len(r.buf) > 0 || ctx.Err() != nil || !time.Now().Before(deadline) {
			break
		}
		r.mu.Unlock()
		timer := time.NewTimer(time.Until(deadline))
		select {
		case <-r.ready:
		case <-ctx.Done():
		case <-timer.C:
		}
		timer.Stop()
	}
	// r.mu is held.
	n := min(len(r.buf), lim.maxBatch)
	got := make([]*pubsubpb.ReceivedMessage, n)
	first, _, _ := r.leaseTimes()
	extendAt := time.Now().Add(first)
	for i, p := range r.buf[:n] {
		got[i] = p.m
		r.bufBytes -= msgSize(p.m)
		extendAt = minTime(extendAt, p.extendAt)
	}
	clear(r.buf[:n])
	r.buf = r.buf[n:]
	if len(r.buf) == 0 {
		r.buf = nil
	}
	b := batch{received: n}
	var deferred []string
	if n > 0 {
		b, deferred = r.admit(got, b, extendAt, lim.commitTimeout, lim.hold, t)
		r.handedAt = time.Now()
	}
	b.sub = r.state(time.Now())
	r.mu.Unlock()
	if n > 0 {
		signal(r.space)
	}
	if len(deferred) > 0 {
		b.deferred = len(deferred)
		r.putBack(deferred, deferDeadline, t)
	}
	return b, nil
}

// state is the subscription's state at now; r.mu is held.
func (r *reader) state(now time.Time) subState {
	s := subState{buffered: len(r.buf), back: r.backBy.Sub(now)}
	if !r.quietSince.IsZero() {
		// Quiet since the pump began waiting, and since the last messages
		// went out (they may have waited in the buffer).
		s.quiet = max(now.Sub(maxTime(r.quietSince, r.handedAt)), time.Nanosecond)
	}
	return s
}

// pump pulls into the buffer while bundles ask for messages, within the
// flow-control limits of the last bundle that asked. Each Pull is awaited
// to its end: the server holds a Pull until a message comes or its own
// deadline (the client's 60 s, less a margin) passes, and answers empty
// then. A transient pull error (see transient) starts or continues an
// outage: the pump retries with jittered exponential backoff, logging one
// line when the outage begins and one when it ends, and the subscription
// is not drained meanwhile (the watermark waits). Another error stops the
// pump and fails the next bundle.
func (r *reader) pump() {
	ctx := context.Background()
	wait := r.retryFirst
	for {
		r.mu.Lock()
		now := time.Now()
		if now.Sub(r.askedAt) > pumpLinger || r.pumpErr != nil {
			r.stopPump()
			return
		}
		room := r.lim.maxOutstanding - r.msgs - int64(len(r.buf))
		roomB := r.lim.maxOutstandingB - r.bytes - r.bufBytes
		if room <= 0 || roomB <= 0 {
			// Held by flow control: not waiting on the subscription.
			r.quietSince = time.Time{}
			r.mu.Unlock()
			select {
			case <-r.space:
			case <-time.After(pollEvery):
			}
			continue
		}
		n := min(room, int64(r.lim.maxBatch))
		if r.quietSince.IsZero() && r.down.since.IsZero() {
			// A retry during an outage is not a wait on a quiet
			// subscription, even while it is in flight.
			r.quietSince = now
		}
		r.mu.Unlock()

		// The client's own retries would hold a Pull through an outage,
		// which would then pass for a quiet subscription.
		resp, err := r.sub.Pull(ctx, &pubsubpb.PullRequest{Subscription: r.name, MaxMessages: int32(n)}, noRetry)
		if status.Code(err) == codes.DeadlineExceeded {
			err = nil // the client's deadline passed first: an empty pull
		}
		msgs := resp.GetReceivedMessages()
		now = time.Now()
		r.mu.Lock()
		if err != nil && transient(err, r.reached) {
			r.quietSince = time.Time{}
			if r.down.since.IsZero() {
				r.down.since = now
				log.Warnf(ctx, "pubsubx: pull %s: %v; retrying with backoff until it answers (logged once per outage)", r.name, err)
			}
			r.down.failures++
			r.down.last = err
			r.mu.Unlock()
			time.Sleep(wait/2 + rand.N(wait/2+1))
			wait = min(2*wait, r.retryMax)
			continue
		}
		wait = r.retryFirst
		if err != nil {
			r.pumpErr = fmt.Errorf("pubsubx: pull %s: %w", r.name, err)
			r.quietSince = time.Time{}
		} else {
			r.reached = true
			if d := r.down; !d.since.IsZero() {
				r.down = outage{}
				// Reset: the outage's pulls were not a quiet subscription.
				r.quietSince = now
				r.forgetMessageIDs()
				log.Infof(ctx, "pubsubx: pull %s answers again after %v (%d failed pulls, the last: %v)",
					r.name, now.Sub(d.since).Round(time.Millisecond), d.failures, d.last)
			}
		}
		if len(msgs) > 0 {
			r.quietSince = time.Time{}
			first, _, _ := r.leaseTimes()
			for _, m := range msgs {
				r.buf = append(r.buf, pulled{m: m, extendAt: now.Add(first)})
				r.bufBytes += msgSize(m)
			}
			r.startKeeper()
		}
		r.mu.Unlock()
		if err != nil || len(msgs) > 0 {
			signal(r.ready)
		}
	}
}

// stopPump puts back what the pump buffered (no bundle took it); r.mu is
// held and released.
func (r *reader) stopPump() {
	ids := r.takeBuffer()
	r.pumping = false
	r.quietSince = time.Time{}
	r.mu.Unlock()
	signal(r.ready)
	r.putBack(ids, 0, nil)
}

// takeBuffer empties the buffer and returns the ack ids it held; r.mu is
// held.
func (r *reader) takeBuffer() []string {
	ids := make([]string, len(r.buf))
	for i, p := range r.buf {
		ids[i] = p.m.GetAckId()
	}
	r.buf, r.bufBytes = nil, 0
	return ids
}

// signal wakes a waiter on c, if any.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// admit drops duplicates, picks out messages whose id a pending lease
// holds (to defer), and leases the rest; r.mu is held. extendAt is when the
// oldest message's ack deadline needs extending.
func (r *reader) admit(got []*pubsubpb.ReceivedMessage, b batch, extendAt time.Time, commitTimeout time.Duration, hold bool, t *runState) (batch, []string) {
	now := time.Now()
	l := &lease{run: t, extendAt: extendAt, expireAt: now.Add(commitTimeout), commitTimeout: commitTimeout, hold: hold}
	var deferred []string
	inBatch := map[uint64]bool{}
	r.seen.expire(now.Add(-r.dedupeWindow).UnixNano())
	r.payloads.expire(now.Add(-r.dedupeWindow).UnixNano())
	for _, m := range got {
		k := r.key(m.GetMessage())
		switch {
		case r.seen.has(k) || inBatch[k]:
			l.ackIDs = append(l.ackIDs, m.GetAckId())
			b.acks = append(b.acks, m)
			b.duplicates++
		case r.keys[k] != 0:
			deferred = append(deferred, m.GetAckId())
		default:
			inBatch[k] = true
			pk := payloadKey(m.GetMessage())
			l.ackIDs = append(l.ackIDs, m.GetAckId())
			b.acks = append(b.acks, m)
			l.keys = append(l.keys, k)
			l.pkeys = append(l.pkeys, pk)
			l.msgIDs = append(l.msgIDs, m.GetMessage().GetMessageId())
			l.bytes += msgSize(m)
			b.msgs = append(b.msgs, m)
			b.pkeys = append(b.pkeys, pk)
		}
	}
	if len(l.ackIDs) > 0 {
		r.nextID++
		l.id = r.nextID ^ leaseSalt
		r.pending[l.id] = l
		for _, k := range l.keys {
			r.keys[k] = l.id
		}
		r.msgs += int64(len(l.ackIDs))
		r.bytes += l.bytes
		b.lease = l
		r.startKeeper()
	}
	return b, deferred
}

// startKeeper runs the keeper if it is not running, else wakes it to look
// at new leases; r.mu is held.
func (r *reader) startKeeper() {
	if !r.keeping {
		r.keeping = true
		go r.keep()
		return
	}
	signal(r.wake)
}

// committedPayload reports whether a message with payload key pk was
// committed within the dedupe window.
func (r *reader) committedPayload(pk uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.payloads.has(pk)
}

var keySeed = maphash.MakeSeed()

// leaseSalt makes lease ids unique to this process: a restriction carrying
// one to another process finds nothing there to ack.
var leaseSalt = rand.Uint64() &^ (1<<32 - 1)

// key is the dedupe key of m: its id attribute when the reader has one and
// m carries it, else its message id (Pub/Sub redelivers at least once).
func (r *reader) key(m *pubsubpb.PubsubMessage) uint64 {
	var h maphash.Hash
	h.SetSeed(keySeed)
	if v, ok := m.GetAttributes()[r.idAttr]; ok && r.idAttr != "" {
		h.WriteByte('a')
		h.WriteString(v)
	} else {
		h.WriteByte('m')
		h.WriteString(m.GetMessageId())
	}
	k := h.Sum64()
	if k == 0 { // 0 marks "no lease" in r.keys
		k = 1
	}
	return k
}

// payloadKey identifies what m says: its payload and attributes. Copies of
// one trade a feed published twice share it (and their ticks would share a
// dedupe identity), though their message ids differ.
func payloadKey(m *pubsubpb.PubsubMessage) uint64 {
	k := maphash.Bytes(keySeed, m.GetData())
	for name, v := range m.GetAttributes() {
		// Summed: the key does not depend on the map's order.
		k += maphash.String(keySeed, name+"\x00"+v) * 0x9e3779b97f4a7c15
	}
	return k
}

// commitID commits the lease with id (0: none); see commit. It returns the
// number of messages acked.
func (r *reader) commitID(id uint64) int {
	if id == 0 {
		return 0
	}
	r.mu.Lock()
	l := r.pending[id]
	if l == nil {
		l = r.expired[id]
	}
	r.mu.Unlock()
	if l == nil {
		return 0 // from another process, or long expired
	}
	return r.commit(l)
}

// commit acks a lease's messages once the bundle that emitted them has been
// committed, and remembers their ids for dedupe; a lease that holds its acks
// (ReadDurable) goes to the held messages instead, which ackDue acks. A
// lease the keeper already nacked is acked too: its messages are in the
// committed output, and their redelivery is dropped as duplicates (a holding
// lease leaves that to the redelivered copies' own leases).
func (r *reader) commit(l *lease) int {
	r.mu.Lock()
	state := l.state
	switch state {
	case leaseCommitted:
		r.mu.Unlock()
		return 0
	case leasePending:
		r.release(l)
	case leaseNacked:
		delete(r.expired, l.id)
	}
	l.state = leaseCommitted
	r.remember(l)
	if l.hold && l.ackAt != nil {
		var early map[*runState][]string
		if state == leasePending {
			r.holdLocked(l)
			early = r.overHeld()
		}
		r.mu.Unlock()
		signal(r.space)
		r.hookCommitted(l)
		for t, ids := range early {
			t.unreportedEarly.Add(int64(r.ack(ids)))
		}
		return 0
	}
	r.mu.Unlock()
	signal(r.space)
	acked := r.ack(l.ackIDs)
	r.hookCommitted(l)
	return acked
}

// remember adds a committed lease's messages to the dedupe sets; r.mu is
// held.
func (r *reader) remember(l *lease) {
	now := time.Now().UnixNano()
	for _, k := range l.keys {
		r.seen.add(k, now)
	}
	for _, k := range l.pkeys {
		r.payloads.add(k, now)
	}
}

func (r *reader) hookCommitted(l *lease) {
	if h := testHookCommitted; h != nil {
		h(r.name, l.msgIDs)
	}
}

// ack acknowledges ids and returns how many Pub/Sub took.
func (r *reader) ack(ids []string) int {
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	var acked atomic.Int64
	// When Pub/Sub is down they come back, if ever, and are dropped as
	// duplicates.
	r.eachChunk(ids, func(c []string) {
		if err := r.sub.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{Subscription: r.name, AckIds: c}, noRetry); err != nil {
			// Not fatal: the messages come back and are dropped as
			// duplicates. An outage is logged once, by the pump.
			if !unreachable(err) {
				log.Warnf(ctx, "pubsubx: ack of %d messages on %s failed, they will be redelivered and dropped as duplicates: %v", len(c), r.name, err)
			}
			return
		}
		acked.Add(int64(len(c)))
	})
	r.acked.Add(acked.Load())
	return int(acked.Load())
}

// eachChunk calls f with each chunk of ids (at most ackChunk), up to
// chunksInFlight at once, until Pub/Sub is down. A held window's leases
// are hundreds of thousands of ids: one request after another, an
// extension round took 2-6 s of its 4 s period on the emulator at 5k
// messages/s, and messages it reached late were redelivered.
func (r *reader) eachChunk(ids []string, f func(c []string)) {
	var wg sync.WaitGroup
	slots := make(chan struct{}, chunksInFlight)
	for c := range chunks(ids) {
		if r.isDown() {
			break
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			f(c)
		})
	}
	wg.Wait()
}

// setAckAt records when each message of l may be acked (Unix ms, parallel
// to its ack ids): once the outputs' watermark has passed it. The bundle
// that emits l calls it before it finishes, so before l is committed.
func (r *reader) setAckAt(l *lease, at []int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l.ackAt = at
}

// holdLocked adds a committed holding lease's messages to the held ones of
// its run; r.mu is held.
func (r *reader) holdLocked(l *lease) {
	h := r.held[l.run]
	if h == nil {
		h = &heldRun{at: map[int64]*heldGroup{}}
		r.held[l.run] = h
	}
	h.commitTimeout = max(h.commitTimeout, l.commitTimeout)
	_, every, _ := r.leaseTimes()
	for i, id := range l.ackIDs {
		g := h.at[l.ackAt[i]]
		if g == nil {
			// Its messages' deadlines were last set while pending.
			g = &heldGroup{extendAt: time.Now().Add(every)}
			h.at[l.ackAt[i]] = g
		}
		g.ids = append(g.ids, id)
	}
	r.heldMsgs += int64(len(l.ackIDs))
	r.startKeeper()
}

// overHeld takes the held messages with the earliest ackAt out of the held
// ones until at most the last bundle's maxHeld remain, and returns them, by
// run, to be acked now; r.mu is held.
func (r *reader) overHeld() map[*runState][]string {
	if r.lim.maxHeld <= 0 || r.heldMsgs <= r.lim.maxHeld {
		return nil
	}
	type group struct {
		t  *runState
		at int64
	}
	var all []group
	for t, h := range r.held {
		for at := range h.at {
			all = append(all, group{t, at})
		}
	}
	slices.SortFunc(all, func(a, b group) int { return int(min(max(a.at-b.at, -1), 1)) })
	out := map[*runState][]string{}
	for _, g := range all {
		if r.heldMsgs <= r.lim.maxHeld {
			break
		}
		ids := r.held[g.t].at[g.at].ids
		delete(r.held[g.t].at, g.at)
		r.heldMsgs -= int64(len(ids))
		out[g.t] = append(out[g.t], ids...)
	}
	if now := time.Now(); now.Sub(r.warnedHeld) > time.Minute {
		r.warnedHeld = now
		log.Warnf(context.Background(), "pubsubx: more than %d messages of %s wait for the outputs to be written: acking the oldest now, "+
			"so a crash may lose what they went into (counter acked_early; raise ReadOptions.MaxHeldMessages or shorten the longest window)",
			r.lim.maxHeld, r.name)
	}
	return out
}

// ackDue acks the held messages of run t whose ackAt is not after through
// (Unix ms): the watermark of every output the pipeline writes has passed
// it (AckWhenWritten), so what they went into has been written. A pending
// lease of t with a message due is committed first: the watermark could not
// pass its messages before the bundle that emitted them committed. Groups
// are acked oldest first, so a crash halfway leaves whole windows unacked
// but one. It returns the messages acked and the earliest ackAt of t's
// messages still waiting, if any.
func (r *reader) ackDue(t *runState, through int64) (acked int, next int64, ok bool) {
	r.mu.Lock()
	for _, l := range r.pending {
		if l.run != t || l.ackAt == nil || slices.Min(l.ackAt) > through {
			continue
		}
		r.release(l)
		l.state = leaseCommitted
		r.remember(l)
		r.holdLocked(l)
	}
	var due []int64
	if h := r.held[t]; h != nil {
		for at := range h.at {
			if at <= through {
				due = append(due, at)
			} else if !ok || at < next {
				next, ok = at, true
			}
		}
	}
	for _, l := range r.pending {
		if l.run == t && l.ackAt != nil {
			if at := slices.Min(l.ackAt); !ok || at < next {
				next, ok = at, true
			}
		}
	}
	slices.Sort(due)
	groups := make([][]string, len(due))
	for i, at := range due {
		h := r.held[t]
		groups[i] = h.at[at].ids
		delete(h.at, at)
		r.heldMsgs -= int64(len(groups[i]))
	}
	r.mu.Unlock()
	if len(due) > 0 {
		signal(r.space)
	}
	for _, ids := range groups {
		acked += r.ack(ids)
	}
	return acked, next, ok
}

// testHookCommitted, when set by a test, sees the message ids of each
// committed lease (acked, or held by a durable reader).
var testHookCommitted func(subscription string, msgIDs []string)

// abandon nacks a lease at once (its batch was not emitted).
func (r *reader) abandon(l *lease) {
	r.mu.Lock()
	if l.state != leasePending {
		r.mu.Unlock()
		return
	}
	r.release(l)
	l.state = leaseNacked
	r.mu.Unlock()
	r.putBack(l.ackIDs, 0, l.run)
}

// release forgets a pending lease; r.mu is held.
func (r *reader) release(l *lease) {
	delete(r.pending, l.id)
	for _, k := range l.keys {
		if r.keys[k] == l.id {
			delete(r.keys, k)
		}
	}
	r.msgs -= int64(len(l.ackIDs))
	r.bytes -= l.bytes
}

// putBack nacks ids (d = 0) or sets their ack deadline to d, counting them
// as nacked (in run t's tally too, when t is not nil). The subscription is
// not drained before they are pulled again.
func (r *reader) putBack(ids []string, d time.Duration, t *runState) {
	if len(ids) == 0 {
		return
	}
	r.mu.Lock()
	r.backBy = maxTime(r.backBy, time.Now().Add(d+backMargin))
	r.mu.Unlock()
	r.modify(context.Background(), ids, d)
	if t != nil {
		t.addNacked(len(ids))
	}
	r.nacked.Add(int64(len(ids)))
}

// forgetMessageIDs drops the dedupe keys made of message ids after an
// outage: a server that restarted, or a subscription recreated, numbers
// its messages afresh (the emulator from 1 again), so new messages would
// pass for redeliveries of old ones. A redelivery of a committed message
// after an outage is then dropped downstream (tickbeam's dedupe, or as a
// late duplicate) instead; keys of ReadOptions.IDAttribute stay. r.mu is
// held.
func (r *reader) forgetMessageIDs() {
	if r.idAttr != "" {
		return
	}
	r.seen = seenSet{at: map[uint64]int64{}}
	clear(r.keys)
}

// isDown reports whether the pump's pulls are failing: acks and deadline
// changes then wait for nothing and are skipped.
func (r *reader) isDown() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.down.since.IsZero()
}

// unreachable reports whether err, of an ack or a deadline change, is
// Pub/Sub being unreachable: an outage the pump logs once.
func unreachable(err error) bool {
	return status.Code(err) == codes.Unavailable
}

// modify sets the ack deadline of ids (0 nacks them).
func (r *reader) modify(ctx context.Context, ids []string, d time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	// When Pub/Sub is down the deadline it has, if any, runs out.
	r.eachChunk(ids, func(c []string) {
		err := r.sub.ModifyAckDeadline(ctx, &pubsubpb.ModifyAckDeadlineRequest{
			Subscription: r.name, AckIds: c, AckDeadlineSeconds: int32(d / time.Second),
		}, noRetry)
		if err != nil && !unreachable(err) {
			// The deadline Pub/Sub already has still runs out and
			// redelivers them.
			log.Warnf(ctx, "pubsubx: modify ack deadline of %d messages on %s to %v failed: %v", len(c), r.name, d, err)
		}
	})
}

// leaseTimes are the delay of a pulled message's first deadline
// extension, the time between extensions, and the deadline they set.
func (r *reader) leaseTimes() (first, every, deadline time.Duration) {
	if r.durable {
		return 0, durableExtendEvery, durableLeaseDeadline
	}
	return firstExtension, extendEvery, leaseDeadline
}

// keep extends the leases of pending batches and held messages, nacks
// pending batches whose bundle has not committed within the commit timeout
// (a failed bundle, a cancelled job) and the held messages of a run that has
// not called for as long (it stopped: the next run must get them). It runs
// while leases are pending or messages held.
func (r *reader) keep() {
	_, every, deadline := r.leaseTimes()
	for {
		now := time.Now()
		var extend, gone []string
		var expired []*lease
		next := now.Add(time.Hour)
		r.mu.Lock()
		if len(r.pending) == 0 && len(r.held) == 0 && len(r.buf) == 0 {
			r.keeping = false
			r.mu.Unlock()
			return
		}
		// Buffered messages no bundle asked for within pumpLinger go back
		// (the pump may be waiting on a Pull for a while yet).
		var unwanted []string
		if len(r.buf) > 0 && now.Sub(r.askedAt) > pumpLinger {
			unwanted = r.takeBuffer()
		}
		for i := range r.buf {
			p := &r.buf[i]
			if !now.Before(p.extendAt) {
				extend = append(extend, p.m.GetAckId())
				p.extendAt = now.Add(every)
			}
			next = minTime(next, p.extendAt)
		}
		if len(r.buf) > 0 {
			next = minTime(next, r.askedAt.Add(pumpLinger+time.Millisecond))
		}
		for _, l := range r.pending {
			if !now.Before(l.expireAt) {
				expired = append(expired, l)
				continue
			}
			if !now.Before(l.extendAt) {
				extend = append(extend, l.ackIDs...)
				l.extendAt = now.Add(every)
			}
			next = minTime(next, l.extendAt, l.expireAt)
		}
		for t, h := range r.held {
			stopAt := time.Unix(0, t.lastCall.Load()).Add(h.commitTimeout)
			if !now.Before(stopAt) {
				for _, g := range h.at {
					gone = append(gone, g.ids...)
					r.heldMsgs -= int64(len(g.ids))
				}
				delete(r.held, t)
				continue
			}
			for _, g := range h.at {
				if !now.Before(g.extendAt) {
					extend = append(extend, g.ids...)
					g.extendAt = now.Add(every)
				}
				next = minTime(next, g.extendAt)
			}
			next = minTime(next, stopAt)
		}
		for _, l := range expired {
			r.release(l)
			l.state = leaseNacked
			l.nackedAt = now
			r.expired[l.id] = l
		}
		for id, l := range r.expired {
			if now.Sub(l.nackedAt) > r.dedupeWindow {
				delete(r.expired, id)
			}
		}
		r.mu.Unlock()
		r.putBack(unwanted, 0, nil)
		if len(extend) > 0 {
			r.modify(context.Background(), extend, deadline)
		}
		for _, l := range expired {
			log.Warnf(context.Background(), "pubsubx: the bundle holding %d messages of %s did not commit within the commit timeout: nacked for redelivery",
				len(l.ackIDs), r.name)
			r.putBack(l.ackIDs, 0, l.run)
		}
		if len(gone) > 0 {
			log.Warnf(context.Background(), "pubsubx: the run reading %s stopped before %d messages it read were in its outputs: nacked for the next run",
				r.name, len(gone))
			r.putBack(gone, 0, nil)
		}
		timer := time.NewTimer(time.Until(next))
		select {
		case <-timer.C:
		case <-r.wake:
			timer.Stop()
		}
	}
}

// heldCount reports the messages a durable read holds for its outputs.
func (r *reader) heldCount() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.heldMsgs
}

// outstanding reports the messages held under pending leases or buffered.
func (r *reader) outstanding() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.msgs + int64(len(r.buf))
}

// seenSet remembers dedupe keys for a window, oldest first out.
type seenSet struct {
	at    map[uint64]int64 // key -> when committed (Unix ns)
	order []seenEntry      // ring, in commit order
	head  int
}

type seenEntry struct {
	key uint64
	at  int64
}

func (s *seenSet) has(k uint64) bool {
	_, ok := s.at[k]
	return ok
}

func (s *seenSet) add(k uint64, now int64) {
	s.at[k] = now
	s.order = append(s.order, seenEntry{k, now})
	if len(s.order)-s.head > maxSeen {
		s.pop()
	}
}

// expire forgets keys committed before cutoff.
func (s *seenSet) expire(cutoff int64) {
	for s.head < len(s.order) && s.order[s.head].at < cutoff {
		s.pop()
	}
	if s.head > 1024 && s.head > len(s.order)/2 {
		s.order = append(s.order[:0], s.order[s.head:]...)
		s.head = 0
	}
}

func (s *seenSet) pop() {
	e := s.order[s.head]
	s.head++
	// A key seen again later has a newer entry; keep it.
	if s.at[e.key] == e.at {
		delete(s.at, e.key)
	}
}

func msgSize(m *pubsubpb.ReceivedMessage) int64 {
	n := len(m.GetMessage().GetData())
	for k, v := range m.GetMessage().GetAttributes() {
		n += len(k) + len(v)
	}
	return int64(n)
}

// chunks yields ids in slices of at most ackChunk.
func chunks(ids []string) func(func([]string) bool) {
	return func(yield func([]string) bool) {
		for len(ids) > 0 {
			n := min(len(ids), ackChunk)
			if !yield(ids[:n]) {
				return
			}
			ids = ids[n:]
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func minTime(a time.Time, bs ...time.Time) time.Time {
	for _, b := range bs {
		if b.Before(a) {
			a = b
		}
	}
	return a
}
