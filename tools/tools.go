//go:build tools

// Package tools pins the version of the BigQuery emulator tickbeam's tests
// run; scripts/emulators.sh builds it from this module. (fake-gcs-server
// runs in-process in the tests, from the main module.)
package tools

import (
	_ "github.com/goccy/bigquery-emulator/cmd/bigquery-emulator"
)
