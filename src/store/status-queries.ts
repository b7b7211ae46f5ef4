/**
 * Read-only queries behind the status page (`/` and `/status.json`).
 *
 * Every query is one statement over all requested symbols, bounded by the
 * primary key (market, symbol, open_time) or data_quality_logs' id, and runs
 * unchanged on PGlite, PostgreSQL 15+ and TimescaleDB hypertables.
 */
import { MINUTE_MS } from '../core/records.ts'
import type { Queryable } from './db.ts'

/**
 * One character per minute, from minute_coverage: a candle from the stream (P), a
 * candle filled late by REST or the archive (F), confirmed empty by Binance (E),
 * missing (M), not overdue yet (I).
 */
export type MinuteState = 'P' | 'F' | 'E' | 'M' | 'I'

export interface CompletenessOptions {
  readonly market: string
  readonly symbols: readonly string[]
  /** Open time (ms, a whole minute) of the first minute of the grid. */
  readonly from: number
  /** Open time (ms, a whole minute) just past the last minute of the grid (exclusive). */
  readonly to: number
  /** How long after its close a minute without a candle is still in progress (default 70 s). */
  readonly graceMs?: number
}

function assertMinute(name: string, ms: number): void {
  if (!Number.isInteger(ms) || ms % MINUTE_MS !== 0)
    throw new RangeError(`${name} must be a whole minute (ms)`)
}

const upper = (symbols: readonly string[]): string[] => [...new Set(symbols.map((s) => s.toUpperCase()))]

/**
 * Per symbol, a string of (to − from) / 60 000 MinuteState characters, oldest
 * minute first: minute_coverage over the window, one statement for all symbols.
 */
export async function minuteCompleteness(
  db: Queryable,
  opts: CompletenessOptions,
): Promise<Map<string, string>> {
  assertMinute('from', opts.from)
  assertMinute('to', opts.to)
  const out = new Map<string, string>()
  const symbols = upper(opts.symbols)
  if (symbols.length === 0) return out
  if (opts.to <= opts.from) {
    for (const s of symbols) out.set(s, '')
    return out
  }
  const r = await db.query<{ symbol: string; cells: string | null }>(
    `SELECT s.symbol,
            string_agg(CASE mc.status WHEN 'stored' THEN CASE WHEN mc.source = 'ws' THEN 'P' ELSE 'F' END
                                      WHEN 'confirmed_empty' THEN 'E'
                                      WHEN 'missing' THEN 'M'
                                      ELSE 'I' END, '' ORDER BY mc.open_time) AS cells
       FROM unnest($3::text[]) AS s(symbol)
       CROSS JOIN LATERAL minute_coverage($4, s.symbol, $1::timestamptz, $2::timestamptz, $5::interval) AS mc
      GROUP BY s.symbol`,
    [
      new Date(opts.from).toISOString(),
      new Date(opts.to).toISOString(),
      symbols,
      opts.market,
      `${(opts.graceMs ?? 70_000) / 1000} seconds`,
    ],
  )
  for (const row of r.rows) out.set(row.symbol, row.cells ?? '')
  return out
}

export interface StateRuns {
  /** Consecutive minutes of one state, oldest first: [state, minutes]. */
  readonly runs: Array<[MinuteState, number]>
  readonly present: number
  readonly filled: number
  readonly missing: number
  readonly confirmed_empty: number
  readonly in_progress: number
}

const STATES: ReadonlySet<string> = new Set(['P', 'F', 'E', 'M', 'I'])

/** Run-length form of a completeness string (what the page draws, one rect per run). */
export function toRuns(cells: string): StateRuns {
  const runs: Array<[MinuteState, number]> = []
  const n = { P: 0, F: 0, E: 0, M: 0, I: 0 }
  for (const ch of cells) {
    const state = (STATES.has(ch) ? ch : 'M') as MinuteState
    n[state]++
    const last = runs[runs.length - 1]
    if (last !== undefined && last[0] === state) last[1]++
    else runs.push([state, 1])
  }
  return { runs, present: n.P, filled: n.F, missing: n.M, confirmed_empty: n.E, in_progress: n.I }
}

export interface LatestCandle {
  readonly openTime: number
  /** Exact decimal, as stored. */
  readonly close: string
  readonly source: string
}

/** The newest stored candle of each symbol (null when it has none): one index probe per symbol. */
export async function latestCandles(
  db: Queryable,
  market: string,
  symbols: readonly string[],
): Promise<Map<string, LatestCandle | null>> {
  const out = new Map<string, LatestCandle | null>()
  const list = upper(symbols)
  if (list.length === 0) return out
  const r = await db.query<{
    symbol: string
    open_time: Date | null
    close: string | null
    source: string | null
  }>(
    `SELECT s.symbol, c.open_time, c.close::text AS close, c.source
       FROM unnest($2::text[]) AS s(symbol)
       LEFT JOIN LATERAL (
         SELECT open_time, close, source FROM candles_1m
          WHERE market = $1 AND symbol = s.symbol
          ORDER BY open_time DESC LIMIT 1
       ) c ON true`,
    [market, list],
  )
  for (const s of list) out.set(s, null)
  for (const row of r.rows) {
    if (row.open_time === null || row.close === null) continue
    out.set(row.symbol, { openTime: row.open_time.getTime(), close: row.close, source: row.source ?? '' })
  }
  return out
}

/** [open time (ms), close (exact decimal)] */
export type ClosePoint = [number, string]

/** The last `limit` closes of each symbol, oldest first (symbols with none map to []). */
export async function recentCloses(
  db: Queryable,
  market: string,
  symbols: readonly string[],
  limit: number,
): Promise<Map<string, ClosePoint[]>> {
  const out = new Map<string, ClosePoint[]>()
  const list = upper(symbols)
  for (const s of list) out.set(s, [])
  if (list.length === 0 || limit <= 0) return out
  const r = await db.query<{ symbol: string; open_time: Date; close: string }>(
    `SELECT s.symbol, c.open_time, c.close
       FROM unnest($2::text[]) AS s(symbol)
       CROSS JOIN LATERAL (
         SELECT open_time, close::text AS close FROM candles_1m
          WHERE market = $1 AND symbol = s.symbol
          ORDER BY open_time DESC LIMIT $3
       ) c
      ORDER BY s.symbol, c.open_time`,
    [market, list, Math.floor(limit)],
  )
  for (const row of r.rows) out.get(row.symbol)?.push([row.open_time.getTime(), row.close])
  return out
}

export interface QualityLogRow {
  readonly id: string
  readonly createdAt: number
  readonly market: string | null
  readonly symbol: string | null
  readonly eventType: string
  readonly gapStart: number | null
  readonly gapEnd: number | null
  readonly candlesMissing: number | null
  readonly candlesRecovered: number | null
  readonly source: string | null
  readonly errorMessage: string | null
  readonly resolved: boolean
}

/** The newest `limit` data_quality_logs rows, newest first. */
export async function recentQualityLogs(db: Queryable, limit: number): Promise<QualityLogRow[]> {
  if (limit <= 0) return []
  const r = await db.query<{
    id: string
    created_at: Date
    market: string | null
    symbol: string | null
    event_type: string
    gap_start: Date | null
    gap_end: Date | null
    candles_missing: number | null
    candles_recovered: number | null
    source: string | null
    error_message: string | null
    resolved: boolean
  }>(
    `SELECT id::text AS id, created_at, market, symbol, event_type, gap_start, gap_end, candles_missing,
            candles_recovered, source, error_message, resolved
       FROM data_quality_logs AS q ORDER BY q.id DESC LIMIT $1`,
    [Math.floor(limit)],
  )
  return r.rows.map((row) => ({
    id: row.id,
    createdAt: row.created_at.getTime(),
    market: row.market,
    symbol: row.symbol,
    eventType: row.event_type,
    gapStart: row.gap_start?.getTime() ?? null,
    gapEnd: row.gap_end?.getTime() ?? null,
    candlesMissing: row.candles_missing,
    candlesRecovered: row.candles_recovered,
    source: row.source,
    errorMessage: row.error_message,
    resolved: row.resolved,
  }))
}
