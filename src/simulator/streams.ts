/**
 * Stream names and connection URLs, as Binance spells them. Only the two
 * streams the feeder uses are simulated; any other name is "invalid".
 */
import { SPOT } from '../markets/spot.ts'

export type StreamKind = 'kline' | 'book'

export interface StreamName {
  readonly name: string // e.g. "btcusdt@kline_1m"
  readonly symbol: string // uppercase, as in payloads
  readonly kind: StreamKind
}

/** Lowercase symbol, then `@kline_1m` or `@bookTicker` (case-sensitive, as Binance). */
const STREAM_RE = /^([a-z0-9]{1,20})@(kline_1m|bookTicker)$/

export function parseStreamName(name: unknown): StreamName | null {
  if (typeof name !== 'string') return null
  const m = STREAM_RE.exec(name)
  if (!m?.[1]) return null
  return { name, symbol: m[1].toUpperCase(), kind: m[2] === 'bookTicker' ? 'book' : 'kline' }
}

export interface ConnectionTarget {
  readonly path: string
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
  // Below one of the market's socket routes ('' on spot), the layout is the same.
  const route = SPOT.simulator.wsRoutes.find((r) => r !== '' && url.pathname.startsWith(`${r}/`)) ?? ''
  const path = url.pathname.slice(route.length)
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
  return { ok: true, target: { path: url.pathname + url.search, combined, streams } }
}
