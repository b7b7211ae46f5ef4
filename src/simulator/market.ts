/**
 * The simulated market: a pure, deterministic function of (symbol, minute).
 * `symbol` is a profile key (profile.ts simKey): `BTCUSDT` on spot,
 * `usdm:BTCUSDT` for the USD-M contract — another path at the contract's precision.
 *
 * Every value is computed in O(1) from hashes of the minute index, with
 * bigint fixed-point maths (1e-8 units), so any minute can be asked for in
 * any order — by the stream server, by REST, and by tests — and the answers
 * agree. The price at each minute boundary is `boundaryPrice(m)`; a minute
 * opens at its own boundary price and closes at the next one's. Trade ids
 * are contiguous: the cumulative trade count before minute m is
 * `K·m + g(m)` with 0 ≤ g ≤ K, so a minute has `K + g(m+1) − g(m)` ∈ [0, 2K]
 * trades, and now and then none (then f = L = −1 and volumes are zero, as
 * Binance sends).
 */
import { floorTo, formatDecimals, formatUnits, maxUnits, minUnits, UNIT } from './fixed.ts'
import { hashInt, pick } from './hash.ts'
import { type SymbolProfile, symbolProfile } from './profile.ts'

export const MINUTE = 60_000

export interface SimKline {
  symbol: string
  openTime: number
  closeTime: number
  open: string
  high: string
  low: string
  close: string
  volume: string
  quoteVolume: string
  trades: number
  takerBuyBase: string
  takerBuyQuote: string
  firstTradeId: number
  lastTradeId: number
}

// Salts keep the different random draws of one minute independent.
const S_NOISE = 1
const S_TRADES = 2
const S_WICK_HI = 3
const S_WICK_LO = 4
const S_SIZE = 5
const S_TAKER = 6
const S_VWAP = 7
const S_WOBBLE = 9

/** Triangle wave in [-amp, amp] (ppm) with the given period (minutes). */
function triangle(m: number, period: number, amp: number): bigint {
  const x = BigInt(((m % period) + period) % period)
  const p = BigInt(period)
  const d = 2n * x - p
  return (BigInt(amp) * (2n * (d < 0n ? -d : d) - p)) / p
}

function boundaryPrice(p: SymbolProfile, m: number): bigint {
  const ppm =
    triangle(m, 1_440 + pick(p.seed, 240), 40_000) +
    triangle(m + pick(p.seed >>> 9, 97), 97, 8_000) +
    BigInt(pick(hashInt(p.seed, m, S_NOISE), 3_001) - 1_500)
  const price = floorTo(p.basePrice + (p.basePrice * ppm) / 1_000_000n, p.tick)
  return maxUnits(price, p.tick)
}

/** Trades executed before minute m, offset so ids start at the symbol's base. */
function tradesBefore(p: SymbolProfile, m: number): number {
  const k = p.tradesPerMinute
  return p.tradeIdBase + k * m + pick(hashInt(p.seed, m, S_TRADES), k + 1)
}

export function minuteIndex(openTime: number): number {
  if (!Number.isSafeInteger(openTime) || openTime % MINUTE !== 0) {
    throw new RangeError(`openTime must be a whole minute in ms, got ${openTime}`)
  }
  return openTime / MINUTE
}

/** Internal full-precision view of one closed minute. */
export interface MinuteModel {
  profile: SymbolProfile
  m: number
  open: bigint
  high: bigint
  low: bigint
  close: bigint
  trades: number
  firstTradeId: number
  lastLots: bigint // base volume in lots
  takerLots: bigint
  vwap: bigint
}

export function minuteModel(symbol: string, openTime: number): MinuteModel {
  const p = symbolProfile(symbol)
  const m = minuteIndex(openTime)
  const first = tradesBefore(p, m)
  const trades = tradesBefore(p, m + 1) - first
  const open = boundaryPrice(p, m)
  if (trades === 0) {
    return {
      profile: p,
      m,
      open,
      high: open,
      low: open,
      close: open,
      trades,
      firstTradeId: -1,
      lastLots: 0n,
      takerLots: 0n,
      vwap: open,
    }
  }
  const close = boundaryPrice(p, m + 1)
  const hi = maxUnits(open, close)
  const lo = minUnits(open, close)
  const high = hi + p.tick * BigInt(pick(hashInt(p.seed, m, S_WICK_HI), 6))
  let low = lo - p.tick * BigInt(pick(hashInt(p.seed, m, S_WICK_LO), 6))
  if (low < p.tick) low = minUnits(p.tick, lo)
  const lots = BigInt(trades) * BigInt(1 + pick(hashInt(p.seed, m, S_SIZE), p.maxLotsPerTrade))
  const takerLots = (lots * BigInt(pick(hashInt(p.seed, m, S_TAKER), 1_001))) / 1_000n
  const vwap = low + ((high - low) * BigInt(pick(hashInt(p.seed, m, S_VWAP), 1_001))) / 1_000n
  return {
    profile: p,
    m,
    open,
    high,
    low,
    close,
    trades,
    firstTradeId: first,
    lastLots: lots,
    takerLots,
    vwap,
  }
}

export const priceText = (p: SymbolProfile, u: bigint): string =>
  p.priceDecimals === 8 ? formatUnits(u) : formatDecimals(u, p.priceDecimals)
export const qty = (p: SymbolProfile, u: bigint): string =>
  p.qtyDecimals === 8 ? formatUnits(u) : formatDecimals(u, p.qtyDecimals)

function toKline(
  md: MinuteModel,
  trades: number,
  o: bigint,
  h: bigint,
  l: bigint,
  c: bigint,
  lots: bigint,
  taker: bigint,
  vwap: bigint,
): SimKline {
  const lot = md.profile.lot
  const volume = lots * lot
  const taker8 = taker * lot
  const openTime = md.m * MINUTE
  return {
    symbol: md.profile.symbol,
    openTime,
    closeTime: openTime + MINUTE - 1,
    open: priceText(md.profile, o),
    high: priceText(md.profile, h),
    low: priceText(md.profile, l),
    close: priceText(md.profile, c),
    volume: qty(md.profile, volume),
    quoteVolume: formatUnits((volume * vwap) / UNIT),
    trades,
    takerBuyBase: qty(md.profile, taker8),
    takerBuyQuote: formatUnits((taker8 * vwap) / UNIT),
    firstTradeId: trades === 0 ? -1 : md.firstTradeId,
    lastTradeId: trades === 0 ? -1 : md.firstTradeId + trades - 1,
  }
}

/** Final (closed) values of the minute starting at `openTime` (a whole minute, ms). */
export function simulatedKline(symbol: string, openTime: number): SimKline {
  const md = minuteModel(symbol, openTime)
  return toKline(md, md.trades, md.open, md.high, md.low, md.close, md.lastLots, md.takerLots, md.vwap)
}

/**
 * The candle as it stands `elapsedMs` into its minute (0 ≤ elapsedMs < 60 000),
 * or null while it has no trade yet. Its trade count is always below the
 * final one, and every value lies within the final candle's bounds.
 */
export function formingKline(symbol: string, openTime: number, elapsedMs: number): SimKline | null {
  const md = minuteModel(symbol, openTime)
  const e = BigInt(Math.min(MINUTE - 1, Math.max(0, Math.floor(elapsedMs))))
  const trades = Number((BigInt(md.trades) * e) / BigInt(MINUTE))
  if (trades === 0) return null
  const c = formingPrice(md, Number(e))
  const hiBase = maxUnits(md.open, c)
  const loBase = minUnits(md.open, c)
  const tick = md.profile.tick
  const h = hiBase + floorTo(((md.high - hiBase) * e) / BigInt(MINUTE), tick)
  const l = loBase - floorTo(((loBase - md.low) * e) / BigInt(MINUTE), tick)
  const n = BigInt(trades)
  const all = BigInt(md.trades)
  return toKline(
    md,
    trades,
    md.open,
    h,
    l,
    c,
    (md.lastLots * n) / all,
    (md.takerLots * n) / all,
    (h + l) / 2n,
  )
}

/** Last price `elapsedMs` into the minute: drifts from open to close with a small wobble. */
export function formingPrice(md: MinuteModel, elapsedMs: number): bigint {
  const tick = md.profile.tick
  const drift = ((md.close - md.open) * BigInt(elapsedMs)) / BigInt(MINUTE)
  const wobble = BigInt(
    pick(hashInt(md.profile.seed, md.m * 60 + Math.floor(elapsedMs / 1000), S_WOBBLE), 5) - 2,
  )
  const raw = floorTo(md.open + drift, tick) + wobble * tick
  return minUnits(md.high, maxUnits(md.low, raw))
}
