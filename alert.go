package tickbeam

import "time"

// Severity ranks an Alert.
type Severity string

// Severities.
const (
	Info     Severity = "INFO"
	Warning  Severity = "WARNING"
	Critical Severity = "CRITICAL"
)

// Attribute is a key/value pair, the shape BigQuery gives repeated records
// and Pub/Sub gives message attributes.
type Attribute struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Alert is a rule firing for a symbol at an event time. AlertID is derived
// from (rule, symbol, event time) so a retried write is idempotent.
type Alert struct {
	AlertID    string      `json:"alert_id"`
	Rule       string      `json:"rule"`
	Symbol     string      `json:"symbol"`
	Severity   Severity    `json:"severity"`
	EventTime  time.Time   `json:"event_time"`
	DetectedAt time.Time   `json:"detected_at"`
	Value      float64     `json:"value"`
	Threshold  float64     `json:"threshold"`
	Message    string      `json:"message"`
	Labels     []Attribute `json:"labels"`
}
