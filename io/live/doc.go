// Package live connects tickbeam to market-data vendors' live feeds and
// hands on their messages exactly as the vendors send them, as the raw lines
// transforms/parse already reads: parsing, dead letters and dedupe are the
// same as for captured files or Pub/Sub.
//
// An input URI names the vendor and its settings, parsed once by Parse into
// a Spec (the one place such strings are read):
//
//	binance:?symbols=BTCUSDT,ETHUSDT              spot trade streams, one combined-stream connection
//	coinbase:?products=BTC-USD                    Advanced Trade market_trades + heartbeats
//	alpaca:?symbols=AAPL,MSFT&feed=iex|sip        stock trades (ALPACA_API_KEY_ID, ALPACA_API_SECRET_KEY)
//	alpaca:crypto?symbols=BTC/USD                 crypto trades (same credentials)
//	kis:?symbols=005930,000660                    KRX trades, H0STCNT0 (KIS_APP_KEY, KIS_APP_SECRET)
//	tradingview:?symbols=BINANCE:SOLUSDT          quote session (TRADINGVIEW_AUTH_TOKEN optional)
//	alphavantage:?symbols=IBM&interval=1min&every=60s   REST polling (ALPHAVANTAGE_API_KEY)
//
// Every vendor also takes endpoint= (its websocket or polling URL: tests
// point it at a loopback server), rest= (its REST base URL), silence= (the
// watchdog), max_frame=, max_age=, max_backoff=, backfill= and source=.
// Credentials come only from the environment, never from URIs or flags,
// and never appear in logs or errors.
//
// A Connector stays connected: it reconnects with jittered exponential
// backoff (cenkalti/backoff), resubscribes, drops a connection that has been
// silent (no frame, no ping) for silence=, reconnects Binance before its
// 24 h forced disconnect, and waits out rate-limit replies (HTTP 429/418
// with Retry-After, vendor error frames). A vendor that refuses the
// credentials or the subscription stops it with an *AuthError, one line,
// without retrying. Frames larger than max_frame become dead letters
// holding their first 4 KiB; garbage frames pass on, for the parser to
// dead-letter.
//
// Gaps are found where a feed shows them: Binance and Coinbase trade ids,
// KIS cumulative volume, Alpaca trades missed during an outage, Alpha
// Vantage intervals without a bar. Binance (historicalTrades), Coinbase
// (Exchange trades) and Alpaca (historical trades) gaps are backfilled
// before the trade that revealed them; the overlap is dedupe's to drop.
// Every gap is a tickbeam.Gap row.
//
// `tickbeam feed --input=URI` publishes the lines to Pub/Sub; Read is an
// unbounded Beam source of them on the local runner (prism), with an
// event-time watermark held WatermarkDelay behind the data, as the Pub/Sub
// reader's, and not advanced while a connection is down.
package live
