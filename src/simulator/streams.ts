/**
 * Stream names and connection URLs, as Binance spells them. Only the two
 * streams the feeder uses are simulated; any other name is "invalid".
 */
import type { Market } from '../core/records.ts'
import type { MarketModule } from '../markets/market.ts'
import { MARKET_MODULES } from '../markets/markets.ts'

export type StreamKind = 'kline' | 'book'

export interface StreamName {
  readonly name: string // e.g. "btcusdt@kline_1m"
  readonly symbol: string // uppercase, as in payloads
  readonly kind: StreamKind
}

/** Lowercase symbol, then `@kline_1m` or `@bookTicker` (case-sensitive, as Binance). */
const STREAM_RE = /^([a-z0-9]{1,20}(?:_[a-z0-9]{1,10})?)@(kline_1m|bookTicker)$/

export function parseStreamName(name: unknown): StreamName | null {
  if (typeof name !== 'string') return null
  const m = STREAM_RE.exec(name)
  if (!m?.[1]) return null
  return { name, symbol: m[1].toUpperCase(), kind: m[2] === 'bookTicker' ? 'book' : 'kline' }
}

export interface ConnectionTarget {
  readonly path: string
  /** The market whose host the path is on (by its mount: `/usdm/…`, `/coinm/…`, else spot). */
  readonly market: Market
  /**
   * Whether the connection gets a stream's frames: a routed market delivers a
   * stream only on its route, and the un-routed URL only what Binance still serves there.
   */
  readonly serves: (stream: string) => boolean
  readonly combined: boolean
  readonly streams: readonly StreamName[]
}

export type TargetResult =
  | { readonly ok: true; readonly target: ConnectionTarget }
  | { readonly ok: false; readonly status: number; readonly code: number; readonly msg: string }

/**
 * Parses an upgrade request URL: `/ws`, `/ws/<s>[/<s>…]`, or
 * `/stream?streams=<s>/<s>…`. Unknown paths → 404; an invalid or
 * unsupported stream name, or more than `maxStreams` streams → 400.
 */
export function parseTarget(rawUrl: string, maxStreams: number): TargetResult {
  const url = new URL(rawUrl, 'http://sim.invalid')
  // Each market's host is mounted on the one port; below it, Binance's own paths.
  const module: MarketModule =
    Object.values(MARKET_MODULES).find(
      (m) => m.simulator.wsMount !== '' && url.pathname.startsWith(`${m.simulator.wsMount}/`),
    ) ?? MARKET_MODULES.spot
  const below = url.pathname.slice(module.simulator.wsMount.length)
  // Below one of the market's socket routes ('' on spot and COIN-M), the layout is the same.
  const route = module.simulator.wsRoutes.find((r) => r !== '' && below.startsWith(`${r}/`)) ?? ''
  const path = below.slice(route.length)
  const routed = module.simulator.wsRoutes.some((r) => r !== '')
  const serves = !routed
    ? () => true
    : route === ''
      ? module.simulator.unroutedServes
      : (stream: string) => module.stream.route(stream) === route
  let names: string[]
  let combined: boolean
  if (path === '/ws' || path === '/ws/') {
    names = []
    combined = false
  } else if (path.startsWith('/ws/')) {
    names = decodeURIComponent(path.slice(4)).split('/')
    combined = false
  } else if (path === '/stream' || path === '/stream/') {
    const list = url.searchParams.get('streams')
    names = list ? list.split('/') : []
    combined = true
  } else {
    return { ok: false, status: 404, code: -1, msg: 'Not found' }
  }
  const unit = url.searchParams.get('timeUnit')
  if (unit !== null && unit.toUpperCase() !== 'MILLISECOND') {
    return { ok: false, status: 400, code: 2, msg: `Invalid request: timeUnit ${unit} is not simulated` }
  }
  const streams: StreamName[] = []
  for (const n of names) {
    if (n === '') continue
    const s = parseStreamName(n)
    if (!s) return { ok: false, status: 400, code: 2, msg: 'Invalid request: invalid stream' }
    if (!streams.some((x) => x.name === s.name)) streams.push(s)
  }
  if (streams.length > maxStreams) {
    return { ok: false, status: 400, code: 2, msg: `Invalid request: more than ${maxStreams} streams` }
  }
  return {
    ok: true,
    target: { path: url.pathname + url.search, market: module.id, serves, combined, streams },
  }
}
