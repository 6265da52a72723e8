// Package pubsubx reads and writes Google Cloud Pub/Sub in tickbeam pipelines,
// on the local runner (prism) and on Dataflow, with one API. (It is not named
// pubsub so it does not collide with Google's client or Beam's pubsubio.)
//
// Read emits tickbeam.Message elements (message id, payload, attributes,
// publish time), timestamped with their event time: a timestamp attribute
// (Unix milliseconds or RFC 3339, as Beam's Java and Dataflow I/O read it) or
// the publish time.
//
// On prism, Read is an unbounded splittable DoFn over the subscription
// (Beam's pubsubio only runs on Dataflow; set ReadOptions.Native there):
//
//   - A pump goroutine pulls into a buffer, awaiting every Pull to its end
//     (a Pull the client abandons may have been handed messages that Pub/Sub
//     redelivers only after their ack deadline, behind the watermark). Each
//     bundle takes one batch (ReadOptions.MaxBatch, MaxBatchWait), emits it
//     and checkpoints. A batch is acked only once the runner has
//     committed the bundle that emitted it: its lease travels in the
//     checkpoint's residual, and the bundle that resumes the residual acks
//     it (a runner runs a residual only after committing the bundle that
//     returned it, never that of a failed bundle). Until then the reader
//     extends the messages' ack deadlines; after ReadOptions.CommitTimeout
//     it nacks them so Pub/Sub redelivers them.
//   - Delivery is at least once. Redeliveries of committed messages within
//     ReadOptions.DedupeWindow are dropped, by Pub/Sub message id or by
//     ReadOptions.IDAttribute as Dataflow does.
//   - The watermark follows the data: after each batch it moves to the
//     oldest event time of the batches of the last span of pulling and the
//     one before them (never back, never past the wall clock), so a backlog
//     waiting in the subscription is processed on time although Pub/Sub hands
//     it out only roughly in order, as on Dataflow. The span is 2 s at first
//     and after any batch that came out of order past it; after a minute of
//     pulls it is twice the largest disorder of the last minute, at least
//     250 ms, so a live feed pulled in order keeps its bars about 1.6 s
//     behind their window (with the 1 s delay) instead of 3.4 s. Only when the
//     subscription is drained (a Pull has waited ReadOptions.IdleTimeout
//     with nothing to hand out, nothing is buffered, nothing put back is
//     due) does it move to the wall clock, so the last windows close.
//     Messages older than the watermark when they arrive are late.
//     ReadOptions.WatermarkDelay holds it back for pipelines that
//     re-timestamp elements earlier than their message, and for live feeds
//     that publish out of order.
//   - ReadOptions.MaxOutstandingMessages and MaxOutstandingBytes bound what
//     is pulled and not yet acked.
//   - An outage (Pub/Sub unreachable, restarting, or the subscription not
//     found once it had been read: being recreated) does not fail the run:
//     the pump retries its pulls with jittered backoff (100 ms doubling to
//     5 s; gRPC reconnects within 5 s), logs one warning as the outage
//     begins and one info line with its length as it ends, skips acks and
//     lease extensions meanwhile (what was not acked comes back, if the
//     server kept it, and is dropped downstream), and the subscription is
//     not drained while it lasts, so the watermark waits. After an outage
//     the message-id dedupe starts afresh, since a restarted server numbers
//     its messages afresh. Other errors (permission, a subscription missing
//     from the start) fail the run.
//
// What "committed" means depends on the runner. prism keeps committed data
// in memory and fails the whole job when a bundle fails (it does not retry
// bundles): the failed bundle's messages are redelivered to the next run,
// but data that earlier bundles had committed to prism's memory and later
// stages had not written out yet (open windows, for instance) is gone with
// the job, although acked. Dataflow's state is durable.
//
// ReadDurable closes that gap: it acks a message only once what the
// pipeline computed from it has been written. The pipeline hands every
// PCollection its sinks return to Durable.AckWhenWritten, whose stateful
// step keeps an event-time timer per run at the earliest pending ackAt: the
// end of the message's ReadOptions.AckWindow plus AckHorizon. The timer
// fires once every sink's output watermark has reached it (prism holds a
// stage's watermark at its pending and in-progress elements, and a sink
// finishes a bundle only once its rows are written), and the reader acks
// the messages due, a window at a time. Until then committed messages are
// held, their ack deadlines extended (to 12 s, set at once at the pull, so
// a killed process's messages come back within seconds); a run that stops
// calling for CommitTimeout has its held messages nacked. After a restart
// the run holds its watermark for 13 s, so the messages the dead process
// held come back before it moves, and whole windows are computed again:
// sinks get the same rows again (BigQuery's FinalBarsSQL picks one; files
// are rewritten under their names). MaxHeldMessages (default 500,000)
// bounds what is held; past it the oldest are acked early (counter
// acked_early, a warning a minute), so windows longer than that much
// traffic are not durable. State that spans windows (indicators, session
// stats, alert sequences) starts afresh after a restart. On Dataflow
// (Native) AckWhenWritten does nothing.
//
// Write publishes rows: tickbeam.Message as is, other rows (Alert, Tick,
// Bar, DeadLetter...) as JSON with attributes from their symbol, rule,
// severity and source fields. A bundle finishes only when Pub/Sub has
// accepted all of its messages, so a failed publish fails the bundle.
//
// CreateTopic, CreateSubscription and Publisher serve tests and feeds such
// as `tickbeam feed`. Clients honour PUBSUB_EMULATOR_HOST.
//
// Counters, in namespace "tickbeam/pubsub": received (pulled, duplicates
// included), duplicates (dropped), acked, nacked (put back for redelivery:
// bundles that did not commit in time, and messages whose id a batch not
// yet committed holds), late and late_duplicates (ReadWithLate),
// bad_timestamps (a timestamp attribute that is not a
// timestamp: the publish time is used), acked_early (ReadDurable, past
// MaxHeldMessages), hold_resets (batches pulled out of order by the
// watermark hold's span or more: each holds the watermark 2 s back for a
// minute, so a stream that keeps counting them has ~2 s more latency than
// one that does not), and published. acked is counted by
// the bundle after the one that emitted the batch, and nacked by the first
// bundle after the nack. Gauge held (ReadDurable) is how many messages wait
// unacked for the outputs to be written, about the rate times the longest
// window: what a crash would have Pub/Sub redeliver. The Pub/Sub emulator
// walks all of them on every Pull, so at thousands of messages a second
// with 1m windows it becomes the emulator's cost (BenchmarkEmulatorPullCost).
package pubsubx
