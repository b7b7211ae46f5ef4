-- minute_coverage (010), faster: the same function, arguments, columns, statuses and errors
-- (010's header describes them and still holds); what changes is how the holes and the feature
-- windows are found. 010 is applied in deployed databases and checksummed, so the new design
-- replaces its functions here.
--
-- Plan (a year is 525 600 minutes). 010 read the candle range twice (once for the rows, once
-- for lead() over it to find the holes: ≈ 250 ms) and counted feature_cache per UTC hour and
-- window (a hash aggregate over every entry: ≈ 300 ms), of ≈ 800 ms for a year. Now one
-- plpgsql function, minute_coverage_plan, run once per call, answers both questions with
-- cheaper reads and hands the outer query a few small arrays:
--   * holes: candles are counted per UTC hour (minute_coverage_hours). A full hour has no hole,
--     an empty one is one run; only the candles of a partly filled hour are read again
--     (minute_coverage_partial_holes: a range scan per hour on a plain table, one pass with a
--     hash join on a hypertable, never a lookup per minute). Adjacent holes are merged into
--     runs (first and last minute of each);
--   * feature windows, fast path: the windows are those of the first and the last minute with
--     feature rows in range; each window's span [first_w, last_w] is its first and last row
--     (ordered index scans that stop at the first match). Window w has a row on exactly the
--     stored minutes of its span when (a) every row in range is of one of these windows and on
--     the minute grid, (b) no feature row lies in a hole run (one range probe per run) and
--     (c) the rows number exactly the stored minutes of the spans (the span's minutes less the
--     hole minutes in it, summed over the windows): by (a) and (b) and the primary key the rows
--     are distinct (minute, window) pairs out of those stored minutes, so as many means all.
--     (a) and (c) take one count over the range (minute_coverage_feature_count), no grouping.
--     The stored minutes then take their windows from at most 2 × windows + 1 segments (spans
--     are widened over the hole runs they touch, which changes no stored minute), usually one:
--     the outer query then returns that one array with no search and no slice; hole minutes
--     have no windows;
--   * otherwise (features missing inside a window's span, a feature row on a minute without a
--     candle, a row off the grid, a window that neither starts nor ends the range's rows) the
--     exact per-hour segments of 010 (minute_coverage_feature_index, unchanged) serve the
--     stored and the hole minutes alike: correct, at 010's cost plus the count above.
-- The two counts are plpgsql functions of their own that RETURN QUERY: that may run in
-- parallel, a SELECT INTO never does (it would even plan in parallel and then run the plan
-- without workers, slower than a serial plan). The plan function's own statements are small.
-- The outer query keeps 010's shape: a Merge Append of the candle range scan and the (sorted,
-- few) hole minutes, no sort of the year, IMMUTABLE helpers for constant bounds, the argument
-- checks first, a single SELECT that PostgreSQL inlines into the caller. Each row finds its
-- windows by a CASE on a small integer: 0 = the single segment, -1 = none (a hole on the fast
-- path), > 0 = the segment found by width_bucket.
-- The plan function and its helpers are STABLE: they read in the caller's snapshot, so the
-- holes they find are exactly the minutes the outer candle scan does not return.

-- Candles per UTC hour of [p_first, p_end), one element per hour from the hour holding
-- p_first. Its own function so that the aggregate may run in parallel (a SELECT INTO in
-- plpgsql never does).
CREATE OR REPLACE FUNCTION minute_coverage_hours(
  p_market text, p_symbol text, p_first timestamptz, p_end timestamptz
) RETURNS TABLE (n bigint[])
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 1 SET jit = off AS $$
BEGIN
  -- On a plain table: a count per hour, each an index-only scan of the hour (8 760 short scans
  -- for a year: ≈ 95 ms, against ≈ 145 ms to hash every entry by hour). On a hypertable (its
  -- chunks inherit from it) each such scan would look up, and on a compressed chunk
  -- decompress, again: there one hash aggregate over the range.
  IF EXISTS (SELECT 1 FROM pg_inherits WHERE inhparent = 'candles_1m'::regclass) THEN
    RETURN QUERY SELECT array_agg(coalesce(x.n, 0) ORDER BY g.b)
      FROM generate_series(date_bin('1 hour', p_first, timestamptz '2000-01-01 00:00:00+00'),
                           p_end - interval '1 minute', interval '1 hour') AS g(b)
      LEFT JOIN (SELECT date_bin('1 hour', c.open_time, timestamptz '2000-01-01 00:00:00+00') AS b, count(*) AS n
                   FROM candles_1m c
                  WHERE c.market = p_market AND c.symbol = p_symbol
                    AND c.open_time >= p_first AND c.open_time < p_end
                  GROUP BY 1) x ON x.b = g.b;
  ELSE
    RETURN QUERY SELECT array_agg((SELECT count(*) FROM candles_1m c
                       WHERE c.market = p_market AND c.symbol = p_symbol
                         AND c.open_time >= greatest(g.b, p_first)
                         AND c.open_time < least(g.b + interval '1 hour', p_end)) ORDER BY g.b)
      FROM generate_series(date_bin('1 hour', p_first, timestamptz '2000-01-01 00:00:00+00'),
                           p_end - interval '1 minute', interval '1 hour') AS g(b);
  END IF;
END
$$;

-- The minutes of the partly filled hours [p_lo[i], p_hi[i]) (each within one UTC hour) that
-- have no candle. On a plain table one range scan per hour (not one lookup per minute). On a
-- hypertable each such scan would search the chunks again (with daily chunks, 100 of them
-- cost ≈ 0.5 s): there one pass over the candles of the hours' span, matched to the hours by
-- a hash join.
CREATE OR REPLACE FUNCTION minute_coverage_partial_holes(
  p_market text, p_symbol text, p_lo timestamptz[], p_hi timestamptz[]
) RETURNS SETOF timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 100 SET jit = off AS $$
BEGIN
  IF cardinality(p_lo) IS NULL OR cardinality(p_lo) = 0 THEN
    RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_inherits WHERE inhparent = 'candles_1m'::regclass) THEN
    RETURN QUERY
    SELECT g.m FROM unnest(p_lo, p_hi) AS h(lo, hi),
                    generate_series(h.lo, h.hi - interval '1 minute', interval '1 minute') AS g(m)
    EXCEPT ALL
    SELECT c.open_time
      FROM candles_1m c
      JOIN unnest(p_lo) AS h(lo)
        ON date_bin('1 hour', c.open_time, timestamptz '2000-01-01 00:00:00+00')
         = date_bin('1 hour', h.lo, timestamptz '2000-01-01 00:00:00+00')
     WHERE c.market = p_market AND c.symbol = p_symbol
       AND c.open_time >= p_lo[1] AND c.open_time < p_hi[cardinality(p_hi)];
  ELSE
    RETURN QUERY
    SELECT x.m
      FROM unnest(p_lo, p_hi) AS h(lo, hi),
           LATERAL (SELECT generate_series(h.lo, h.hi - interval '1 minute', interval '1 minute') AS m
                    EXCEPT ALL
                    SELECT c.open_time FROM candles_1m c
                     WHERE c.market = p_market AND c.symbol = p_symbol
                       AND c.open_time >= h.lo AND c.open_time < h.hi) x;
  END IF;
END
$$;

-- The feature rows of [p_first, p_end): how many, and how many are of a window not in p_w or
-- off the minute grid. One pass over the range, no grouping.
CREATE OR REPLACE FUNCTION minute_coverage_feature_count(
  p_market text, p_symbol text, p_first timestamptz, p_end timestamptz, p_w int[]
) RETURNS TABLE (n bigint, bad bigint)
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 1 SET jit = off AS $$
BEGIN
  RETURN QUERY
  SELECT count(*),
         count(*) FILTER (WHERE fc.window_size <> ALL (p_w)
                             OR date_bin('1 minute', fc.open_time, timestamptz '2000-01-01 00:00:00+00') <> fc.open_time)
    FROM feature_cache fc
   WHERE fc.market = p_market AND fc.symbol = p_symbol
     AND fc.open_time >= p_first AND fc.open_time < p_end;
END
$$;

-- Holes and feature segments over the minutes [p_first, p_end) of one symbol.
--   hole_lo, hole_last  first and last minute of each run of minutes without a candle, ascending
--   bounds, offs, flat  feature segments as in minute_coverage_feature_index: segment i covers
--                       [bounds[i], bounds[i + 1]) and has the windows flat[offs[i] + 1 : offs[i + 1]]
--   single              one segment only: its windows are flat (null for none)
--   bare                the segments describe the stored minutes only; hole minutes have no
--                       feature rows (else the segments are exact for every minute)
-- One row; null arrays when the range is empty or an argument is null.
CREATE OR REPLACE FUNCTION minute_coverage_plan(
  p_market text, p_symbol text, p_first timestamptz, p_end timestamptz
) RETURNS TABLE (hole_lo timestamptz[], hole_last timestamptz[], bounds timestamptz[], offs int[],
                 flat int[], single boolean, bare boolean)
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 1 SET jit = off AS $$
DECLARE
  v_lo timestamptz[];
  v_last timestamptz[];
  v_w int[];
  v_first timestamptz[];
  v_last_w timestamptz[];
  v_stop timestamptz[];
  v_expected interval;
  v_fast boolean;
  v_n bigint[];
BEGIN
  IF p_market IS NULL OR p_symbol IS NULL OR p_first IS NULL OR p_end IS NULL OR p_first >= p_end THEN
    RETURN QUERY SELECT NULL::timestamptz[], NULL::timestamptz[], NULL::timestamptz[], NULL::int[],
                        NULL::int[], true, true;
    RETURN;
  END IF;

  v_n := (SELECT h.n FROM minute_coverage_hours(p_market, p_symbol, p_first, p_end) AS h);

  WITH hours AS (
    SELECT greatest(g.b, p_first) AS lo, least(g.b + interval '1 hour', p_end) AS hi, v_n[g.i] AS n
      FROM generate_series(date_bin('1 hour', p_first, timestamptz '2000-01-01 00:00:00+00'),
                           p_end - interval '1 minute', interval '1 hour') WITH ORDINALITY AS g(b, i)
  ), pieces AS (
    -- An hour without candles: one run.
    SELECT h.lo, h.hi - interval '1 minute' AS last FROM hours h WHERE h.n = 0
    UNION ALL
    -- A partly filled hour: its minutes less its candles.
    SELECT x.m, x.m
      FROM minute_coverage_partial_holes(
             p_market, p_symbol,
             ARRAY(SELECT h.lo FROM hours h WHERE h.n > 0 AND h.n * interval '1 minute' < h.hi - h.lo ORDER BY h.lo),
             ARRAY(SELECT h.hi FROM hours h WHERE h.n > 0 AND h.n * interval '1 minute' < h.hi - h.lo ORDER BY h.lo)) AS x(m)
  ), runs AS (
    SELECT p.lo, p.last,
           count(*) FILTER (WHERE p.prev IS NULL OR p.lo > p.prev + interval '1 minute') OVER (ORDER BY p.lo) AS k
      FROM (SELECT pieces.lo, pieces.last, lag(pieces.last) OVER (ORDER BY pieces.lo) AS prev FROM pieces) p
  )
  SELECT array_agg(r.lo ORDER BY r.lo), array_agg(r.last ORDER BY r.lo) INTO v_lo, v_last
    FROM (SELECT min(runs.lo) AS lo, max(runs.last) AS last FROM runs GROUP BY runs.k) r;

  -- Features, fast path. The windows: those of the first and of the last minute with a feature
  -- row in range (a window that appears or stops in the middle is among them; one that does
  -- both fails the count below). Each one's span [first_w, last_w]: its first and last row, by
  -- an ordered index scan that stops at the first match (at once, unless the window is rare).
  SELECT array_agg(w.w ORDER BY w.w) INTO v_w
    FROM (SELECT fc.window_size AS w FROM feature_cache fc
           WHERE fc.market = p_market AND fc.symbol = p_symbol
             AND fc.open_time = (SELECT min(f.open_time) FROM feature_cache f
                                  WHERE f.market = p_market AND f.symbol = p_symbol
                                    AND f.open_time >= p_first AND f.open_time < p_end)
          UNION
          SELECT fc.window_size FROM feature_cache fc
           WHERE fc.market = p_market AND fc.symbol = p_symbol
             AND fc.open_time = (SELECT max(f.open_time) FROM feature_cache f
                                  WHERE f.market = p_market AND f.symbol = p_symbol
                                    AND f.open_time >= p_first AND f.open_time < p_end)) w;
  SELECT array_agg(s.first ORDER BY s.w), array_agg(s.last ORDER BY s.w) INTO v_first, v_last_w
    FROM (SELECT u.w,
                 (SELECT f.open_time FROM feature_cache f
                   WHERE f.market = p_market AND f.symbol = p_symbol AND f.window_size = u.w
                     AND f.open_time >= p_first AND f.open_time < p_end
                   ORDER BY f.open_time LIMIT 1) AS first,
                 (SELECT f.open_time FROM feature_cache f
                   WHERE f.market = p_market AND f.symbol = p_symbol AND f.window_size = u.w
                     AND f.open_time >= p_first AND f.open_time < p_end
                   ORDER BY f.open_time DESC LIMIT 1) AS last
            FROM unnest(v_w) AS u(w)) s;

  -- The rows expected: for each window, the stored minutes of its span (its minutes less the
  -- hole minutes among them). The rows found must be as many, all of a known window and on
  -- the grid (they lie within their window's span by construction of the span).
  SELECT coalesce(sum(
           (u.last - u.first + interval '1 minute')
           - coalesce((SELECT sum(least(h.last, u.last) - greatest(h.lo, u.first) + interval '1 minute')
                         FROM unnest(v_lo, v_last) AS h(lo, last)
                        WHERE h.lo <= u.last AND h.last >= u.first), interval '0')), interval '0')
    INTO v_expected
    FROM unnest(v_first, v_last_w) AS u(first, last);
  SELECT k.n * interval '1 minute' = v_expected AND k.bad = 0 INTO v_fast
    FROM minute_coverage_feature_count(p_market, p_symbol, p_first, p_end, coalesce(v_w, '{}')) k;
  v_stop := ARRAY(SELECT u.last + interval '1 minute' FROM unnest(v_last_w) WITH ORDINALITY AS u(last, i) ORDER BY u.i);

  -- (b): no feature row in a hole (one range scan per run of holes).
  IF v_fast AND v_w IS NOT NULL AND v_lo IS NOT NULL THEN
    v_fast := NOT EXISTS (
      SELECT 1
        FROM unnest(v_lo, v_last) AS u(lo, last)
       WHERE EXISTS (SELECT 1 FROM feature_cache fc
                      WHERE fc.market = p_market AND fc.symbol = p_symbol
                        AND fc.open_time >= u.lo AND fc.open_time < u.last + interval '1 minute'));
  END IF;

  IF NOT v_fast THEN
    RETURN QUERY
    SELECT v_lo, v_last, f.bounds, f.offs, f.flat, coalesce(cardinality(f.bounds) = 1, true), false
      FROM minute_coverage_feature_index(p_market, p_symbol, p_first, p_end) AS f;
    RETURN;
  END IF;

  -- Segments of the stored minutes: a boundary where the range starts and where a window's
  -- span starts or ends; each segment has the windows whose span holds it; equal neighbours
  -- merged. Only stored minutes read these segments, so a span is first widened over the hole
  -- runs that touch it: the stored minutes it holds stay the same, and a year whose last
  -- minutes are still to come keeps a single segment.
  RETURN QUERY
  WITH spans AS (
    SELECT u.w,
           coalesce((SELECT h.lo FROM unnest(v_lo, v_last) AS h(lo, last)
                      WHERE h.last = u.first - interval '1 minute'), u.first) AS first,
           coalesce((SELECT h.last + interval '1 minute' FROM unnest(v_lo, v_last) AS h(lo, last)
                      WHERE h.lo = u.stop), u.stop) AS stop
      FROM unnest(v_w, v_first, v_stop) AS u(w, first, stop)
  ), points AS (
    SELECT p_first AS lo
    UNION
    SELECT sp.first FROM spans sp WHERE sp.first > p_first AND sp.first < p_end
    UNION
    SELECT sp.stop FROM spans sp WHERE sp.stop > p_first AND sp.stop < p_end
  ), pieces AS (
    SELECT p.lo,
           coalesce((SELECT array_agg(u.w ORDER BY u.w)
                       FROM spans u WHERE u.first <= p.lo AND p.lo < u.stop), '{}') AS ws
      FROM points p
  ), segments AS (
    SELECT p.lo, p.ws
      FROM (SELECT pieces.lo, pieces.ws, lag(pieces.ws) OVER (ORDER BY pieces.lo) AS prev FROM pieces) p
     WHERE p.prev IS DISTINCT FROM p.ws
  )
  SELECT v_lo, v_last, array_agg(g.lo ORDER BY g.lo), 0 || array_agg(g.off ORDER BY g.lo),
         (SELECT array_agg(u.w ORDER BY s.lo, u.i) FROM segments s, unnest(s.ws) WITH ORDINALITY AS u(w, i)),
         count(*) = 1, true
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
    SELECT * FROM minute_coverage_plan(lower(p_market), upper(p_symbol),
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
         -- s.i: 0 the single segment, -1 no windows (a hole on the fast path), else the segment.
         CASE WHEN s.i = 0 THEN coalesce((SELECT fi.flat FROM fi), '{}'::int[])
              WHEN s.i < 0 THEN '{}'::int[]
              ELSE coalesce((SELECT fi.flat FROM fi)[(SELECT fi.offs FROM fi)[s.i] + 1 : (SELECT fi.offs FROM fi)[s.i + 1]],
                            '{}'::int[]) END
    FROM (
      -- No WHERE in the branches (the conditions are below, on the union): only then can
      -- PostgreSQL merge the two ordered branches instead of sorting the year.
      -- Stored minutes (source is never null in candles_1m).
      SELECT c.market, c.symbol, c.open_time AS m, c.source, c.ingested_at,
             CASE WHEN (SELECT fi.single FROM fi) THEN 0
                  ELSE width_bucket(c.open_time, (SELECT fi.bounds FROM fi)) END AS i
        FROM candles_1m c
      UNION ALL
      -- Minutes without a candle, from the runs the plan found.
      SELECT lower(p_market), upper(p_symbol), g.m, NULL::text, NULL::timestamptz,
             CASE WHEN fi.bare THEN -1 WHEN fi.single THEN 0 ELSE width_bucket(g.m, fi.bounds) END
        FROM fi, unnest(fi.hole_lo, fi.hole_last) AS h(lo, last),
             minute_coverage_minutes(h.lo, h.last) AS g(m)
    ) s
   -- The check first: constant folding stops at the first condition that folds to false.
   WHERE minute_coverage_check(p_market, p_symbol, p_from, p_to, p_grace)
     AND s.market = lower(minute_coverage_arg(p_market)) AND s.symbol = upper(minute_coverage_arg(p_symbol))
     AND s.m >= minute_coverage_first(minute_coverage_arg(p_from)) AND s.m < minute_coverage_arg(p_to)
   ORDER BY s.m
$$;
