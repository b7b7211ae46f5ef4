-- The quote on a candle is the last bookTicker at or before its close, and says when it was
-- current: `quote_time` is the futures transaction time `T`, or the spot receive time on the
-- exchange's clock. It travels with the quote: written, kept and never erased together with
-- bid/bid_qty/ask/ask_qty (rows stored before this migration have a quote without a time).
-- Nullable, no default: adding it rewrites nothing, also on compressed TimescaleDB chunks.
-- No new CHECK: adding one would have to scan (and on TimescaleDB, decompress) every row.
ALTER TABLE candles_1m ADD COLUMN IF NOT EXISTS quote_time timestamptz;

-- A minute without trades has one representation whatever the source: NULL trade ids and
-- trades = 0. The stream used to store Binance's -1 sentinel where REST stored NULL.
-- TimescaleDB releases that cannot change compressed rows refuse the UPDATE; the rows
-- there keep -1 (readers treat -1 as NULL) rather than failing the whole migration.
DO $$
BEGIN
  UPDATE candles_1m SET first_trade_id = NULL, last_trade_id = NULL, updated_at = now()
   WHERE first_trade_id = -1 OR last_trade_id = -1;
EXCEPTION WHEN feature_not_supported OR object_not_in_prerequisite_state THEN
  RAISE WARNING 'candles_1m: -1 trade ids in compressed chunks were left as they are (%)', SQLERRM;
END
$$;

-- upsert_candle() takes the quote time as a last, optional argument: every earlier call
-- (positional or named) still resolves, to this one function. The conflict rules match
-- src/store/candle-sql.ts (a test keeps them equal):
--   * values follow the latest write; rewriting identical values changes nothing;
--   * bid/ask with their quote_time, and trade ids, are never erased by a write without them;
--   * source and ingested_at describe the first write (provenance), updated_at the last change;
--   * Binance's -1 trade ids (a minute without trades) are stored as NULL.
-- Returns 'inserted', 'updated' or 'unchanged'.
DROP FUNCTION IF EXISTS upsert_candle(
  text, text, timestamptz, timestamptz, numeric, numeric, numeric, numeric, numeric, numeric, bigint,
  numeric, numeric, text, bigint, bigint, numeric, numeric, numeric, numeric
);
CREATE OR REPLACE FUNCTION upsert_candle(
  p_market text, p_symbol text, p_open_time timestamptz, p_close_time timestamptz,
  p_open numeric, p_high numeric, p_low numeric, p_close numeric,
  p_volume numeric, p_quote_volume numeric, p_trades bigint,
  p_taker_buy_base numeric, p_taker_buy_quote numeric, p_source text,
  p_first_trade_id bigint DEFAULT NULL, p_last_trade_id bigint DEFAULT NULL,
  p_bid numeric DEFAULT NULL, p_bid_qty numeric DEFAULT NULL,
  p_ask numeric DEFAULT NULL, p_ask_qty numeric DEFAULT NULL,
  p_quote_time timestamptz DEFAULT NULL
) RETURNS text
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_inserted boolean;
BEGIN
  INSERT INTO candles_1m AS c (
    market, symbol, open_time, close_time, open, high, low, close, volume, quote_volume, trades,
    taker_buy_base, taker_buy_quote, first_trade_id, last_trade_id, bid, bid_qty, ask, ask_qty, quote_time,
    source
  ) VALUES (
    p_market, p_symbol, p_open_time, p_close_time, p_open, p_high, p_low, p_close, p_volume, p_quote_volume,
    p_trades, p_taker_buy_base, p_taker_buy_quote, NULLIF(p_first_trade_id, -1), NULLIF(p_last_trade_id, -1),
    p_bid, p_bid_qty, p_ask, p_ask_qty, CASE WHEN p_bid IS NULL THEN NULL ELSE p_quote_time END, p_source
  )
  ON CONFLICT (market, symbol, open_time) DO UPDATE SET
    close_time = excluded.close_time,
    open = excluded.open,
    high = excluded.high,
    low = excluded.low,
    close = excluded.close,
    volume = excluded.volume,
    quote_volume = excluded.quote_volume,
    trades = excluded.trades,
    taker_buy_base = excluded.taker_buy_base,
    taker_buy_quote = excluded.taker_buy_quote,
    first_trade_id = CASE WHEN excluded.first_trade_id IS NULL THEN c.first_trade_id ELSE excluded.first_trade_id END,
    last_trade_id = CASE WHEN excluded.first_trade_id IS NULL THEN c.last_trade_id ELSE excluded.last_trade_id END,
    bid = CASE WHEN excluded.bid IS NULL THEN c.bid ELSE excluded.bid END,
    bid_qty = CASE WHEN excluded.bid IS NULL THEN c.bid_qty ELSE excluded.bid_qty END,
    ask = CASE WHEN excluded.bid IS NULL THEN c.ask ELSE excluded.ask END,
    ask_qty = CASE WHEN excluded.bid IS NULL THEN c.ask_qty ELSE excluded.ask_qty END,
    quote_time = CASE WHEN excluded.bid IS NULL THEN c.quote_time ELSE excluded.quote_time END,
    updated_at = now()
  WHERE (c.close_time, c.open, c.high, c.low, c.close, c.volume, c.quote_volume, c.trades,
         c.taker_buy_base, c.taker_buy_quote)
        IS DISTINCT FROM (excluded.close_time, excluded.open, excluded.high, excluded.low, excluded.close,
         excluded.volume, excluded.quote_volume, excluded.trades, excluded.taker_buy_base, excluded.taker_buy_quote)
     OR (excluded.first_trade_id IS NOT NULL
         AND (c.first_trade_id, c.last_trade_id) IS DISTINCT FROM (excluded.first_trade_id, excluded.last_trade_id))
     OR (excluded.bid IS NOT NULL
         AND (c.bid, c.bid_qty, c.ask, c.ask_qty, c.quote_time)
             IS DISTINCT FROM (excluded.bid, excluded.bid_qty, excluded.ask, excluded.ask_qty, excluded.quote_time))
  RETURNING (xmax = 0) INTO v_inserted;
  IF NOT FOUND THEN
    RETURN 'unchanged';
  END IF;
  RETURN CASE WHEN v_inserted THEN 'inserted' ELSE 'updated' END;
END
$$;
