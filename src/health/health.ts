/**
 * Health, readiness and liveness as pure functions of a snapshot the app
 * gathers. The rules live here so they can be read and tested in one place.
 */

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy'

export interface SymbolSnapshot {
  readonly symbol: string
  /** spot, usdm or coinm (spot when absent). */
  readonly market?: string
  readonly lastCandleOpenTime: number | null
  readonly candlesProcessed: number
  /**
   * Minutes with status `missing` in minute_coverage over the symbol's covered window (the last
   * 24 h, or since its first candle); null when not known (not checked yet, no candle yet).
   */
  readonly missingMinutes?: number | null
}

export interface HealthSnapshot {
  readonly now: number
  /** Binance's clock at `now`: lags and staleness are measured on it. */
  readonly exchangeNow: number
  /** Binance's clock minus ours, null before the first sample. */
  readonly exchangeOffsetMs: number | null
  readonly startedAt: number
  readonly candlesProcessed: number
  readonly candlesInDb: number | null
  readonly lastCandleOpenTime: number | null
  readonly databaseConnected: boolean
  readonly streamConnections: { readonly total: number; readonly connected: number }
  readonly pendingBackfills: number
  readonly errors24h: number
  readonly memoryMb: number
  readonly bufferSize: number
  readonly dbPoolSize: number
  readonly spoolBytes: number
  /** Candles held in memory because the spool is full (SPOOL_MAX_BYTES) or unwritable. */
  readonly spoolHeldCandles: number
  readonly featuresWarmedUp: boolean
  readonly gapCheckLast: number | null
  /** 'on', 'off' or 'unavailable (reason)'; null before the database is open. */
  readonly timescale: string | null
  /** When the symbols' missing minutes were counted (they are cached), null before the first count. */
  readonly coverageCheckedAt?: number | null
  readonly symbols: readonly SymbolSnapshot[]
}

export interface HealthLimits {
  /** A symbol whose newest closed candle is older than this is stale. */
  readonly staleAfterMs: number
  readonly memoryMbDegraded: number
  readonly errors24hDegraded: number
}

export const DEFAULT_HEALTH_LIMITS: HealthLimits = {
  staleAfterMs: 5 * 60_000,
  memoryMbDegraded: 1024,
  errors24hDegraded: 100,
}

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString())

/** Spot symbols keep their plain names; futures are named as configured (usdm:BTCUSDT). */
const configuredName = (x: SymbolSnapshot): string =>
  x.market === undefined || x.market === 'spot' ? x.symbol : `${x.market}:${x.symbol}`

/** The newest closed candle of a minute that opened at t is complete at t + 60 s. */
function lagSeconds(s: HealthSnapshot, openTime: number | null): number | null {
  return openTime === null ? null : Math.max(0, Math.round((s.exchangeNow - (openTime + 60_000)) / 1000))
}

export function healthStatus(
  s: HealthSnapshot,
  limits: HealthLimits = DEFAULT_HEALTH_LIMITS,
): {
  status: HealthStatus
  reasons: string[]
} {
  const down: string[] = []
  if (!s.databaseConnected) down.push('database disconnected')
  if (s.streamConnections.total === 0 || s.streamConnections.connected < s.streamConnections.total) {
    down.push(`stream connections up ${s.streamConnections.connected}/${s.streamConnections.total}`)
  }
  if (down.length > 0) return { status: 'unhealthy', reasons: down }
  const degraded: string[] = []
  if (s.spoolBytes > 0) degraded.push(`spool holds ${s.spoolBytes} bytes`)
  if (s.spoolHeldCandles > 0) {
    degraded.push(`spool full: ${s.spoolHeldCandles} candles held in memory only (lost if the process dies)`)
  }
  if (s.memoryMb > limits.memoryMbDegraded) degraded.push(`memory ${s.memoryMb} MB`)
  if (s.errors24h > limits.errors24hDegraded) degraded.push(`${s.errors24h} errors in 24 h`)
  const stale = s.symbols.filter(
    (x) =>
      x.lastCandleOpenTime !== null && s.exchangeNow - (x.lastCandleOpenTime + 60_000) > limits.staleAfterMs,
  )
  if (stale.length > 0) degraded.push(`stale data: ${stale.map((x) => x.symbol).join(',')}`)
  const holed = s.symbols.filter((x) => (x.missingMinutes ?? 0) > 0)
  if (holed.length > 0)
    degraded.push(
      `missing minutes in the last 24 h: ${holed.map((x) => `${configuredName(x)} ${x.missingMinutes}`).join(', ')}`,
    )
  return { status: degraded.length > 0 ? 'degraded' : 'healthy', reasons: degraded }
}

export function healthBody(s: HealthSnapshot, limits: HealthLimits = DEFAULT_HEALTH_LIMITS) {
  const { status, reasons } = healthStatus(s, limits)
  return {
    status,
    uptime_seconds: Math.floor((s.now - s.startedAt) / 1000),
    candles_processed: s.candlesProcessed,
    candles_in_db: s.candlesInDb ?? 0,
    last_candle_time: iso(s.lastCandleOpenTime),
    database_connected: s.databaseConnected,
    websocket_connected:
      s.streamConnections.total > 0 && s.streamConnections.connected === s.streamConnections.total,
    pending_backfills: s.pendingBackfills,
    errors_24h: s.errors24h,
    memory_mb: s.memoryMb,
    timestamp: iso(s.now),
    reasons,
    details: {
      buffer_size: s.bufferSize,
      db_pool_size: s.dbPoolSize,
      features_warmed_up: s.featuresWarmedUp,
      gap_check_last: iso(s.gapCheckLast),
      spool_bytes: s.spoolBytes,
      spool_full: s.spoolHeldCandles > 0,
      spool_held_candles: s.spoolHeldCandles,
      stream_connections: s.streamConnections.total,
      stream_connections_up: s.streamConnections.connected,
      timescale: s.timescale,
      coverage_checked_at: iso(s.coverageCheckedAt ?? null),
      exchange_clock_offset_ms: s.exchangeOffsetMs,
    },
    symbols: Object.fromEntries(
      s.symbols.map((x) => [
        configuredName(x),
        {
          market: x.market ?? 'spot',
          symbol: x.symbol,
          last_candle_time: iso(x.lastCandleOpenTime),
          lag_seconds: lagSeconds(s, x.lastCandleOpenTime),
          candles_processed: x.candlesProcessed,
          missing_minutes: x.missingMinutes ?? null,
        },
      ]),
    ),
  }
}

export function readiness(s: Pick<HealthSnapshot, 'databaseConnected' | 'streamConnections'>): {
  ready: boolean
  reasons: string[]
} {
  const reasons: string[] = []
  if (!s.databaseConnected) reasons.push('database not connected')
  const { total, connected } = s.streamConnections
  if (total === 0 || connected < total) reasons.push(`stream connections up ${connected}/${total}`)
  return { ready: reasons.length === 0, reasons }
}
