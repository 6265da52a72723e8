package pubsubx

import (
	"context"
	"fmt"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/tickbeam/tickbeam/internal/testenv"
)

// BenchmarkEmulatorPullCost measures what one Pull costs the Pub/Sub
// emulator while a number of messages are delivered and not yet acked, as
// ReadDurable holds them until the outputs are written (a minute and more
// with 1m bars). The emulator's Pull looks at every delivered message for
// an expired deadline, and returns at most 100 messages, so at R messages/s
// it does R/100 such scans a second: its CPU grows with R times the held
// messages. StreamingLatency's "CPU" line shows the effect on a whole run.
//
//	go test -run '^$' -bench EmulatorPullCost -benchtime 1x ./io/pubsubx/
func BenchmarkEmulatorPullCost(b *testing.B) {
	// The JVM compiles its hot paths over the first tens of thousands of
	// messages; the figures are of the compiled emulator.
	pullCost(b, 0, 50_000)
	for _, held := range []int{0, 100_000, 200_000, 400_000} {
		b.Run(fmt.Sprintf("held=%d", held), func(b *testing.B) {
			for range b.N {
				c := pullCost(b, held, 20_000)
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(c.msgsPerPull, "msgs/pull")
				b.ReportMetric(c.emuMsPerPull, "emulator-ms/pull")
				b.ReportMetric(c.msgsPerSec, "msgs/s")
				b.ReportMetric(c.emuCores, "emulator-cores")
			}
		})
	}
}

type pullFigures struct{ msgsPerPull, emuMsPerPull, msgsPerSec, emuCores float64 }

// pullCost holds held messages delivered, then pulls (and acks) n more, and
// measures the emulator's CPU over those Pulls.
func pullCost(b *testing.B, held, n int) pullFigures {
	ctx := context.Background()
	topic, sub := newSubscription(b)
	project, _, _ := ParseSubscription(sub)
	c, err := client(ctx, project)
	if err != nil {
		b.Fatal(err)
	}
	publish := func(k int) {
		pub := newPublisher(c, topic, 1000, 10*time.Millisecond)
		defer pub.Stop()
		var last *pubsub.PublishResult
		for i := range k {
			last = pub.Publish(ctx, &pubsub.Message{Data: fmt.Appendf(nil, `{"i":%d}`, i)})
		}
		if last != nil {
			if _, err := last.Get(ctx); err != nil {
				b.Fatalf("publish: %v", err)
			}
		}
	}
	// pull takes k messages; hold extends their deadline past the run.
	pull := func(k int, hold bool) (pulls int) {
		for got := 0; got < k; pulls++ {
			resp, err := c.SubscriptionAdminClient.Pull(ctx, &pubsubpb.PullRequest{Subscription: sub, MaxMessages: 1000})
			if err != nil {
				b.Fatalf("pull: %v", err)
			}
			ids := make([]string, 0, len(resp.GetReceivedMessages()))
			for _, m := range resp.GetReceivedMessages() {
				ids = append(ids, m.GetAckId())
			}
			got += len(ids)
			if len(ids) == 0 {
				continue
			}
			if hold {
				err = c.SubscriptionAdminClient.ModifyAckDeadline(ctx, &pubsubpb.ModifyAckDeadlineRequest{Subscription: sub, AckIds: ids, AckDeadlineSeconds: 600})
			} else {
				err = c.SubscriptionAdminClient.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{Subscription: sub, AckIds: ids})
			}
			if err != nil {
				b.Fatalf("ack or extend: %v", err)
			}
		}
		return pulls
	}
	publish(held)
	pull(held, true)
	publish(n)
	b.ResetTimer()
	cpu0, err := testenv.PubSubCPU()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	pulls := pull(n, false)
	wall := time.Since(start)
	cpu1, err := testenv.PubSubCPU()
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	emu := cpu1 - cpu0
	return pullFigures{
		msgsPerPull:  float64(n) / float64(pulls),
		emuMsPerPull: float64(emu.Microseconds()) / 1000 / float64(pulls),
		msgsPerSec:   float64(n) / wall.Seconds(),
		emuCores:     emu.Seconds() / wall.Seconds(),
	}
}
