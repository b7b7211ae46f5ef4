/**
 * What `/status.json` answers (the status page polls it): the health body,
 * each symbol's last candle and lag, a 24 h completeness strip per symbol,
 * recent data_quality_logs rows and recent closes for a small chart.
 */
import { MINUTE_MS } from '../core/records.ts'
import type { Queryable } from '../store/db.ts'
import {
  type ClosePoint,
  type LatestCandle,
  latestCandles,
  minuteCompleteness,
  recentCloses,
  recentQualityLogs,
  type StateRuns,
  toRuns,
} from '../store/status-queries.ts'

export const STATUS_WINDOW_MINUTES = 1440
/** A minute joins the grid once its close is this old (the x=true frame comes a little after). */
const WINDOW_SETTLE_MS = 10_000

export interface StatusDeps {
  /** Clock time (ms). */
  readonly now: number
  /** The /health body (healthBody(snapshot)); passed through to the page. */
  readonly health: object
  /** Symbols as configured: `BTCUSDT` (spot) or `usdm:BTCUSDT`, `coinm:BTCUSD_PERP`. */
  readonly symbols: readonly string[]
  /**
   * GAP_DETECTION_THRESHOLD: a minute without a candle is shown in progress, not missing,
   * until this long after its close. Default 70 s.
   */
  readonly graceMs?: number
  /** Symbols with strips and charts (the first ones of `symbols`). Default 50. */
  readonly maxSymbols?: number
  /** Closes per symbol for the chart. Default 120. */
  readonly chartPoints?: number
  /** data_quality_logs rows. Default 20. */
  readonly qualityRows?: number
}

export interface SymbolStatus {
  /** As configured: `BTCUSDT` on spot, `usdm:BTCUSDT` on the futures markets. */
  readonly symbol: string
  readonly market: string
  readonly last_candle_time: string | null
  readonly last_close: string | null
  readonly last_source: string | null
  /** Seconds since the newest stored candle closed. */
  readonly lag_seconds: number | null
  readonly completeness: StateRuns
  readonly closes: ClosePoint[]
}

export interface QualityEntry {
  readonly id: string
  readonly created_at: string
  readonly market: string | null
  readonly symbol: string | null
  readonly event_type: string
  readonly gap_start: string | null
  readonly gap_end: string | null
  readonly candles_missing: number | null
  readonly candles_recovered: number | null
  readonly source: string | null
  readonly error_message: string | null
  readonly resolved: boolean
}

export interface StatusData {
  readonly generated_at: string
  readonly health: object
  readonly database: { readonly ok: boolean; readonly error?: string }
  /** The completeness grid: minutes with open time in [from, to). */
  readonly window: { readonly from: string; readonly to: string; readonly minutes: number }
  readonly symbols_total: number
  readonly symbols: SymbolStatus[]
  readonly quality: QualityEntry[]
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())

/** `usdm:btcusdt` → usdm, BTCUSDT; no prefix is spot. */
function splitKey(key: string): { market: string; symbol: string } {
  const colon = key.indexOf(':')
  return colon < 0
    ? { market: 'spot', symbol: key.toUpperCase() }
    : { market: key.slice(0, colon).toLowerCase(), symbol: key.slice(colon + 1).toUpperCase() }
}

const symbolKeyOf = (market: string, symbol: string): string =>
  market === 'spot' ? symbol : `${market}:${symbol}`

/** What `/status.json` answers. Never throws: a database error becomes `database.ok = false`. */
export async function statusData(db: Queryable | null, deps: StatusDeps): Promise<StatusData> {
  const grace = deps.graceMs ?? 70_000
  // The day up to the last minute that closed WINDOW_SETTLE_MS ago or more.
  const to = Math.floor((deps.now - WINDOW_SETTLE_MS) / MINUTE_MS) * MINUTE_MS
  const from = to - STATUS_WINDOW_MINUTES * MINUTE_MS
  const shown = [...new Set(deps.symbols.map(splitKey).map((e) => symbolKeyOf(e.market, e.symbol)))].slice(
    0,
    deps.maxSymbols ?? 50,
  )
  const entries = shown.map(splitKey)
  const base = {
    generated_at: new Date(deps.now).toISOString(),
    health: deps.health,
    window: {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      minutes: STATUS_WINDOW_MINUTES,
    },
    symbols_total: deps.symbols.length,
  }
  const empty = (): SymbolStatus[] =>
    entries.map((e) => ({
      symbol: symbolKeyOf(e.market, e.symbol),
      market: e.market,
      last_candle_time: null,
      last_close: null,
      last_source: null,
      lag_seconds: null,
      completeness: toRuns(''),
      closes: [],
    }))
  if (db === null) {
    return { ...base, database: { ok: false, error: 'database not open yet' }, symbols: empty(), quality: [] }
  }
  try {
    // One statement at a time: PGlite has a single connection anyway, and a pool stays free for writes.
    const grid = new Map<string, string>()
    const latest = new Map<string, LatestCandle | null>()
    const closes = new Map<string, ClosePoint[]>()
    for (const market of new Set(entries.map((e) => e.market))) {
      const symbols = entries.filter((e) => e.market === market).map((e) => e.symbol)
      const key = (s: string) => symbolKeyOf(market, s)
      for (const [s, v] of await minuteCompleteness(db, { market, symbols, from, to, graceMs: grace }))
        grid.set(key(s), v)
      for (const [s, v] of await latestCandles(db, market, symbols)) latest.set(key(s), v)
      for (const [s, v] of await recentCloses(db, market, symbols, deps.chartPoints ?? 120))
        closes.set(key(s), v)
    }
    const quality = await recentQualityLogs(db, deps.qualityRows ?? 20)
    return {
      ...base,
      database: { ok: true },
      symbols: entries.map(({ market, symbol: s }) => {
        const symbol = symbolKeyOf(market, s)
        const l = latest.get(symbol) ?? null
        return {
          symbol,
          market,
          last_candle_time: iso(l?.openTime ?? null),
          last_close: l?.close ?? null,
          last_source: l?.source ?? null,
          lag_seconds:
            l === null ? null : Math.max(0, Math.round((deps.now - (l.openTime + MINUTE_MS)) / 1000)),
          completeness: toRuns(grid.get(symbol) ?? ''),
          closes: closes.get(symbol) ?? [],
        }
      }),
      quality: quality.map((q) => ({
        id: q.id,
        created_at: new Date(q.createdAt).toISOString(),
        market: q.market,
        symbol: q.symbol,
        event_type: q.eventType,
        gap_start: iso(q.gapStart),
        gap_end: iso(q.gapEnd),
        candles_missing: q.candlesMissing,
        candles_recovered: q.candlesRecovered,
        source: q.source,
        error_message: q.errorMessage,
        resolved: q.resolved,
      })),
    }
  } catch (err) {
    const code = (err as { code?: unknown }).code
    const message = err instanceof Error ? err.message : String(err)
    return {
      ...base,
      database: {
        ok: false,
        error: `${typeof code === 'string' ? `${code}: ` : ''}${message}`.slice(0, 200),
      },
      symbols: empty(),
      quality: [],
    }
  }
}
