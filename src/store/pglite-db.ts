/**
 * The embedded database: PGlite (PostgreSQL 18 in WASM) in this process.
 *
 * Deliberately on PGlite's own API, not on `@electric-sql/pglite/node-postgres`:
 * with 0.5.14 that adapter loses protocol sync after the first failed query
 * (a CHECK violation is enough) and the next query fails with "Connection
 * terminated unexpectedly" or crashes the process through an unhandled
 * 'error' event. The native API has none of that. Its type parsers are set so
 * that results look like pg's: int8 and numeric as strings, timestamptz as
 * Date, json as objects.
 */
import { join, resolve } from 'node:path'
import { PGlite, types } from '@electric-sql/pglite'
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.ts'
import type { Db, PgliteDbOptions, Queryable, QueryResult, QuerySpec } from './db.ts'

export const PGLITE_SUBDIR = 'pglite'

const asText = (v: string): string => v

interface NativeQueryable {
  query<R>(
    text: string,
    params?: unknown[],
  ): Promise<{ rows: R[]; affectedRows?: number; command?: string } & object>
  exec(sql: string): Promise<unknown>
}

export async function openPgliteDb(opts: PgliteDbOptions): Promise<Db> {
  const memory = opts.dataDir === ':memory:'
  const lock = memory ? null : acquireDataDirLock(opts.dataDir)
  try {
    const lite = await PGlite.create(memory ? 'memory://' : join(resolve(opts.dataDir), PGLITE_SUBDIR), {
      parsers: { [types.INT8]: asText, [types.NUMERIC]: asText },
    })
    return new PgliteDb(lite, lock)
  } catch (err) {
    lock?.release()
    throw err
  }
}

class PgliteDb implements Db {
  readonly kind = 'pglite' as const
  private closing: Promise<void> | null = null
  private readonly lite: PGlite
  private readonly lock: DataDirLock | null

  constructor(lite: PGlite, lock: DataDirLock | null) {
    this.lite = lite
    this.lock = lock
  }

  query<R = Record<string, unknown>>(text: string | QuerySpec, params?: unknown[]): Promise<QueryResult<R>> {
    return runQuery<R>(this.lite, text, params)
  }

  async exec(sql: string): Promise<void> {
    await this.lite.exec(sql)
  }

  execLong(sql: string): Promise<void> {
    return this.exec(sql)
  }

  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.lite.transaction((tx) =>
      fn({
        query: <R>(text: string | QuerySpec, params?: unknown[]) => runQuery<R>(tx, text, params),
        exec: async (sql: string) => {
          await tx.exec(sql)
        },
      }),
    )
  }

  async ping(): Promise<void> {
    await this.lite.query('SELECT 1')
  }

  poolSize(): number {
    return this.lite.closed ? 0 : 1
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        if (!this.lite.closed) await this.lite.close()
      } finally {
        this.lock?.release()
      }
    })()
    return this.closing
  }
}

async function runQuery<R>(
  target: NativeQueryable,
  text: string | QuerySpec,
  params?: unknown[],
): Promise<QueryResult<R>> {
  // Prepared-statement names are a pg-protocol optimisation; PGlite caches nothing per name.
  const sql = typeof text === 'string' ? text : text.text
  const values = typeof text === 'string' ? params : (text.values ?? params)
  const r = await target.query<R>(sql, values ?? [])
  const rowCount = r.command === 'SELECT' ? r.rows.length : (r.affectedRows ?? null)
  return { rows: r.rows, rowCount }
}
