/**
 * A database whose availability a test controls, over both backends:
 * - real PostgreSQL through the TCP proxy (cut = connections dropped and
 *   refused; hang = bytes held);
 * - PGlite, in-process, so the outage is injected at the Db port: while down
 *   every query fails as a lost connection would (SQLSTATE 08006), while hung
 *   queries wait for resume().
 * `direct` is an untouched connection for assertions.
 */
import type { Db } from '../../src/store/db.ts'
import { openDb } from '../../src/store/open-db.ts'
import { type DbKind, openTestDb } from '../helpers/db.ts'
import { startTcpProxy } from '../helpers/tcp-proxy.ts'

export interface Outage {
  readonly kind: DbKind
  /** What the code under test uses. */
  readonly db: Db
  /** For the test's own reads. */
  readonly direct: Db
  down(): void
  up(): void
  hang(): void
  resume(): void
  cleanup(): Promise<void>
}

export async function openOutage(kind: DbKind): Promise<Outage> {
  const t = await openTestDb(kind)
  if (kind === 'postgres') {
    const proxy = await startTcpProxy({
      host: '127.0.0.1',
      port: Number(new URL(t.connectionString as string).port || 5432),
    })
    const db = await openDb({
      kind: 'postgres',
      connectionString: proxy.url(t.connectionString as string),
      poolMin: 0,
      poolMax: 4,
      idleTimeoutMs: 10_000,
      connectionTimeoutMs: 1_000,
      statementTimeoutMs: 10_000,
      onPoolError: () => {},
    })
    return {
      kind,
      db,
      direct: t.db,
      down: () => proxy.cut(),
      up: () => proxy.restore(),
      hang: () => proxy.pause(),
      resume: () => proxy.resume(),
      async cleanup() {
        proxy.resume()
        proxy.restore()
        await db.close()
        await proxy.close()
        await t.cleanup()
      },
    }
  }
  let isDown = false
  let hung: Array<() => void> | null = null
  const gate = async (): Promise<void> => {
    if (hung !== null) await new Promise<void>((r) => hung?.push(r))
    if (isDown) throw Object.assign(new Error('connection lost (injected)'), { code: '08006' })
  }
  const real = t.db
  const db: Db = {
    kind: real.kind,
    query: async (text, params) => {
      await gate()
      return real.query(text, params)
    },
    exec: async (sql) => {
      await gate()
      return real.exec(sql)
    },
    execLong: async (sql) => {
      await gate()
      return real.execLong(sql)
    },
    tx: async (fn) => {
      await gate()
      return real.tx(fn)
    },
    ping: async () => {
      await gate()
      return real.ping()
    },
    poolSize: () => real.poolSize(),
    close: async () => {},
  }
  return {
    kind,
    db,
    direct: real,
    down: () => {
      isDown = true
    },
    up: () => {
      isDown = false
    },
    hang: () => {
      hung ??= []
    },
    resume: () => {
      const waiting = hung ?? []
      hung = null
      for (const r of waiting) r()
    },
    async cleanup() {
      isDown = false
      const waiting = hung ?? []
      hung = null
      for (const r of waiting) r()
      await t.cleanup()
    },
  }
}
