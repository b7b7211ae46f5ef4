/**
 * Typed errors of the Binance REST client. Classification is by HTTP status and
 * Binance's numeric error `code` (stable), never by message text (which varies).
 */

export type RestErrorCode =
  | 'HTTP_429' // request-rate limit exceeded; Retry-After obeyed
  | 'HTTP_418' // IP banned; Retry-After = ban end
  | 'HTTP_4XX' // other client error without a Binance error body
  | 'HTTP_5XX' // Binance-side failure
  | 'TIMEOUT' // no complete response within timeoutMs
  | 'NETWORK' // ECONNREFUSED, ECONNRESET, DNS, TLS …
  | 'BAD_RESPONSE' // not JSON, wrong shape, structurally broken kline page
  | 'BINANCE_ERROR' // `{code,msg}` error body (see binanceCode)
  | 'UNKNOWN_SYMBOL' // -1121 Invalid symbol
  | 'INVALID_ARGUMENT' // refused before anything was sent
  | 'CLOSED' // the client was closed

export interface RestErrorOptions {
  readonly status?: number | undefined
  readonly binanceCode?: number | undefined
  readonly retryAfterMs?: number | undefined
  readonly cause?: unknown
}

export class RestError extends Error {
  readonly code: RestErrorCode
  readonly status?: number
  readonly binanceCode?: number
  /** For 429/418: how long the client will not send (from when the error was raised). */
  readonly retryAfterMs?: number

  constructor(code: RestErrorCode, message: string, options: RestErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'RestError'
    this.code = code
    if (options.status !== undefined) this.status = options.status
    if (options.binanceCode !== undefined) this.binanceCode = options.binanceCode
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs
  }
}

export function isRestError(e: unknown, code?: RestErrorCode): e is RestError {
  return e instanceof RestError && (code === undefined || e.code === code)
}

/** 429 or 418: Binance told us to stop. The client has already paused itself. */
export function isRateLimitError(e: unknown): e is RestError {
  return e instanceof RestError && (e.code === 'HTTP_429' || e.code === 'HTTP_418')
}

/**
 * Binance error codes that mean "try again later", per errors.md:
 * -1001 DISCONNECTED (internal), -1003 TOO_MANY_REQUESTS, -1007 TIMEOUT (backend),
 * -1008 SERVER_BUSY.
 */
export const TRANSIENT_BINANCE_CODES: ReadonlySet<number> = new Set([-1001, -1003, -1007, -1008])

/**
 * True when the same request may succeed later: 429, 5xx, timeouts, network
 * errors, broken responses (unless the status was a 4xx) and the transient Binance
 * codes. A 418 is not: the IP is banned for minutes to days, the caller should
 * give up for now (the error carries retryAfterMs).
 */
export function isRetryableRestError(e: unknown): boolean {
  if (!(e instanceof RestError)) return false
  switch (e.code) {
    case 'HTTP_429':
    case 'HTTP_5XX':
    case 'TIMEOUT':
    case 'NETWORK':
      return true
    case 'BAD_RESPONSE':
      return e.status === undefined || e.status < 400 || e.status >= 500
    case 'BINANCE_ERROR':
      return e.binanceCode !== undefined && TRANSIENT_BINANCE_CODES.has(e.binanceCode)
    case 'HTTP_4XX':
      return e.status === 408
    default:
      return false
  }
}
