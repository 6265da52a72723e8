//go:build !race

package feedformat

const raceEnabled = false
