package dashboard_test

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/dashboard"
)

// A page's event stream starts with the hub's snapshot; a pipeline fills
// the hub through Tap.
func ExampleServe() {
	hub := dashboard.NewHub()
	start := time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)
	hub.Bar(tickbeam.Bar{Symbol: "005930", Resolution: "1m", WindowStart: start, WindowEnd: start.Add(time.Minute),
		Open: 100, High: 101, Low: 99, Close: 100.5, Volume: 10, Timing: tickbeam.OnTime})
	srv, err := dashboard.Serve("127.0.0.1:0", hub, dashboard.Options{})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	resp, err := http.Get("http://" + srv.Addr() + "/events")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "event: synced") {
			break
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			fmt.Println(data[:60])
		}
	}
	// Output:
	// {"type":"bar","bar":{"symbol":"005930","resolution":"1m","wi
}
