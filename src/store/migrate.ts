/**
 * Versioned SQL migrations: `migrations/NNN_name.sql`, applied in order, each in
 * its own transaction, recorded in `schema_migrations` with a checksum. Re-runs
 * apply nothing; concurrent runs (two processes starting at once) serialise on
 * a transaction-scoped advisory lock and the loser finds the work done.
 * The TimescaleDB files (`migrations/timescale/`) are applied only where the
 * extension is available.
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import type { Db, Queryable } from './db.ts'
import { StoreError } from './errors.ts'

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

export async function timescaleAvailable(db: Queryable): Promise<boolean> {
  const r = await db.query<{ available: boolean }>(
    "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') AS available",
  )
  return r.rows[0]?.available === true
}

export async function migrate(db: Db): Promise<{ applied: string[]; timescale: boolean }> {
  await db.tx(async (q) => {
    await lock(q)
    await q.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    text        PRIMARY KEY,
      checksum   text        NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`)
  })
  const timescale = await timescaleAvailable(db)
  const all = timescale ? [...baseMigrations(), ...timescaleMigrations()] : baseMigrations()
  const applied: string[] = []
  for (const m of all) {
    if (await applyOne(db, m)) applied.push(m.version)
  }
  return { applied, timescale }
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
    const detail = err instanceof Error ? err.message : String(err)
    throw new StoreError('MIGRATION_FAILED', `migration ${m.version} failed: ${detail}`, { cause: err })
  }
}
