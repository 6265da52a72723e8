CREATE OR REPLACE EXTERNAL TABLE `tickbeam-test.lake.deadletters` (
  `timestamp` TIMESTAMP,
  `payload_string` STRING,
  `payload_bytes` BYTES,
  `attributes` ARRAY<STRUCT<`key` STRING, `value` STRING>>,
  `error_message` STRING,
  `stage` STRING,
  `source` STRING
)
WITH PARTITION COLUMNS (
  dt DATE,
  hour INT64
)
OPTIONS (
  format = 'NEWLINE_DELIMITED_JSON',
  compression = 'GZIP',
  uris = ['gs://tickbeam-lake/deadletters/*'],
  hive_partition_uri_prefix = 'gs://tickbeam-lake/deadletters',
  require_hive_partition_filter = true,
  ignore_unknown_values = true
);
