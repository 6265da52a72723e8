package tickbeam

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

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

// NewAlertID is the deterministic alert_id of a rule firing for symbol at
// eventTime: the same firing always gets the same id, so a retried write or
// a replay is idempotent downstream (BigQuery MERGE, webhook Idempotency-Key).
func NewAlertID(rule, symbol string, eventTime time.Time) string {
	h := sha256.New()
	for _, s := range [...]string{rule, symbol, eventTime.UTC().Format(time.RFC3339Nano)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
