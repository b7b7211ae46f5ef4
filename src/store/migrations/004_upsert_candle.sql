-- Inserts or updates one candle with the service's conflict rules (the batch path,
-- src/store/candle-sql.ts, uses the same ON CONFLICT clause; a test keeps them equal):
--   * values follow the latest write; rewriting identical values changes nothing;
--   * bid/ask and trade ids are never erased by a write without them;
--   * source and ingested_at describe the first write (provenance), updated_at the last change.
-- Returns 'inserted', 'updated' or 'unchanged'.
CREATE OR REPLACE FUNCTION upsert_candle(
  p_market text, p_symbol text, p_open_time timestamptz, p_close_time timestamptz,
  p_open numeric, p_high numeric, p_low numeric, p_close numeric,
  p_volume numeric, p_quote_volume numeric, p_trades bigint,
  p_taker_buy_base numeric, p_taker_buy_quote numeric, p_source text,
  p_first_trade_id bigint DEFAULT NULL, p_last_trade_id bigint DEFAULT NULL,
  p_bid numeric DEFAULT NULL, p_bid_qty numeric DEFAULT NULL,
  p_ask numeric DEFAULT NULL, p_ask_qty numeric DEFAULT NULL
) RETURNS text
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_inserted boolean;
BEGIN
  INSERT INTO candles_1m AS c (
    market, symbol, open_time, close_time, open, high, low, close, volume, quote_volume, trades,
    taker_buy_base, taker_buy_quote, first_trade_id, last_trade_id, bid, bid_qty, ask, ask_qty, source
  ) VALUES (
    p_market, p_symbol, p_open_time, p_close_time, p_open, p_high, p_low, p_close, p_volume, p_quote_volume,
    p_trades, p_taker_buy_base, p_taker_buy_quote, p_first_trade_id, p_last_trade_id,
    p_bid, p_bid_qty, p_ask, p_ask_qty, p_source
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
    updated_at = now()
  WHERE (c.close_time, c.open, c.high, c.low, c.close, c.volume, c.quote_volume, c.trades,
         c.taker_buy_base, c.taker_buy_quote)
        IS DISTINCT FROM (excluded.close_time, excluded.open, excluded.high, excluded.low, excluded.close,
         excluded.volume, excluded.quote_volume, excluded.trades, excluded.taker_buy_base, excluded.taker_buy_quote)
     OR (excluded.first_trade_id IS NOT NULL
         AND (c.first_trade_id, c.last_trade_id) IS DISTINCT FROM (excluded.first_trade_id, excluded.last_trade_id))
     OR (excluded.bid IS NOT NULL
         AND (c.bid, c.bid_qty, c.ask, c.ask_qty) IS DISTINCT FROM (excluded.bid, excluded.bid_qty, excluded.ask, excluded.ask_qty))
  RETURNING (xmax = 0) INTO v_inserted;
  IF NOT FOUND THEN
    RETURN 'unchanged';
  END IF;
  RETURN CASE WHEN v_inserted THEN 'inserted' ELSE 'updated' END;
END
$$;
