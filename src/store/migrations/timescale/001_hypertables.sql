-- Applied only where pg_available_extensions lists timescaledb (never on PGlite,
-- never on the Debian PostgreSQL of CI). Turns the plain tables into hypertables,
-- compresses candles older than 7 days, and replaces the candles_5m/1h/1d views by
-- continuous aggregates with the same names and columns.
-- Note: once compression is on, later ALTER TABLE candles_1m migrations are restricted.
CREATE EXTENSION IF NOT EXISTS timescaledb;

SELECT create_hypertable('candles_1m', 'open_time', chunk_time_interval => interval '7 days',
                         create_default_indexes => false, if_not_exists => true, migrate_data => true);
SELECT create_hypertable('feature_cache', 'open_time', chunk_time_interval => interval '7 days',
                         create_default_indexes => false, if_not_exists => true, migrate_data => true);

ALTER TABLE candles_1m SET (
  timescaledb.compress,
  timescaledb.compress_segmentby = 'market, symbol',
  timescaledb.compress_orderby = 'open_time'
);
SELECT add_compression_policy('candles_1m', interval '7 days', if_not_exists => true);

DROP VIEW IF EXISTS candles_5m;
DROP VIEW IF EXISTS candles_1h;
DROP VIEW IF EXISTS candles_1d;

CREATE MATERIALIZED VIEW IF NOT EXISTS candles_5m WITH (timescaledb.continuous) AS
SELECT market, symbol, time_bucket(interval '5 minutes', open_time) AS open_time,
       first(open, open_time) AS open, max(high) AS high, min(low) AS low, last(close, open_time) AS close,
       sum(volume) AS volume, sum(quote_volume) AS quote_volume, sum(trades) AS trades,
       sum(taker_buy_base) AS taker_buy_base, sum(taker_buy_quote) AS taker_buy_quote,
       count(*)::integer AS candles
FROM candles_1m
GROUP BY market, symbol, time_bucket(interval '5 minutes', open_time)
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS candles_1h WITH (timescaledb.continuous) AS
SELECT market, symbol, time_bucket(interval '1 hour', open_time) AS open_time,
       first(open, open_time) AS open, max(high) AS high, min(low) AS low, last(close, open_time) AS close,
       sum(volume) AS volume, sum(quote_volume) AS quote_volume, sum(trades) AS trades,
       sum(taker_buy_base) AS taker_buy_base, sum(taker_buy_quote) AS taker_buy_quote,
       count(*)::integer AS candles
FROM candles_1m
GROUP BY market, symbol, time_bucket(interval '1 hour', open_time)
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS candles_1d WITH (timescaledb.continuous) AS
SELECT market, symbol, time_bucket(interval '1 day', open_time) AS open_time,
       first(open, open_time) AS open, max(high) AS high, min(low) AS low, last(close, open_time) AS close,
       sum(volume) AS volume, sum(quote_volume) AS quote_volume, sum(trades) AS trades,
       sum(taker_buy_base) AS taker_buy_base, sum(taker_buy_quote) AS taker_buy_quote,
       count(*)::integer AS candles
FROM candles_1m
GROUP BY market, symbol, time_bucket(interval '1 day', open_time)
WITH NO DATA;

SELECT add_continuous_aggregate_policy('candles_5m', start_offset => interval '1 day',
       end_offset => interval '5 minutes', schedule_interval => interval '1 minute', if_not_exists => true);
SELECT add_continuous_aggregate_policy('candles_1h', start_offset => interval '3 days',
       end_offset => interval '1 hour', schedule_interval => interval '5 minutes', if_not_exists => true);
SELECT add_continuous_aggregate_policy('candles_1d', start_offset => interval '7 days',
       end_offset => interval '1 day', schedule_interval => interval '1 hour', if_not_exists => true);
