-- Missing minutes of one symbol as ranges. The range is half-open, [p_from, p_to):
-- the first minute checked is the first whole minute at or after p_from, the last
-- one opens before p_to. range_start/range_end are the open times of the first
-- and last missing minute. One index range scan plus a generate_series of the
-- minutes (43 200 for 30 days), grouped into islands.
CREATE OR REPLACE FUNCTION detect_gaps(p_market text, p_symbol text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (range_start timestamptz, range_end timestamptz, missing integer)
LANGUAGE sql STABLE AS $$
  WITH bounds AS (
    SELECT date_trunc('minute', p_from - interval '1 microsecond', 'UTC') + interval '1 minute' AS lo
  ),
  have AS (
    SELECT c.open_time
    FROM candles_1m c, bounds b
    WHERE c.market = p_market AND c.symbol = p_symbol AND c.open_time >= b.lo AND c.open_time < p_to
  ),
  missing_minutes AS (
    SELECT m.minute,
           m.minute - (row_number() OVER (ORDER BY m.minute)) * interval '1 minute' AS island
    FROM bounds b,
         generate_series(b.lo, p_to - interval '1 microsecond', interval '1 minute') AS m(minute)
    WHERE NOT EXISTS (SELECT 1 FROM have h WHERE h.open_time = m.minute)
  )
  SELECT min(minute), max(minute), count(*)::integer
  FROM missing_minutes
  GROUP BY island
  ORDER BY 1
$$;
