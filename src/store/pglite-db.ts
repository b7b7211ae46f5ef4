/**
 * The embedded database: PGlite (PostgreSQL 18 in WASM) in a worker thread of
 * this process (`pglite-worker.ts`), so that its work never holds the service's
 * event loop. This side keeps the DATA_DIR lock and turns `Db` calls into
 * messages (`pglite-protocol.ts`).
 *
 * Deliberately on PGlite's own API, not on `@electric-sql/pglite/node-postgres`:
 * with 0.5.14 that adapter loses protocol sync after the first failed query
 * (a CHECK violation is enough) and the next query fails with "Connection
 * terminated unexpectedly" or crashes the process through an unhandled
 * 'error' event. The native API has none of that. Its type parsers are set so
 * that results look like pg's: int8 and numeric as strings, timestamptz as
 * Date, json as objects.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.ts'
import type { Db, PgliteDbOptions, Queryable, QueryResult, QuerySpec } from './db.ts'
import { StoreError } from './errors.ts'
import {
  errorFrom,
  type Ready,
  type Reply,
  type Request,
  WASM_FLAGS,
  type WorkerInit,
} from './pglite-protocol.ts'
import { SQL_SOCKET_NAME, type SqlServer, serveSql } from './sql-access.ts'

export const PGLITE_SUBDIR = 'pglite'

type Call = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never

export async function openPgliteDb(opts: PgliteDbOptions): Promise<Db> {
  const memory = opts.dataDir === ':memory:'
  const lock = memory ? null : acquireDataDirLock(opts.dataDir)
  try {
    const dataPath = memory ? 'memory://' : join(resolve(opts.dataDir), PGLITE_SUBDIR)
    if (!memory && !existsSync(join(dataPath, 'PG_VERSION'))) await createDatabase(dataPath)
    const db = new PgliteDb(await startWorker({ dataPath }), lock)
    // SQL for people while the service runs (`data-feeder sql`); without it the database still works.
    if (!memory)
      db.sqlServer = await serveSql(db, join(resolve(opts.dataDir), SQL_SOCKET_NAME)).catch(() => null)
    return db
  } catch (err) {
    lock?.release()
    throw err
  }
}

/** A module beside this one: compiled in dist/, or the TypeScript source (then tsx loads it). */
function sibling(name: string): { url: URL; fromSource: boolean } {
  const fromSource = import.meta.url.endsWith('.ts')
  return { url: new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, import.meta.url), fromSource }
}

/** The worker's module. Node 20 applies no loader to a worker's entry: from source, register tsx first. */
function workerModule(): URL {
  const { url, fromSource } = sibling('pglite-worker')
  if (!fromSource) return url
  const api = JSON.stringify(import.meta.resolve('tsx/esm/api'))
  const code = `import { register } from ${api}; register(); await import(${JSON.stringify(url.href)})`
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`)
}

/** Runs `pglite-create` in a child process; its memory goes back to the system when it exits. */
async function createDatabase(dataPath: string): Promise<void> {
  const { url, fromSource } = sibling('pglite-create')
  const loader = fromSource ? ['--import', import.meta.resolve('tsx')] : []
  const child = spawn(process.execPath, [...loader, WASM_FLAGS, fileURLToPath(url), dataPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-2000)
  })
  const [code, signal] = (await once(child, 'close')) as [number | null, string | null]
  if (code !== 0) {
    throw new StoreError(
      'DB_CONNECT_FAILED',
      `could not create the embedded database in ${dataPath} (${code ?? signal}): ${stderr.trim()}`,
    )
  }
}

async function startWorker(init: WorkerInit): Promise<Worker> {
  const worker = new Worker(workerModule(), {
    workerData: init,
    // The worker only relays rows: a small young generation keeps its garbage from growing resident memory.
    resourceLimits: { maxYoungGenerationSizeMb: 4 },
  })
  // Only our own listeners go: Worker keeps internal ones (they ref its message port).
  const off: Array<() => void> = []
  try {
    await new Promise<void>((ready, failed) => {
      const onMessage = (m: Ready) => (m.ready ? ready() : failed(errorFrom(m.error)))
      const onExit = (code: number) =>
        failed(
          new StoreError('DB_UNAVAILABLE', `the embedded database worker exited (${code}) while opening`),
        )
      worker.once('message', onMessage).once('error', failed).once('exit', onExit)
      off.push(
        () => worker.off('message', onMessage),
        () => worker.off('error', failed),
        () => worker.off('exit', onExit),
      )
    })
  } catch (err) {
    await worker.terminate()
    throw err
  } finally {
    for (const f of off) f()
  }
  return worker
}

class PgliteDb implements Db {
  readonly kind = 'pglite' as const
  private closing: Promise<void> | null = null
  private readonly worker: Worker
  private readonly lock: DataDirLock | null
  private readonly pending = new Map<
    number,
    { resolve: (r: Reply & { ok: true }) => void; reject: (e: Error) => void }
  >()
  private nextId = 1
  private dead: Error | null = null
  sqlServer: SqlServer | null = null

  constructor(worker: Worker, lock: DataDirLock | null) {
    this.worker = worker
    this.lock = lock
    worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id)
      if (p === undefined) return
      this.pending.delete(m.id)
      if (this.pending.size === 0) worker.unref()
      if (m.ok) p.resolve(m)
      else p.reject(errorFrom(m.error))
    })
    const fail = (err: Error) => {
      this.dead ??= err
      for (const p of this.pending.values()) p.reject(err)
      this.pending.clear()
    }
    worker.on('error', (err) =>
      fail(new StoreError('DB_UNAVAILABLE', 'the embedded database worker failed', { cause: err })),
    )
    worker.on('exit', (code) =>
      fail(new StoreError('DB_UNAVAILABLE', `the embedded database worker exited (${code})`)),
    )
    // Like a pool of idle connections, an idle worker does not keep the process alive.
    worker.unref()
  }

  private call(req: Call): Promise<Reply & { ok: true }> {
    if (this.dead !== null) return Promise.reject(this.dead)
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref()
      this.pending.set(id, { resolve, reject })
      this.worker.postMessage({ ...req, id } as Request)
    })
  }

  private async run<R>(
    text: string | QuerySpec,
    params: unknown[] | undefined,
    tx?: number,
  ): Promise<QueryResult<R>> {
    // Prepared-statement names are a pg-protocol optimisation; PGlite caches nothing per name.
    const sql = typeof text === 'string' ? text : text.text
    const values = typeof text === 'string' ? params : (text.values ?? params)
    const r = await this.call({
      op: 'query',
      text: sql,
      params: values ?? [],
      ...(tx !== undefined ? { tx } : {}),
    })
    return { rows: (r.rows ?? []) as R[], rowCount: r.rowCount ?? null }
  }

  query<R = Record<string, unknown>>(text: string | QuerySpec, params?: unknown[]): Promise<QueryResult<R>> {
    return this.run<R>(text, params)
  }

  async exec(sql: string): Promise<void> {
    await this.call({ op: 'exec', sql })
  }

  execLong(sql: string): Promise<void> {
    return this.exec(sql)
  }

  async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const { tx } = await this.call({ op: 'begin' })
    if (tx === undefined) throw new Error('the embedded database worker opened no transaction')
    let result: T
    try {
      result = await fn({
        query: <R>(text: string | QuerySpec, params?: unknown[]) => this.run<R>(text, params, tx),
        exec: async (sql: string) => {
          await this.call({ op: 'exec', sql, tx })
        },
      })
    } catch (err) {
      await this.call({ op: 'end', tx, commit: false }).catch(() => {})
      throw err
    }
    await this.call({ op: 'end', tx, commit: true })
    return result
  }

  async ping(): Promise<void> {
    await this.call({ op: 'query', text: 'SELECT 1', params: [] })
  }

  poolSize(): number {
    return this.dead === null && this.closing === null ? 1 : 0
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.sqlServer?.close()
        if (this.dead === null) await this.call({ op: 'close' })
      } finally {
        await this.worker.terminate()
        this.lock?.release()
      }
    })()
    return this.closing
  }
}
