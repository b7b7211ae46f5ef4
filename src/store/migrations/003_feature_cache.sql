-- Rolling normalised features of the candle at open_time over the last window_size closed candles.
CREATE TABLE IF NOT EXISTS feature_cache (
  market        text             NOT NULL DEFAULT 'spot',
  symbol        text             NOT NULL,
  open_time     timestamptz      NOT NULL,
  window_size   integer          NOT NULL,
  computed_at   timestamptz      NOT NULL DEFAULT now(),
  close_zscore  double precision,
  close_minmax  double precision,
  volume_zscore double precision,
  volume_minmax double precision,
  CONSTRAINT feature_cache_pkey PRIMARY KEY (market, symbol, open_time, window_size),
  CONSTRAINT feature_cache_window_chk CHECK (window_size > 0),
  CONSTRAINT feature_cache_symbol_chk CHECK (symbol <> '' AND symbol = upper(symbol))
);
