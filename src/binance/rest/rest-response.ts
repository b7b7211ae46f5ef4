/**
 * One HTTP answer from Binance REST → its JSON body, or the RestError it means.
 * Pure: status, headers and text in; no I/O, no clock (`now` is passed).
 */
import { RestError, TRANSIENT_BINANCE_CODES } from './rest-errors.ts'

export interface RawResponse {
  readonly status: number
  readonly contentType: string
  readonly text: string
  readonly retryAfter: string | null
}

/** A `{code, msg}` Binance error body, when the text is one. */
export interface BinanceErrorBody {
  readonly code: number
  readonly msg: string
}

export const BAD_SYMBOL = -1121
export const TOO_MANY_REQUESTS = -1003

/** X-MBX-USED-WEIGHT-1M as a number, or undefined when absent or garbage. */
export function parseUsedWeight(v: string | null): number | undefined {
  if (v === null || !/^\s*\d{1,9}\s*$/.test(v)) return undefined
  return Number(v)
}

/** Retry-After: delta-seconds (what Binance sends) or an HTTP date; ms from `now`. */
export function parseRetryAfter(v: string | null, now: number): number | undefined {
  if (v === null) return undefined
  const s = v.trim()
  if (/^\d{1,9}$/.test(s)) return Number(s) * 1000
  // HTTP-date (IMF-fixdate, "Wed, 21 Oct 2015 07:28:00 GMT"); Date.parse alone accepts "-5".
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(s)) return undefined
  const at = Date.parse(s)
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function binanceError(body: unknown): BinanceErrorBody | undefined {
  if (!isObject(body)) return undefined
  const { code, msg } = body
  return typeof code === 'number' && Number.isInteger(code) && typeof msg === 'string'
    ? { code, msg }
    : undefined
}

function snippet(text: string): string {
  const s = text.replace(/\s+/g, ' ').trim()
  return s.length > 120 ? `${s.slice(0, 120)}…` : s
}

type Parsed = { readonly ok: true; readonly body: unknown } | { readonly ok: false; readonly why: string }

function parseJson(r: RawResponse): Parsed {
  if (!/\bjson\b/i.test(r.contentType)) {
    return { ok: false, why: `content-type ${JSON.stringify(r.contentType)}: ${snippet(r.text)}` }
  }
  try {
    return { ok: true, body: JSON.parse(r.text) }
  } catch {
    return { ok: false, why: `invalid JSON (${r.text.length} chars): ${snippet(r.text)}` }
  }
}

/**
 * Returns the JSON body of a 2xx answer; throws the matching RestError
 * otherwise. 429/418 are classified here but the pause is the client's job.
 */
export function interpretResponse(r: RawResponse, now: number): unknown {
  const parsed = parseJson(r)
  const err = parsed.ok ? binanceError(parsed.body) : undefined
  const status = r.status
  const base = { status, binanceCode: err?.code }
  const what = err ? `${err.code} ${err.msg}` : parsed.ok ? snippet(r.text) : parsed.why
  if (status === 429 || status === 418) {
    const retryAfterMs = parseRetryAfter(r.retryAfter, now)
    const code = status === 429 ? 'HTTP_429' : 'HTTP_418'
    throw new RestError(code, `HTTP ${status}: ${what}`, { ...base, retryAfterMs })
  }
  if (status >= 500) {
    // An HTML page from a proxy in front of Binance is a broken answer, retried like any 5xx.
    throw new RestError(parsed.ok ? 'HTTP_5XX' : 'BAD_RESPONSE', `HTTP ${status}: ${what}`, base)
  }
  if (status >= 400) {
    if (!err) throw new RestError('HTTP_4XX', `HTTP ${status}: ${what}`, base)
    if (err.code === BAD_SYMBOL) throw new RestError('UNKNOWN_SYMBOL', `HTTP ${status}: ${what}`, base)
    throw new RestError('BINANCE_ERROR', `HTTP ${status}: ${what}`, base)
  }
  if (status < 200 || status >= 300) throw new RestError('BAD_RESPONSE', `HTTP ${status}: ${what}`, base)
  if (!parsed.ok) throw new RestError('BAD_RESPONSE', parsed.why, base)
  if (err) {
    const code = TRANSIENT_BINANCE_CODES.has(err.code) ? 'BINANCE_ERROR' : 'BAD_RESPONSE'
    throw new RestError(code, `HTTP ${status} with an error body: ${what}`, base)
  }
  return parsed.body
}

export function expectObject(body: unknown, what: string): Record<string, unknown> {
  if (!isObject(body)) throw new RestError('BAD_RESPONSE', `${what}: expected an object`)
  return body
}
