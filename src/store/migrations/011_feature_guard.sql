-- What a feature row was computed from, beside window_count (the candles its window held):
-- window_quoted, how many of them carried a quote (spread_bps). A window only ever gains
-- candles and quotes (rows are never deleted by the writers, a quote is never erased), so a
-- row computed from an older view of candles_1m holds fewer of one or the other. The feature
-- upsert refuses such a write over a row that saw more (src/feature-store/feature-sql.ts).
-- Nullable without a default: rows written before this migration have none, and on a
-- compressed TimescaleDB hypertable only such a column can be added.
ALTER TABLE feature_cache ADD COLUMN IF NOT EXISTS window_quoted integer;
