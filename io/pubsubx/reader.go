package pubsubx

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/pubsub/v2"
	vkit "cloud.google.com/go/pubsub/v2/apiv1"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
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
)

const (
	// deferDeadline is how long a message is put back when its id is
	// pending in a bundle not yet committed: it comes back once that
	// bundle has committed (and is dropped) or failed (and is emitted).
	deferDeadline = 2 * time.Second
	// ackChunk bounds the ack ids of one request, well under its 512 KB.
	ackChunk = 1000
	// pollEvery is the pause between pulls that found nothing.
	pollEvery = 50 * time.Millisecond
	// maxSeen bounds the dedupe memory (8 bytes of hash and time per id).
	maxSeen = 1 << 20
	// rpcTimeout bounds acks, nacks and lease extensions.
	rpcTimeout = 30 * time.Second
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
	c, err := pubsub.NewClient(context.WithoutCancel(ctx), project)
	if err != nil {
		return nil, fmt.Errorf("pubsubx: client for project %s: %w", project, err)
	}
	if clients.m == nil {
		clients.m = map[string]*pubsub.Client{}
	}
	clients.m[key] = c
	return c, nil
}

// readers holds one reader per subscription (and dedupe attribute) in this
// process, shared by the DoFn instances reading it: the leases of pulled
// messages must outlive the DoFn instance and bundle that pulled them.
var readers struct {
	sync.Mutex
	m map[string]*reader
}

func getReader(ctx context.Context, subscription, idAttr string, dedupeWindow time.Duration) (*reader, error) {
	project, _, err := ParseSubscription(subscription)
	if err != nil {
		return nil, fmt.Errorf("pubsubx: %w", err)
	}
	key := subscription + "\x00" + idAttr + "\x00" + os.Getenv("PUBSUB_EMULATOR_HOST")
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
	if readers.m == nil {
		readers.m = map[string]*reader{}
	}
	readers.m[key] = r
	return r, nil
}

// reader pulls a subscription synchronously and holds each pulled batch
// under a lease until the bundle that emitted it has been committed (commit
// acks it) or the commit timeout passes (the keeper nacks it, so Pub/Sub
// redelivers it). Until then the keeper extends the messages' ack deadlines.
type reader struct {
	sub          *vkit.SubscriptionAdminClient
	name         string
	idAttr       string
	dedupeWindow time.Duration

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]*lease
	expired map[uint64]*lease // nacked for want of a commit, kept for a late one
	keys    map[uint64]uint64 // dedupe key -> pending lease holding it
	seen    seenSet           // dedupe keys of committed messages
	msgs    int64             // messages held under pending leases
	bytes   int64
	keeping bool
	wake    chan struct{}

	acked, nacked atomic.Int64 // totals of this process, for tests
}

func newReader(sub *vkit.SubscriptionAdminClient, name, idAttr string, dedupeWindow time.Duration) *reader {
	return &reader{
		sub:          sub,
		name:         name,
		idAttr:       idAttr,
		dedupeWindow: dedupeWindow,
		pending:      map[uint64]*lease{},
		expired:      map[uint64]*lease{},
		keys:         map[uint64]uint64{},
		seen:         seenSet{at: map[uint64]int64{}},
		wake:         make(chan struct{}, 1),
	}
}

// lease is a pulled batch waiting for its bundle to commit.
type lease struct {
	id       uint64
	tally    *tally
	ackIDs   []string // everything to ack on commit, dropped duplicates included
	keys     []uint64 // dedupe keys of the emitted messages
	msgIDs   []string // message ids of the emitted messages
	bytes    int64
	nackedAt time.Time
	extendAt time.Time
	expireAt time.Time
	state    leaseState
}

type leaseState int

const (
	leasePending leaseState = iota
	leaseCommitted
	leaseNacked
)

// tally counts the nacks of one pipeline run. They happen outside any
// bundle (in the keeper), so the run's next ProcessElement reports them as a
// Beam counter.
type tally struct {
	nacked, unreported atomic.Int64
}

func (t *tally) addNacked(n int) {
	t.nacked.Add(int64(n))
	t.unreported.Add(int64(n))
}

// tallies maps a run's token (in its restriction) to its tally.
var tallies sync.Map

func tallyOf(token string) *tally {
	t, _ := tallies.LoadOrStore(token, new(tally))
	return t.(*tally)
}

// pullLimits bound one batch.
type pullLimits struct {
	maxBatch        int
	maxWait         time.Duration
	maxOutstanding  int64
	maxOutstandingB int64
	commitTimeout   time.Duration
}

// batch is what one pull returns: the messages to emit, held under lease
// (nil when nothing is held).
type batch struct {
	msgs       []*pubsubpb.ReceivedMessage
	lease      *lease
	received   int // messages pulled, duplicates included
	duplicates int
	deferred   int
	throttled  bool // flow control stopped the batch early
}

// pull pulls up to lim.maxBatch messages within lim.maxWait, staying under
// the outstanding limits, drops duplicates and leases the rest.
func (r *reader) pull(ctx context.Context, lim pullLimits, t *tally) (batch, error) {
	var b batch
	var got []*pubsubpb.ReceivedMessage
	var gotBytes int64
	deadline := time.Now().Add(lim.maxWait)
	for len(got) < lim.maxBatch {
		n := lim.maxBatch - len(got)
		r.mu.Lock()
		room := lim.maxOutstanding - r.msgs - int64(len(got))
		roomB := lim.maxOutstandingB - r.bytes - gotBytes
		r.mu.Unlock()
		if room <= 0 || roomB <= 0 {
			b.throttled = true
			break
		}
		n = int(min(int64(n), room))
		wait := time.Until(deadline)
		if wait <= 0 || ctx.Err() != nil {
			break
		}
		msgs, err := r.pullOnce(ctx, n, wait)
		if err != nil {
			// What was pulled goes back at once; the bundle fails.
			r.nackIDs(ackIDsOf(got), t)
			return batch{}, err
		}
		got = append(got, msgs...)
		for _, m := range msgs {
			gotBytes += msgSize(m)
		}
		if len(msgs) == 0 {
			select {
			case <-ctx.Done():
			case <-time.After(min(pollEvery, time.Until(deadline))):
			}
		}
	}
	b.received = len(got)
	if len(got) == 0 {
		return b, nil
	}
	return r.admit(got, b, lim.commitTimeout, t), nil
}

// pullOnce makes one Pull call. A call cut short by wait is an empty pull:
// a message the server sent as the call was abandoned is redelivered when
// its ack deadline passes.
func (r *reader) pullOnce(ctx context.Context, n int, wait time.Duration) ([]*pubsubpb.ReceivedMessage, error) {
	cctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	resp, err := r.sub.Pull(cctx, &pubsubpb.PullRequest{Subscription: r.name, MaxMessages: int32(n)})
	if err != nil {
		if cctx.Err() != nil || status.Code(err) == codes.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded) {
			return nil, nil
		}
		return nil, fmt.Errorf("pubsubx: pull %s: %w", r.name, err)
	}
	return resp.GetReceivedMessages(), nil
}

// admit drops duplicates, defers messages whose id a pending lease holds,
// and leases the rest.
func (r *reader) admit(got []*pubsubpb.ReceivedMessage, b batch, commitTimeout time.Duration, t *tally) batch {
	now := time.Now()
	l := &lease{tally: t, extendAt: now.Add(firstExtension), expireAt: now.Add(commitTimeout)}
	var deferred []string
	inBatch := map[uint64]bool{}
	r.mu.Lock()
	r.seen.expire(now.Add(-r.dedupeWindow).UnixNano())
	for _, m := range got {
		k := r.key(m.GetMessage())
		switch {
		case r.seen.has(k) || inBatch[k]:
			l.ackIDs = append(l.ackIDs, m.GetAckId())
			b.duplicates++
		case r.keys[k] != 0:
			deferred = append(deferred, m.GetAckId())
		default:
			inBatch[k] = true
			l.ackIDs = append(l.ackIDs, m.GetAckId())
			l.keys = append(l.keys, k)
			l.msgIDs = append(l.msgIDs, m.GetMessage().GetMessageId())
			l.bytes += msgSize(m)
			b.msgs = append(b.msgs, m)
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
		if !r.keeping {
			r.keeping = true
			go r.keep()
		} else {
			select {
			case r.wake <- struct{}{}:
			default:
			}
		}
	}
	r.mu.Unlock()
	if len(deferred) > 0 {
		b.deferred = len(deferred)
		r.modify(context.Background(), deferred, deferDeadline)
		t.addNacked(len(deferred))
		r.nacked.Add(int64(len(deferred)))
	}
	return b
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
// committed, and remembers their ids for dedupe. A lease the keeper already
// nacked is acked too: its messages are in the committed output, and their
// redelivery is dropped as duplicates.
func (r *reader) commit(l *lease) int {
	r.mu.Lock()
	switch l.state {
	case leaseCommitted:
		r.mu.Unlock()
		return 0
	case leasePending:
		r.release(l)
	case leaseNacked:
		delete(r.expired, l.id)
	}
	l.state = leaseCommitted
	now := time.Now().UnixNano()
	for _, k := range l.keys {
		r.seen.add(k, now)
	}
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	acked := 0
	for ids := range chunks(l.ackIDs) {
		if err := r.sub.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{Subscription: r.name, AckIds: ids}); err != nil {
			// Not fatal: the messages come back and are dropped as duplicates.
			log.Warnf(ctx, "pubsubx: ack of %d messages on %s failed, they will be redelivered and dropped as duplicates: %v", len(ids), r.name, err)
			continue
		}
		acked += len(ids)
	}
	r.acked.Add(int64(acked))
	if h := testHookCommitted; h != nil {
		h(r.name, l.msgIDs)
	}
	return acked
}

// testHookCommitted, when set by a test, sees the message ids of each
// committed lease.
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
	r.nackIDs(l.ackIDs, l.tally)
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

func (r *reader) nackIDs(ids []string, t *tally) {
	if len(ids) == 0 {
		return
	}
	r.modify(context.Background(), ids, 0)
	t.addNacked(len(ids))
	r.nacked.Add(int64(len(ids)))
}

// modify sets the ack deadline of ids (0 nacks them).
func (r *reader) modify(ctx context.Context, ids []string, d time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	for c := range chunks(ids) {
		err := r.sub.ModifyAckDeadline(ctx, &pubsubpb.ModifyAckDeadlineRequest{
			Subscription: r.name, AckIds: c, AckDeadlineSeconds: int32(d / time.Second),
		})
		if err != nil {
			// The deadline Pub/Sub already has still runs out and
			// redelivers them.
			log.Warnf(ctx, "pubsubx: modify ack deadline of %d messages on %s to %v failed: %v", len(c), r.name, d, err)
		}
	}
}

// keep extends the leases of pending batches and nacks those whose bundle
// has not committed within the commit timeout (a failed bundle, a
// cancelled job). It runs while leases are pending.
func (r *reader) keep() {
	for {
		now := time.Now()
		var extend []string
		var expired []*lease
		next := now.Add(time.Hour)
		r.mu.Lock()
		if len(r.pending) == 0 {
			r.keeping = false
			r.mu.Unlock()
			return
		}
		for _, l := range r.pending {
			if !now.Before(l.expireAt) {
				expired = append(expired, l)
				continue
			}
			if !now.Before(l.extendAt) {
				extend = append(extend, l.ackIDs...)
				l.extendAt = now.Add(extendEvery)
			}
			next = minTime(next, l.extendAt, l.expireAt)
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
		if len(extend) > 0 {
			r.modify(context.Background(), extend, leaseDeadline)
		}
		for _, l := range expired {
			log.Warnf(context.Background(), "pubsubx: the bundle holding %d messages of %s did not commit within the commit timeout: nacked for redelivery",
				len(l.ackIDs), r.name)
			r.nackIDs(l.ackIDs, l.tally)
		}
		timer := time.NewTimer(time.Until(next))
		select {
		case <-timer.C:
		case <-r.wake:
			timer.Stop()
		}
	}
}

// outstanding reports the messages held under pending leases.
func (r *reader) outstanding() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.msgs
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

func ackIDsOf(ms []*pubsubpb.ReceivedMessage) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.GetAckId()
	}
	return ids
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

func minTime(a time.Time, bs ...time.Time) time.Time {
	for _, b := range bs {
		if b.Before(a) {
			a = b
		}
	}
	return a
}
