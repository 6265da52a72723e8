package tickbeam

import (
	"sort"
	"time"
	"unicode/utf8"
)

// Stages at which a record can fail. Sinks use "sink:<name>", e.g. "sink:bigquery".
const (
	StageParse    = "parse"
	StageValidate = "validate"
	// StageLate marks ticks that arrived after their window's allowed
	// lateness: too late for bars, kept so they can be archived or replayed.
	StageLate = "late"
	// StageOutlier marks ticks quarantined by an outlier rule.
	StageOutlier = "outlier"
	// StageNotify marks alerts a notifier failed to deliver (source: the
	// notifier's name; payload: the alert's JSON).
	StageNotify = "notify"
)

// DeadLetter is a message tickbeam could not turn into output, kept with the
// reason so nothing is dropped silently. Its shape follows the error tables of
// Google's Dataflow templates.
//
// PayloadString holds the payload when it is valid UTF-8; PayloadBytes always
// holds it (base64 in JSON, BYTES in BigQuery).
type DeadLetter struct {
	Timestamp     time.Time   `json:"timestamp"`
	PayloadString string      `json:"payload_string"`
	PayloadBytes  []byte      `json:"payload_bytes"`
	Attributes    []Attribute `json:"attributes"`
	ErrorMessage  string      `json:"error_message"`
	Stage         string      `json:"stage"`
	Source        string      `json:"source"`
}

// NewDeadLetter builds a DeadLetter for payload, failed at stage with err.
// Attributes are sorted by key so equal failures produce equal rows.
func NewDeadLetter(at time.Time, payload []byte, attrs map[string]string, stage, source string, err error) DeadLetter {
	d := DeadLetter{
		Timestamp:    at.UTC(),
		PayloadBytes: append([]byte(nil), payload...),
		Stage:        stage,
		Source:       source,
	}
	if utf8.Valid(payload) {
		d.PayloadString = string(payload)
	}
	if err != nil {
		d.ErrorMessage = err.Error()
	}
	for k, v := range attrs {
		d.Attributes = append(d.Attributes, Attribute{Key: k, Value: v})
	}
	sort.Slice(d.Attributes, func(i, j int) bool { return d.Attributes[i].Key < d.Attributes[j].Key })
	return d
}
