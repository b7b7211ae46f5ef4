/**
 * Opens the configured database. PGlite is loaded lazily, so it never costs
 * memory when a server is configured.
 */
import type { Db, DbOptions } from './db.ts'

export async function openDb(opts: DbOptions): Promise<Db> {
  if (opts.kind === 'pglite') {
    const { openPgliteDb } = await import('./pglite-db.ts')
    return openPgliteDb(opts)
  }
  const { openPostgresDb } = await import('./postgres-db.ts')
  return openPostgresDb(opts)
}
