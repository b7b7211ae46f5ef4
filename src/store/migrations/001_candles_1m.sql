-- One row per closed minute. Numeric columns hold the exchange's decimals exactly.
-- Derived columns are computed by the database (generated, stored), never by the client.
CREATE TABLE IF NOT EXISTS candles_1m (
  market          text        NOT NULL DEFAULT 'spot',
  symbol          text        NOT NULL,
  open_time       timestamptz NOT NULL,
  close_time      timestamptz NOT NULL,
  open            numeric     NOT NULL,
  high            numeric     NOT NULL,
  low             numeric     NOT NULL,
  close           numeric     NOT NULL,
  volume          numeric     NOT NULL,
  quote_volume    numeric     NOT NULL,
  trades          bigint      NOT NULL,
  taker_buy_base  numeric     NOT NULL,
  taker_buy_quote numeric     NOT NULL,
  first_trade_id  bigint,
  last_trade_id   bigint,
  bid             numeric,
  bid_qty         numeric,
  ask             numeric,
  ask_qty         numeric,
  mid_price       numeric GENERATED ALWAYS AS ((bid + ask) / 2) STORED,
  spread_bps      double precision GENERATED ALWAYS AS (
                    CASE WHEN bid + ask > 0 THEN ((ask - bid) / ((bid + ask) / 2) * 10000)::double precision END
                  ) STORED,
  taker_buy_ratio double precision GENERATED ALWAYS AS (
                    CASE WHEN volume > 0 THEN (taker_buy_base / volume)::double precision END
                  ) STORED,
  range_bps       double precision GENERATED ALWAYS AS (
                    CASE WHEN close > 0 THEN ((high - low) / close * 10000)::double precision END
                  ) STORED,
  source          text        NOT NULL,
  ingested_at     timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT candles_1m_pkey PRIMARY KEY (market, symbol, open_time),
  CONSTRAINT candles_1m_market_chk CHECK (market ~ '^[a-z][a-z0-9_]*$'),
  CONSTRAINT candles_1m_symbol_chk CHECK (symbol <> '' AND symbol = upper(symbol)),
  CONSTRAINT candles_1m_minute_chk CHECK (date_trunc('minute', open_time, 'UTC') = open_time),
  CONSTRAINT candles_1m_close_time_chk CHECK (close_time = open_time + interval '59.999 seconds'),
  CONSTRAINT candles_1m_prices_chk CHECK (
    low >= 0 AND high >= low AND open BETWEEN low AND high AND close BETWEEN low AND high
  ),
  CONSTRAINT candles_1m_volume_chk CHECK (
    volume >= 0 AND quote_volume >= 0 AND trades >= 0
    AND taker_buy_base BETWEEN 0 AND volume AND taker_buy_quote BETWEEN 0 AND quote_volume
  ),
  CONSTRAINT candles_1m_trade_ids_chk CHECK (last_trade_id >= first_trade_id),
  CONSTRAINT candles_1m_book_chk CHECK (
    num_nonnulls(bid, bid_qty, ask, ask_qty) IN (0, 4)
    AND bid >= 0 AND ask >= 0 AND bid_qty >= 0 AND ask_qty >= 0
  ),
  CONSTRAINT candles_1m_source_chk CHECK (source IN ('ws', 'rest', 'archive'))
);

-- The newest candle across all symbols (health, catch-up) without a full scan.
CREATE INDEX IF NOT EXISTS candles_1m_open_time_idx ON candles_1m (open_time DESC);
