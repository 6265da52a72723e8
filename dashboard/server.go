package dashboard

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"time"

	"github.com/tickbeam/tickbeam/internal/optcheck"
	"github.com/tickbeam/tickbeam/metrics"
)

//go:embed static
var static embed.FS

// Server serves the dashboard page and its event stream.
type Server struct {
	hub  *Hub
	srv  *http.Server
	ln   net.Listener
	stop chan struct{}
	done chan struct{}
}

// Options configure Serve.
type Options struct {
	// Stats, when set, is polled every StatsEvery for the run's counters and
	// lags (runners.LiveMetrics).
	Stats      metrics.Source
	StatsEvery time.Duration // default 1s
}

// Validate reports a negative StatsEvery (0 is the default, 1s).
func (o Options) Validate() error {
	return optcheck.NonNegative("dashboard", optcheck.F("StatsEvery", o.StatsEvery))
}

// Serve serves hub on addr (host:port; port 0 picks one): the page at /,
// its script at /app.js and the events at /events (server-sent events: a
// snapshot of the hub, then each row as it comes). It fails on an address
// that is not host:port and on invalid opts (Options.Validate).
func Serve(addr string, hub *Hub, opts Options) (*Server, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("dashboard address %q: want host:port or :port", addr)
	}
	files, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServerFS(files))
	mux.HandleFunc("GET /events", hub.serveEvents)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	// No write timeout: an event stream stays open.
	s := &Server{hub: hub, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, ln: ln,
		stop: make(chan struct{}), done: make(chan struct{})}
	go func() { _ = s.srv.Serve(ln) }()
	go s.pollStats(opts)
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server and drops the pages' streams.
func (s *Server) Close() error {
	close(s.stop)
	<-s.done
	if err := s.srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Server) pollStats(opts Options) {
	defer close(s.done)
	if opts.Stats == nil {
		return
	}
	every := opts.StatsEvery
	if every == 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		res, err := opts.Stats(ctx)
		cancel()
		if err != nil || res == nil {
			continue
		}
		sum := metrics.Summarize(res)
		now := time.Now()
		st := Stats{Counters: sum.Counters, DeadLetters: sum.DeadLetters, Freshness: map[string]float64{}, Lag: map[string]float64{}, AsOf: now.UTC()}
		for k, v := range sum.EventTime {
			st.Freshness[k] = now.Sub(v).Seconds()
		}
		for k, v := range sum.Watermark {
			st.Lag[k] = now.Sub(v).Seconds()
		}
		s.hub.SetStats(st)
	}
}

// serveEvents streams the hub as server-sent events.
func (h *Hub) serveEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	snapshot, ch := h.subscribe()
	defer h.unsubscribe(ch)
	for _, data := range snapshot {
		fmt.Fprintf(w, "data: %s\n\n", data)
	}
	fmt.Fprint(w, "event: synced\ndata: {}\n\n")
	fl.Flush()
	keepAlive := time.NewTicker(15 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case data, ok := <-ch:
			if !ok {
				return // too slow: the page reconnects and gets a snapshot
			}
			fmt.Fprintf(w, "data: %s\n\n", data)
			// Send what else is queued before flushing: one write per burst.
			for n := len(ch); n > 0; n-- {
				fmt.Fprintf(w, "data: %s\n\n", <-ch)
			}
			fl.Flush()
		case <-keepAlive.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		}
	}
}
