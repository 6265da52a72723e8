//go:build race

package jsonscan

// raceEnabled: the race detector adds allocations, so allocation tests skip.
const raceEnabled = true
