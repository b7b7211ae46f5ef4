/**
 * Binance stream names and connection URLs. Pure: symbols in, strings out.
 * Symbols are validated here, before they can reach a URL or a SUBSCRIBE.
 */

import type { MarketModule } from '../../markets/market.ts'
import { SPOT } from '../../markets/spot.ts'

/** Binance's per-connection stream limit on spot (binance-api.md §3). */
export const MAX_STREAMS_PER_CONNECTION = SPOT.stream.maxStreamsPerConnection
/**
 * Common servers and proxies refuse request lines over 8 KiB; stay below with
 * room for the host and headers. Streams that do not fit are SUBSCRIBEd.
 */
export const MAX_URL_LENGTH = 7_680

export class InvalidSymbolError extends Error {
  readonly code = 'INVALID_SYMBOL'
  readonly symbol: string
  constructor(symbol: string) {
    super(`invalid symbol ${JSON.stringify(symbol)}: expected 2–30 letters or digits, e.g. BTCUSDT`)
    this.name = 'InvalidSymbolError'
    this.symbol = symbol
  }
}

export function isInvalidSymbolError(err: unknown): err is InvalidSymbolError {
  return err instanceof InvalidSymbolError
}

export class InvalidStreamUrlError extends Error {
  readonly code = 'INVALID_STREAM_URL'
  readonly url: string
  constructor(url: string, why: string) {
    super(`invalid stream URL ${JSON.stringify(url)}: ${why}`)
    this.name = 'InvalidStreamUrlError'
    this.url = url
  }
}

/** Uppercase symbol, validated against the market's pattern (`btcusdt` → `BTCUSDT`); throws InvalidSymbolError. */
export function normalizeSymbol(symbol: string, market: MarketModule = SPOT): string {
  const upper = symbol.trim().toUpperCase()
  if (!market.symbolPattern.test(upper)) throw new InvalidSymbolError(symbol)
  return upper
}

/** The market's streams per symbol (spot: `<sym>@kline_1m`, `<sym>@bookTicker`), lowercase, de-duplicated, kept adjacent. */
export function streamsFor(symbols: readonly string[], market: MarketModule = SPOT): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (const s of symbols) {
    const lower = normalizeSymbol(s, market).toLowerCase()
    if (seen.has(lower)) continue
    seen.add(lower)
    out.push(...market.stream.streamsOf(lower))
  }
  return out
}

export function chunkStreams(streams: readonly string[], max = MAX_STREAMS_PER_CONNECTION): string[][] {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be a positive integer, got ${max}`)
  const chunks: string[][] = []
  for (let i = 0; i < streams.length; i += max) chunks.push(streams.slice(i, i + max))
  return chunks
}

/**
 * `wss://host:9443/ws`, `…/ws/`, `…/stream` or a bare host → `…/stream?streams=a/b/c`.
 * Names are joined verbatim: Binance documents `@` and `/` unencoded in this query.
 * Other query parameters on the base (e.g. `timeUnit`) are kept.
 */
export function combinedUrl(base: string, streams: readonly string[]): string {
  const { prefix, extraQuery } = streamBase(base)
  return `${prefix}?streams=${streams.join('/')}${extraQuery}`
}

export interface UrlPlan {
  readonly url: string
  /** Streams named in the URL. */
  readonly inUrl: readonly string[]
  /** Streams that did not fit and must be SUBSCRIBEd after open. */
  readonly toSubscribe: readonly string[]
}

/**
 * Puts as many streams in the URL as fit in `maxLength` (at least one); the rest are to SUBSCRIBE.
 * `route` is the market's path for these streams below the host ('' on spot).
 */
export function planConnectionUrl(
  base: string,
  streams: readonly string[],
  maxLength = MAX_URL_LENGTH,
  route = '',
): UrlPlan {
  const { prefix, extraQuery } = streamBase(base, route)
  let length = prefix.length + '?streams='.length + extraQuery.length
  let fit = 0
  for (const s of streams) {
    const add = s.length + (fit > 0 ? 1 : 0)
    if (fit > 0 && length + add > maxLength) break
    length += add
    fit++
  }
  const inUrl = streams.slice(0, fit)
  return { url: `${prefix}?streams=${inUrl.join('/')}${extraQuery}`, inUrl, toSubscribe: streams.slice(fit) }
}

function streamBase(base: string, route = ''): { prefix: string; extraQuery: string } {
  let u: URL
  try {
    u = new URL(base)
  } catch {
    throw new InvalidStreamUrlError(base, 'not a URL')
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:')
    throw new InvalidStreamUrlError(base, 'expected ws:// or wss://')
  let path = u.pathname.replace(/\/+$/, '')
  path = path.replace(/\/(ws|stream)(\/.*)?$/, '')
  const params = new URLSearchParams(u.search)
  params.delete('streams')
  const rest = params.toString()
  return { prefix: `${u.protocol}//${u.host}${path}${route}/stream`, extraQuery: rest ? `&${rest}` : '' }
}
