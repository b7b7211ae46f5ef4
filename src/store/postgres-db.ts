/**
 * A real PostgreSQL through a pg Pool. int8 stays a string (pg's default) and
 * numeric stays a string, so nothing is ever a float round-trip. Idle-client
 * errors are caught (an unhandled pool 'error' would kill the process).
 * Errors never carry the password: connection problems are rethrown as
 * `StoreError`s whose message is built from host, port, database and user only.
 */
import type { ConnectionOptions } from 'node:tls'
import pg from 'pg'
import { to as copyTo } from 'pg-copy-streams'
import type {
  Db,
  Listener,
  ListenOptions,
  PostgresDbOptions,
  Queryable,
  QueryResult,
  QuerySpec,
} from './db.ts'
import { StoreError } from './errors.ts'
import { startListener } from './pg-listener.ts'
import { resolveTarget, sslFor, type Target } from './pg-target.ts'

export async function openPostgresDb(opts: PostgresDbOptions): Promise<Db> {
  const target = resolveTarget(opts)
  const ssl = await chooseSsl(target)
  const statementTimeoutMs = opts.statementTimeoutMs ?? 30_000
  const pool = new pg.Pool({
    ...target.config,
    ssl,
    min: opts.poolMin,
    max: Math.max(1, opts.poolMax),
    idleTimeoutMillis: opts.idleTimeoutMs,
    connectionTimeoutMillis: opts.connectionTimeoutMs ?? 5_000,
    statement_timeout: statementTimeoutMs,
    query_timeout: opts.queryTimeoutMs ?? statementTimeoutMs + 5_000,
    application_name: 'data-feeder',
    keepAlive: true,
  })
  pool.on('error', (err) => opts.onPoolError?.(redact(err, target)))
  return new PostgresDb(pool, target, ssl)
}

class PostgresDb implements Db {
  readonly kind = 'postgres' as const
  private closing: Promise<void> | null = null
  private readonly pool: pg.Pool
  private readonly target: Target
  private readonly ssl: false | ConnectionOptions
  private readonly long = new Set<pg.Client>()
  private readonly listeners = new Set<Listener>()

  constructor(pool: pg.Pool, target: Target, ssl: false | ConnectionOptions) {
    this.pool = pool
    this.target = target
    this.ssl = ssl
  }

  /** Not from the pool: no statement or query timeout, never holding a pooled connection. */
  private client(): pg.Client {
    const c = { ...this.target.config, ssl: this.ssl, connectionTimeoutMillis: 5_000, keepAlive: true }
    return new pg.Client({ ...c, application_name: 'data-feeder' })
  }

  listen(o: ListenOptions): Listener {
    const l = startListener(() => this.client(), o)
    this.listeners.add(l)
    return { close: () => l.close().finally(() => this.listeners.delete(l)) }
  }

  async execLong(sql: string): Promise<void> {
    if (this.closing !== null) throw new StoreError('DB_CLOSED', 'the database connection is closed')
    const client = this.client()
    client.on('error', () => {}) // surfaces through the query's rejection
    this.long.add(client)
    try {
      await client.connect()
      await client.query(sql)
    } catch (err) {
      throw redact(err, this.target)
    } finally {
      this.long.delete(client)
      await client.end().catch(() => {})
    }
  }

  async *copyOut(sql: string, settings: Readonly<Record<string, string>> = {}): AsyncIterable<Uint8Array> {
    if (this.closing !== null) throw new StoreError('DB_CLOSED', 'the database connection is closed')
    const client = this.client()
    client.on('error', () => {}) // surfaces through the stream
    this.long.add(client)
    try {
      await client.connect()
      for (const [name, value] of Object.entries(settings))
        await client.query('SELECT set_config($1, $2, false)', [name, value])
      const stream = client.query(copyTo(sql))
      try {
        for await (const chunk of stream) yield chunk as Buffer
      } finally {
        stream.destroy()
      }
    } catch (err) {
      throw redact(err, this.target)
    } finally {
      this.long.delete(client)
      await client.end().catch(() => {})
    }
  }

  async query<R = Record<string, unknown>>(
    text: string | QuerySpec,
    params?: unknown[],
  ): Promise<QueryResult<R>> {
    try {
      return await runQuery<R>(this.pool, text, params)
    } catch (err) {
      throw redact(err, this.target)
    }
  }

  async exec(sql: string): Promise<void> {
    await this.query(sql)
  }

  async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    let client: pg.PoolClient
    try {
      client = await this.pool.connect()
    } catch (err) {
      throw redact(err, this.target)
    }
    // A checked-out client has no listener of the pool's: a session the server ends between two
    // statements (FATAL, terminate, a cut) would emit 'error' with nobody listening and kill the
    // process. The first such error is kept: it carries the server's SQLSTATE, which says more
    // than the "Connection terminated unexpectedly" that follows it.
    let lost: Error | undefined
    const onLost = (err: Error) => {
      lost ??= err
    }
    client.on('error', onLost)
    const explain = (err: unknown): unknown =>
      lost !== undefined && lost !== err && isCodeless(err) ? lost : err
    const q: Queryable = {
      query: <R>(text: string | QuerySpec, params?: unknown[]) =>
        runQuery<R>(client, text, params).catch((err: unknown) => {
          throw explain(err)
        }),
      exec: async (sql: string) => {
        await client.query(sql).catch((err: unknown) => {
          throw explain(err)
        })
      },
    }
    let broken: Error | undefined
    try {
      await client.query('BEGIN')
      const result = await fn(q)
      await client.query('COMMIT')
      return result
    } catch (err) {
      try {
        // After a client-side timeout the connection still waits for the lost answer: drop it.
        if (isReadTimeout(err)) throw err
        await client.query('ROLLBACK')
      } catch (rollbackErr) {
        // The connection is gone; make the pool discard it rather than reuse it.
        broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr))
      }
      throw redact(explain(err), this.target)
    } finally {
      client.removeListener('error', onLost)
      client.release(broken ?? lost)
    }
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1')
  }

  poolSize(): number {
    return this.pool.totalCount
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.listeners].map((l) => l.close()))
      await Promise.all([...this.long].map((c) => c.end().catch(() => {})))
      await this.pool.end()
    })()
    return this.closing
  }
}

async function runQuery<R>(
  target: pg.Pool | pg.PoolClient,
  text: string | QuerySpec,
  params?: unknown[],
): Promise<QueryResult<R>> {
  const config: pg.QueryConfig = typeof text === 'string' ? { text } : { ...text }
  if (params !== undefined && config.values === undefined) config.values = params
  const r = await target.query(config)
  return { rows: r.rows as R[], rowCount: r.rowCount }
}

/** An error without a SQLSTATE or a Node code: pg's own "Connection terminated…" and the like. */
function isCodeless(err: unknown): boolean {
  return !(err instanceof Error) || (err as { code?: unknown }).code === undefined
}

function isReadTimeout(err: unknown): boolean {
  return (
    err instanceof Error && (err as { code?: unknown }).code === undefined && err.message === QUERY_TIMEOUT
  )
}

/** pg's code-less error when query_timeout expires. */
const QUERY_TIMEOUT = 'Query read timeout'

/**
 * pg has no libpq-style 'prefer' (TLS if the server offers it, else plaintext),
 * so one probe connection decides. A server without TLS answers with pg's
 * code-less "The server does not support SSL connections": the one place we
 * must read a message. Other probe failures (server down) are thrown as
 * DB_CONNECT_FAILED, transient when their cause is.
 */
async function chooseSsl(target: Target): Promise<false | ConnectionOptions> {
  const ssl = sslFor(target.sslmode)
  if (target.sslmode !== 'prefer') return ssl
  const probe = new pg.Client({ ...target.config, ssl, connectionTimeoutMillis: 5_000 })
  probe.on('error', () => {})
  try {
    await probe.connect()
    return ssl
  } catch (err) {
    if (err instanceof Error && /does not support SSL/i.test(err.message)) return false
    throw redact(err, target)
  } finally {
    await probe.end().catch(() => {})
  }
}

function redact(err: unknown, target: Target): unknown {
  const pw = target.password
  if (err instanceof Error && pw && pw.length > 0 && mentions(err, pw, 0)) {
    return new StoreError(
      'DB_CONNECT_FAILED',
      `database error at ${target.label} (details withheld: they held the password)`,
    )
  }
  if (err instanceof Error && !(err instanceof StoreError)) {
    // Network-level failures (no SQLSTATE): say where, keep the original (code intact) as the cause.
    const code = (err as { code?: unknown }).code
    const network =
      (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) ||
      (code === undefined &&
        /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout)/.test(
          err.message,
        ))
    if (network) {
      return new StoreError(
        'DB_CONNECT_FAILED',
        `cannot reach PostgreSQL at ${target.label}: ${err.message}`,
        {
          cause: err,
        },
      )
    }
  }
  return err
}

function mentions(err: unknown, secret: string, depth: number): boolean {
  if (typeof err !== 'object' || err === null || depth > 3) return false
  for (const key of Object.getOwnPropertyNames(err)) {
    const v = (err as Record<string, unknown>)[key]
    if (typeof v === 'string' && v.includes(secret)) return true
    if (key === 'cause' && mentions(v, secret, depth + 1)) return true
  }
  return false
}
