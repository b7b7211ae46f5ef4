/**
 * Per-symbol scale of the simulated market: price level, tick and lot size,
 * trade rate, and the bases of the trade-id and book-update-id sequences.
 * Well-known symbols get realistic values; any other symbol gets a profile
 * derived from its name, so every symbol works and each has its own scale.
 */
import { hashString, pick } from './hash.ts'

export interface SymbolProfile {
  readonly symbol: string // uppercase, without the market
  /** Futures send prices at the contract's precision ("7.6120"), spot at 8 decimals. */
  readonly futures: boolean
  /** Decimals of prices and of quantities on the wire. */
  readonly priceDecimals: number
  readonly qtyDecimals: number
  readonly seed: number
  /** Centre price, in 1e-8 units. */
  readonly basePrice: bigint
  readonly tick: bigint
  readonly lot: bigint
  /** Mean trades per minute; a minute has between 0 and 2× this many. */
  readonly tradesPerMinute: number
  /** A trade is 1…maxLotsPerTrade lots. */
  readonly maxLotsPerTrade: number
  readonly tradeIdBase: number
  readonly bookIdBase: number
}

interface Scale {
  price: bigint
  tick: bigint
  lot: bigint
  trades: number
  maxLots: number
}

const KNOWN: Readonly<Record<string, Scale>> = {
  BTCUSDT: { price: 6_000_000_000_000n, tick: 1_000_000n, lot: 1_000n, trades: 900, maxLots: 5_000 },
  ETHUSDT: { price: 300_000_000_000n, tick: 1_000_000n, lot: 10_000n, trades: 600, maxLots: 20_000 },
  BNBUSDT: { price: 55_000_000_000n, tick: 1_000_000n, lot: 100_000n, trades: 200, maxLots: 5_000 },
  SOLUSDT: { price: 15_000_000_000n, tick: 1_000_000n, lot: 100_000n, trades: 300, maxLots: 20_000 },
  NKNUSDT: { price: 35_000_000n, tick: 10_000n, lot: 100_000_000n, trades: 30, maxLots: 2_000 },
}

function derivedScale(seed: number): Scale {
  const e = pick(seed, 8) - 3 // price ≈ 10^e, e in [-3, 4]
  const mantissa = BigInt(100 + pick(seed >>> 3, 900)) // 1.00 … 9.99
  return {
    price: mantissa * 10n ** BigInt(e + 6),
    tick: 10n ** BigInt(Math.max(0, e + 3)),
    lot: 10n ** BigInt(Math.min(8, Math.max(0, 7 - e))),
    trades: 20 + pick(seed >>> 7, 200),
    maxLots: 100 + pick(seed >>> 11, 2_000),
  }
}

const cache = new Map<string, SymbolProfile>()

/** Decimals of a power of ten in 1e-8 units (1_000_000n → 2). */
function decimalsOf(units: bigint): number {
  let d = 8
  for (let u = units; u % 10n === 0n && d > 0; u /= 10n) d--
  return d
}

/**
 * The profile of a simulated instrument. `key` is the symbol (spot) or
 * `usdm:SYMBOL` / `coinm:SYMBOL` (see simKey): a futures contract has the
 * scale of its spot namesake but its own price path, ids and precision.
 */
export function symbolProfile(key: string): SymbolProfile {
  const upper = key.toUpperCase()
  const hit = cache.get(upper)
  if (hit) return hit
  const colon = upper.indexOf(':')
  const sym = colon < 0 ? upper : upper.slice(colon + 1)
  const futures = colon >= 0
  const seed = hashString(upper)
  const s = KNOWN[sym] ?? KNOWN[sym.replace(/_.*$/, 'T')] ?? derivedScale(seed)
  const profile: SymbolProfile = {
    symbol: sym,
    futures,
    // One more decimal than the tick, as Binance prints a contract's pricePrecision ("7.6120").
    priceDecimals: futures ? Math.min(8, decimalsOf(s.tick) + 1) : 8,
    qtyDecimals: futures ? decimalsOf(s.lot) : 8,
    seed,
    basePrice: s.price,
    tick: s.tick,
    lot: s.lot,
    tradesPerMinute: s.trades,
    maxLotsPerTrade: s.maxLots,
    // Leaves room for ~2^53 / 1e6 minutes of trades and book updates.
    tradeIdBase: pick(seed, 1_000) * 1_000_000,
    bookIdBase: pick(seed >>> 5, 1_000) * 1_000_000_000,
  }
  cache.set(upper, profile)
  return profile
}

/** The profile key of a symbol on a market: spot keeps the bare symbol. */
export function simKey(market: string, symbol: string): string {
  return market === 'spot' ? symbol.toUpperCase() : `${market}:${symbol.toUpperCase()}`
}
