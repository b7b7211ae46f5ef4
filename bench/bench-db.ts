/** A throwaway database on the benchmark's PostgreSQL server, migrated. */
import pg from 'pg'
import type { TimescaleConfig } from '../src/config/config.ts'
import type { Db } from '../src/store/db.ts'
import { migrate } from '../src/store/migrate.ts'
import { openDb } from '../src/store/open-db.ts'

export const BENCH_SERVER =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres'

let seq = 0

export async function benchDatabase(
  opts: { server?: string; timescale?: TimescaleConfig } = {},
): Promise<{ url: string; db: Db; drop(): Promise<void> }> {
  const server = opts.server ?? BENCH_SERVER
  const name = `df_bench_${process.pid}_${Date.now().toString(36)}_${seq++}`
  const admin = new pg.Client({ connectionString: server })
  admin.on('error', () => {})
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const u = new URL(server)
  u.pathname = `/${name}`
  const url = u.toString()
  const db = await openDb({
    kind: 'postgres',
    connectionString: url,
    poolMin: 0,
    poolMax: 4,
    idleTimeoutMs: 10_000,
  })
  await migrate(db, opts.timescale ? { timescale: opts.timescale } : {})
  return {
    url,
    db,
    async drop() {
      await db.close()
      const a = new pg.Client({ connectionString: server })
      a.on('error', () => {})
      await a.connect()
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await a.end()
    },
  }
}

export async function serverVersion(): Promise<string> {
  const c = new pg.Client({ connectionString: BENCH_SERVER })
  c.on('error', () => {})
  await c.connect()
  const r = await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")
  await c.end()
  return r.rows[0]?.v ?? 'unknown'
}
