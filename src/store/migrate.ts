/**
 * Versioned SQL migrations: `migrations/NNN_name.sql`, applied in order, each in
 * its own transaction, recorded in `schema_migrations` with a checksum. Re-runs
 * apply nothing; concurrent runs (two processes starting at once) serialise on
 * a transaction-scoped advisory lock and the loser finds the work done.
 * The TimescaleDB files (`migrations/timescale/`) are applied only where
 * `decideTimescale` says so (TIMESCALEDB=auto|on|off and what the server can
 * do); then the settings (chunk interval, compression, retention) are brought
 * to what the configuration says and the aggregates are materialised.
 * Any failure that is not the server being unreachable is a MIGRATION_FAILED
 * StoreError naming the migration and the cause.
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { ConfigError, type TimescaleConfig } from '../config/config.ts'
import type { Db, Queryable } from './db.ts'
import { isConnectionFailure, StoreError } from './errors.ts'
import {
  decideTimescale,
  probeTimescale,
  TIMESCALE_REMEDY,
  type TimescaleDecision,
  type TimescaleUnavailable,
} from './timescale.ts'
import { applyTimescaleSettings, DEFAULT_TIMESCALE, refreshAllAggregates } from './timescale-settings.ts'

export interface Migration {
  /** e.g. '001_candles_1m' or 'timescale/001_hypertables'. */
  readonly version: string
  readonly sql: string
  readonly checksum: string
}

/** Any fixed 64-bit number; identifies "data-feeder schema migration" among advisory locks. */
const MIGRATION_LOCK_KEY = 7_352_118_409

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url)
const TIMESCALE_DIR = new URL('./migrations/timescale/', import.meta.url)

function load(dir: URL, prefix: string): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => {
      const sql = readFileSync(new URL(f, dir), 'utf8').replace(/\r\n/g, '\n')
      return {
        version: prefix + f.slice(0, -'.sql'.length),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      }
    })
}

/** The plain-PostgreSQL migrations, in order. */
export function baseMigrations(): Migration[] {
  return load(MIGRATIONS_DIR, '')
}

/** The TimescaleDB-only migrations, in order. */
export function timescaleMigrations(): Migration[] {
  return load(TIMESCALE_DIR, 'timescale/')
}

/** What the database runs on, as /health and `migrate` report it. */
export type TimescaleStatus =
  | { readonly state: 'on'; readonly version: string; readonly keptDespiteOff: boolean }
  | { readonly state: 'off' }
  | { readonly state: 'unavailable'; readonly reason: TimescaleUnavailable }

export interface MigrateResult {
  applied: string[]
  timescale: TimescaleStatus
  /** Said once at start (warn): why TimescaleDB is not used although it could be. */
  warnings: { code: string; message: string }[]
}

export interface MigrateOptions {
  readonly timescale?: TimescaleConfig
  /** Wall clock for the refresh bound of the aggregates (default Date.now). */
  readonly now?: () => number
  /**
   * 'now' (default): the aggregates are materialised before migrate resolves (`data-feeder
   * migrate`). 'later': the caller does it (the service, in the background, so that a large
   * history does not hold up streaming).
   */
  readonly materialise?: 'now' | 'later'
}

export async function migrate(db: Db, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const settings = opts.timescale ?? DEFAULT_TIMESCALE
  try {
    return await migrateAll(db, settings, opts.now ?? Date.now, opts.materialise ?? 'now')
  } catch (err) {
    if (err instanceof StoreError || err instanceof ConfigError || isConnectionFailure(err)) throw err
    throw new StoreError('MIGRATION_FAILED', `schema migration failed: ${describe(err)}`, { cause: err })
  }
}

async function migrateAll(
  db: Db,
  settings: TimescaleConfig,
  now: () => number,
  materialise: 'now' | 'later',
): Promise<MigrateResult> {
  // Decided first: TIMESCALEDB=on on a server that cannot have it creates nothing.
  const decision = db.kind === 'pglite' ? null : decideTimescale(await probeTimescale(db), settings.mode)
  const unused = decision === null || decision.use ? null : notUsed(decision)
  await db.tx(async (q) => {
    await lock(q)
    await q.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    text        PRIMARY KEY,
      checksum   text        NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`)
  })
  const applied: string[] = []
  for (const m of baseMigrations()) {
    if (await applyOne(db, m)) applied.push(m.version)
  }
  if (decision === null) return { applied, timescale: { state: 'off' }, warnings: [] }
  if (unused !== null) return { applied, ...unused }
  for (const m of timescaleMigrations()) {
    try {
      if (await applyOne(db, m)) applied.push(m.version)
    } catch (err) {
      // The catalog could not tell (the role may not read shared_preload_libraries) and the
      // server refused to load the library: the same as a known "not preloaded".
      if (!mustBePreloaded(err)) throw err
      return { applied, ...notUsed(decideTimescale(NOT_PRELOADED, settings.mode)) }
    }
  }
  await db.tx(async (q) => {
    await lock(q)
    await applyTimescaleSettings(q, settings)
  })
  if (materialise === 'now') await refreshAllAggregates(db, now(), settings.retention1m)
  const version = await db.query<{ v: string }>(
    "SELECT extversion AS v FROM pg_extension WHERE extname = 'timescaledb'",
  )
  return {
    applied,
    timescale: {
      state: 'on',
      version: version.rows[0]?.v ?? '?',
      keptDespiteOff: decision.use && decision.keptDespiteOff,
    },
    warnings: [],
  }
}

const NOT_PRELOADED = {
  created: null,
  installed: '?',
  preloaded: false,
  privileged: true,
  hypertables: false,
} as const

/** Why the plain schema is used, or a ConfigError where TIMESCALEDB=on cannot be had. */
function notUsed(decision: TimescaleDecision): Pick<MigrateResult, 'timescale' | 'warnings'> {
  if (decision.use) throw new Error('notUsed called for a decision to use TimescaleDB')
  if (decision.state === 'off') return { timescale: { state: 'off' }, warnings: [] }
  if (decision.fatal) {
    throw new ConfigError(
      'TIMESCALEDB',
      `is on, but TimescaleDB is ${decision.reason === 'no privilege' ? 'not creatable by this role' : decision.reason} on this server: ${TIMESCALE_REMEDY[decision.reason]}, or set TIMESCALEDB=auto`,
      'auto',
    )
  }
  return {
    timescale: { state: 'unavailable', reason: decision.reason },
    warnings: decision.warning ? [decision.warning] : [],
  }
}

/** FATAL XX000 from the extension loader: "extension "timescaledb" must be preloaded". */
function mustBePreloaded(err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    if ((e as { routine?: unknown }).routine === 'extension_load_without_preload') return true
    e = (e as { cause?: unknown }).cause
  }
  return false
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' ? `${err.message} (${code})` : err.message
}

async function lock(q: Queryable): Promise<void> {
  await q.query('SELECT pg_advisory_xact_lock($1::bigint)', [String(MIGRATION_LOCK_KEY)])
}

async function applyOne(db: Db, m: Migration): Promise<boolean> {
  try {
    return await db.tx(async (q) => {
      await lock(q)
      const done = await q.query<{ checksum: string }>(
        'SELECT checksum FROM schema_migrations WHERE version = $1',
        [m.version],
      )
      const row = done.rows[0]
      if (row !== undefined) {
        if (row.checksum !== m.checksum) {
          throw new StoreError(
            'MIGRATION_CHANGED',
            `migration ${m.version} was changed after it was applied to this database; add a new migration instead`,
          )
        }
        return false
      }
      await q.exec(m.sql)
      await q.query('INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)', [
        m.version,
        m.checksum,
      ])
      return true
    })
  } catch (err) {
    if (err instanceof StoreError) throw err
    throw new StoreError('MIGRATION_FAILED', `migration ${m.version} failed: ${describe(err)}`, {
      cause: err,
    })
  }
}
