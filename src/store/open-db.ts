/**
 * Opens the configured database. Each driver is loaded lazily, so PGlite never
 * costs memory when a server is configured (nor pg when it is not).
 */
import type { Db, DbOptions } from './db.ts'

/**
 * Loads the driver of a database kind. Loading runs on the event loop in one
 * piece (pg's, on Node 20, also loads undici for a runtime check: ≈ 30 ms), so
 * the service does it before it opens any socket, where it delays nobody.
 */
export function loadDriver(kind: DbOptions['kind']) {
  return kind === 'pglite' ? import('./pglite-db.ts') : import('./postgres-db.ts')
}

export async function openDb(opts: DbOptions): Promise<Db> {
  if (opts.kind === 'pglite') return (await import('./pglite-db.ts')).openPgliteDb(opts)
  return (await import('./postgres-db.ts')).openPostgresDb(opts)
}
