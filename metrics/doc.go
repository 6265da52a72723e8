// Package metrics serves a running pipeline's Beam metrics to Prometheus.
//
// The pipeline's own counters (tickbeam/parse messages, ticks, dead_letters,
// tickbeam/dedupe duplicates, tickbeam/pubsub late, tickbeam/alerts alerts,
// rows written by the lake, BigQuery and Pub/Sub sinks, ...) are read live
// from the runner, on every scrape, by an Exporter; Observe adds what Beam
// does not count by itself: dead letters by stage, the latest event time per
// tick source (freshness) and the latest bar window the watermark passed
// (watermark lag). Serve puts them at http://ADDR/metrics.
//
// On the local runner, runners.LiveMetrics is the Source: prism's job
// service adds each finished bundle's metrics to the job's, so a scrape sees
// them grow while the job runs (the `tickbeam monitor --metrics_addr` flag).
package metrics
