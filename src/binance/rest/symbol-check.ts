/**
 * Are the configured symbols listed on Binance? One exchangeInfo request for
 * all of them; when Binance rejects the set, each is asked alone so that the
 * error names the culprits.
 */
import type { RestClient } from './rest-api.ts'
import { isRestError } from './rest-errors.ts'

export type SymbolCheck =
  | { readonly kind: 'ok'; readonly notTrading: readonly { symbol: string; status: string }[] }
  | { readonly kind: 'unknown'; readonly symbols: readonly string[] }
  | { readonly kind: 'unreachable'; readonly error: unknown }

export async function checkSymbols(
  rest: Pick<RestClient, 'exchangeInfo'>,
  symbols: readonly string[],
): Promise<SymbolCheck> {
  try {
    const info = await rest.exchangeInfo(symbols)
    const listed = new Map(info.symbols.map((s) => [s.symbol, s.status]))
    const missing = symbols.filter((s) => !listed.has(s))
    if (missing.length > 0) return { kind: 'unknown', symbols: missing }
    const notTrading = symbols
      .map((symbol) => ({ symbol, status: listed.get(symbol) as string }))
      .filter((s) => s.status !== 'TRADING')
    return { kind: 'ok', notTrading }
  } catch (error) {
    if (!isRestError(error, 'UNKNOWN_SYMBOL')) return { kind: 'unreachable', error }
  }
  const unknown: string[] = []
  for (const s of symbols) {
    try {
      await rest.exchangeInfo([s])
    } catch (error) {
      if (isRestError(error, 'UNKNOWN_SYMBOL')) unknown.push(s)
      else return { kind: 'unreachable', error }
    }
  }
  return unknown.length > 0 ? { kind: 'unknown', symbols: unknown } : { kind: 'ok', notTrading: [] }
}
