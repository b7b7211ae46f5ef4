/**
 * The composition root: builds what the parts share (metrics, the reporting
 * context, the live route, the HTTP routes), then `start()` runs the steps of
 * steps.ts in order and `stop()` their stops in reverse, flushing what is
 * buffered. How a candle travels is in live-route.ts; how events become logs
 * and metrics in report-*.ts.
 */
import { ExchangeClock } from '../core/exchange-clock.ts'
import { createMetrics } from '../observability/metrics.ts'
import type { App, AppDeps } from './app-api.ts'
import { CoverageWatch } from './coverage-watch.ts'
import { startCancelled } from './db-supervisor.ts'
import { ExchangeTime } from './exchange-time.ts'
import { type AppView, createHttpRoutes, snapshot } from './http-routes.ts'
import { MarketLane } from './market-lane.ts'
import { QualityRecorder } from './quality-recorder.ts'
import { ErrorWindow, type WiringContext } from './reporting.ts'
import { appSteps, noParts, type Step } from './steps.ts'
import { describeTimescale } from './timescale.ts'

export type { App, AppDeps } from './app-api.ts'
export { dbOptions } from './db-supervisor.ts'

export function createApp(deps: AppDeps): App {
  const { config, clock, logger } = deps
  const random = deps.random ? { random: deps.random } : {}
  const metrics = createMetrics()
  const errors = new ErrorWindow(clock)
  const quality = new QualityRecorder(clock)
  const startedAt = clock.now()
  const cancel = new AbortController()
  const p = noParts()
  let starting: Promise<void> | null = null
  let stopping: Promise<boolean> | null = null

  const ctx: WiringContext = {
    logger,
    metrics,
    clock,
    quality: (e) => quality.record(e),
    noteError: () => errors.note(),
    setDbConnected: (up) => {
      if (p.supervisor) p.supervisor.connected = up
    },
  }
  const exchange = new ExchangeClock(clock)
  // One lane per market with symbols: its own feed, REST host and budget, features and gap repair.
  const lanes = config.markets.map(
    (market) =>
      new MarketLane({
        config,
        market,
        clock,
        exchange,
        logger,
        ctx,
        ...random,
        ...(deps.streamTuning ? { streamTuning: deps.streamTuning } : {}),
        ...(deps.gapCheckEveryMs !== undefined ? { gapCheckEveryMs: deps.gapCheckEveryMs } : {}),
      }),
  )
  const sum = (f: (l: MarketLane) => number) => lanes.reduce((n, l) => n + f(l), 0)
  const newest = (f: (l: MarketLane) => number | null) =>
    lanes.reduce<number | null>((t, l) => {
      const x = f(l)
      return x !== null && (t === null || x > t) ? x : t
    }, null)
  const pendingBackfills = () => sum((l) => l.gaps?.pendingBackfills() ?? 0)
  // Binance's time, read from the first market's host (spot when configured): one exchange, one clock.
  const exchangeTime = new ExchangeTime({
    rest: () => lanes[0]?.rest ?? null,
    local: clock,
    exchange,
    logger,
    metrics,
  })
  const coverage = new CoverageWatch({
    db: () => (p.supervisor?.connected ? p.db : null),
    clock,
    targets: lanes.flatMap((l) => l.config.symbols.map((symbol) => ({ market: l.module.id, symbol }))),
    graceMs: config.gapDetectionThresholdS * 1000,
  })
  const view: AppView = {
    clock,
    exchangeClock: exchange,
    exchangeOffsetMs: () => exchangeTime.offsetMs(),
    metrics,
    startedAt,
    lanes,
    candlesProcessed: () => sum((l) => l.live.candlesProcessed),
    lastCandle: () => newest((l) => l.live.lastCandle),
    reachableDb: () => (p.supervisor?.connected ? p.db : null),
    databaseConnected: () => p.supervisor?.connected ?? false,
    candlesInDb: async () => (await p.supervisor?.candles()) ?? null,
    dbPoolSize: () => p.db?.poolSize() ?? 0,
    pendingBackfills,
    gapCheckLast: () => newest((l) => l.gaps?.gapCheckLast() ?? null),
    errors24h: () => errors.count(),
    bufferSize: () => p.output?.bufferSize ?? 0,
    spoolBytes: () => p.output?.spool.bytes ?? 0,
    spoolHeldCandles: () => p.output?.sink.heldCandles ?? 0,
    featuresWarmedUp: () => lanes.every((l) => l.features?.warmedUp() ?? false),
    timescale: () => (p.timescale === null ? null : describeTimescale(p.timescale)),
    coverage: () => coverage.current(),
    coverageGraceMs: config.gapDetectionThresholdS * 1000,
  }
  const httpRoutes = createHttpRoutes(view)
  const steps = appSteps(deps, p, { ctx, lanes, quality, httpRoutes, cancel: cancel.signal, exchangeTime })
  const started: Step[] = []

  return {
    metrics,
    get httpPort() {
      return p.http?.port ?? null
    },
    get db() {
      return stopping === null ? p.db : null
    },
    pendingBackfills,
    snapshot: () => snapshot(view),
    start() {
      starting ??= (async () => {
        for (const step of steps) {
          // Stopped meanwhile: nothing may start after the stop.
          if (stopping !== null) throw startCancelled()
          started.push(step)
          await step.start()
        }
      })()
      return starting
    },
    cancelStart() {
      cancel.abort(startCancelled())
    },
    stop(reason) {
      cancel.abort(startCancelled())
      stopping ??= (async () => {
        logger.info({ reason }, 'shutting down')
        // A start in progress ends at its next step (or its wait for the database, at once).
        await starting?.catch(() => {})
        for (const step of started.reverse()) await step.stop()
        logger.info({ flushed: p.flushed }, 'stopped')
        return p.flushed
      })()
      return stopping
    },
  }
}
