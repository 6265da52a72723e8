//go:build race

package feedformat

// raceEnabled: the race detector adds allocations, so allocation tests skip.
const raceEnabled = true
