-- The plain views gain the first and last minute of each bucket (appended, as CREATE OR
-- REPLACE VIEW requires). Where TimescaleDB already turned them into continuous aggregates,
-- timescale/002 redefines those instead and nothing is done here.
DO $$
DECLARE
  cagg boolean := false;
  v record;
BEGIN
  IF to_regclass('_timescaledb_catalog.continuous_agg') IS NOT NULL THEN
    EXECUTE 'SELECT EXISTS (SELECT 1 FROM _timescaledb_catalog.continuous_agg WHERE user_view_name = ''candles_5m'')'
      INTO cagg;
  END IF;
  IF cagg THEN
    RETURN;
  END IF;
  FOR v IN SELECT * FROM (VALUES ('candles_5m', '5 minutes'), ('candles_1h', '1 hour'), ('candles_1d', '1 day')) AS t(name, width)
  LOOP
    EXECUTE format($v$
      CREATE OR REPLACE VIEW %I AS
      SELECT market, symbol,
             date_bin(interval %L, open_time, timestamptz '2000-01-01 00:00:00+00') AS open_time,
             (array_agg(open ORDER BY open_time))[1] AS open,
             max(high) AS high,
             min(low) AS low,
             (array_agg(close ORDER BY open_time DESC))[1] AS close,
             sum(volume) AS volume,
             sum(quote_volume) AS quote_volume,
             sum(trades) AS trades,
             sum(taker_buy_base) AS taker_buy_base,
             sum(taker_buy_quote) AS taker_buy_quote,
             count(*)::integer AS candles,
             min(open_time) AS first_open_time,
             max(open_time) AS last_open_time
      FROM candles_1m
      GROUP BY market, symbol, 3$v$, v.name, v.width);
  END LOOP;
END
$$;
