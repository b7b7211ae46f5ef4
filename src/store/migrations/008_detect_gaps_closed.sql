-- detect_gaps reports missing minutes, and a minute that has not closed yet is not
-- missing: the range is cut at the start of the current minute (the database's
-- now()). A call such as detect_gaps('spot', 'BTCUSDT', now() - interval '1 hour', now())
-- therefore never counts the minute in progress.
--
-- The service itself asks missing_minutes, the same question without the cut: its
-- callers bound the range by their own clock (minutes whose close time has passed),
-- and must not depend on the database server's clock agreeing to the second.
ALTER FUNCTION detect_gaps(text, text, timestamptz, timestamptz)
  RENAME TO missing_minutes;

CREATE OR REPLACE FUNCTION detect_gaps(p_market text, p_symbol text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (range_start timestamptz, range_end timestamptz, missing integer)
LANGUAGE sql STABLE AS $$
  SELECT * FROM missing_minutes(p_market, p_symbol, p_from, least(p_to, date_trunc('minute', now(), 'UTC')))
$$;
