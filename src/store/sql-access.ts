/**
 * SQL for people: one read-only statement at a time, against either database. The
 * embedded database answers it while the service runs through a Unix socket in
 * DATA_DIR (the service holds the directory's lock, so nobody else may open it);
 * `data-feeder sql` asks there first and opens the database itself when nothing
 * listens. The socket speaks one JSON line each way: `{"sql": …}` → `{"rows": […]}`
 * or `{"error": {"message", "code"}}`. Only the owner may connect (mode 0600).
 */
import { chmodSync, rmSync } from 'node:fs'
import { createConnection, createServer, type Server } from 'node:net'
import type { Db } from './db.ts'

export const SQL_SOCKET_NAME = 'sql.sock'

/** Rows a single answer carries at most; the rest is cut, and said so. */
export const MAX_ROWS = 10_000

export interface SqlAnswer {
  readonly rows: Record<string, unknown>[]
  readonly truncated: boolean
}

/** One statement in a read-only transaction: nothing the statement does can change data. */
export async function readOnlyQuery(db: Db, sql: string): Promise<SqlAnswer> {
  const rows = await db.tx(async (q) => {
    await q.exec('SET TRANSACTION READ ONLY')
    return (await q.query<Record<string, unknown>>(sql)).rows
  })
  return { rows: rows.slice(0, MAX_ROWS), truncated: rows.length > MAX_ROWS }
}

export interface SqlServer {
  close(): Promise<void>
}

/** Listens on `path` (a stale socket file left by a killed service is replaced: the caller holds the lock). */
export async function serveSql(db: Db, path: string): Promise<SqlServer> {
  rmSync(path, { force: true })
  const server: Server = createServer((socket) => {
    let buf = ''
    socket.setEncoding('utf8')
    socket.on('error', () => socket.destroy())
    socket.on('data', (chunk: string) => {
      buf += chunk
      const nl = buf.indexOf('\n')
      if (nl < 0) {
        if (buf.length > 1_000_000) socket.destroy()
        return
      }
      socket.removeAllListeners('data')
      answer(db, buf.slice(0, nl)).then((line) => socket.end(`${line}\n`))
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => resolve())
  })
  chmodSync(path, 0o600)
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        rmSync(path, { force: true })
      }),
  }
}

async function answer(db: Db, line: string): Promise<string> {
  try {
    const { sql } = JSON.parse(line) as { sql?: unknown }
    if (typeof sql !== 'string' || sql.trim() === '') throw new Error('no SQL statement given')
    return JSON.stringify(await readOnlyQuery(db, sql))
  } catch (err) {
    const e = err as { message?: string; code?: unknown }
    return JSON.stringify({
      error: { message: e.message ?? String(err), ...(typeof e.code === 'string' ? { code: e.code } : {}) },
    })
  }
}

/** Asks a running service; null when nothing listens on `path`. Rejects with the database's error. */
export function askService(path: string, sql: string): Promise<SqlAnswer | null> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path)
    let buf = ''
    socket.setEncoding('utf8')
    socket.on('connect', () => socket.write(`${JSON.stringify({ sql })}\n`))
    socket.on('data', (chunk: string) => {
      buf += chunk
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') resolve(null)
      else reject(err)
    })
    socket.on('end', () => {
      try {
        const r = JSON.parse(buf) as SqlAnswer | { error: { message: string; code?: string } }
        if ('error' in r) reject(Object.assign(new Error(r.error.message), { code: r.error.code }))
        else resolve(r)
      } catch {
        reject(new Error(`the service answered on ${path} with something that is not an answer`))
      }
    })
  })
}
