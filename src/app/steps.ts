/**
 * The app's parts in start order: each step opens one part and wires it; its
 * stop closes it. app.ts runs the starts in this order and the stops in
 * reverse, so that the stream stops first and the database last.
 */
import type { RestClient } from '../binance/rest/rest-api.ts'
import { createRestClient } from '../binance/rest/rest-client.ts'
import type { ExchangeClock } from '../core/exchange-clock.ts'
import type { Candle } from '../core/records.ts'
import { createFeatureEngine, type FeatureEngine } from '../feature-store/feature-engine.ts'
import { createGapService, type GapService } from '../gaps/gap-service.ts'
import { type HttpServer, startHttpServer } from '../http/server.ts'
import { SPOT } from '../markets/spot.ts'
import { writeAll } from '../outputs/output.ts'
import { PostgresOutput } from '../outputs/postgres-output.ts'
import type { AggregateRefresher } from '../store/aggregate-refresher.ts'
import type { Db } from '../store/db.ts'
import type { TimescaleStatus } from '../store/migrate.ts'
import type { AppDeps } from './app-api.ts'
import { DbSupervisor, openStoreWaiting } from './db-supervisor.ts'
import type { ExchangeTime } from './exchange-time.ts'
import type { HttpRoutes } from './http-routes.ts'
import type { LiveRoute } from './live-route.ts'
import type { QualityRecorder } from './quality-recorder.ts'
import { onSpoolEvent, wireFeatures, wireSink, wireWriter } from './report-store.ts'
import { onRestEvent, onWebhookEvent, wireFeed, wireGaps } from './report-stream.ts'
import type { WiringContext } from './reporting.ts'
import type { SymbolWatch } from './symbol-watch.ts'
import { createRefresher, noteWrites, reportTimescale } from './timescale.ts'

export interface Step {
  readonly name: string
  start(): Promise<void> | void
  stop(): Promise<void> | void
}

/** The parts as they open; null before their step ran. */
export interface AppParts {
  http: HttpServer | null
  rest: RestClient | null
  db: Db | null
  supervisor: DbSupervisor | null
  timescale: TimescaleStatus | null
  refresher: AggregateRefresher | null
  features: FeatureEngine | null
  output: PostgresOutput | null
  gaps: GapService | null
  /** Whether the output's stop delivered or kept everything. */
  flushed: boolean
}

export function noParts(): AppParts {
  return {
    http: null,
    rest: null,
    db: null,
    supervisor: null,
    timescale: null,
    refresher: null,
    features: null,
    output: null,
    gaps: null,
    flushed: true,
  }
}

/** What the steps share, built by app.ts before any step runs. */
export interface StepShared {
  readonly ctx: WiringContext
  readonly live: LiveRoute
  readonly quality: QualityRecorder
  readonly httpRoutes: HttpRoutes
  readonly symbols: SymbolWatch
  /** Aborted by stop() or cancelStart(): ends a wait for the database. */
  readonly cancel: AbortSignal
  /** Binance's clock: REST (closed minutes, its budget) and gap repair read it. */
  readonly exchange: ExchangeClock
  readonly exchangeTime: ExchangeTime
}

export function appSteps(deps: AppDeps, p: AppParts, s: StepShared): Step[] {
  const { config, clock, logger } = deps
  const { ctx, live, quality, httpRoutes, symbols } = s
  const { metrics } = ctx
  const random = deps.random ? { random: deps.random } : {}

  /** Commits backfilled candles; throws when the database refused some, so no gap is misjudged. */
  async function writeBackfill(candles: readonly Candle[]): Promise<void> {
    for (const c of await writeAll(p.output as PostgresOutput, candles)) live.noteLatest(c)
  }

  /** History written out of order (spool replay, gap repair): features and aggregates repair it. */
  function historyChanged(symbol: string, from: number, to: number, aggregates: boolean): void {
    void p.features?.onHistoryChanged(symbol, from, to)
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
        p.rest = createRestClient({
          baseUrl: config.restUrl,
          market: SPOT,
          clock,
          exchangeClock: s.exchange,
          ...random,
          onEvent: onRestEvent(ctx),
        })
        await symbols.checkAtStart()
      },
      stop() {
        symbols.stop()
        p.rest?.close()
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
        // In the background: a first start over a large history must not hold up streaming.
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
        p.features = createFeatureEngine({
          db: p.db as Db,
          clock,
          symbols: config.symbols,
          windows: config.featureWindows,
          updateIntervalMs: config.featureUpdateIntervalS * 1000,
          maxRetries: config.dbMaxRetries,
          ...random,
        })
        wireFeatures(p.features, ctx)
        live.targets.features = p.features
        await p.features.warmUp()
      },
      async stop() {
        await p.features?.close()
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
        wireWriter(o.bulk, ctx, 'backfill')
        noteWrites(o.live, p.refresher)
        noteWrites(o.bulk, p.refresher)
        wireSink(o.sink, ctx)
        // Replayed candles are history the features have not seen (or saw only in memory).
        o.onHistoryChanged((span) => historyChanged(span.symbol, span.fromOpenTime, span.toOpenTime, true))
        if (o.spool.bytes > 0)
          logger.warn(
            { code: 'SPOOL_PENDING', bytes: o.spool.bytes, candles: o.spool.candles },
            'replaying the spool',
          )
        live.targets.outputs = [o]
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
        p.gaps = createGapService({
          db: p.db as Db,
          rest: p.rest as RestClient,
          clock: s.exchange,
          symbols: config.symbols,
          thresholdMs: config.gapDetectionThresholdS * 1000,
          initialBackfillMinutes: config.initialBackfillMinutes,
          webhookUrl: config.gapHandlerUrl,
          write: writeBackfill,
          onWebhookEvent: onWebhookEvent(ctx),
          ...random,
          ...(deps.gapCheckEveryMs !== undefined ? { checkEveryMs: deps.gapCheckEveryMs } : {}),
        })
        wireGaps(p.gaps, ctx)
        p.gaps.runner.on('history_changed', (e) => historyChanged(e.symbol, e.from, e.to, false))
        live.targets.gaps = p.gaps
      },
      stop() {
        p.gaps?.stop()
      },
    },
    {
      name: 'stream',
      start() {
        const feed = live.startFeed()
        wireFeed(feed, ctx, p.gaps)
        feed.start()
        logger.info({ symbols: config.symbols, stream: config.streamUrl }, 'streaming')
        // The stream is already running: catch-up happens beside it, never before it (nor blocking start).
        p.gaps
          ?.start()
          .catch((err: unknown) =>
            logger.error({ code: 'CATCH_UP_FAILED', err }, 'start-up catch-up could not be queued'),
          )
      },
      async stop() {
        await live.feed?.stop()
      },
    },
  ]
}
