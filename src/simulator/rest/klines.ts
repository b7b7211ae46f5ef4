/**
 * GET /api/v3/klines: parameter checks and row selection, as the spot docs
 * describe them (shared/binance-api.md §6). Pure: the caller passes `now`.
 *
 * - Only interval `1m` is simulated; every other documented interval answers
 *   -1120 like an unknown one.
 * - A kline is selected when startTime ≤ openTime ≤ endTime. Times may be in
 *   ms or, from 16 digits on, µs. `timeZone` is validated and, for 1m, has
 *   no effect (every allowed offset is a whole number of minutes).
 * - `limit`: default 500; above 1000 it is clamped to 1000; below 1 → -1130.
 * - Ascending order. No start/end → the newest `limit` rows, the last being
 *   the still-open minute; start only → from start; end only → the newest up
 *   to end; both → from start, not past end. Rows missing because of a
 *   listing date or an outage do not count against `limit`.
 */
import { formingKline, MINUTE, type SimKline, simulatedKline } from '../market.ts'
import type { SymbolUniverse } from '../universe.ts'
import { type ApiError, errors } from './api-error.ts'
import type { Outages } from './outages.ts'
import { checkSymbol, isApiError, mandatory, optionalInteger, type Params } from './query.ts'

export const KLINES_PARAMS = ['symbol', 'interval', 'startTime', 'endTime', 'timeZone', 'limit'] as const
export const DEFAULT_LIMIT = 500
export const MAX_LIMIT = 1000
export const FUTURES_MAX_LIMIT = 1500
const INTERVALS = [
  '1s',
  '1m',
  '3m',
  '5m',
  '15m',
  '30m',
  '1h',
  '2h',
  '4h',
  '6h',
  '8h',
  '12h',
  '1d',
  '3d',
  '1w',
  '1M',
]
/** 1e15 ms is the year 33658; 1e15 µs is 2001. */
const MICROS_FROM = 1e15

export type KlineRow = [
  openTime: number,
  open: string,
  high: string,
  low: string,
  close: string,
  volume: string,
  closeTime: number,
  quoteVolume: string,
  trades: number,
  takerBuyBase: string,
  takerBuyQuote: string,
  ignore: string,
]

export interface KlinesQuery {
  readonly symbol: string
  readonly startTime?: number // ms, inclusive
  readonly endTime?: number // ms, inclusive
  readonly limit: number
}

export function klineRow(k: SimKline): KlineRow {
  return [
    k.openTime,
    k.open,
    k.high,
    k.low,
    k.close,
    k.volume,
    k.closeTime,
    k.quoteVolume,
    k.trades,
    k.takerBuyBase,
    k.takerBuyQuote,
    '0',
  ]
}

function validTimeZone(tz: string): boolean {
  const m = /^([+-]?)(\d{1,2})(?::(\d{2}))?$/.exec(tz)
  if (!m) return false
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? 0)
  if (Number(m[3] ?? 0) >= 60) return false
  return m[1] === '-' ? minutes <= 12 * 60 : minutes <= 14 * 60
}

/** Start bound in ms: µs inputs round up, so "openTime·1000 ≥ start" still holds. */
const startMs = (v: number): number => (v >= MICROS_FROM ? Math.ceil(v / 1000) : v)
const endMs = (v: number): number => (v >= MICROS_FROM ? Math.floor(v / 1000) : v)

export function parseKlines(params: Params, universe: SymbolUniverse): KlinesQuery | ApiError {
  const symbol = mandatory(params, 'symbol')
  if (isApiError(symbol)) return symbol
  const interval = mandatory(params, 'interval')
  if (isApiError(interval)) return interval
  const badSymbol = checkSymbol(symbol)
  if (badSymbol) return badSymbol
  if (!universe.get(symbol)) return errors.badSymbol()
  if (!INTERVALS.includes(interval) || interval !== '1m') return errors.badInterval()
  const start = optionalInteger(params, 'startTime')
  if (isApiError(start)) return start
  const end = optionalInteger(params, 'endTime')
  if (isApiError(end)) return end
  const tz = params.get('timeZone')
  if (tz !== undefined && !validTimeZone(tz)) return errors.invalidParam('timeZone')
  const limitRaw = optionalInteger(params, 'limit')
  if (isApiError(limitRaw)) return limitRaw
  if (limitRaw !== undefined && limitRaw < 1) return errors.invalidParam('limit')
  const q: { -readonly [K in keyof KlinesQuery]: KlinesQuery[K] } = {
    symbol,
    // Futures pages go to 1500 (binance-api.md §8).
    limit: Math.min(limitRaw ?? DEFAULT_LIMIT, universe.market === 'spot' ? MAX_LIMIT : FUTURES_MAX_LIMIT),
  }
  if (start !== undefined) q.startTime = startMs(start)
  if (end !== undefined) q.endTime = endMs(end)
  if (q.startTime !== undefined && q.endTime !== undefined && q.startTime > q.endTime) {
    return errors.startAfterEnd()
  }
  return q
}

/** The minute in progress at `now`, as Binance serves it: closeTime in the future. */
function openKline(symbol: string, openTime: number, now: number): SimKline {
  const forming = formingKline(symbol, openTime, now - openTime)
  if (forming) return forming
  const k = simulatedKline(symbol, openTime)
  const zero = '0.00000000'
  return {
    ...k,
    high: k.open,
    low: k.open,
    close: k.open,
    volume: zero,
    quoteVolume: zero,
    trades: 0,
    takerBuyBase: zero,
    takerBuyQuote: zero,
    firstTradeId: -1,
    lastTradeId: -1,
  }
}

export function selectKlines(
  q: KlinesQuery,
  now: number,
  universe: SymbolUniverse,
  outages: Outages,
): KlineRow[] {
  const listing = universe.get(q.symbol)
  if (!listing) return []
  const symbol = universe.key(listing.symbol)
  const current = Math.floor(now / MINUTE) * MINUTE
  const first = Math.ceil(Math.max(0, listing.listedAt) / MINUTE) * MINUTE
  const last = Math.min(current, Math.floor((q.endTime ?? current) / MINUTE) * MINUTE)
  const row = (t: number) => klineRow(t === current ? openKline(symbol, t, now) : simulatedKline(symbol, t))
  const rows: KlineRow[] = []
  if (q.startTime !== undefined) {
    let t = Math.max(first, Math.ceil(q.startTime / MINUTE) * MINUTE)
    while (rows.length < q.limit) {
      t = outages.skip(listing.symbol, t, 1)
      if (t > last) break
      rows.push(row(t))
      t += MINUTE
    }
    return rows
  }
  let t = last
  while (rows.length < q.limit) {
    t = outages.skip(listing.symbol, t, -1)
    if (t < first) break
    rows.push(row(t))
    t -= MINUTE
  }
  return rows.reverse()
}
