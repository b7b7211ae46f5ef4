-- Column names follow the seed's original schema so that its tools can read it.
CREATE TABLE IF NOT EXISTS data_quality_logs (
  id                bigserial   PRIMARY KEY,
  created_at        timestamptz NOT NULL DEFAULT now(),
  market            text        DEFAULT 'spot',
  symbol            text,
  event_type        text        NOT NULL,
  gap_start         timestamptz,
  gap_end           timestamptz,
  candles_missing   integer,
  candles_recovered integer,
  source            text,
  error_message     text,
  resolved          boolean     NOT NULL DEFAULT false,
  resolved_at       timestamptz,
  details           jsonb,
  -- Open list (new kinds need no migration), but always a snake_case word.
  CONSTRAINT data_quality_logs_event_type_chk CHECK (event_type ~ '^[a-z][a-z0-9_]*$'),
  CONSTRAINT data_quality_logs_gap_chk CHECK (gap_end >= gap_start)
);

CREATE INDEX IF NOT EXISTS data_quality_logs_created_at_idx ON data_quality_logs (created_at);
CREATE INDEX IF NOT EXISTS data_quality_logs_symbol_idx
  ON data_quality_logs (market, symbol, event_type, created_at);
