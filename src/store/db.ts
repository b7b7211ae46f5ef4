/**
 * One port over both databases: a real PostgreSQL through a pg Pool, or the
 * embedded PGlite. Everything else in the store talks to `Db` only; open-db.ts
 * picks the adapter.
 */

export interface QueryResult<R> {
  rows: R[]
  rowCount: number | null
}

import type { Clock } from '../core/clock.ts'

/** A query with an optional prepared-statement name (used for the hot upsert). */
export interface QuerySpec {
  name?: string
  text: string
  values?: unknown[]
}

export interface Queryable {
  query<R = Record<string, unknown>>(text: string | QuerySpec, params?: unknown[]): Promise<QueryResult<R>>
  /** Runs a parameterless script that may hold several statements (migrations). */
  exec(sql: string): Promise<void>
}

export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite'
  /**
   * Runs `fn` in one transaction on one connection; commits when it resolves,
   * rolls back when it throws. Inside `fn` use only `q`: on PGlite (one
   * connection) a `db.query` from inside `fn` would wait for `fn` forever.
   */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>
  /**
   * Runs one statement outside any transaction and without the statement timeout, on a
   * connection of its own (a refresh of a year of aggregates runs for minutes). Ended by close().
   */
  execLong(sql: string): Promise<void>
  /**
   * PostgreSQL only: `COPY (…) TO STDOUT` on a connection of its own (no statement timeout),
   * with `settings` (name → value, as `set_config` takes them) for that connection, its bytes
   * yielded as they arrive and read no faster than they are taken. Leaving the loop early ends
   * that connection, and with it the statement.
   */
  copyOut?(sql: string, settings?: Readonly<Record<string, string>>): AsyncIterable<Uint8Array>
  /** Resolves when the database answers `SELECT 1`. */
  ping(): Promise<void>
  /** Open connections (pg) or 1 (PGlite). */
  poolSize(): number
  /**
   * PostgreSQL only (undefined on PGlite, which one process holds): a session of its
   * own listening on a channel, connected again whenever it is lost. Ended by close().
   */
  listen?(o: ListenOptions): Listener
  /** Idempotent. Releases the pool, or closes PGlite and its DATA_DIR lock. */
  close(): Promise<void>
}

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full'

export interface PostgresDbOptions {
  kind: 'postgres'
  connectionString?: string
  host?: string
  port?: number
  database?: string
  user?: string
  password?: string
  sslmode?: SslMode
  poolMin: number
  poolMax: number
  idleTimeoutMs: number
  /** Per statement, enforced by the server; default 30 000. */
  statementTimeoutMs?: number
  /**
   * Per query, enforced here: a server that hangs or a network that holds the
   * bytes (no error, no answer) fails the query as transient instead of
   * blocking the writer forever. Default: statement timeout + 5 000.
   */
  queryTimeoutMs?: number
  /** To get a connection; default 5 000. */
  connectionTimeoutMs?: number
  /** Errors of idle pooled connections (the pool replaces them); never thrown. */
  onPoolError?: (err: unknown) => void
}

export interface PgliteDbOptions {
  kind: 'pglite'
  /**
   * The service's DATA_DIR. The database lives in `<dataDir>/pglite`, guarded
   * by the lock file `<dataDir>/.data-feeder.lock`. ':memory:' for tests
   * (no files, no lock).
   */
  dataDir: string
}

export type DbOptions = PostgresDbOptions | PgliteDbOptions

export interface ListenOptions {
  /** A plain identifier: it is written into `LISTEN`, not bound. */
  readonly channel: string
  readonly clock: Clock
  readonly random?: () => number
  readonly onNotify: (payload: string) => void
  /** The session listens (first time, or again after a loss: anything sent meanwhile was missed). */
  readonly onListening: () => void
  /** The session failed or was lost; it connects again after the backoff. */
  readonly onLost: (err: unknown) => void
}

export interface Listener {
  /** Ends the session and the reconnect loop; idempotent. */
  close(): Promise<void>
}
