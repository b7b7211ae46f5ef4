/**
 * The simulator's symbol universe: which symbols Binance "lists", since
 * when, and how each splits into base and quote asset. REST answers -1121
 * for anything else; the stream side, like Binance, accepts a subscription
 * to any well-formed name but sends no frames for an unlisted symbol or for
 * minutes before its listing.
 */

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

/** Longest first, so BTCFDUSD splits as BTC/FDUSD and not BTCFD/USD. */
const QUOTES = ['FDUSD', 'USDT', 'USDC', 'TUSD', 'BTC', 'ETH', 'BNB', 'EUR', 'TRY', 'BRL', 'JPY']

export interface Listing {
  readonly symbol: string
  readonly baseAsset: string
  readonly quoteAsset: string
  /** The first minute with data opens at or after this instant (ms). */
  readonly listedAt: number
}

export interface UniverseOptions {
  /** Listed symbols, any case (default DEFAULT_SYMBOLS). */
  symbols?: readonly string[]
  /** Per-symbol listing instant in ms; keys not in `symbols` are ignored. Default 0 (the epoch). */
  listedAt?: Readonly<Record<string, number>>
}

export interface SymbolUniverse {
  readonly listings: readonly Listing[]
  get(symbol: string): Listing | undefined
  /** Whether Binance has data for the minute opening at `openTime`. */
  hasMinute(symbol: string, openTime: number): boolean
}

const SYMBOL_RE = /^[A-Z0-9]{1,20}$/

export function splitSymbol(symbol: string): { baseAsset: string; quoteAsset: string } {
  const quote = QUOTES.find((q) => symbol.length > q.length && symbol.endsWith(q))
  const cut = quote ? symbol.length - quote.length : Math.max(1, symbol.length - 3)
  return { baseAsset: symbol.slice(0, cut), quoteAsset: symbol.slice(cut) }
}

export function createUniverse(opts: UniverseOptions = {}): SymbolUniverse {
  const byName = new Map<string, Listing>()
  const listedAt = new Map(Object.entries(opts.listedAt ?? {}).map(([k, v]) => [k.toUpperCase(), v]))
  for (const raw of opts.symbols ?? DEFAULT_SYMBOLS) {
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
  return {
    listings,
    get: (symbol) => byName.get(symbol.toUpperCase()),
    hasMinute: (symbol, openTime) => {
      const l = byName.get(symbol.toUpperCase())
      return l !== undefined && openTime >= l.listedAt
    },
  }
}
