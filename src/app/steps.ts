/**
 * The app's parts in start order: each step opens one part and wires it; its
 * stop closes it. app.ts runs the starts in this order and the stops in
 * reverse, so that the stream stops first and the database last.
 */
import type { Candle, Market } from '../core/records.ts'
import { type HttpServer, startHttpServer } from '../http/server.ts'
import { writeAll } from '../outputs/output.ts'
import { PostgresOutput } from '../outputs/postgres-output.ts'
import type { AggregateRefresher } from '../store/aggregate-refresher.ts'
import type { Db } from '../store/db.ts'
import type { TimescaleStatus } from '../store/migrate.ts'
import type { AppDeps } from './app-api.ts'
import { CandleNotices } from './candle-notices.ts'
import { DbSupervisor, openStoreWaiting } from './db-supervisor.ts'
import type { ExchangeTime } from './exchange-time.ts'
import type { HttpRoutes } from './http-routes.ts'
import type { MarketLane } from './market-lane.ts'
import type { QualityRecorder } from './quality-recorder.ts'
import { onSpoolEvent, wireSink, wireWriter } from './report-store.ts'
import type { WiringContext } from './reporting.ts'
import { createRefresher, noteWrites, reportTimescale } from './timescale.ts'

export interface Step {
  readonly name: string
  start(): Promise<void> | void
  stop(): Promise<void> | void
}

/** The parts as they open; null before their step ran. */
export interface AppParts {
  http: HttpServer | null
  db: Db | null
  supervisor: DbSupervisor | null
  timescale: TimescaleStatus | null
  refresher: AggregateRefresher | null
  output: PostgresOutput | null
  /** Whether the output's stop delivered or kept everything. */
  flushed: boolean
}

export function noParts(): AppParts {
  return {
    http: null,
    db: null,
    supervisor: null,
    timescale: null,
    refresher: null,
    output: null,
    flushed: true,
  }
}

/** What the steps share, built by app.ts before any step runs. */
export interface StepShared {
  readonly ctx: WiringContext
  /** One per market with symbols: its feed, REST host, symbol check, features and gap repair. */
  readonly lanes: readonly MarketLane[]
  readonly quality: QualityRecorder
  readonly httpRoutes: HttpRoutes
  /** Aborted by stop() or cancelStart(): ends a wait for the database. */
  readonly cancel: AbortSignal
  /** Keeps Binance's clock (each lane's REST, stream and gap repair read it) in step. */
  readonly exchangeTime: ExchangeTime
}

export function appSteps(deps: AppDeps, p: AppParts, s: StepShared): Step[] {
  const { config, clock, logger } = deps
  const { ctx, lanes, quality, httpRoutes } = s
  const { metrics } = ctx
  const random = deps.random ? { random: deps.random } : {}
  const laneOf = (market: Market) => lanes.find((l) => l.module.id === market)
  const notices = new CandleNotices(lanes, ctx)

  /** Commits backfilled candles; throws when the database refused some, so no gap is misjudged. */
  async function writeBackfill(candles: readonly Candle[]): Promise<void> {
    for (const c of await writeAll(p.output as PostgresOutput, candles)) laneOf(c.market)?.live.noteLatest(c)
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
    notices.sent(market, symbol, from, to) // other replicas' live windows
    if (aggregates) p.refresher?.note(from, to)
  }

  return [
    {
      name: 'http',
      async start() {
        p.http = await startHttpServer({
          host: config.healthHost,
          port: config.healthPort,
          routes: httpRoutes.routes,
          onError: (err) => logger.error({ code: 'HTTP_ERROR', err }, 'HTTP handler failed'),
        })
        logger.info({ host: config.healthHost, port: p.http.port }, 'HTTP endpoints listening')
      },
      async stop() {
        httpRoutes.close()
        await p.http?.close()
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
      name: 'exchange time',
      // Before anything judges a minute: the stream's closes, the catch-up's window.
      start: () => s.exchangeTime.start(),
      stop: () => s.exchangeTime.stop(),
    },
    {
      name: 'database',
      async start() {
        const store = await openStoreWaiting({
          config,
          clock,
          logger,
          random: deps.random ?? Math.random,
          signal: s.cancel,
          onWait: () => metrics.dbUp.set(0),
        })
        p.db = store.db
        p.supervisor = new DbSupervisor({
          db: p.db,
          clock,
          logger,
          config,
          onReachable: () => quality.flushPending(),
        })
        quality.attach(p.db)
        p.timescale = store.timescale
        reportTimescale(logger, config, store)
        p.refresher = createRefresher(p.db, store.timescale, ctx)
        // Materialised in the background: a first start over a large history does not hold up streaming.
        void p.refresher?.materialiseAll(config.timescale.retention1m)
        p.supervisor.start()
      },
      async stop() {
        p.supervisor?.stop()
        await p.refresher?.close()
        await p.db?.close()
      },
    },
    {
      name: 'features',
      async start() {
        for (const l of lanes) await l.startFeatures(p.db as Db)
        // Candles other processes commit reach the live windows (PostgreSQL).
        notices.start(p.db as Db, deps.random)
      },
      async stop() {
        await notices.stop()
        await Promise.all(lanes.map((l) => l.features?.close()))
      },
    },
    {
      name: 'output',
      start() {
        const o = new PostgresOutput({
          db: p.db as Db,
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
        p.output = o
        wireWriter(o.live, ctx, 'live')
        // Feature rows of committed candles are written now: FEATURE_UPDATE_INTERVAL is only their bound.
        o.live.on('flushed', (e) => {
          for (const l of lanes) l.features?.candlesCommitted(e.candles)
        })
        wireWriter(o.bulk, ctx, 'backfill')
        noteWrites(o.live, p.refresher)
        noteWrites(o.bulk, p.refresher)
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
        if (p.output === null) return
        // Whatever the database does not take within most of the shutdown bound goes to the spool.
        const r = await p.output.close({ timeoutMs: Math.floor(config.shutdownTimeoutMs * 0.7) })
        p.flushed = !r.timedOut && r.lost === 0
        if (r.kept > 0)
          logger.warn({ code: 'SHUTDOWN_SPOOLED', candles: r.kept }, 'candles spooled for the next start')
        if (!p.flushed)
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
          const gaps = l.startGaps(p.db as Db, writeBackfill)
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
        // Catch-up runs beside each market's stream, never before it (see MarketLane.startStream).
        for (const l of lanes) l.startStream()
      },
      async stop() {
        await Promise.all(lanes.map((l) => l.live.feed?.stop()))
      },
    },
  ]
}
