/**
 * What `gaps` and `backfill` work on: one symbol (`--symbol`, of `--market`
 * or spot) or every configured one (of `--market` when given), and the REST
 * host of each market among them.
 */
import type { RestClient } from '../binance/rest/rest-api.ts'
import { createRestClient } from '../binance/rest/rest-client.ts'
import { checkSymbols } from '../binance/rest/symbol-check.ts'
import { type Config, ConfigError } from '../config/config.ts'
import type { Clock } from '../core/clock.ts'
import type { Market } from '../core/records.ts'
import { marketModule } from '../markets/markets.ts'
import { UsageError } from './args.ts'

export interface Target {
  readonly market: Market
  readonly symbol: string
}

export function commandTargets(
  cmd: { market: Market | null; symbol: string | null },
  config: Config,
): Target[] {
  if (cmd.symbol !== null) return [{ market: cmd.market ?? 'spot', symbol: cmd.symbol }]
  return config.markets
    .filter((m) => cmd.market === null || m.market === cmd.market)
    .flatMap((m) => m.symbols.map((symbol) => ({ market: m.market, symbol })))
}

/** How a target is named to a user: `BTCUSDT` on spot, `usdm:BTCUSDT` elsewhere. */
export const targetName = (t: Target): string => (t.market === 'spot' ? t.symbol : `${t.market}:${t.symbol}`)

/** A REST client for each market among the targets, on that market's host. */
export function restClients(
  targets: readonly Target[],
  config: Config,
  clock: Clock,
  opts: { maxRetries?: number; timeoutMs?: number } = {},
): Map<Market, RestClient> {
  const out = new Map<Market, RestClient>()
  for (const { market } of targets) {
    if (out.has(market)) continue
    out.set(
      market,
      createRestClient({
        baseUrl: config.hosts[market].restUrl,
        market: marketModule(market),
        clock,
        ...opts,
      }),
    )
  }
  return out
}

/**
 * Fails (exit 2) when a market does not list a target: a UsageError for --symbol, a
 * ConfigError for TRADING_SYMBOLS, naming the symbol and its market. Unreachable:
 * `required` throws the REST error, else the command goes on (the database can be read
 * without Binance).
 */
export async function requireListed(
  rests: ReadonlyMap<Market, Pick<RestClient, 'exchangeInfo'>>,
  targets: readonly Target[],
  from: 'flag' | 'config',
  required: boolean,
): Promise<void> {
  for (const [market, rest] of rests) {
    const symbols = targets.filter((t) => t.market === market).map((t) => t.symbol)
    const check = await checkSymbols(rest, symbols)
    if (check.kind === 'unknown') {
      const m = marketModule(market)
      const list = check.symbols.map((symbol) => targetName({ market, symbol })).join(', ')
      const where = market === 'spot' ? 'Binance' : `${m.title} (market ${market})`
      if (from === 'flag') throw new UsageError(`--symbol ${list}: ${where} does not list it`)
      throw new ConfigError('TRADING_SYMBOLS', `unknown on ${where}: ${list}`, m.exampleSymbol)
    }
    if (check.kind === 'unreachable' && required) throw check.error
  }
}
