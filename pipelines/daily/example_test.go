package daily_test

import (
	"fmt"
	"time"

	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/pipelines/daily"
)

// A job scheduled after the close reports the last trading day whose
// sessions have all closed: at 16:05 KST the KRX after-hours session runs
// until 18:00, so the default is the previous day; `--date=today` takes the
// day in progress.
func ExampleLastClosed() {
	krx, _ := calendar.Lookup("XKRX")
	seoul := krx.Location()
	fmt.Println(daily.LastClosed(krx, time.Date(2026, 1, 15, 16, 5, 0, 0, seoul)))
	fmt.Println(daily.LastClosed(krx, time.Date(2026, 1, 15, 18, 5, 0, 0, seoul)))
	// Output:
	// 2026-01-14
	// 2026-01-15
}
