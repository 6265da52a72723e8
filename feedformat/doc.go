// Package feedformat reads the market-data feeds tickbeam knows: one Parser
// per vendor message format, turning a raw payload into tickbeam.Ticks. It
// is plain Go, no Beam: io/live uses it to find gaps in a vendor's trade ids,
// and transforms/parse runs it in a pipeline.
//
// New returns the Parser of a named format; Formats lists them:
//
//	binance       Binance spot trade stream ({"e":"trade",…}), raw or in a
//	              combined-stream envelope {"stream":…,"data":{…}}
//	alpaca        Alpaca market data v2 stream: arrays of trades and quotes
//	coinbase      Coinbase Exchange websocket match / last_match
//	kis           Korea Investment & Securities real-time trades (H0STCNT0)
//	tradingview   TradingView quote-session frames (~m~LEN~m~{…})
//	alphavantage  Alpha Vantage TIME_SERIES_* and GLOBAL_QUOTE responses
//	json          any JSON object (or array of them), fields mapped by Options.JSONFields
//	csv           CSV lines, columns mapped by Options.CSVColumns
//	tick          tickbeam's own Tick JSON (the raw archive; keeps each tick's source)
//
// Parse appends the ticks of one payload to a slice and returns it. Times
// are UTC, IngestTime is left zero for the caller to set, and Source is
// Options.Source (default: the format name). A Parser keeps small caches (the
// symbols it has seen, so the hot path allocates no string per message): it
// is not safe for concurrent use; give each DoFn instance its own.
//
// # Control messages and errors
//
// A payload that holds no market data by design (subscription acks,
// heartbeats, PINGPONG frames, statuses, partial quote updates, CSV headers)
// returns ErrControl: count those, do not dead-letter them. Some control
// messages carry a server-side problem worth a log line (Binance, Alpaca and
// Coinbase error frames, a refused KIS subscription): they return an error
// for which errors.Is(err, ErrControl) holds and whose message quotes the
// server. Test with errors.Is, not ==.
//
// Any other error is a malformed payload, named by format and field, e.g.
//
//	binance: field "p": invalid price "abc"
//
// Messages quote at most 64 bytes of a payload value (vendor messages such as
// Alpha Vantage's rate-limit notes up to 300) and never the credentials or
// keys a payload may carry. On error Parse returns dst unchanged; it never
// panics, never modifies the payload and never keeps a reference to it, so a
// payload may alias a string.
//
// # Validation
//
// Parsers only parse: an unparsable number or time is an error, but a
// negative price or a timestamp from 1970 is not. Validate applies the rules
// every tick must meet whatever its feed (symbol present, positive finite
// trade price, sizes not negative, event time within Limits).
//
// # Feed notes
//
// Binance: event time is the trade time T; m (buyer is maker) true means
// the seller took liquidity: side SELL. Currency is left empty (the quote
// asset cannot be told from the symbol reliably). Events other than "trade"
// (aggTrade, kline, …) are control messages. The parser uses
// internal/jsonscan, one allocation per message (the trade id).
//
// Alpaca: stock trades carry no aggressor side (UNKNOWN); crypto trades
// carry the taker side (tks). Quotes have bid and ask venues but no single
// one: Venue is empty. Currency is USD, or the quote currency of a crypto
// pair ("ETH/BTC" -> BTC). Non-tick messages (bars, statuses, lulds,
// corrections, cancel errors) are skipped.
//
// Coinbase: side is the maker's, so "sell" means a buyer took liquidity
// (BUY). Currency is the quote currency of product_id.
//
// KIS: time is BSOP_DATE + STCK_CNTG_HOUR in Asia/Seoul; PrevClose is
// STCK_PRPR − PRDY_VRSS, negated by PRDY_VRSS_SIGN 4 or 5 when the feed sends
// it unsigned. KIS sends no trade id; a trade is identified by (symbol,
// BSOP_DATE, ACML_VOL), as the cumulative volume grows with every trade, so
// TradeID is BSOP_DATE followed by ACML_VOL zero-padded to 12 digits
// ("20260115000012345678"): numeric, unique per symbol and day, and ordered.
// Encrypted payloads (first field 1) and other tr_ids are errors.
//
// TradingView: a qsd with a last price (lp) becomes a QUOTE at lp_time with
// PrevClose lp − ch, rounded to the inputs' decimals. Updates without lp
// (only volume, or only bid/ask) carry no timestamp and are skipped; a qsd
// with lp but no lp_time is an error rather than a tick stamped with the
// clock. The day's cumulative volume is not a trade size and is not kept.
// Symbol keeps its exchange prefix ("BINANCE:SOLUSDT"); Venue is the prefix.
//
// Alpha Vantage: each time-series row is one TRADE at its close (Price the
// close, Size the volume, TradeID the row time's digits, "20240105195900"),
// at the row time in the Meta Data time zone, emitted in ascending time
// order. The vendor's open, high and low are not kept. GLOBAL_QUOTE is a
// QUOTE with Price and PrevClose at 16:00 America/New_York on the latest
// trading day: that date is its only timestamp and the quote reflects the
// regular session. Information, Note and Error Message responses (rate
// limits, bad calls) are errors quoting the vendor.
//
// json and csv: symbol, price and event_time must be mapped (symbol may be
// left out when Options.Symbol is set). Values may be strings or numbers.
// event_time follows Options.TimeLayout when set; otherwise a number (or a
// numeric string) is Unix time in seconds, ms, µs or ns by magnitude (below
// 1e11, 1e14, 1e17, else ns; a fraction is kept), and a string is RFC 3339,
// or a date-time without offset in Options.Location (default UTC). side maps
// buy/b/bid to BUY and sell/s/ask/offer to SELL (any case), else UNKNOWN;
// kind is trade/t (default) or quote/q. A csv payload may hold several lines;
// a line whose cells equal their field names is a header (ErrControl), and
// with Options.CSVHeader so is a line whose price and event_time both fail
// to parse.
package feedformat
