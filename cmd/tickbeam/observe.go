package main

import (
	"fmt"
	"io"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/dashboard"
	"github.com/tickbeam/tickbeam/metrics"
	"github.com/tickbeam/tickbeam/pipelines/monitor"
	"github.com/tickbeam/tickbeam/runners"
	"github.com/tickbeam/tickbeam/transforms/bars"
)

// serveMetrics serves the running pipeline's Beam metrics for Prometheus on
// addr (--metrics_addr) until the returned stop. Only the local runner's
// metrics are in this process; a Dataflow job's are in Cloud Monitoring.
func serveMetrics(cmd, addr string, local bool, stderr io.Writer) (stop func(), err error) {
	if !local {
		return nil, fmt.Errorf("--metrics_addr serves the local runner's metrics; a Dataflow job's are in Cloud Monitoring")
	}
	srv, err := metrics.Serve(addr, runners.LiveMetrics)
	if err != nil {
		return nil, fmt.Errorf("--metrics_addr: %w", err)
	}
	fmt.Fprintf(stderr, "tickbeam %s: Prometheus metrics at http://%s/metrics\n", cmd, srv.Addr())
	return func() { _ = srv.Close() }, nil
}

// metricsTap adds freshness, the first resolution's watermark and dead
// letters by stage to the monitor pipeline's metrics.
func metricsTap(res []bars.Resolution) monitor.Tap {
	return func(s beam.Scope, c monitor.Collections) {
		in := metrics.Inputs{Ticks: c.Ticks, DeadLetters: c.DeadLetters}
		if len(c.Bars) > 0 {
			in.Bars, in.Resolution = c.Bars[0], res[0]
		}
		metrics.Observe(s, in)
	}
}

// serveDashboard serves the live dashboard (--ui) of a local run until the
// returned stop, and returns the tap that feeds it the first resolution's
// bars, the indicators and the alerts.
func serveDashboard(addr string, local bool, stderr io.Writer) (tap monitor.Tap, stop func(), err error) {
	if !local {
		return nil, nil, fmt.Errorf("--ui draws a local run; a Dataflow job's rows are in its outputs")
	}
	hub := dashboard.NewHub()
	const name = "tickbeam-monitor"
	unregister := dashboard.Register(name, hub)
	srv, err := dashboard.Serve(addr, hub, dashboard.Options{Stats: runners.LiveMetrics})
	if err != nil {
		unregister()
		return nil, nil, fmt.Errorf("--ui: %w", err)
	}
	fmt.Fprintf(stderr, "tickbeam monitor: live dashboard at http://%s/\n", srv.Addr())
	tap = func(s beam.Scope, c monitor.Collections) {
		dashboard.Tap(s, name, dashboard.Inputs{Bars: c.Bars[0], Indicators: c.Indicators, Alerts: c.Alerts})
	}
	return tap, func() { _ = srv.Close(); unregister() }, nil
}
