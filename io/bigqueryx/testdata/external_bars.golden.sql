CREATE OR REPLACE EXTERNAL TABLE `tickbeam-test.lake.bars_1m` (
  `symbol` STRING,
  `resolution` STRING,
  `window_start` TIMESTAMP,
  `window_end` TIMESTAMP,
  `open` FLOAT64,
  `high` FLOAT64,
  `low` FLOAT64,
  `close` FLOAT64,
  `volume` FLOAT64,
  `notional` FLOAT64,
  `vwap` FLOAT64,
  `trades` INT64,
  `buy_volume` FLOAT64,
  `sell_volume` FLOAT64,
  `timing` STRING,
  `pane_index` INT64
)
WITH PARTITION COLUMNS (
  dt DATE,
  hour INT64
)
OPTIONS (
  format = 'NEWLINE_DELIMITED_JSON',
  uris = ['gs://tickbeam-lake/bars/1m/*'],
  hive_partition_uri_prefix = 'gs://tickbeam-lake/bars/1m',
  require_hive_partition_filter = false,
  ignore_unknown_values = true
);
