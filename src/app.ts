/**
 * The composition root. `start()` opens things in pipeline order
 * (HTTP → symbols check → store → writers → stream → gap repair); `stop()`
 * closes them in reverse, flushing what is buffered. Core modules emit
 * events; app-wiring.ts turns them into logs, metrics and quality rows.
 */

import { monitorEventLoopDelay } from 'node:perf_hooks'
import {
  onRestEvent,
  onSpoolEvent,
  onWebhookEvent,
  type WiringContext,
  wireFeatures,
  wireFeed,
  wireGaps,
  wireSink,
  wireWriter,
} from './app-wiring.ts'
import { type BinanceFeed, type ConnectionTuning, createBinanceFeed } from './binance/feed.ts'
import type { RestClient } from './binance/rest-api.ts'
import { createRestClient } from './binance/rest-client.ts'
import { checkSymbols } from './binance/symbol-check.ts'
import { CandleAssembler } from './candles/candle-assembler.ts'
import type { Config } from './config/config.ts'
import { ConfigError, describeDatabase } from './config/config.ts'
import { type Clock, within } from './core/clock.ts'
import type { Candle, StreamEvent } from './core/records.ts'
import { createFeatureEngine, type FeatureEngine } from './features/feature-engine.ts'
import { createGapService, type GapService } from './gaps/gap-service.ts'
import { type HealthSnapshot, healthBody, readiness } from './health/health.ts'
import { type HttpServer, json, type Route, startHttpServer } from './http/server.ts'
import { renderStatusPage, statusData } from './http/status-page.ts'
import { type Logger, LogRateLimiter } from './observability/logger.ts'
import { createMetrics, type Metrics } from './observability/metrics.ts'
import { createDurableSink, type DurableSink } from './spool/durable-sink.ts'
import { openSpool, type Spool, spoolDir } from './spool/spool.ts'
import type { AggregateRefresher } from './store/aggregate-refresher.ts'
import { countCandles, insertQualityLog, type QualityEvent } from './store/candle-queries.ts'
import { type CandleWriter, createCandleWriter } from './store/candle-writer.ts'
import { acquireDataDirLock, type DataDirLock } from './store/data-dir-lock.ts'
import { type Db, type DbOptions, openDb } from './store/db.ts'
import { isConnectionFailure, StoreError } from './store/errors.ts'
import { type MigrateResult, migrate, type TimescaleStatus } from './store/migrate.ts'
import { createRefresher, describeTimescale, noteWrites, reportTimescale } from './timescale-wiring.ts'

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

const DB_PING_INTERVAL_MS = 5_000
/**
 * A real PostgreSQL that does not answer a ping within this long counts as
 * down (a hung server or a network that holds the bytes raises no error).
 * The store's own client-side query timeout then ends the stuck queries.
 */
const DB_PING_TIMEOUT_MS = 10_000
const SYMBOL_RECHECK_MS = 5 * 60_000
/** Backfill writes go through their own writer, in large set-based batches. */
const BACKFILL_BATCH = 1_000
/** Closed candles that arrive while a write is in flight go out together, up to this many. */
const LIVE_GROUP = 1_000
const SPOOL_REPLAY_MS = 5_000
const MAX_PENDING_QUALITY = 1_000
const COUNT_CACHE_MS = 15_000
const DAY_MS = 86_400_000
/** Waiting for an unreachable database at start: 1 s, 2 s, 4 s … at most this long between tries. */
const DB_START_RETRY_MAX_MS = 30_000
/** From this attempt on (about a minute of waiting) the wait is logged as an error. */
const DB_START_LOUD_AFTER = 6

/** The store's view of the configured database. */
export function dbOptions(config: Config): DbOptions {
  const d = config.database
  if (d.kind === 'pglite') return { kind: 'pglite', dataDir: d.dataDir }
  return {
    kind: 'postgres',
    ...(d.connectionString !== undefined ? { connectionString: d.connectionString } : {}),
    ...(d.host !== undefined ? { host: d.host } : {}),
    ...(d.port !== undefined ? { port: d.port } : {}),
    ...(d.database !== undefined ? { database: d.database } : {}),
    ...(d.user !== undefined ? { user: d.user } : {}),
    ...(d.password !== undefined ? { password: d.password } : {}),
    ...(d.sslmode !== undefined ? { sslmode: d.sslmode } : {}),
    poolMin: d.poolMin,
    poolMax: d.poolMax,
    idleTimeoutMs: d.idleTimeoutMs,
  }
}

export function createApp(deps: AppDeps): App {
  const { config, clock, logger } = deps
  const metrics = createMetrics()
  const assembler = new CandleAssembler(config.symbols, 'spot')
  const limiter = new LogRateLimiter()
  const startedAt = clock.now()
  const perSymbol = new Map(config.symbols.map((s) => [s, { last: null as number | null, processed: 0 }]))
  const errorTimes: number[] = []
  const pendingQuality: QualityEvent[] = []
  let db: Db | null = null
  let writer: CandleWriter | null = null
  let sink: DurableSink | null = null
  let spool: Spool | null = null
  let dirLock: DataDirLock | null = null
  let features: FeatureEngine | null = null
  let backfillWriter: CandleWriter | null = null
  let backfillFailures = 0
  let timescale: TimescaleStatus | null = null
  let refresher: AggregateRefresher | null = null
  let rest: RestClient | null = null
  let gaps: GapService | null = null
  let recheckTimer: { cancel(): void } | null = null
  let feed: BinanceFeed | null = null
  let http: HttpServer | null = null
  let dbConnected = false
  let candlesProcessed = 0
  let lastCandle: number | null = null
  let count: { value: number | null; at: number } = { value: null, at: 0 }
  let counting: Promise<void> | null = null
  let pinging: Promise<void> | null = null
  let pingTimer: { cancel(): void } | null = null
  let stopping: Promise<boolean> | null = null
  let startCancelled = false
  let wakeStartWait: (() => void) | null = null

  /**
   * Opens and migrates the database. While it is unreachable (refused, timed
   * out, starting up, shutting down) the start waits and tries again, with
   * /live up and /ready 503; anything else (no such database, bad password, a
   * locked DATA_DIR) is fatal at once. The stream starts only once the store
   * is ready; the catch-up then fetches the minutes that passed meanwhile.
   */
  async function openStore(): Promise<{ db: Db } & MigrateResult> {
    for (let attempt = 1; ; attempt++) {
      let opened: Db | null = null
      try {
        opened = await openDb(dbOptions(config))
        const m = await migrate(opened, {
          timescale: config.timescale,
          now: () => clock.now(),
          materialise: 'later',
        })
        return { db: opened, ...m }
      } catch (err) {
        await opened?.close().catch(() => {})
        // Only a real PostgreSQL that cannot be reached is waited for; PGlite's errors are final.
        if (config.database.kind !== 'postgres' || !isConnectionFailure(err) || startCancelled) throw err
        const delayMs = Math.round(
          Math.min(DB_START_RETRY_MAX_MS, 1_000 * 2 ** (attempt - 1)) *
            (0.8 + 0.2 * (deps.random ?? Math.random)()),
        )
        // Loud once it lasts: a wrong host looks the same as a database still starting.
        logger[attempt >= DB_START_LOUD_AFTER ? 'error' : 'warn'](
          { code: 'DB_UNAVAILABLE_AT_START', attempt, retry_in_ms: delayMs, err },
          'database not reachable yet; waiting for it before streaming',
        )
        metrics.dbUp.set(0)
        await new Promise<void>((resolve) => {
          const timer = clock.setTimeout(resolve, delayMs)
          wakeStartWait = () => {
            timer.cancel()
            resolve()
          }
        })
        wakeStartWait = null
      }
      if (startCancelled)
        throw new StoreError('START_CANCELLED', 'start cancelled while waiting for the database')
    }
  }

  function noteError(): void {
    const now = clock.now()
    errorTimes.push(now)
    while (errorTimes.length > 0 && (errorTimes[0] as number) < now - DAY_MS) errorTimes.shift()
  }

  /**
   * Records a data_quality_logs row. During a database outage the rows wait in
   * memory (bounded) and are written once the database answers again, so the
   * record of the outage itself is not lost with it.
   */
  function quality(event: QualityEvent): void {
    if (db === null) return
    const at = clock.now()
    const stamped: QualityEvent = event.details
      ? { ...event, details: { ...event.details, observed_at: new Date(at).toISOString() } }
      : event
    insertQualityLog(db, stamped).catch(() => {
      if (pendingQuality.length >= MAX_PENDING_QUALITY) pendingQuality.shift()
      pendingQuality.push(stamped)
    })
  }

  async function flushPendingQuality(): Promise<void> {
    while (db !== null && pendingQuality.length > 0) {
      const next = pendingQuality[0] as QualityEvent
      try {
        await insertQualityLog(db, next)
        pendingQuality.shift()
      } catch {
        return
      }
    }
  }

  function rejected(reason: string, detail: string, symbol: string | null): void {
    metrics.invalidFrames.inc({ reason })
    noteError()
    const suppressed = limiter.admit(reason, clock.now())
    if (suppressed === null) return
    logger.warn({ code: 'INVALID_MESSAGE', reason, detail, suppressed }, 'rejected a stream message')
    quality({
      eventType: 'invalid_message',
      market: 'spot',
      symbol,
      source: 'ws',
      errorMessage: `${reason}: ${detail}`.slice(0, 500),
      details: { reason, suppressed_since_last: suppressed },
    })
  }

  /** The newest closed candle, per symbol and overall, from the stream or from REST. */
  function noteLatest(c: Candle): void {
    const s = perSymbol.get(c.symbol)
    if (s && (s.last === null || c.openTime > s.last)) s.last = c.openTime
    if (lastCandle === null || c.openTime > lastCandle) lastCandle = c.openTime
  }

  function onEvent(event: StreamEvent): void {
    metrics.framesReceived.inc({ type: event.type })
    const r = assembler.accept(event, clock.now())
    if (r.kind === 'candle') {
      const c = r.candle
      metrics.candlesClosed.inc()
      candlesProcessed++
      const s = perSymbol.get(c.symbol)
      if (s) s.processed++
      noteLatest(c)
      sink?.add(c)
      features?.onCandle(c)
      gaps?.onCandle(c)
      metrics.bufferSize.set(sink?.bufferSize ?? 0)
    } else if (r.kind === 'rejected') {
      rejected(
        r.reason,
        r.detail,
        event.type === 'kline' || event.type === 'book_ticker' ? event.symbol : null,
      )
    } else if (event.type === 'control_error') {
      logger.warn(
        { code: 'STREAM_CONTROL_ERROR', id: event.id, error_code: event.code, msg: event.msg },
        'stream control request failed',
      )
    }
  }

  function wireInvalid(f: BinanceFeed): void {
    f.on('invalid', (info) => rejected(info.reason, info.detail, null))
  }

  async function pingDb(): Promise<void> {
    if (db === null) return
    try {
      // PGlite runs in this process: it cannot hang apart from it, and never needs a deadline.
      // A ping still unanswered from the last round is waited for again rather than doubled.
      pinging ??= db.ping().finally(() => {
        pinging = null
      })
      const ping = pinging
      let answered = true
      if (db.kind === 'pglite') await ping
      else answered = (await within(clock, ping, DB_PING_TIMEOUT_MS)).inTime
      if (!answered) {
        if (dbConnected) {
          logger.error(
            { code: 'DB_UNREACHABLE', timeout_ms: DB_PING_TIMEOUT_MS },
            'database unreachable: no answer to a ping',
          )
        }
        dbConnected = false
        return
      }
      if (!dbConnected) logger.info({ database: describeDatabase(config.database) }, 'database reachable')
      dbConnected = true
      await flushPendingQuality()
    } catch (err) {
      if (dbConnected) logger.error({ code: 'DB_UNREACHABLE', err }, 'database unreachable')
      dbConnected = false
    }
  }

  function schedulePing(): void {
    pingTimer = clock.setTimeout(() => {
      void pingDb().finally(() => {
        if (stopping === null) schedulePing()
      })
    }, DB_PING_INTERVAL_MS)
  }

  /**
   * The row count, refreshed at most every COUNT_CACHE_MS. A count that takes
   * longer than the ping deadline (a huge table, a hung server) does not hold
   * the request: the last value is answered, the count lands when it is done.
   */
  async function candlesInDb(): Promise<number | null> {
    const now = clock.now()
    if (db !== null && dbConnected && counting === null && now - count.at > COUNT_CACHE_MS) {
      const from = db
      counting = countCandles(from)
        .then((value) => {
          count = { value, at: clock.now() }
        })
        .catch(() => {
          count = { value: count.value, at: clock.now() }
        })
        .finally(() => {
          counting = null
        })
    }
    if (counting !== null && db?.kind !== 'pglite') await within(clock, counting, DB_PING_TIMEOUT_MS)
    else if (counting !== null) await counting
    return count.value
  }

  async function snapshot(): Promise<HealthSnapshot> {
    const status = feed?.status() ?? []
    const now = clock.now()
    return {
      now,
      startedAt,
      candlesProcessed,
      candlesInDb: await candlesInDb(),
      lastCandleOpenTime: lastCandle,
      databaseConnected: dbConnected,
      streamConnections: { total: status.length, connected: status.filter((c) => c.connected).length },
      pendingBackfills: gaps?.pendingBackfills() ?? 0,
      errors24h: errorTimes.filter((t) => t >= now - DAY_MS).length,
      memoryMb: Math.round(process.memoryUsage.rss() / 1048576),
      bufferSize: sink?.bufferSize ?? 0,
      dbPoolSize: db?.poolSize() ?? 0,
      spoolBytes: spool?.bytes ?? 0,
      spoolHeldCandles: sink?.heldCandles ?? 0,
      featuresWarmedUp: features?.warmedUp() ?? false,
      gapCheckLast: gaps?.gapCheckLast() ?? null,
      timescale: timescale === null ? null : describeTimescale(timescale),
      symbols: [...perSymbol].map(([symbol, s]) => ({
        symbol,
        lastCandleOpenTime: s.last,
        candlesProcessed: s.processed,
      })),
    }
  }

  const ctx: WiringContext = {
    logger,
    metrics,
    clock,
    quality,
    noteError,
    setDbConnected: (up) => {
      dbConnected = up
    },
  }

  /** Commits backfilled candles; throws when the database refused them, so no gap is misjudged. */
  async function writeBackfill(candles: readonly Candle[]): Promise<void> {
    const w = backfillWriter as CandleWriter
    const before = backfillFailures
    for (const c of candles) w.add(c)
    await w.flush()
    if (backfillFailures > before)
      throw new Error(`${backfillFailures - before} backfilled candles could not be written`)
    for (const c of candles) noteLatest(c)
  }

  async function verifySymbols(api: RestClient, atStart: boolean): Promise<void> {
    const check = await checkSymbols(api, config.symbols)
    if (check.kind === 'unknown') {
      const problem = `unknown on Binance: ${check.symbols.join(', ')}`
      if (atStart)
        throw new ConfigError(
          config.symbols.length > 1 ? 'TRADING_SYMBOLS' : 'TRADING_SYMBOL',
          problem,
          'btcusdt',
        )
      logger.error(
        { code: 'UNKNOWN_SYMBOL', symbols: check.symbols },
        `symbols ${problem}; they will never receive data`,
      )
    } else if (check.kind === 'unreachable') {
      logger.warn(
        { code: 'SYMBOL_CHECK_DEFERRED', err: check.error },
        'Binance REST unreachable; symbols will be checked later',
      )
      recheckTimer = clock.setTimeout(() => {
        if (stopping === null && rest !== null) void verifySymbols(rest, false)
      }, SYMBOL_RECHECK_MS)
    } else {
      for (const s of check.notTrading)
        logger.warn({ code: 'SYMBOL_NOT_TRADING', ...s }, 'symbol is not trading')
      if (!atStart) logger.info({ symbols: config.symbols }, 'symbols verified on Binance')
    }
  }

  const loopDelay = monitorEventLoopDelay({ resolution: 10 })
  loopDelay.enable()

  /** Gauges that are a view of current state are computed when scraped. */
  function refreshGauges(): void {
    const now = clock.now()
    metrics.connectionAge.reset()
    for (const c of feed?.status() ?? []) {
      if (c.connected && c.openedAt !== null)
        metrics.connectionAge.set({ connection: c.id }, (now - c.openedAt) / 1000)
    }
    for (const [symbol, s] of perSymbol) {
      if (s.last !== null)
        metrics.lastCandleAge.set({ symbol }, Math.max(0, (now - (s.last + 60_000)) / 1000))
    }
    metrics.eventLoopLag.set(loopDelay.percentile(99) / 1e9)
    loopDelay.reset()
    metrics.dbUp.set(dbConnected ? 1 : 0)
    metrics.pendingBackfills.set(gaps?.pendingBackfills() ?? 0)
    metrics.bufferSize.set(sink?.bufferSize ?? 0)
    metrics.spoolBytes.set(spool?.bytes ?? 0)
  }

  const routes = new Map<string, Route>([
    ['/', () => ({ status: 200, body: renderStatusPage(), contentType: 'text/html; charset=utf-8' })],
    [
      '/status.json',
      async () =>
        json(
          200,
          await statusData(dbConnected ? db : null, {
            now: clock.now(),
            health: healthBody(await snapshot()),
            symbols: config.symbols,
          }),
        ),
    ],
    [
      '/live',
      () => json(200, { status: 'alive', uptime_seconds: Math.floor((clock.now() - startedAt) / 1000) }),
    ],
    ['/health', async () => json(200, healthBody(await snapshot()))],
    [
      '/ready',
      async () => {
        const r = readiness(await snapshot())
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

  return {
    metrics,
    get httpPort() {
      return http?.port ?? null
    },
    get db() {
      return stopping === null ? db : null
    },
    pendingBackfills: () => gaps?.pendingBackfills() ?? 0,
    snapshot,
    async start() {
      http = await startHttpServer({
        host: config.healthHost,
        port: config.healthPort,
        routes,
        onError: (err) => logger.error({ code: 'HTTP_ERROR', err }, 'HTTP handler failed'),
      })
      logger.info({ host: config.healthHost, port: http.port }, 'HTTP endpoints listening')
      const random = deps.random ? { random: deps.random } : {}
      rest = createRestClient({ baseUrl: config.restUrl, clock, ...random, onEvent: onRestEvent(ctx) })
      // One quick look before anything else: an unknown symbol is a configuration error.
      const quick = createRestClient({
        baseUrl: config.restUrl,
        clock,
        ...random,
        maxRetries: 0,
        timeoutMs: 5_000,
      })
      try {
        await verifySymbols(quick, true)
      } finally {
        quick.close()
      }
      const store = await openStore()
      if (stopping !== null) {
        // Stopped while waiting: nothing may start after the stop.
        await store.db.close()
        throw new StoreError('START_CANCELLED', 'start cancelled while waiting for the database')
      }
      db = store.db
      dbConnected = true
      timescale = store.timescale
      reportTimescale(logger, config, store)
      refresher = createRefresher(db, store.timescale, ctx)
      void refresher?.materialiseAll(config.timescale.retention1m)
      writer = createCandleWriter({
        db,
        clock,
        maxBatch: config.batchMaxCandles,
        maxGroup: LIVE_GROUP,
        maxWaitMs: config.batchMaxWaitMs,
        maxRetries: config.dbMaxRetries,
        ...random,
      })
      wireWriter(writer, ctx, 'live')
      noteWrites(writer, refresher)
      // The spool lives in DATA_DIR; the embedded database already holds its lock.
      if (config.database.kind === 'postgres') dirLock = acquireDataDirLock(config.dataDir)
      spool = openSpool({
        dir: spoolDir(config.dataDir),
        maxBytes: config.spoolMaxBytes,
        clock,
        onEvent: onSpoolEvent(ctx),
      })
      if (spool.bytes > 0)
        logger.warn(
          { code: 'SPOOL_PENDING', bytes: spool.bytes, candles: spool.candles },
          'replaying the spool',
        )
      sink = createDurableSink({ writer, spool, db, clock, replayIntervalMs: SPOOL_REPLAY_MS, ...random })
      wireSink(sink, ctx)
      features = createFeatureEngine({
        db,
        clock,
        symbols: config.symbols,
        windows: config.featureWindows,
        updateIntervalMs: config.featureUpdateIntervalS * 1000,
        maxRetries: config.dbMaxRetries,
        ...random,
      })
      wireFeatures(features, ctx)
      // Replayed candles are history the features have not seen (or saw only in memory): repair them.
      const engine = features
      sink.on('replayed', (e) => {
        for (const s of e.spans) {
          void engine.onHistoryChanged(s.symbol, s.fromOpenTime, s.toOpenTime)
          refresher?.note(s.fromOpenTime, s.toOpenTime)
        }
      })
      sink.start()
      await features.warmUp()
      schedulePing()
      if (config.backfillEnabled) {
        backfillWriter = createCandleWriter({
          db,
          clock,
          maxBatch: BACKFILL_BATCH,
          maxWaitMs: config.batchMaxWaitMs,
          maxRetries: config.dbMaxRetries,
          ...random,
        })
        wireWriter(backfillWriter, ctx, 'backfill')
        noteWrites(backfillWriter, refresher)
        backfillWriter.on('failed', (info) => {
          backfillFailures += info.candles.length
        })
        gaps = createGapService({
          db,
          rest,
          clock,
          symbols: config.symbols,
          thresholdMs: config.gapDetectionThresholdS * 1000,
          initialBackfillMinutes: config.initialBackfillMinutes,
          webhookUrl: config.gapHandlerUrl,
          write: writeBackfill,
          onWebhookEvent: onWebhookEvent(ctx),
          ...random,
          ...(deps.gapCheckEveryMs !== undefined ? { checkEveryMs: deps.gapCheckEveryMs } : {}),
        })
        wireGaps(gaps, ctx)
        const engine = features
        gaps.runner.on('history_changed', (e) => {
          void engine.onHistoryChanged(e.symbol, e.from, e.to)
        })
      }
      feed = createBinanceFeed({
        baseUrl: config.streamUrl,
        symbols: config.symbols,
        clock,
        ...random,
        ...(deps.streamTuning ? { connection: deps.streamTuning } : {}),
        onEvent,
      })
      wireFeed(feed, ctx, gaps)
      wireInvalid(feed)
      feed.start()
      logger.info({ symbols: config.symbols, stream: config.streamUrl }, 'streaming')
      // The stream is already running: catch-up happens beside it, never before it (nor blocking start).
      gaps
        ?.start()
        .catch((err: unknown) =>
          logger.error({ code: 'CATCH_UP_FAILED', err }, 'start-up catch-up could not be queued'),
        )
    },
    cancelStart() {
      startCancelled = true
      wakeStartWait?.()
    },
    stop(reason) {
      startCancelled = true
      wakeStartWait?.()
      stopping ??= (async () => {
        logger.info({ reason }, 'shutting down')
        pingTimer?.cancel()
        recheckTimer?.cancel()
        loopDelay.disable()
        gaps?.stop()
        await feed?.stop()
        let flushed = true
        if (sink) {
          // Whatever the database does not take within most of the shutdown bound goes to the spool.
          const r = await sink.close({ timeoutMs: Math.floor(config.shutdownTimeoutMs * 0.7) })
          flushed = !r.timedOut && r.lost === 0
          if (r.spooled > 0)
            logger.warn(
              { code: 'SHUTDOWN_SPOOLED', candles: r.spooled },
              'candles spooled for the next start',
            )
          if (!flushed)
            logger.error(
              { code: 'SHUTDOWN_UNWRITTEN', lost: r.lost, timed_out: r.timedOut },
              'shutdown did not write everything',
            )
        }
        spool?.close()
        await features?.close()
        await backfillWriter?.close()
        await refresher?.close()
        rest?.close()
        await http?.close()
        await db?.close()
        dirLock?.release()
        logger.info({ flushed }, 'stopped')
        return flushed
      })()
      return stopping
    },
  }
}
