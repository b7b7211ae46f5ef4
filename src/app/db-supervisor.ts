/**
 * The database as the app sees it: opened (and waited for at start while it is
 * unreachable), migrated, then watched — a ping every few seconds decides
 * whether it counts as connected (/ready, feeder_db_up), and the row count for
 * /health is cached so a slow count never holds a request.
 */
import type { Config } from '../config/config.ts'
import { describeDatabase } from '../config/config.ts'
import { type Clock, type TimerHandle, within } from '../core/clock.ts'
import { retry, SCHEDULES } from '../core/retry.ts'
import type { Logger } from '../observability/logger.ts'
import { countCandles } from '../store/candle-queries.ts'
import type { Db, DbOptions } from '../store/db.ts'
import { isConnectionFailure, StoreError } from '../store/errors.ts'
import { type MigrateResult, migrate } from '../store/migrate.ts'
import { openDb } from '../store/open-db.ts'

const PING_INTERVAL_MS = 5_000
/**
 * A real PostgreSQL that does not answer a ping within this long counts as
 * down (a hung server or a network that holds the bytes raises no error).
 * The store's own client-side query timeout then ends the stuck queries.
 */
export const PING_TIMEOUT_MS = 10_000
const COUNT_CACHE_MS = 15_000
/** From this attempt on (about a minute of waiting) the wait is logged as an error. */
const LOUD_AFTER = 6

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

/**
 * Opens and migrates the configured database once; closes it again if migrating fails.
 * `materialise: 'later'`: the aggregates are left for the service to materialise after its
 * start (the migrate command does it now).
 */
export async function openStore(
  config: Config,
  opts: { clock?: Clock; materialise?: 'now' | 'later' } = {},
): Promise<{ db: Db } & MigrateResult> {
  const db = await openDb(dbOptions(config))
  try {
    const { clock, materialise } = opts
    const now = clock ? { now: () => clock.now() } : {}
    const when = materialise ? { materialise } : {}
    return { db, ...(await migrate(db, { timescale: config.timescale, ...now, ...when })) }
  } catch (err) {
    await db.close().catch(() => {})
    throw err
  }
}

/**
 * openStore, waiting while the database is unreachable (refused, timed out,
 * starting up, shutting down) on the `db.start` schedule, with /live up and
 * /ready 503; anything else (no such database, bad password, a locked
 * DATA_DIR) is fatal at once. Aborting `signal` ends the wait: START_CANCELLED.
 */
export function openStoreWaiting(o: {
  config: Config
  clock: Clock
  logger: Logger
  random: () => number
  signal: AbortSignal
  onWait(): void
}): Promise<{ db: Db } & MigrateResult> {
  return retry(() => openStore(o.config, { clock: o.clock, materialise: 'later' }), {
    schedule: SCHEDULES['db.start'],
    clock: o.clock,
    random: o.random,
    maxRetries: Number.POSITIVE_INFINITY,
    // Only a real PostgreSQL that cannot be reached is waited for; PGlite's errors are final.
    retryable: (err) => o.config.database.kind === 'postgres' && isConnectionFailure(err),
    onRetry: ({ attempt, delayMs, error }) => {
      // Loud once it lasts: a wrong host looks the same as a database still starting.
      o.logger[attempt >= LOUD_AFTER ? 'error' : 'warn'](
        { code: 'DB_UNAVAILABLE_AT_START', attempt, retry_in_ms: delayMs, err: error },
        'database not reachable yet; waiting for it before streaming',
      )
      o.onWait()
    },
    signal: o.signal,
  })
}

export function startCancelled(): StoreError {
  return new StoreError('START_CANCELLED', 'start cancelled while waiting for the database')
}

/** Watches an open database: reachable or not, and its candle count. */
export class DbSupervisor {
  /** Reachable as of the last ping or write. */
  connected = true
  private pinging: Promise<void> | null = null
  private timer: TimerHandle | null = null
  private stopped = false
  private count: { value: number | null; at: number } = { value: null, at: 0 }
  private counting: Promise<void> | null = null
  private readonly o: {
    db: Db
    clock: Clock
    logger: Logger
    config: Config
    /** After a ping that answered: write what waited for the database. */
    onReachable(): Promise<void>
  }

  constructor(o: DbSupervisor['o']) {
    this.o = o
  }

  start(): void {
    this.schedule()
  }

  stop(): void {
    this.stopped = true
    this.timer?.cancel()
  }

  private schedule(): void {
    this.timer = this.o.clock.setTimeout(() => {
      void this.ping().finally(() => {
        if (!this.stopped) this.schedule()
      })
    }, PING_INTERVAL_MS)
  }

  async ping(): Promise<void> {
    const { db, clock, logger } = this.o
    try {
      // PGlite runs in this process: it cannot hang apart from it, and never needs a deadline.
      // A ping still unanswered from the last round is waited for again rather than doubled.
      this.pinging ??= db.ping().finally(() => {
        this.pinging = null
      })
      const ping = this.pinging
      let answered = true
      if (db.kind === 'pglite') await ping
      else answered = (await within(clock, ping, PING_TIMEOUT_MS)).inTime
      if (!answered) {
        if (this.connected)
          logger.error(
            { code: 'DB_UNREACHABLE', timeout_ms: PING_TIMEOUT_MS },
            'database unreachable: no answer to a ping',
          )
        this.connected = false
        return
      }
      if (!this.connected)
        logger.info({ database: describeDatabase(this.o.config.database) }, 'database reachable')
      this.connected = true
      await this.o.onReachable()
    } catch (err) {
      if (this.connected) logger.error({ code: 'DB_UNREACHABLE', err }, 'database unreachable')
      this.connected = false
    }
  }

  /**
   * The row count, refreshed at most every COUNT_CACHE_MS. A count that takes
   * longer than the ping deadline (a huge table, a hung server) does not hold
   * the request: the last value is answered, the count lands when it is done.
   */
  async candles(): Promise<number | null> {
    const { db, clock } = this.o
    const now = clock.now()
    if (!this.stopped && this.connected && this.counting === null && now - this.count.at > COUNT_CACHE_MS) {
      this.counting = countCandles(db)
        .then((value) => {
          this.count = { value, at: clock.now() }
        })
        .catch(() => {
          this.count = { value: this.count.value, at: clock.now() }
        })
        .finally(() => {
          this.counting = null
        })
    }
    if (this.counting !== null && db.kind !== 'pglite') await within(clock, this.counting, PING_TIMEOUT_MS)
    else if (this.counting !== null) await this.counting
    return this.count.value
  }
}
