/**
 * The simulator's symbol universe: which symbols Binance "lists", since
 * when, and how each splits into base and quote asset. REST answers -1121
 * for anything else; the stream side, like Binance, accepts a subscription
 * to any well-formed name but sends no frames for an unlisted symbol or for
 * minutes before its listing.
 */
import type { Market } from '../core/records.ts'
import { simKey } from './profile.ts'

export const DEFAULT_SYMBOLS: readonly string[] = [
  'BTCUSDT',
  'ETHUSDT',
  'BNBUSDT',
  'SOLUSDT',
  'XRPUSDT',
  'DOGEUSDT',
  'ADAUSDT',
  'LTCUSDT',
  'NKNUSDT',
  'PEPEUSDT',
  'ETHBTC',
  'BNBBTC',
  'XRPBTC',
  'BTCFDUSD',
  'BTCUSDC',
]

/** USD-M contracts listed by default (SUSHIUSDT: the captured frame's contract). */
export const DEFAULT_USDM_SYMBOLS: readonly string[] = [
  'BTCUSDT',
  'ETHUSDT',
  'BNBUSDT',
  'SOLUSDT',
  'SUSHIUSDT',
]
/** COIN-M perpetuals listed by default. */
export const DEFAULT_COINM_SYMBOLS: readonly string[] = ['BTCUSD_PERP', 'ETHUSD_PERP', 'BNBUSD_PERP']

/** Longest first, so BTCFDUSD splits as BTC/FDUSD and not BTCFD/USD. */
const QUOTES = ['FDUSD', 'USDT', 'USDC', 'TUSD', 'BTC', 'ETH', 'BNB', 'EUR', 'TRY', 'BRL', 'JPY', 'USD']

export interface Listing {
  readonly symbol: string
  readonly baseAsset: string
  readonly quoteAsset: string
  /** The first minute with data opens at or after this instant (ms). */
  readonly listedAt: number
}

export interface UniverseOptions {
  /** The market listing them (default spot): prices and ids are the market's own. */
  market?: Market
  /** Listed symbols, any case (default DEFAULT_SYMBOLS). */
  symbols?: readonly string[]
  /** Per-symbol listing instant in ms; keys not in `symbols` are ignored. Default 0 (the epoch). */
  listedAt?: Readonly<Record<string, number>>
}

export interface SymbolUniverse {
  readonly market: Market
  readonly listings: readonly Listing[]
  /** The profile key of a listed symbol (market.ts takes it instead of the bare symbol). */
  key(symbol: string): string
  get(symbol: string): Listing | undefined
  /** Whether Binance has data for the minute opening at `openTime`. */
  hasMinute(symbol: string, openTime: number): boolean
}

const SYMBOL_RE = /^[A-Z0-9]{1,20}(?:_[A-Z0-9]{1,10})?$/

export function splitSymbol(full: string): { baseAsset: string; quoteAsset: string } {
  // A COIN-M contract is its pair and a suffix: BTCUSD_PERP → BTC / USD.
  const symbol = full.replace(/_.*$/, '')
  const quote = QUOTES.find((q) => symbol.length > q.length && symbol.endsWith(q))
  const cut = quote ? symbol.length - quote.length : Math.max(1, symbol.length - 3)
  return { baseAsset: symbol.slice(0, cut), quoteAsset: symbol.slice(cut) }
}

export function createUniverse(opts: UniverseOptions = {}): SymbolUniverse {
  const byName = new Map<string, Listing>()
  const listedAt = new Map(Object.entries(opts.listedAt ?? {}).map(([k, v]) => [k.toUpperCase(), v]))
  const defaults =
    opts.market === 'usdm'
      ? DEFAULT_USDM_SYMBOLS
      : opts.market === 'coinm'
        ? DEFAULT_COINM_SYMBOLS
        : DEFAULT_SYMBOLS
  for (const raw of opts.symbols ?? defaults) {
    const symbol = raw.toUpperCase()
    if (!SYMBOL_RE.test(symbol)) throw new RangeError(`not a Binance symbol: ${raw}`)
    if (byName.has(symbol)) continue
    byName.set(symbol, {
      symbol,
      ...splitSymbol(symbol),
      listedAt: listedAt.get(symbol) ?? 0,
    })
  }
  const listings = [...byName.values()]
  const market = opts.market ?? 'spot'
  return {
    market,
    listings,
    key: (symbol) => simKey(market, symbol),
    get: (symbol) => byName.get(symbol.toUpperCase()),
    hasMinute: (symbol, openTime) => {
      const l = byName.get(symbol.toUpperCase())
      return l !== undefined && openTime >= l.listedAt
    },
  }
}
