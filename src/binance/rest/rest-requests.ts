/**
 * What each REST endpoint sends and how its answer is read, apart from the
 * sending (rest-client.ts). Pure: arguments in, query parameters or typed
 * values out; anything malformed is a RestError (INVALID_ARGUMENT for ours,
 * BAD_RESPONSE for Binance's).
 */
import { MINUTE_MS } from '../../core/records.ts'
import type { MarketModule } from '../../markets/market.ts'
import { SPOT } from '../../markets/spot.ts'
import { type KlinesQuery, REST_DEFAULTS } from './rest-api.ts'
import { RestError } from './rest-errors.ts'
import { expectObject, parseRetryAfter, TOO_MANY_REQUESTS } from './rest-response.ts'
import { WINDOW_MS } from './weight-budget.ts'

type SymbolRule = Pick<MarketModule, 'id' | 'symbolPattern'>

/** BINANCE_REST_URL without trailing slashes; anything but http(s) is refused. */
export function restBase(baseUrl: string): string {
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch (cause) {
    throw new RestError('INVALID_ARGUMENT', `bad baseUrl ${JSON.stringify(baseUrl)}`, { cause })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RestError('INVALID_ARGUMENT', `baseUrl must be http(s): ${baseUrl}`)
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}

/** A symbol of the market (COIN-M's carry a suffix: BTCUSD_PERP). */
export function checkSymbol(symbol: string, market: SymbolRule = SPOT): void {
  if (!market.symbolPattern.test(symbol))
    throw new RestError('INVALID_ARGUMENT', `bad ${market.id} symbol ${JSON.stringify(symbol)}`)
}

export function checkTime(name: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) {
    throw new RestError('INVALID_ARGUMENT', `${name} must be a non-negative integer (ms), got ${v}`)
  }
}

export function checkMinute(name: string, v: number): void {
  checkTime(name, v)
  if (v % MINUTE_MS !== 0) throw new RestError('INVALID_ARGUMENT', `${name} ${v} is not a minute start`)
}

/** `limit` at most the market's page size (1000 spot, 1500 futures). */
export function klinesParams(symbol: string, q: KlinesQuery, market: MarketModule = SPOT): URLSearchParams {
  const maxLimit = market.rest.klinesPageLimit
  checkSymbol(symbol, market)
  checkTime('startTime', q.startTime)
  checkTime('endTime', q.endTime)
  if (q.startTime !== undefined && q.endTime !== undefined && q.startTime > q.endTime) {
    throw new RestError('INVALID_ARGUMENT', `startTime ${q.startTime} > endTime ${q.endTime}`)
  }
  if (q.limit !== undefined && !(Number.isInteger(q.limit) && q.limit >= 1 && q.limit <= maxLimit)) {
    throw new RestError('INVALID_ARGUMENT', `limit must be 1…${maxLimit}, got ${q.limit}`)
  }
  const params = new URLSearchParams({ symbol, interval: '1m' })
  if (q.startTime !== undefined) params.set('startTime', String(q.startTime))
  if (q.endTime !== undefined) params.set('endTime', String(q.endTime))
  if (q.limit !== undefined) params.set('limit', String(q.limit))
  return params
}

export function exchangeInfoParams(
  symbols?: readonly string[],
  market: MarketModule = SPOT,
): URLSearchParams {
  const params = new URLSearchParams()
  if (symbols !== undefined && symbols.length > 0) {
    for (const s of symbols) checkSymbol(s, market)
    // Futures exchangeInfo takes no parameters: it lists every contract, the caller looks the symbols up.
    if (market.rest.exchangeInfoBySymbols) params.set('symbols', JSON.stringify(symbols))
  }
  return params
}

export function readExchangeInfo(body: unknown): { symbols: Array<{ symbol: string; status: string }> } {
  const list = expectObject(body, 'exchangeInfo').symbols
  if (!Array.isArray(list)) throw new RestError('BAD_RESPONSE', 'exchangeInfo: symbols is not an array')
  return {
    symbols: list.map((s: unknown, i) => {
      const o = expectObject(s, `exchangeInfo symbols[${i}]`)
      // COIN-M names the status `contractStatus`.
      const status = o.status ?? o.contractStatus
      if (typeof o.symbol !== 'string' || typeof status !== 'string') {
        throw new RestError('BAD_RESPONSE', `exchangeInfo symbols[${i}] lacks symbol/status`)
      }
      return { symbol: o.symbol, status }
    }),
  }
}

export function readServerTime(body: unknown): number {
  const t = expectObject(body, 'time').serverTime
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t <= 0) {
    throw new RestError('BAD_RESPONSE', `time: serverTime ${String(t)}`)
  }
  return t
}

/**
 * 429 / 418 / -1003: how long Binance asks every request to wait (jitter not
 * included): its Retry-After, else the next weight window (429) or the
 * shortest documented ban (418). Null for any other error.
 */
export function refusalWait(
  e: RestError,
  retryAfter: string | null,
  now: number,
): { retryAfterMs: number; status: 418 | 429 } | null {
  const is418 = e.code === 'HTTP_418'
  if (!is418 && e.code !== 'HTTP_429' && e.binanceCode !== TOO_MANY_REQUESTS) return null
  const nextWindow = (Math.floor(now / WINDOW_MS) + 1) * WINDOW_MS - now
  const retryAfterMs = parseRetryAfter(retryAfter, now) ?? (is418 ? REST_DEFAULTS.banFallbackMs : nextWindow)
  return { retryAfterMs, status: is418 ? 418 : 429 }
}

/** A network failure's code (ECONNREFUSED…, on the error or its cause) and message. */
export function networkDetail(e: unknown): string {
  const own = (e as { code?: unknown } | null)?.code
  const code = typeof own === 'string' ? own : (e as { cause?: { code?: unknown } } | null)?.cause?.code
  const msg = e instanceof Error ? e.message : String(e)
  return typeof code === 'string' ? `${code} (${msg})` : msg
}
