// Package alerts turns ticks, bars, price changes, indicator values and
// crossover events into tickbeam.Alert rows, by rules loaded from a YAML
// rules file or built in Go.
//
// # Rule kinds
//
//	price_level     price (ticks, or bar closes) at or beyond a level, above or below;
//	                the first value already beyond fires (seed 002's "below a level")
//	price_cross     the same, but only on a crossing from the other side
//	vwap_deviation  bar close threshold% or more from the bar's VWAP or the session VWAP
//	volume_spike    bar volume >= factor × mean of the previous window bars, or a
//	                z-score >= zscore against them
//	change_pct      change vs the previous close threshold% or more, up, down or both
//	                (seed 004), from tickbeam.PriceChange rows
//	ma_cross        golden/death cross of fast and slow SMA/EMA, computed from bars
//	                or read from indicators.CrossEvent rows
//	rsi             RSI(period) >= overbought or <= oversold, computed from bars or
//	                read from tickbeam.IndicatorValue rows
//	spread          quote ask−bid spread >= threshold basis points of the mid
//	stale_feed      no tick for max_silence of open market (seed 003); INFO recovery
//	outlier         trades beyond sigma and/or pct quarantined to dead letters
//	drawdown        a position's or a currency portfolio's drawdown >= threshold%
//	                below its peak, from tickbeam.PortfolioRow rows
//	position_value  a position's or a currency portfolio's market value at or
//	                beyond a level, above or below
//	price_range     price (ticks, or bar closes) at or beyond low or high: out of
//	                the range; the first value already outside fires
//
// Each kind is declared once, in its own file, as a row of the package's kind
// table (kinds.go): its inputs, fields, checks and evaluator. Kinds lists them.
// The sequence kinds (all but stale_feed and outlier) run as an Evaluator,
// the pure-Go core of one rule over one symbol's rows; Apply(s, in, rs)
// builds a whole RuleSet on a pipeline, running every sequence rule of one
// input in one stateful step. Apply panics on rules that do not fit their
// inputs; TryApply returns the error instead. RuleSet.Split and RuleSet.Needs tell a pipeline which rules
// filter its ticks (outlier) and which inputs the rules read. A pipeline that
// deduplicates runs the outlier rules inside dedupe instead, as its
// dedupe.Options.Screen (Screen): same verdicts, one crossing of the runner
// fewer for every tick.
//
// # Lifecycle
//
// alert_id is tickbeam.NewAlertID(rule, symbol, event time), so a replay or a
// retried write produces the same ids. Thresholds are inclusive (>= high,
// <= low) and have hysteresis: a limit that fired re-arms only once the value
// is back past it by band. cooldown is per rule and symbol, in event time; a
// firing suppressed by the cooldown keeps its arm, so a value still beyond
// the limit fires when the cooldown ends. Severity is the rule's (default
// WARNING); recovery notices and accepted price levels are INFO. Alerts
// carry labels kind, notify (the rule's notifiers, comma-separated), the
// rule's labels and kind-specific ones (direction, resolution, state, ...).
// detected_at is the wall clock when the pipeline emitted the alert.
//
// # Order, panes and state
//
// Sequence rules evaluate each symbol's rows in event-time order whatever
// their arrival order: rows wait in a bounded per-symbol buffer (stateful
// DoFn, global window) until the watermark passes them. Of bars only the
// final pane a rule sees per window counts: EARLY panes are ignored, the
// highest pane_index of the panes waiting together wins, and a LATE pane of a
// window already evaluated is dropped as late (counted in
// tickbeam/alerts.late_rows). State is released by an event-time timer
// state_ttl (default 7 days) after a symbol's last row, since prism never
// collects global-window state.
//
// # Rules files
//
//	version: 1                      # optional
//	notifiers:                      # named notify.WebhookConfig / notify.EmailConfig
//	  webhooks:
//	    - {name: sms-gateway, url: "https://sms.example.com/hook", secret_env: SMS_SECRET}
//	  emails:
//	    - {name: ops-email, host: smtp.example.com, from: a@example.com, to: [ops@example.com],
//	       username: tickbeam, password_env: SMTP_PASSWORD}
//	rules:
//	  - name: krx-feed-fresh        # [a-z0-9][a-z0-9_.-]*, unique
//	    kind: stale_feed
//	    symbols: ["005930", "BTC*"] # globs (path.Match); default all
//	    max_silence: 5m
//	    sessions: {calendar: XKRX, kinds: [regular], hours: "08:50-16:00"}
//	    cooldown: 10m               # Go durations
//	    severity: WARNING           # INFO, WARNING, CRITICAL
//	    notify: [ops-email]         # must be defined under notifiers
//	    labels: {team: kr-desk}
//
// Kind fields: input (ticks|bars for price rules, bars|indicators for rsi,
// bars|crosses for ma_cross), resolution (bar rules), direction, threshold,
// band, window, factor, zscore, vwap (bar|session), fast, slow, period,
// overbought, oversold, max_silence, sigma, pct, min_history, accept_after,
// low, high (price_range), state_ttl; a field the kind does not use is an error, and so is any
// unknown key. LoadRules and ParseRules report every problem at once, each
// with its line and field:
//
//	rules.yaml:7: rules[1].threshold: must be > 0
//
// `tickbeam rules check FILE...` prints the same. Secrets never live in the
// file: secret_env and password_env name environment variables, read by
// RuleSet.Notifiers.
//
// # Delivering alerts
//
// Deliver(s, alerts, rs, opts) sends each alert to the notifiers its rule
// names (notify:) and splits the alerts in two: delivered (every notifier of the rule accepted
// the alert, or the rule names none, or is not in the set: passed through
// without a call) and failed, one tickbeam.DeadLetter per (alert, notifier)
// that failed, stage notify, source the notifier's name, payload the
// alert's JSON, error_message the notifier's error. An alert with one
// failing notifier of two is therefore not in delivered, though the other
// notifier did get it. Counters tickbeam/alerts.notified and notify_failed
// count the (alert, notifier) successes and failures.
//
// Secrets stay out of the pipeline graph, the dead letters and the errors:
// the DoFn carries the configs with the names of their environment
// variables only and builds the notifiers in Setup from the workers'
// environment, so the variables must be set wherever the workers run.
// Deliver checks them first in the launching process, so a missing one
// fails at construction (Deliver panics, TryDeliver returns the error). Rule-file values that are not secret_env or
// password_env (URLs, headers, hosts) do travel in the graph.
//
// Delivery is at least once: a retried bundle sends its alerts again. The
// webhook Idempotency-Key and the email Message-ID derive from alert_id, so
// receivers can drop the repeats.
//
// # Counters
//
// In namespace tickbeam/alerts: alerts counts the alerts of every rule kind
// but stale_feed, whose alerts are stale_outages (an outage) and
// stale_recoveries (the notice that data is back), so the Alert rows of a
// run number alerts + stale_outages + stale_recoveries. quarantined counts
// the ticks outlier rules sent to the dead letters; late_rows, early_panes,
// forced_rows and late_unjudged_ticks count rows not evaluated, or
// evaluated ahead of the watermark; notified, notify_failed and
// notify_down count deliveries.
package alerts
