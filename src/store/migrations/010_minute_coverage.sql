-- minute_coverage(market, symbol, from, to[, grace]): one row per minute of one symbol, with
-- what the database knows about it.
--
-- Range: the same convention as detect_gaps / missing_minutes (005): half-open, [p_from, p_to).
-- The first minute is the first whole minute at or after p_from, the last is the last one that
-- opens before p_to. p_from = p_to gives no rows; p_from > p_to, a null argument or a negative
-- p_grace raise an error (SQLSTATE 22023 / 22004) rather than answering with nothing.
-- market and symbol are matched as stored (lower-case market, upper-case symbol); other
-- spellings are normalised first.
--
-- Columns:
--   open_time        the minute's open time; rows come in open_time order
--   status           stored          a candle row exists
--                    confirmed_empty no candle, and Binance confirmed it has none: the minute
--                                    lies in a gap_unfillable record of data_quality_logs
--                                    (gap_start <= minute <= gap_end, the rule of
--                                    gap-queries.ts confirmedEmptyRanges)
--                    in_progress     no candle yet, and not overdue: now() < open + 60 s + p_grace
--                                    (also every minute in the future)
--                    missing         no candle, overdue, and not explained
--   source           ws | rest | archive: who wrote the candle first; null without a candle
--   ingested_at      when the candle was first written; null without a candle
--   feature_windows  the window sizes with a feature_cache row for the minute, ascending;
--                    '{}' when none
-- now() is the database's clock at the start of the transaction. p_grace defaults to the
-- default GAP_DETECTION_THRESHOLD (70 s); the service passes its configured value.
--
-- Plan (a year is 525 600 minutes, so nothing here may be per row):
--   * stored minutes: one range scan of candles_1m;
--   * holes: lead() over an index-only range scan of the same range, each hole expanded to its
--     minutes (plus the leading hole, before the first candle);
--   * one sort of the (narrow) minute rows, then a merge join with feature_cache aggregated
--     per minute over its own range scan (GroupAggregate on the primary key's order);
--   * the confirmed-empty ranges are read once, as a multirange.
-- The function is a single SELECT so that PostgreSQL inlines it into the caller's query: the
-- arguments become constants for the planner, and a caller's ORDER BY open_time or merge join
-- on open_time reuses the order. Keep it that way: no SET clause, not STRICT, not plpgsql.

-- The argument checks, evaluated once per call (a one-time filter in the plan).
CREATE OR REPLACE FUNCTION minute_coverage_check(
  p_market text, p_symbol text, p_from timestamptz, p_to timestamptz, p_grace interval
) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF p_market IS NULL OR p_symbol IS NULL OR p_from IS NULL OR p_to IS NULL OR p_grace IS NULL THEN
    RAISE EXCEPTION 'minute_coverage: market, symbol, from, to and grace must not be null'
      USING ERRCODE = '22004';
  END IF;
  IF p_from > p_to THEN
    RAISE EXCEPTION 'minute_coverage: from (%) is after to (%)', p_from, p_to
      USING ERRCODE = '22023', HINT = 'The range is [from, to): give the earlier time first.';
  END IF;
  IF p_grace < interval '0' THEN
    RAISE EXCEPTION 'minute_coverage: grace (%) is negative', p_grace USING ERRCODE = '22023';
  END IF;
  RETURN true;
END
$$;

-- The minutes [p_first, p_last] of one hole. A function of its own only for its row estimate:
-- holes are rare, and generate_series' default of 1000 rows per hole made the planner expect
-- billions of rows (and JIT-compile for seconds).
CREATE OR REPLACE FUNCTION minute_coverage_minutes(p_first timestamptz, p_last timestamptz)
RETURNS SETOF timestamptz
LANGUAGE sql IMMUTABLE STRICT ROWS 1 AS $$
  SELECT generate_series(p_first, p_last, interval '1 minute')
$$;

CREATE OR REPLACE FUNCTION minute_coverage(
  p_market text, p_symbol text, p_from timestamptz, p_to timestamptz,
  p_grace interval DEFAULT '70 seconds'
) RETURNS TABLE (
  open_time timestamptz, status text, source text, ingested_at timestamptz, feature_windows int[]
)
LANGUAGE sql STABLE AS $$
  SELECT s.m,
         CASE WHEN s.stored THEN 'stored'
              WHEN s.m <@ (SELECT range_agg(tstzrange(q.gap_start, q.gap_end, '[]'))
                             FROM data_quality_logs q
                            WHERE q.event_type = 'gap_unfillable'
                              AND q.market = lower(p_market) AND q.symbol = upper(p_symbol)
                              AND q.gap_start < p_to AND q.gap_end >= p_from) THEN 'confirmed_empty'
              WHEN now() < s.m + interval '1 minute' + p_grace THEN 'in_progress'
              ELSE 'missing' END,
         s.source,
         s.ingested_at,
         coalesce(f.windows, '{}'::int[])
    FROM (
      -- Stored minutes.
      SELECT c.open_time AS m, true AS stored, c.source, c.ingested_at
        FROM candles_1m c
       WHERE c.market = lower(p_market) AND c.symbol = upper(p_symbol)
         AND c.open_time >= date_trunc('minute', p_from - interval '1 microsecond', 'UTC') + interval '1 minute'
         AND c.open_time < p_to
         AND minute_coverage_check(p_market, p_symbol, p_from, p_to, p_grace)
      UNION ALL
      -- Minutes without a candle: the open minutes strictly between h.prev and h.next.
      SELECT minute_coverage_minutes(h.prev + interval '1 minute', h.next - interval '1 minute'),
             false, NULL, NULL
        FROM (
          -- Before the first candle (the whole range when there is none).
          SELECT date_trunc('minute', p_from - interval '1 microsecond', 'UTC') AS prev,
                 coalesce(min(c.open_time),
                          date_trunc('minute', p_to - interval '1 microsecond', 'UTC') + interval '1 minute') AS next
            FROM candles_1m c
           WHERE c.market = lower(p_market) AND c.symbol = upper(p_symbol)
             AND c.open_time >= date_trunc('minute', p_from - interval '1 microsecond', 'UTC') + interval '1 minute'
             AND c.open_time < p_to
          UNION ALL
          -- After each candle, up to the next one (or the end of the range).
          SELECT c.open_time,
                 coalesce(lead(c.open_time) OVER (ORDER BY c.open_time),
                          date_trunc('minute', p_to - interval '1 microsecond', 'UTC') + interval '1 minute')
            FROM candles_1m c
           WHERE c.market = lower(p_market) AND c.symbol = upper(p_symbol)
             AND c.open_time >= date_trunc('minute', p_from - interval '1 microsecond', 'UTC') + interval '1 minute'
             AND c.open_time < p_to
        ) h
       WHERE h.next > h.prev + interval '1 minute'
         AND minute_coverage_check(p_market, p_symbol, p_from, p_to, p_grace)
    ) s
    LEFT JOIN (
      -- DISTINCT ON tells the planner open_time is unique here (GROUP BY alone does not), which
      -- keeps the join's row estimate, and with it the plan's cost, sane.
      SELECT DISTINCT ON (g.open_time) g.open_time, g.windows
        FROM (SELECT fc.open_time, array_agg(fc.window_size ORDER BY fc.window_size) AS windows
                FROM feature_cache fc
               WHERE fc.market = lower(p_market) AND fc.symbol = upper(p_symbol)
                 AND fc.open_time >= date_trunc('minute', p_from - interval '1 microsecond', 'UTC') + interval '1 minute'
                 AND fc.open_time < p_to
               GROUP BY fc.open_time) g
    ) f ON f.open_time = s.m
   ORDER BY s.m
$$;
