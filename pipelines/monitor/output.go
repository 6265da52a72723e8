package monitor

import "github.com/tickbeam/tickbeam/io/endpoint"

// Output is one output setting, named by its CLI flag, as Resolve parsed
// it through the registry of io/endpoint.
type Output struct {
	Flag string
	endpoint.Output
}
