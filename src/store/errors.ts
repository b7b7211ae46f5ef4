/**
 * Typed store errors and the transient-error guard the writer retries on.
 * Classification is by SQLSTATE (`err.code` on pg and PGlite errors) or by
 * Node's network `code`; message text is used only where neither exists.
 */

export type StoreErrorCode =
  | 'DATA_DIR_LOCKED'
  | 'DB_CONFIG_INVALID'
  | 'DB_CONNECT_FAILED'
  | 'MIGRATION_CHANGED'
  | 'MIGRATION_FAILED'
  | 'WRITER_CLOSED'
  | (string & {})

export class StoreError extends Error {
  readonly code: StoreErrorCode
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'StoreError'
    this.code = code
  }
}

export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code)
}

/** SQLSTATE classes that mean "the server or the connection, not the data": try again. */
const TRANSIENT_SQLSTATE_CLASSES = new Set([
  '08', // connection exception
  '53', // insufficient resources (disk full, out of memory, too many connections)
])

const TRANSIENT_SQLSTATES = new Set([
  '57P01', // admin_shutdown (pg_terminate_backend, fast shutdown)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up / recovery)
  '57P05', // idle_session_timeout
  '57014', // query_canceled (statement_timeout): the write may succeed when the server is less busy
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
  '55006', // object_in_use
  '58000', // system_error (I/O at the server)
  '58030', // io_error
])

const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND', // DNS hiccup; a misspelt host keeps failing and ends in the spool, which is still safe
  'EAI_AGAIN',
  'ENOTCONN',
])

/**
 * pg raises a few connection failures as plain `Error`s without a code
 * (its own timeout and a socket that closes mid-query). These exact texts are
 * the documented exception to "never by message".
 */
const PG_CODELESS_TRANSIENT_MESSAGES = [
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Query read timeout', // our client-side query_timeout: the server hangs or the network holds the bytes
]

function codeOf(err: object): string | undefined {
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' ? code : undefined
}

export function isTransientDbError(err: unknown): boolean {
  return classify(
    err,
    (sqlstate) => TRANSIENT_SQLSTATES.has(sqlstate) || TRANSIENT_SQLSTATE_CLASSES.has(sqlstate.slice(0, 2)),
  )
}

/**
 * SQLSTATE classes that mean "these rows, as such": data exceptions (22: a value
 * out of range, a bad timestamp) and integrity violations (23: a CHECK such as
 * high >= low). Retrying the same rows can never succeed, so they are isolated
 * and rejected. Every other failure (a read-only replica after failover, a
 * revoked privilege, a dropped table, the server away) is about the database,
 * not the rows: the rows are kept (spooled, retried later), never rejected.
 */
const ROW_SQLSTATE_CLASSES = new Set(['22', '23'])

/**
 * 55P03 lock_not_available: TimescaleDB refuses a continuous-aggregate refresh while another
 * one (a policy job, another process) is refreshing the same aggregate.
 */
export function isLockNotAvailable(err: unknown): boolean {
  return classify(err, (sqlstate) => sqlstate === '55P03', 0, false)
}

export function isRowRejection(err: unknown): boolean {
  return classify(err, (sqlstate) => ROW_SQLSTATE_CLASSES.has(sqlstate.slice(0, 2)), 0, false)
}

/** SQLSTATEs that mean the server is not (yet) accepting sessions. */
const NOT_ACCEPTING_SQLSTATES = new Set(['57P01', '57P02', '57P03'])

/**
 * Narrower than transient: the server could not be reached or is not accepting
 * sessions (refused, unreachable, timed out, starting up, shutting down). At
 * start this is worth waiting for; a statement that fails once connected
 * (timeouts, disk full, locks during a migration) is not.
 */
export function isConnectionFailure(err: unknown): boolean {
  return classify(err, (sqlstate) => sqlstate.startsWith('08') || NOT_ACCEPTING_SQLSTATES.has(sqlstate))
}

/**
 * Walks an error and its causes: a SQLSTATE decides by `sqlstate`; Node's
 * network codes and pg's code-less connection messages count as `network`; a
 * StoreError (DB_CONNECT_FAILED, MIGRATION_FAILED…) counts as its cause does.
 */
function classify(err: unknown, sqlstate: (code: string) => boolean, depth = 0, network = true): boolean {
  if (typeof err !== 'object' || err === null || depth > 5) return false
  if (err instanceof AggregateError) return err.errors.some((e) => classify(e, sqlstate, depth + 1, network))
  const code = codeOf(err)
  if (code !== undefined) {
    // SQLSTATEs are five characters; no class starts with 'E', unlike Node's EPIPE & co.
    if (/^[0-9A-Z]{5}$/.test(code) && !code.startsWith('E')) return sqlstate(code)
    if (TRANSIENT_NODE_CODES.has(code)) return network
    if (err instanceof StoreError) return classify(err.cause, sqlstate, depth + 1, network)
    return false
  }
  const message = (err as { message?: unknown }).message
  if (typeof message === 'string' && PG_CODELESS_TRANSIENT_MESSAGES.some((m) => message.startsWith(m))) {
    return network
  }
  return classify((err as { cause?: unknown }).cause, sqlstate, depth + 1, network)
}
