/** Reads about gaps that Binance itself confirmed it has no data for. */
import { type MinuteRange, subtractRanges } from '../core/minute-ranges.ts'
import { MINUTE_MS } from '../core/records.ts'
import { detectGaps } from './candle-queries.ts'
import type { Queryable } from './db.ts'

/** Minutes of [r.from, r.to] with no stored candle, less those Binance confirmed it has no data for. */
export async function unexplainedMissing(
  db: Queryable,
  market: string,
  symbol: string,
  r: MinuteRange,
): Promise<MinuteRange[]> {
  const gaps = await detectGaps(db, market, symbol, r.from, r.to + MINUTE_MS)
  if (gaps.length === 0) return []
  const empty = await confirmedEmptyRanges(db, market, symbol, r.from, r.to)
  return subtractRanges(
    gaps.map((g) => ({ from: g.rangeStart, to: g.rangeEnd })),
    empty,
  )
}

/**
 * Ranges recorded as `gap_unfillable` (REST returned no row for minutes long
 * past) that overlap [from, to]. They are explained holes, not missed minutes.
 */
export async function confirmedEmptyRanges(
  db: Queryable,
  market: string,
  symbol: string,
  from: number,
  to: number,
): Promise<MinuteRange[]> {
  const r = await db.query<{ gap_start: Date; gap_end: Date }>(
    `SELECT gap_start, gap_end FROM data_quality_logs
      WHERE event_type = 'gap_unfillable' AND market = $1 AND symbol = $2
        AND gap_start <= $4::timestamptz AND gap_end >= $3::timestamptz
      ORDER BY gap_start`,
    [market, symbol, new Date(from).toISOString(), new Date(to).toISOString()],
  )
  return r.rows.map((row) => ({ from: row.gap_start.getTime(), to: row.gap_end.getTime() }))
}

/** Open time of the oldest stored candle of a symbol, or null. */
export async function earliestCandleTime(
  db: Queryable,
  market: string,
  symbol: string,
): Promise<number | null> {
  const r = await db.query<{ open_time: Date }>(
    'SELECT open_time FROM candles_1m WHERE market = $1 AND symbol = $2 ORDER BY open_time ASC LIMIT 1',
    [market, symbol],
  )
  const t = r.rows[0]?.open_time
  return t === undefined ? null : t.getTime()
}
