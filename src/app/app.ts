/**
 * The composition root: builds the parts, then `start()` runs their starts in
 * the order of STEPS below and `stop()` their stops in reverse, flushing what
 * is buffered. How a candle travels is in live-route.ts; how events become
 * logs and metrics in report-*.ts.
 */
import type { ConnectionTuning } from '../binance/ws/feed.ts'
import type { Config } from '../config/config.ts'
import type { Clock } from '../core/clock.ts'
import type { Candle, Market } from '../core/records.ts'
import type { HealthSnapshot } from '../health/health.ts'
import { type HttpServer, startHttpServer } from '../http/server.ts'
import type { Logger } from '../observability/logger.ts'
import { createMetrics, type Metrics } from '../observability/metrics.ts'
import { writeAll } from '../outputs/output.ts'
import { PostgresOutput } from '../outputs/postgres-output.ts'
import type { AggregateRefresher } from '../store/aggregate-refresher.ts'
import type { Db } from '../store/db.ts'
import type { TimescaleStatus } from '../store/migrate.ts'
import { DbSupervisor, openStoreWaiting, startCancelled } from './db-supervisor.ts'
import { type AppView, createHttpRoutes, snapshot } from './http-routes.ts'
import { MarketLane } from './market-lane.ts'
import { QualityRecorder } from './quality-recorder.ts'
import { onSpoolEvent, wireSink, wireWriter } from './report-store.ts'
import { ErrorWindow, type WiringContext } from './reporting.ts'
import { createRefresher, describeTimescale, noteWrites, reportTimescale } from './timescale.ts'

export { dbOptions } from './db-supervisor.ts'

export interface AppDeps {
  readonly config: Config
  readonly clock: Clock
  readonly logger: Logger
  readonly random?: () => number
  /** Stream connection timings; defaults follow Binance's limits. Tests shorten them. */
  readonly streamTuning?: ConnectionTuning
  /** How often overdue minutes are looked for (default 10 s). */
  readonly gapCheckEveryMs?: number
}

export interface App {
  start(): Promise<void>
  /** Stops accepting stream data, flushes, closes. Resolves true when everything buffered was written. */
  stop(reason: string): Promise<boolean>
  /**
   * Ends a start that is still waiting for the database (a signal arrived):
   * start() then rejects with START_CANCELLED, and stop() cleans up.
   */
  cancelStart(): void
  snapshot(): Promise<HealthSnapshot>
  readonly metrics: Metrics
  readonly httpPort: number | null
  /** The open database (null before start and after stop), for the commands and tests that read it. */
  readonly db: Db | null
  /** Backfill ranges queued or running. */
  pendingBackfills(): number
}

interface Step {
  readonly name: string
  start(): Promise<void> | void
  stop(): Promise<void> | void
}

export function createApp(deps: AppDeps): App {
  const { config, clock, logger } = deps
  const random = deps.random ? { random: deps.random } : {}
  const metrics = createMetrics()
  const errors = new ErrorWindow(clock)
  const quality = new QualityRecorder(clock)
  const startedAt = clock.now()
  const cancel = new AbortController()
  let db: Db | null = null
  let supervisor: DbSupervisor | null = null
  let timescale: TimescaleStatus | null = null
  let refresher: AggregateRefresher | null = null
  let output: PostgresOutput | null = null
  let http: HttpServer | null = null
  let flushed = true
  let starting: Promise<void> | null = null
  let stopping: Promise<boolean> | null = null

  const ctx: WiringContext = {
    logger,
    metrics,
    clock,
    quality: (e) => quality.record(e),
    noteError: () => errors.note(),
    setDbConnected: (up) => {
      if (supervisor) supervisor.connected = up
    },
  }
  // One lane per market with symbols: its own feed, REST host and budget, features and gap repair.
  const lanes = config.markets.map(
    (market) =>
      new MarketLane({
        config,
        market,
        clock,
        logger,
        ctx,
        ...random,
        ...(deps.streamTuning ? { streamTuning: deps.streamTuning } : {}),
        ...(deps.gapCheckEveryMs !== undefined ? { gapCheckEveryMs: deps.gapCheckEveryMs } : {}),
      }),
  )
  const laneOf = (market: Market) => lanes.find((l) => l.module.id === market)
  const sum = (f: (l: MarketLane) => number) => lanes.reduce((n, l) => n + f(l), 0)
  const newest = (f: (l: MarketLane) => number | null) =>
    lanes.reduce<number | null>((t, l) => {
      const x = f(l)
      return x !== null && (t === null || x > t) ? x : t
    }, null)
  const view: AppView = {
    clock,
    metrics,
    startedAt,
    lanes,
    candlesProcessed: () => sum((l) => l.live.candlesProcessed),
    lastCandle: () => newest((l) => l.live.lastCandle),
    reachableDb: () => (supervisor?.connected ? db : null),
    databaseConnected: () => supervisor?.connected ?? false,
    candlesInDb: async () => (await supervisor?.candles()) ?? null,
    dbPoolSize: () => db?.poolSize() ?? 0,
    pendingBackfills: () => sum((l) => l.gaps?.pendingBackfills() ?? 0),
    gapCheckLast: () => newest((l) => l.gaps?.gapCheckLast() ?? null),
    errors24h: () => errors.count(),
    bufferSize: () => output?.bufferSize ?? 0,
    spoolBytes: () => output?.spool.bytes ?? 0,
    spoolHeldCandles: () => output?.sink.heldCandles ?? 0,
    featuresWarmedUp: () => lanes.every((l) => l.features?.warmedUp() ?? false),
    timescale: () => (timescale === null ? null : describeTimescale(timescale)),
  }
  const httpRoutes = createHttpRoutes(view)

  /** Commits backfilled candles; throws when the database refused some, so no gap is misjudged. */
  async function writeBackfill(candles: readonly Candle[]): Promise<void> {
    for (const c of await writeAll(output as PostgresOutput, candles)) laneOf(c.market)?.live.noteLatest(c)
  }

  /** History written out of order (spool replay, gap repair): features and aggregates repair it. */
  function historyChanged(
    market: Market,
    symbol: string,
    from: number,
    to: number,
    aggregates: boolean,
  ): void {
    void laneOf(market)?.features?.onHistoryChanged(symbol, from, to)
    if (aggregates) refresher?.note(from, to)
  }

  const STEPS: readonly Step[] = [
    {
      name: 'http',
      async start() {
        http = await startHttpServer({
          host: config.healthHost,
          port: config.healthPort,
          routes: httpRoutes.routes,
          onError: (err) => logger.error({ code: 'HTTP_ERROR', err }, 'HTTP handler failed'),
        })
        logger.info({ host: config.healthHost, port: http.port }, 'HTTP endpoints listening')
      },
      async stop() {
        httpRoutes.close()
        await http?.close()
      },
    },
    {
      name: 'binance rest',
      async start() {
        // Each market's host is asked about its own symbols; an unknown one stops the start (exit 2).
        await Promise.all(lanes.map((l) => l.startRest()))
      },
      stop() {
        for (const l of lanes) l.stopRest()
      },
    },
    {
      name: 'database',
      async start() {
        const store = await openStoreWaiting({
          config,
          clock,
          logger,
          random: deps.random ?? Math.random,
          signal: cancel.signal,
          onWait: () => metrics.dbUp.set(0),
        })
        db = store.db
        supervisor = new DbSupervisor({
          db,
          clock,
          logger,
          config,
          onReachable: () => quality.flushPending(),
        })
        quality.attach(db)
        timescale = store.timescale
        reportTimescale(logger, config, store)
        refresher = createRefresher(db, store.timescale, ctx)
        supervisor.start()
      },
      async stop() {
        supervisor?.stop()
        await refresher?.close()
        await db?.close()
      },
    },
    {
      name: 'features',
      async start() {
        for (const l of lanes) await l.startFeatures(db as Db)
      },
      async stop() {
        await Promise.all(lanes.map((l) => l.features?.close()))
      },
    },
    {
      name: 'output',
      start() {
        const o = new PostgresOutput({
          db: db as Db,
          clock,
          ...random,
          dataDir: config.dataDir,
          // The embedded database already holds DATA_DIR's lock.
          lockDataDir: config.database.kind === 'postgres',
          spoolMaxBytes: config.spoolMaxBytes,
          batchMaxCandles: config.batchMaxCandles,
          batchMaxWaitMs: config.batchMaxWaitMs,
          dbMaxRetries: config.dbMaxRetries,
          onSpoolEvent: onSpoolEvent(ctx),
        })
        output = o
        wireWriter(o.live, ctx, 'live')
        wireWriter(o.bulk, ctx, 'backfill')
        noteWrites(o.live, refresher)
        noteWrites(o.bulk, refresher)
        wireSink(o.sink, ctx)
        // Replayed candles are history the features have not seen (or saw only in memory).
        o.onHistoryChanged((s) => historyChanged(s.market, s.symbol, s.fromOpenTime, s.toOpenTime, true))
        if (o.spool.bytes > 0)
          logger.warn(
            { code: 'SPOOL_PENDING', bytes: o.spool.bytes, candles: o.spool.candles },
            'replaying the spool',
          )
        for (const l of lanes) l.live.targets.outputs = [o]
        o.start()
      },
      async stop() {
        if (output === null) return
        // Whatever the database does not take within most of the shutdown bound goes to the spool.
        const r = await output.close({ timeoutMs: Math.floor(config.shutdownTimeoutMs * 0.7) })
        flushed = !r.timedOut && r.lost === 0
        if (r.kept > 0)
          logger.warn({ code: 'SHUTDOWN_SPOOLED', candles: r.kept }, 'candles spooled for the next start')
        if (!flushed)
          logger.error(
            { code: 'SHUTDOWN_UNWRITTEN', lost: r.lost, timed_out: r.timedOut },
            'shutdown did not write everything',
          )
      },
    },
    {
      name: 'gap repair',
      start() {
        if (!config.backfillEnabled) return
        for (const l of lanes) {
          const gaps = l.startGaps(db as Db, writeBackfill)
          gaps.runner.on('history_changed', (e) => historyChanged(l.module.id, e.symbol, e.from, e.to, false))
        }
      },
      stop() {
        for (const l of lanes) l.gaps?.stop()
      },
    },
    {
      name: 'stream',
      start() {
        for (const l of lanes) l.startStream()
      },
      async stop() {
        await Promise.all(lanes.map((l) => l.live.feed?.stop()))
      },
    },
  ]
  const started: Step[] = []

  return {
    metrics,
    get httpPort() {
      return http?.port ?? null
    },
    get db() {
      return stopping === null ? db : null
    },
    pendingBackfills: () => view.pendingBackfills(),
    snapshot: () => snapshot(view),
    start() {
      starting ??= (async () => {
        for (const step of STEPS) {
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
        logger.info({ flushed }, 'stopped')
        return flushed
      })()
      return stopping
    },
  }
}
