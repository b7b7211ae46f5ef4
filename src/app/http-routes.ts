/**
 * The read-only HTTP surface: the health snapshot gathered from the running
 * parts, and the routes over it (/, /status.json, /live, /health, /ready,
 * /metrics). The rules for healthy and ready live in health/health.ts.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { Clock } from '../core/clock.ts'
import { type HealthSnapshot, healthBody, readiness } from '../health/health.ts'
import { json, type Route } from '../http/server.ts'
import { statusData } from '../http/status-data.ts'
import { renderStatusPage } from '../http/status-page.ts'
import type { Metrics } from '../observability/metrics.ts'
import type { Queryable } from '../store/db.ts'
import { type Coverage, coverageKey } from './coverage-watch.ts'
import { type MarketLane, symbolKey } from './market-lane.ts'

/** What the routes read from the running app; every getter answers for "not started yet" too. */
export interface AppView {
  readonly clock: Clock
  /** Binance's clock: lags and staleness are measured on it. */
  readonly exchangeClock: Clock
  exchangeOffsetMs(): number | null
  readonly metrics: Metrics
  readonly startedAt: number
  /** One per market with symbols: its feed and per-symbol stats. */
  readonly lanes: readonly MarketLane[]
  candlesProcessed(): number
  lastCandle(): number | null
  /** The database when it answers, for /status.json. */
  reachableDb(): Queryable | null
  databaseConnected(): boolean
  candlesInDb(): Promise<number | null>
  dbPoolSize(): number
  pendingBackfills(): number
  gapCheckLast(): number | null
  errors24h(): number
  bufferSize(): number
  spoolBytes(): number
  spoolHeldCandles(): number
  featuresWarmedUp(): boolean
  timescale(): string | null
  /** Missing minutes per symbol over its covered window (cached: coverage-watch.ts). */
  coverage(): Promise<Coverage>
  /** GAP_DETECTION_THRESHOLD (ms): how long after its close a minute may still be on its way. */
  readonly coverageGraceMs: number
}

/** Every stream connection of every market. */
function connections(v: AppView) {
  return v.lanes.flatMap((l) => (l.live.feed?.status() ?? []).map((c) => ({ market: l.module.id, ...c })))
}

function streamCounts(v: AppView): { total: number; connected: number } {
  const status = connections(v)
  return { total: status.length, connected: status.filter((c) => c.connected).length }
}

export async function snapshot(v: AppView): Promise<HealthSnapshot> {
  const now = v.clock.now()
  const coverage = await v.coverage()
  return {
    now,
    exchangeNow: v.exchangeClock.now(),
    exchangeOffsetMs: v.exchangeOffsetMs(),
    startedAt: v.startedAt,
    candlesProcessed: v.candlesProcessed(),
    candlesInDb: await v.candlesInDb(),
    lastCandleOpenTime: v.lastCandle(),
    databaseConnected: v.databaseConnected(),
    streamConnections: streamCounts(v),
    pendingBackfills: v.pendingBackfills(),
    errors24h: v.errors24h(),
    memoryMb: Math.round(process.memoryUsage.rss() / 1048576),
    bufferSize: v.bufferSize(),
    dbPoolSize: v.dbPoolSize(),
    spoolBytes: v.spoolBytes(),
    spoolHeldCandles: v.spoolHeldCandles(),
    featuresWarmedUp: v.featuresWarmedUp(),
    gapCheckLast: v.gapCheckLast(),
    timescale: v.timescale(),
    coverageCheckedAt: coverage.checkedAt,
    symbols: v.lanes.flatMap((l) =>
      [...l.live.perSymbol].map(([symbol, s]) => ({
        symbol,
        market: l.module.id,
        lastCandleOpenTime: s.last,
        candlesProcessed: s.processed,
        missingMinutes: coverage.missing.get(coverageKey(l.module.id, symbol)) ?? null,
      })),
    ),
  }
}

export interface HttpRoutes {
  readonly routes: ReadonlyMap<string, Route>
  /** Stops sampling the event loop. */
  close(): void
}

export function createHttpRoutes(v: AppView): HttpRoutes {
  const { clock, metrics } = v
  const loopDelay = monitorEventLoopDelay({ resolution: 10 })
  loopDelay.enable()

  /** Gauges that are a view of current state are computed when scraped. */
  function refreshGauges(): void {
    const now = clock.now()
    metrics.connectionAge.reset()
    for (const c of connections(v)) {
      if (c.connected && c.openedAt !== null)
        metrics.connectionAge.set({ market: c.market, connection: c.id }, (now - c.openedAt) / 1000)
    }
    const exchangeNow = v.exchangeClock.now()
    for (const l of v.lanes) {
      const market = l.module.id
      for (const [symbol, s] of l.live.perSymbol) {
        if (s.last !== null)
          metrics.lastCandleAge.set({ market, symbol }, Math.max(0, (exchangeNow - (s.last + 60_000)) / 1000))
      }
      for (const a of l.features?.ages() ?? [])
        metrics.featureAge.set({ market, symbol: a.symbol, window: String(a.window) }, a.seconds)
    }
    metrics.eventLoopLag.set(loopDelay.percentile(99) / 1e9)
    loopDelay.reset()
    metrics.dbUp.set(v.databaseConnected() ? 1 : 0)
    metrics.pendingBackfills.set(v.pendingBackfills())
    metrics.bufferSize.set(v.bufferSize())
    metrics.spoolBytes.set(v.spoolBytes())
  }

  const status = async () =>
    statusData(v.reachableDb(), {
      now: clock.now(),
      health: healthBody(await snapshot(v)),
      symbols: v.lanes.flatMap((l) => l.config.symbols.map((s) => symbolKey(l.module.id, s))),
      graceMs: v.coverageGraceMs,
    })
  const routes = new Map<string, Route>([
    // The first paint is rendered here; the page's script refreshes it from status.json.
    [
      '/',
      async () => ({
        status: 200,
        body: renderStatusPage(await status()),
        contentType: 'text/html; charset=utf-8',
      }),
    ],
    ['/status.json', async () => json(200, await status())],
    [
      '/live',
      () => json(200, { status: 'alive', uptime_seconds: Math.floor((clock.now() - v.startedAt) / 1000) }),
    ],
    ['/health', async () => json(200, healthBody(await snapshot(v)))],
    [
      '/ready',
      () => {
        // From live state only: a probe never waits for the database's counts.
        const r = readiness({ databaseConnected: v.databaseConnected(), streamConnections: streamCounts(v) })
        return json(r.ready ? 200 : 503, { ready: r.ready, reasons: r.reasons })
      },
    ],
    [
      '/metrics',
      async () => {
        refreshGauges()
        return {
          status: 200,
          body: await metrics.registry.metrics(),
          contentType: metrics.registry.contentType,
        }
      },
    ],
  ])
  return { routes, close: () => loopDelay.disable() }
}
