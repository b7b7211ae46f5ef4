-- Coarser candles from candles_1m (plain PostgreSQL / PGlite). With TimescaleDB these
-- views are replaced by continuous aggregates of the same names and columns.
-- date_bin (PG14+) with a UTC-midnight origin; first/last through ordered array_agg
-- (any_value and friends are PG16+).
CREATE OR REPLACE VIEW candles_5m AS
SELECT market, symbol,
       date_bin(interval '5 minutes', open_time, timestamptz '2000-01-01 00:00:00+00') AS open_time,
       (array_agg(open ORDER BY open_time))[1] AS open,
       max(high) AS high,
       min(low) AS low,
       (array_agg(close ORDER BY open_time DESC))[1] AS close,
       sum(volume) AS volume,
       sum(quote_volume) AS quote_volume,
       sum(trades) AS trades,
       sum(taker_buy_base) AS taker_buy_base,
       sum(taker_buy_quote) AS taker_buy_quote,
       count(*)::integer AS candles
FROM candles_1m
GROUP BY market, symbol, 3;

CREATE OR REPLACE VIEW candles_1h AS
SELECT market, symbol,
       date_bin(interval '1 hour', open_time, timestamptz '2000-01-01 00:00:00+00') AS open_time,
       (array_agg(open ORDER BY open_time))[1] AS open,
       max(high) AS high,
       min(low) AS low,
       (array_agg(close ORDER BY open_time DESC))[1] AS close,
       sum(volume) AS volume,
       sum(quote_volume) AS quote_volume,
       sum(trades) AS trades,
       sum(taker_buy_base) AS taker_buy_base,
       sum(taker_buy_quote) AS taker_buy_quote,
       count(*)::integer AS candles
FROM candles_1m
GROUP BY market, symbol, 3;

CREATE OR REPLACE VIEW candles_1d AS
SELECT market, symbol,
       date_bin(interval '1 day', open_time, timestamptz '2000-01-01 00:00:00+00') AS open_time,
       (array_agg(open ORDER BY open_time))[1] AS open,
       max(high) AS high,
       min(low) AS low,
       (array_agg(close ORDER BY open_time DESC))[1] AS close,
       sum(volume) AS volume,
       sum(quote_volume) AS quote_volume,
       sum(trades) AS trades,
       sum(taker_buy_base) AS taker_buy_base,
       sum(taker_buy_quote) AS taker_buy_quote,
       count(*)::integer AS candles
FROM candles_1m
GROUP BY market, symbol, 3;
