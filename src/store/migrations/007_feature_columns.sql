-- Features beside the four the spec fixes, and how many candles each window really held
-- (a young symbol or a missing minute gives fewer than window_size). docs/FEATURES.md defines each.
-- Nullable: rows written before this migration have none of them.
ALTER TABLE feature_cache
  ADD COLUMN IF NOT EXISTS log_return             double precision,
  ADD COLUMN IF NOT EXISTS spread_bps_zscore      double precision,
  ADD COLUMN IF NOT EXISTS taker_buy_ratio_zscore double precision,
  ADD COLUMN IF NOT EXISTS close_mean             double precision,
  ADD COLUMN IF NOT EXISTS close_std              double precision,
  ADD COLUMN IF NOT EXISTS window_count           integer,
  ADD COLUMN IF NOT EXISTS window_full            boolean;

ALTER TABLE feature_cache ADD CONSTRAINT feature_cache_window_count_chk
  CHECK (window_count BETWEEN 1 AND window_size AND window_full = (window_count = window_size));
