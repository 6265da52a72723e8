SELECT * EXCEPT (pane_rank)
FROM (
  SELECT *, ROW_NUMBER() OVER (
    PARTITION BY symbol, resolution, window_start
    ORDER BY pane_index DESC, trades DESC, volume DESC
  ) AS pane_rank
  FROM `tickbeam-test.market.bars`
)
WHERE pane_rank = 1;
