-- The aggregates again, now real-time (materialized_only = false): a query sees the
-- materialised buckets plus, above the watermark, the raw minutes aggregated on the fly,
-- so each equals the plain view over the same candles_1m rows. They gain the first and
-- last minute of each bucket. History is materialised after this migration, outside a
-- transaction (refresh_continuous_aggregate cannot run inside one); until then every
-- bucket is computed on the fly, which is correct, only slower.
-- Column order is the plain views' (006, 009), so the two can be compared row for row.
DO $$
DECLARE
  v record;
BEGIN
  FOR v IN SELECT * FROM (VALUES ('candles_5m', '5 minutes'), ('candles_1h', '1 hour'), ('candles_1d', '1 day')) AS t(name, width)
  LOOP
    EXECUTE format('DROP MATERIALIZED VIEW IF EXISTS %I', v.name);
    EXECUTE format($v$
      CREATE MATERIALIZED VIEW %I
      WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
      SELECT market, symbol, time_bucket(interval %L, open_time) AS open_time,
             first(open, open_time) AS open, max(high) AS high, min(low) AS low, last(close, open_time) AS close,
             sum(volume) AS volume, sum(quote_volume) AS quote_volume, sum(trades) AS trades,
             sum(taker_buy_base) AS taker_buy_base, sum(taker_buy_quote) AS taker_buy_quote,
             count(*)::integer AS candles, min(open_time) AS first_open_time, max(open_time) AS last_open_time
      FROM candles_1m
      GROUP BY market, symbol, time_bucket(interval %L, open_time)
      WITH NO DATA$v$, v.name, v.width, v.width);
  END LOOP;
END
$$;

-- The policies keep the live edge materialised where background jobs run. Their end offset
-- is the service's refresh margin (10 minutes): a bucket is materialised only once every
-- minute in it is 10 minutes closed, so a late live candle never lands under the
-- watermark; anything older that is written later (backfill, replay) is refreshed by the
-- service right after its commit.
SELECT add_continuous_aggregate_policy('candles_5m', start_offset => interval '3 hours',
       end_offset => interval '10 minutes', schedule_interval => interval '5 minutes');
SELECT add_continuous_aggregate_policy('candles_1h', start_offset => interval '1 day',
       end_offset => interval '10 minutes', schedule_interval => interval '30 minutes');
SELECT add_continuous_aggregate_policy('candles_1d', start_offset => interval '3 days',
       end_offset => interval '10 minutes', schedule_interval => interval '1 hour');
