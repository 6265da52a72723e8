package live

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/feedformat"
)

// collect is a Sink that keeps everything, and can stop the connector once
// a condition holds.
type collect struct {
	mu    sync.Mutex
	lines []Line
	gaps  []tickbeam.Gap
	until func(c *collect) bool
	stop  context.CancelFunc
}

func (c *collect) Line(_ context.Context, l Line) error {
	c.mu.Lock()
	c.lines = append(c.lines, l)
	done := c.until != nil && c.until(c)
	c.mu.Unlock()
	if done {
		c.stop()
	}
	return nil
}

func (c *collect) Gap(_ context.Context, g tickbeam.Gap) error {
	c.mu.Lock()
	c.gaps = append(c.gaps, g)
	c.mu.Unlock()
	return nil
}

// ticks parses the collected lines with format's parser; lines that do not
// parse are counted apart, control lines skipped.
func (c *collect) ticks(t *testing.T, format string) (ticks []tickbeam.Tick, failed int) {
	t.Helper()
	p, err := feedformat.New(format, feedformat.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.lines {
		if l.Oversize > 0 {
			failed++
			continue
		}
		out, err := p.Parse(nil, l.Payload)
		if errors.Is(err, feedformat.ErrControl) {
			continue
		}
		if err != nil {
			failed++
			continue
		}
		ticks = append(ticks, out...)
	}
	return ticks, failed
}

// runConnector runs the connector of uri until sink's condition holds or
// timeout passes, and returns Run's error.
func runConnector(t *testing.T, uri string, o Options, sink *collect, timeout time.Duration) (Connector, error) {
	t.Helper()
	spec, err := Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	if o.Logf == nil {
		o.Logf = t.Logf
	}
	conn, err := spec.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	sink.stop = cancel
	err = conn.Run(ctx, sink)
	return conn, err
}
