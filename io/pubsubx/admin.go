package pubsubx

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// CreateTopic makes sure topic ("projects/P/topics/T") exists.
func CreateTopic(ctx context.Context, topic string) error {
	project, _, err := ParseTopic(topic)
	if err != nil {
		return fmt.Errorf("pubsubx.CreateTopic: %w", err)
	}
	c, err := client(ctx, project)
	if err != nil {
		return err
	}
	_, err = c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("pubsubx.CreateTopic %s: %w", topic, err)
	}
	return nil
}

// CreateSubscription makes sure subscription ("projects/P/subscriptions/S")
// exists on topic. An existing subscription of another topic is an error.
func CreateSubscription(ctx context.Context, subscription, topic string) error {
	project, _, err := ParseSubscription(subscription)
	if err != nil {
		return fmt.Errorf("pubsubx.CreateSubscription: %w", err)
	}
	if _, _, err := ParseTopic(topic); err != nil {
		return fmt.Errorf("pubsubx.CreateSubscription: %w", err)
	}
	c, err := client(ctx, project)
	if err != nil {
		return err
	}
	_, err = c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name:  subscription,
		Topic: topic,
		// Read keeps leases alive itself; a short deadline redelivers soon
		// after a reader dies.
		AckDeadlineSeconds: 10,
	})
	if status.Code(err) == codes.AlreadyExists {
		got, gerr := c.SubscriptionAdminClient.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: subscription})
		if gerr != nil {
			return fmt.Errorf("pubsubx.CreateSubscription %s: %w", subscription, gerr)
		}
		if got.GetTopic() != topic {
			return fmt.Errorf("pubsubx.CreateSubscription: %s exists on topic %s, not %s", subscription, got.GetTopic(), topic)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("pubsubx.CreateSubscription %s: %w", subscription, err)
	}
	return nil
}

// Publisher publishes raw payloads to a topic, for feeds such as
// `tickbeam feed`. It is safe for concurrent use.
type Publisher struct {
	topic     string
	pub       *pubsub.Publisher
	published atomic.Int64

	mu      sync.Mutex
	pending []*pubsub.PublishResult
	err     error // first failure since the last Flush
	failed  int
}

// PublisherOptions configure NewPublisher. Zero values take the defaults.
type PublisherOptions struct {
	// A publish request holds at most MaxBatch messages (default 100, at
	// most 1000), sent at the latest MaxBatchWait (default 10ms) after
	// the first.
	MaxBatch     int
	MaxBatchWait time.Duration
}

// Validate reports MaxBatch outside 0 to 1000 or a negative MaxBatchWait.
func (o PublisherOptions) Validate() error {
	return checkBatch("pubsubx.PublisherOptions", o.MaxBatch, o.MaxBatchWait)
}

// NewPublisher returns a Publisher to topic ("projects/P/topics/T"). The
// topic must exist (see CreateTopic). It fails on invalid opts
// (PublisherOptions.Validate).
func NewPublisher(ctx context.Context, topic string, opts PublisherOptions) (*Publisher, error) {
	project, _, err := ParseTopic(topic)
	if err != nil {
		return nil, fmt.Errorf("pubsubx.NewPublisher: %w", err)
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.MaxBatch == 0 {
		opts.MaxBatch = DefaultWriteMaxBatch
	}
	if opts.MaxBatchWait == 0 {
		opts.MaxBatchWait = DefaultWriteMaxBatchWait
	}
	c, err := client(ctx, project)
	if err != nil {
		return nil, err
	}
	return &Publisher{topic: topic, pub: newPublisher(c, topic, opts.MaxBatch, opts.MaxBatchWait)}, nil
}

// PublishRaw publishes payload with attrs and returns once Pub/Sub has
// accepted it.
func (p *Publisher) PublishRaw(ctx context.Context, payload []byte, attrs map[string]string) error {
	r, err := p.publish(ctx, payload, attrs)
	if err != nil {
		return err
	}
	if _, err := r.Get(ctx); err != nil {
		return fmt.Errorf("pubsubx: publish to %s: %w", p.topic, err)
	}
	p.published.Add(1)
	return nil
}

// Publish queues payload with attrs and returns at once (blocking only when
// too much is in flight). Failures are reported by Flush.
func (p *Publisher) Publish(ctx context.Context, payload []byte, attrs map[string]string) error {
	r, err := p.publish(ctx, payload, attrs)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.pending = append(p.pending, r)
	var wait []*pubsub.PublishResult
	if len(p.pending) >= maxInFlight {
		wait = p.pending[: maxInFlight/2 : maxInFlight/2]
		p.pending = append([]*pubsub.PublishResult(nil), p.pending[maxInFlight/2:]...)
	}
	p.mu.Unlock()
	p.await(ctx, wait)
	return nil
}

func (p *Publisher) publish(ctx context.Context, payload []byte, attrs map[string]string) (*pubsub.PublishResult, error) {
	if err := checkAttributes(attrs); err != nil {
		return nil, fmt.Errorf("pubsubx: publish to %s: %w", p.topic, err)
	}
	m := &pubsub.Message{Data: payload, Attributes: maps.Clone(attrs)}
	if err := checkSize(p.topic, m); err != nil {
		return nil, fmt.Errorf("pubsubx: publish %d-byte payload to %s: %w", len(payload), p.topic, err)
	}
	return p.pub.Publish(ctx, m), nil
}

func (p *Publisher) await(ctx context.Context, rs []*pubsub.PublishResult) {
	for _, r := range rs {
		if _, err := r.Get(ctx); err != nil {
			p.mu.Lock()
			if p.err == nil {
				p.err = err
			}
			p.failed++
			p.mu.Unlock()
			continue
		}
		p.published.Add(1)
	}
}

// Flush waits until every message queued by Publish has been accepted or
// has failed, and reports the failures since the last Flush.
func (p *Publisher) Flush(ctx context.Context) error {
	p.pub.Flush()
	p.mu.Lock()
	wait := p.pending
	p.pending = nil
	p.mu.Unlock()
	p.await(ctx, wait)
	p.mu.Lock()
	defer p.mu.Unlock()
	err, failed := p.err, p.failed
	p.err, p.failed = nil, 0
	if err != nil {
		return fmt.Errorf("pubsubx: %d messages failed to publish to %s: %w", failed, p.topic, err)
	}
	return nil
}

// Published is the number of messages Pub/Sub has accepted.
func (p *Publisher) Published() int64 { return p.published.Load() }

// Close flushes and stops the publisher.
func (p *Publisher) Close(ctx context.Context) error {
	err := p.Flush(ctx)
	p.pub.Stop()
	return err
}
