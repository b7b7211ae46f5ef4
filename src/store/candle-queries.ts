/** Small typed reads over candles_1m that the service and the CLI need. */
import type { Queryable } from './db.ts'

export {
  countQualityEvents,
  insertQualityLog,
  type QualityEvent,
  type QualityEventType,
} from './quality-log.ts'

export interface CandleFilter {
  market?: string
  symbol?: string
  /** Only candles opening strictly before this time (ms). */
  beforeMs?: number
}

function where(filter: CandleFilter, params: unknown[]): string {
  const parts: string[] = []
  if (filter.market !== undefined) {
    params.push(filter.market)
    parts.push(`market = $${params.length}`)
  }
  if (filter.symbol !== undefined) {
    params.push(filter.symbol.toUpperCase())
    parts.push(`symbol = $${params.length}`)
  }
  if (filter.beforeMs !== undefined) {
    params.push(new Date(filter.beforeMs).toISOString())
    parts.push(`open_time < $${params.length}::timestamptz`)
  }
  return parts.length === 0 ? '' : `WHERE ${parts.join(' AND ')}`
}

/** Exact row count (a full count: cheap for one symbol, slower for a large table). */
export async function countCandles(db: Queryable, filter: CandleFilter = {}): Promise<number> {
  const params: unknown[] = []
  const r = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM candles_1m ${where(filter, params)}`,
    params,
  )
  return Number(r.rows[0]?.n ?? 0)
}

/** Open time (ms) of the newest stored candle, or null when there is none. Index-backed. */
export async function latestCandleTime(
  db: Queryable,
  market?: string,
  symbol?: string,
  beforeMs?: number,
): Promise<number | null> {
  const params: unknown[] = []
  const filter: CandleFilter = {}
  if (market !== undefined) filter.market = market
  if (symbol !== undefined) filter.symbol = symbol
  if (beforeMs !== undefined) filter.beforeMs = beforeMs
  const r = await db.query<{ open_time: Date }>(
    `SELECT open_time FROM candles_1m ${where(filter, params)} ORDER BY open_time DESC LIMIT 1`,
    params,
  )
  const t = r.rows[0]?.open_time
  return t === undefined ? null : t.getTime()
}

export interface GapRange {
  /** Open time (ms) of the first missing minute. */
  rangeStart: number
  /** Open time (ms) of the last missing minute. */
  rangeEnd: number
  missing: number
}

/** Missing minutes in [from, to) as ranges (SQL missing_minutes: detect_gaps without its cut at the current minute). */
export async function detectGaps(
  db: Queryable,
  market: string,
  symbol: string,
  from: number,
  to: number,
): Promise<GapRange[]> {
  const r = await db.query<{ range_start: Date; range_end: Date; missing: number }>(
    'SELECT range_start, range_end, missing FROM missing_minutes($1, $2, $3::timestamptz, $4::timestamptz)',
    [market, symbol.toUpperCase(), new Date(from).toISOString(), new Date(to).toISOString()],
  )
  return r.rows.map((row) => ({
    rangeStart: row.range_start.getTime(),
    rangeEnd: row.range_end.getTime(),
    missing: row.missing,
  }))
}
