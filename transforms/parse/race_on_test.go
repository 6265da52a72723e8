//go:build race

package parse

// raceEnabled: the race detector adds allocations, so allocation tests skip.
const raceEnabled = true
