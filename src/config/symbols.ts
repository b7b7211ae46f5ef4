/**
 * TRADING_SYMBOLS entries and the markets they name: `btcusdt` (spot),
 * `usdm:btcusdt` (USD-M), `coinm:btcusd_perp` (COIN-M). A market is part of
 * an entry's identity: `btcusdt` and `usdm:btcusdt` are two instruments.
 */
import { z } from 'zod'
import { isMarket, MARKETS, type Market } from '../core/records.ts'
import { MARKET_MODULES } from '../markets/markets.ts'

export interface SymbolEntry {
  readonly market: Market
  readonly symbol: string // uppercase
}

/** One market's part of the configuration: its symbols and its host roots. */
export interface MarketConfig {
  readonly market: Market
  readonly symbols: readonly string[] // uppercase, de-duplicated
  readonly streamUrl: string
  readonly restUrl: string
}

export type MarketHosts = Readonly<Record<Market, { readonly streamUrl: string; readonly restUrl: string }>>

export const SYMBOLS_EXAMPLE = 'btcusdt,usdm:btcusdt,coinm:btcusd_perp'

/** One entry → market and symbol, or the problem with it. */
export function parseSymbolEntry(raw: string): SymbolEntry | string {
  const text = raw.trim()
  const colon = text.indexOf(':')
  const prefix = colon < 0 ? 'spot' : text.slice(0, colon).trim().toLowerCase()
  const symbol = (colon < 0 ? text : text.slice(colon + 1)).trim().toUpperCase()
  if (!isMarket(prefix))
    return `has an unknown market "${prefix.slice(0, 20)}" in "${text.slice(0, 40)}" (markets: ${MARKETS.join(', ')})`
  const m = MARKET_MODULES[prefix]
  if (!m.symbolPattern.test(symbol))
    return `has "${text.slice(0, 40)}", not a ${prefix} symbol: letters and digits only, 2 to 30 characters${prefix === 'coinm' ? ' and a contract suffix' : ''} (e.g. ${m.exampleSymbol})`
  return { market: prefix, symbol }
}

/** A comma-separated list of entries, de-duplicated per market. */
export const symbolList: z.ZodType<SymbolEntry[]> = z
  .string()
  .transform((v, ctx) => {
    const out: SymbolEntry[] = []
    for (const raw of v.split(',')) {
      if (raw.trim() === '') continue
      const e = parseSymbolEntry(raw)
      if (typeof e === 'string') {
        ctx.addIssue({ code: 'custom', message: e })
        return z.NEVER
      }
      if (!out.some((x) => x.market === e.market && x.symbol === e.symbol)) out.push(e)
    }
    return out
  })
  .refine((l) => l.length > 0, 'must name at least one symbol')

/** Every market with at least one entry, spot first, with its hosts. */
export function marketConfigs(entries: readonly SymbolEntry[], hosts: MarketHosts): MarketConfig[] {
  return MARKETS.map((market) => ({
    market,
    symbols: entries.filter((e) => e.market === market).map((e) => e.symbol),
    ...hosts[market],
  })).filter((m) => m.symbols.length > 0)
}
