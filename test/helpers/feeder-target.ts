/**
 * A database for a whole feeder (in-process app or spawned CLI) to own:
 * the environment that points the feeder at it, and a way to open it
 * afterwards for assertions.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Db } from '../../src/store/db.ts'
import { openDb } from '../../src/store/open-db.ts'
import { createTestDatabase, type DbKind, pgliteDataDir, postgresOptions } from './db.ts'

export interface FeederTarget {
  readonly kind: DbKind
  /** DATABASE_URL or DATA_DIR. */
  readonly env: Record<string, string>
  /** Opens the database (PGlite: only once the feeder has released it). */
  open(): Promise<Db>
  cleanup(): Promise<void>
}

export async function feederTarget(kind: DbKind, opts: { migrated?: boolean } = {}): Promise<FeederTarget> {
  if (kind === 'postgres') {
    const t = await createTestDatabase()
    // The spool (and its lock) live in DATA_DIR even with a real PostgreSQL: one per feeder.
    const dataDir = mkdtempSync(join(tmpdir(), 'feeder-pg-data-'))
    return {
      kind,
      env: { DATABASE_URL: t.connectionString, DATA_DIR: dataDir },
      open: () => openDb(postgresOptions(t.connectionString)),
      cleanup: async () => {
        await t.cleanup()
        rmSync(dataDir, { recursive: true, force: true })
      },
    }
  }
  const dir = await pgliteDataDir({ migrated: opts.migrated ?? false })
  return {
    kind,
    env: { DATA_DIR: dir.dataDir },
    open: () => openDb({ kind: 'pglite', dataDir: dir.dataDir }),
    cleanup: dir.cleanup,
  }
}
