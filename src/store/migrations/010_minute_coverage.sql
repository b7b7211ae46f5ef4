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
-- Plan (a year is 525 600 minutes: every step that runs once per minute must be cheap, and
-- there is no per-minute aggregate, sort or subquery):
--   * stored minutes: one range scan of candles_1m in open_time order;
--   * holes: lead() over an index-only range scan of the same range, each hole expanded to its
--     minutes (plus the leading hole, before the first candle); holes are few, so sorting them
--     is cheap, and a Merge Append of the two keeps the whole stream in open_time order;
--   * feature presence as segments, not per minute (minute_coverage_feature_index): feature_cache
--     rows are counted per UTC hour and window in one pass (a hash aggregate of a few thousand
--     groups). An hour where each window has either every minute or none is a whole segment
--     with one set of windows; only in an hour where some window has part of its minutes is each
--     minute read (one range scan per such hour) and made a segment of its own. Consecutive
--     segments with the same set are merged, so a fully covered year is one segment. Each minute finds its
--     segment by binary search (width_bucket) and slices its windows out of one flat array;
--   * the confirmed-empty ranges are read once, as a multirange.
-- Range bounds are computed by IMMUTABLE helpers so that the planner folds them to constants:
-- as expressions of p_from and p_to (timestamptz arithmetic is only STABLE) they were evaluated
-- again for every row a sequential scan filtered or a window function produced.
-- minute_coverage is a single SELECT so that PostgreSQL inlines it into the caller's query: the
-- arguments become constants for the planner, and a caller's ORDER BY open_time or merge join
-- on open_time reuses the order. Keep it that way: no SET clause, not STRICT, not plpgsql.
-- (The feature index is a plpgsql function on purpose: its own plan, run once, with JIT off,
-- and a row estimate of one that keeps the caller's plan cost, and with it JIT, low.)

-- The argument checks. IMMUTABLE (it depends on its arguments only), so that with constant
-- arguments it runs while the plan is made: the planner proves a reversed range empty and
-- drops both branches, and a one-time filter there would never run. Otherwise (parameters of
-- a generic plan, a LATERAL caller) it is a one-time filter in the plan.
CREATE OR REPLACE FUNCTION minute_coverage_check(
  p_market text, p_symbol text, p_from timestamptz, p_to timestamptz, p_grace interval
) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
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

-- An argument, or the error for a null one. IMMUTABLE and not STRICT for the same reason as the
-- check: a null constant would otherwise fold the range conditions to null, the planner would
-- prove the result empty, and the check would never run.
CREATE OR REPLACE FUNCTION minute_coverage_arg(p_value anyelement) RETURNS anyelement
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  IF p_value IS NULL THEN
    RAISE EXCEPTION 'minute_coverage: market, symbol, from, to and grace must not be null'
      USING ERRCODE = '22004';
  END IF;
  RETURN p_value;
END
$$;

-- The first whole minute at or after p_from, and the end (exclusive) of the last minute that
-- opens before p_to. Immutable in fact (whole-minute arithmetic, UTC named explicitly), so that
-- constant arguments fold to constants when the plan is made.
CREATE OR REPLACE FUNCTION minute_coverage_first(p_from timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT date_trunc('minute', p_from - interval '1 microsecond', 'UTC') + interval '1 minute'
$$;

CREATE OR REPLACE FUNCTION minute_coverage_end(p_to timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT date_trunc('minute', p_to - interval '1 microsecond', 'UTC') + interval '1 minute'
$$;

-- The minutes [p_first, p_last] of one hole. A function of its own only for its row estimate:
-- holes are rare, and generate_series' default of 1000 rows per hole made the planner expect
-- billions of rows (and JIT-compile for seconds).
CREATE OR REPLACE FUNCTION minute_coverage_minutes(p_first timestamptz, p_last timestamptz)
RETURNS SETOF timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE ROWS 1 AS $$
  SELECT generate_series(p_first, p_last, interval '1 minute')
$$;

-- Feature presence over the minutes [p_first, p_end) of one symbol, as segments: segment i
-- covers [bounds[i], bounds[i + 1]) (the last one to p_end) and has the windows
-- flat[offs[i] + 1 : offs[i + 1]]. One row; null arrays when the range is empty.
CREATE OR REPLACE FUNCTION minute_coverage_feature_index(
  p_market text, p_symbol text, p_first timestamptz, p_end timestamptz
) RETURNS TABLE (bounds timestamptz[], offs int[], flat int[])
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 1 SET jit = off AS $$
BEGIN
  RETURN QUERY
  WITH per_hour AS (
    -- Rows per UTC hour and window (a row off the minute grid makes its hour inexact below).
    SELECT date_bin('1 hour', fc.open_time, timestamptz '2000-01-01 00:00:00+00') AS b,
           fc.window_size AS w, count(*) AS n
      FROM feature_cache fc
     WHERE fc.market = p_market AND fc.symbol = p_symbol
       AND fc.open_time >= p_first AND fc.open_time < p_end
     GROUP BY 1, 2
  ), hours AS (
    SELECT g.b, greatest(g.b, p_first) AS lo, least(g.b + interval '1 hour', p_end) AS hi
      FROM generate_series(date_bin('1 hour', p_first, timestamptz '2000-01-01 00:00:00+00'),
                           p_end - interval '1 minute', interval '1 hour') AS g(b)
  ), per_hour_sets AS (
    -- Exact: every window has all of the hour's minutes in range, or none.
    SELECT h.b, h.lo, h.hi,
           coalesce(array_agg(x.w ORDER BY x.w) FILTER (WHERE x.n * interval '1 minute' = h.hi - h.lo), '{}') AS ws,
           coalesce(bool_and(x.n * interval '1 minute' = h.hi - h.lo), true) AS exact
      FROM hours h LEFT JOIN per_hour x ON x.b = h.b
     GROUP BY h.b, h.lo, h.hi
  ), pieces AS (
    SELECT s.lo, s.ws FROM per_hour_sets s WHERE s.exact
    UNION ALL
    -- An inexact hour: each minute on its own, from one range scan of the hour (one scan per
    -- hour, not per minute: on a hypertable each scan costs a chunk lookup).
    SELECT x.m, coalesce(x.ws, '{}')
      FROM per_hour_sets s,
           LATERAL (SELECT g.m, d.ws
                      FROM generate_series(s.lo, s.hi - interval '1 minute', interval '1 minute') AS g(m)
                      LEFT JOIN (SELECT fc.open_time, array_agg(fc.window_size ORDER BY fc.window_size) AS ws
                                   FROM feature_cache fc
                                  WHERE fc.market = p_market AND fc.symbol = p_symbol
                                    AND fc.open_time >= s.lo AND fc.open_time < s.hi
                                  GROUP BY fc.open_time) d ON d.open_time = g.m) x
     WHERE NOT s.exact
  ), segments AS (
    SELECT p.lo, p.ws
      FROM (SELECT pieces.lo, pieces.ws, lag(pieces.ws) OVER (ORDER BY pieces.lo) AS prev FROM pieces) p
     WHERE p.prev IS DISTINCT FROM p.ws
  )
  SELECT array_agg(g.lo ORDER BY g.lo),
         0 || array_agg(g.off ORDER BY g.lo),
         (SELECT array_agg(u.w ORDER BY s.lo, u.i) FROM segments s, unnest(s.ws) WITH ORDINALITY AS u(w, i))
    FROM (SELECT segments.lo, (sum(cardinality(segments.ws)) OVER (ORDER BY segments.lo))::int AS off
            FROM segments) g;
END
$$;

CREATE OR REPLACE FUNCTION minute_coverage(
  p_market text, p_symbol text, p_from timestamptz, p_to timestamptz,
  p_grace interval DEFAULT '70 seconds'
) RETURNS TABLE (
  open_time timestamptz, status text, source text, ingested_at timestamptz, feature_windows int[]
)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  WITH fi AS (
    SELECT * FROM minute_coverage_feature_index(lower(p_market), upper(p_symbol),
                                                minute_coverage_first(p_from), minute_coverage_end(p_to))
  )
  SELECT s.m,
         CASE WHEN s.source IS NOT NULL THEN 'stored'
              WHEN s.m <@ (SELECT range_agg(tstzrange(q.gap_start, q.gap_end, '[]'))
                             FROM data_quality_logs q
                            WHERE q.event_type = 'gap_unfillable'
                              AND q.market = lower(p_market) AND q.symbol = upper(p_symbol)
                              AND q.gap_start < p_to AND q.gap_end >= p_from) THEN 'confirmed_empty'
              WHEN now() < s.m + interval '1 minute' + p_grace THEN 'in_progress'
              ELSE 'missing' END,
         s.source,
         s.ingested_at,
         coalesce((SELECT fi.flat FROM fi)[(SELECT fi.offs FROM fi)[s.i] + 1 : (SELECT fi.offs FROM fi)[s.i + 1]],
                  '{}'::int[])
    FROM (
      -- No WHERE in the branches (the conditions are below, on the union): only then can
      -- PostgreSQL merge the two ordered branches instead of sorting the year.
      -- Stored minutes (source is never null in candles_1m).
      SELECT c.market, c.symbol, c.open_time AS m, c.source, c.ingested_at,
             width_bucket(c.open_time, (SELECT fi.bounds FROM fi)) AS i
        FROM candles_1m c
      UNION ALL
      -- Minutes without a candle: the open minutes strictly between h.prev and h.next.
      SELECT lower(p_market), upper(p_symbol), h.m, NULL::text, NULL::timestamptz,
             width_bucket(h.m, (SELECT fi.bounds FROM fi))
        FROM (
          SELECT minute_coverage_minutes(h.prev + interval '1 minute', h.next - interval '1 minute') AS m
            FROM (
              -- Before the first candle (the whole range when there is none).
              SELECT minute_coverage_first(p_from) - interval '1 minute' AS prev,
                     coalesce(min(c.open_time), minute_coverage_end(p_to)) AS next
                FROM candles_1m c
               WHERE c.market = lower(p_market) AND c.symbol = upper(p_symbol)
                 AND c.open_time >= minute_coverage_first(p_from) AND c.open_time < p_to
              UNION ALL
              -- After each candle, up to the next one (or the end of the range).
              SELECT c.open_time, lead(c.open_time, 1, minute_coverage_end(p_to)) OVER (ORDER BY c.open_time)
                FROM candles_1m c
               WHERE c.market = lower(p_market) AND c.symbol = upper(p_symbol)
                 AND c.open_time >= minute_coverage_first(p_from) AND c.open_time < p_to
            ) h
           WHERE h.next > h.prev + interval '1 minute'
        ) h
    ) s
   -- The check first: constant folding stops at the first condition that folds to false.
   WHERE minute_coverage_check(p_market, p_symbol, p_from, p_to, p_grace)
     AND s.market = lower(minute_coverage_arg(p_market)) AND s.symbol = upper(minute_coverage_arg(p_symbol))
     AND s.m >= minute_coverage_first(minute_coverage_arg(p_from)) AND s.m < minute_coverage_arg(p_to)
   ORDER BY s.m
$$;
