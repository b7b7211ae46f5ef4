/**
 * Databases for tests.
 *
 * - PGlite always; real PostgreSQL too when TEST_DATABASE_URL is set.
 * - Real PostgreSQL: every openTestDb/createTestDatabase call creates its own
 *   database on TEST_DATABASE_URL's server (unique name) and drops it in
 *   cleanup, so test files can run in parallel.
 * - PGlite: initdb costs ~4 s and ~850 MB, so a data dir is built once per
 *   machine and per migration set (a template under os.tmpdir(), keyed by a
 *   hash of the migrations and the PGlite version, built under a lock file so
 *   parallel test files do not race) and copied for each test (~0.3 s to open).
 */
import { createHash } from 'node:crypto'
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { Db, DbOptions } from '../../src/store/db.ts'
import { baseMigrations, migrate } from '../../src/store/migrate.ts'
import { openDb } from '../../src/store/open-db.ts'

export type DbKind = 'postgres' | 'pglite'

export interface TestDbInfo {
  readonly kind: DbKind
  /** Real PostgreSQL: the URL of this test's own database. */
  readonly connectionString?: string
  /** PGlite: a DATA_DIR holding the database (pass it as DATA_DIR to a child process). */
  readonly dataDir?: string
  /** What openDb was given; open a second Db on the same database with it. */
  readonly options: DbOptions
}

export interface TestDb extends TestDbInfo {
  readonly db: Db
  /** Closes the Db and drops the database / removes the data dir. Idempotent. */
  cleanup(): Promise<void>
}

export function pgTargets(): DbKind[] {
  return process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite']
}

/** Options for a pg Pool on `connectionString`, as tests use them. */
export function postgresOptions(connectionString: string): DbOptions {
  return { kind: 'postgres', connectionString, poolMin: 0, poolMax: 4, idleTimeoutMs: 10_000 }
}

export async function openTestDb(kind: DbKind, opts: { migrated?: boolean } = {}): Promise<TestDb> {
  const migrated = opts.migrated ?? true
  if (kind === 'postgres') {
    const target = await createTestDatabase()
    const options = postgresOptions(target.connectionString)
    const db = await openDb(options)
    if (migrated) await migrate(db)
    return {
      kind,
      db,
      connectionString: target.connectionString,
      options,
      cleanup: once(async () => {
        await db.close()
        await target.cleanup()
      }),
    }
  }
  const dir = await pgliteDataDir({ migrated })
  const options: DbOptions = { kind: 'pglite', dataDir: dir.dataDir }
  const db = await openDb(options)
  return {
    kind,
    db,
    dataDir: dir.dataDir,
    options,
    cleanup: once(async () => {
      await db.close()
      await dir.cleanup()
    }),
  }
}

export async function withDb<T>(
  kind: DbKind,
  fn: (db: Db, info: TestDbInfo) => Promise<T>,
  opts: { migrated?: boolean } = {},
): Promise<T> {
  const t = await openTestDb(kind, opts)
  try {
    return await fn(t.db, t)
  } finally {
    await t.cleanup()
  }
}

/** A fresh, empty database on TEST_DATABASE_URL's server (or on `base`'s). */
export async function createTestDatabase(base = process.env.TEST_DATABASE_URL): Promise<{
  connectionString: string
  cleanup: () => Promise<void>
}> {
  if (!base) throw new Error('TEST_DATABASE_URL is not set')
  // Named after the run's own database, so that a run's clean-up drops its databases and no others.
  const runDb = decodeURIComponent(new URL(base).pathname.slice(1))
  const prefix = /^[a-z0-9_]{1,30}$/.test(runDb) ? runDb : 'df_test'
  const name = `${prefix}_t${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  await admin(base, `CREATE DATABASE "${name}"`)
  const url = new URL(base)
  url.pathname = `/${name}`
  return {
    connectionString: url.toString(),
    cleanup: once(() => admin(base, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)),
  }
}

export async function admin(connectionString: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString })
  client.on('error', () => {})
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

/** A private copy of a template PGlite DATA_DIR, not opened (a child process may lock it). */
export async function pgliteDataDir(
  opts: { migrated?: boolean } = {},
): Promise<{ dataDir: string; cleanup: () => Promise<void> }> {
  const template = await ensureTemplate(opts.migrated ?? true)
  const dataDir = mkdtempSync(join(tmpdir(), 'data-feeder-test-'))
  cpSync(template, dataDir, { recursive: true, filter: (src) => !src.endsWith(READY) })
  return {
    dataDir,
    cleanup: once(async () => rmSync(dataDir, { recursive: true, force: true })),
  }
}

const READY = '.template-ready'

function templateKey(migrated: boolean): string {
  const h = createHash('sha256')
  const pkg = new URL('../../node_modules/@electric-sql/pglite/package.json', import.meta.url)
  h.update(
    existsSync(pkg) ? (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version : 'unknown',
  )
  if (migrated) for (const m of baseMigrations()) h.update(`${m.version}:${m.checksum}\n`)
  return `${migrated ? 'migrated' : 'bare'}-${h.digest('hex').slice(0, 16)}`
}

async function ensureTemplate(migrated: boolean): Promise<string> {
  const dir = join(tmpdir(), `data-feeder-pglite-template-${templateKey(migrated)}`)
  const lockPath = `${dir}.lock`
  const deadline = Date.now() + 180_000
  for (;;) {
    if (existsSync(join(dir, READY))) return dir
    try {
      writeFileSync(lockPath, String(process.pid), { flag: 'wx' })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const holder = Number.parseInt(safeRead(lockPath), 10)
      if (Number.isInteger(holder) && holder > 0 && !alive(holder)) {
        rmSync(lockPath, { force: true })
        continue
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the PGlite template (${lockPath})`)
      await new Promise((r) => setTimeout(r, 200))
      continue
    }
    try {
      if (existsSync(join(dir, READY))) return dir
      const build = `${dir}.build-${process.pid}`
      rmSync(build, { recursive: true, force: true })
      const db = await openDb({ kind: 'pglite', dataDir: build })
      try {
        if (migrated) await migrate(db)
      } finally {
        await db.close()
      }
      writeFileSync(join(build, READY), '')
      rmSync(dir, { recursive: true, force: true })
      renameSync(build, dir)
      return dir
    } finally {
      try {
        unlinkSync(lockPath)
      } catch {
        // gone already
      }
    }
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | null = null
  return () => {
    p ??= fn()
    return p
  }
}
