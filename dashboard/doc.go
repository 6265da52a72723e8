// Package dashboard is a live web page of a running pipeline: per symbol,
// candlesticks of one bar resolution with volume, VWAP, the pipeline's
// indicators and alert markers, and the run's counters, freshness and
// watermark lag. It is what `tickbeam monitor --ui=127.0.0.1:8080` serves.
//
// Tap sends bar panes, indicator values and alerts, as the pipeline makes
// them, to a Hub registered in this process (the local runner's workers are
// this process); Serve serves the page, drawn on a canvas by its own script
// (embedded, no CDN), and /events, a server-sent event stream: the hub's
// snapshot, bounded per symbol, then every row as it comes. The page lays
// its cards out in as many columns as fit, one on a phone.
package dashboard
