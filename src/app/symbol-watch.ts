/**
 * The configured symbols, checked against Binance's exchangeInfo: unknown at
 * start is a configuration error (exit 2); Binance unreachable at start defers
 * the check (logged), tried again every few minutes until it answers.
 */
import type { RestClient } from '../binance/rest/rest-api.ts'
import { createRestClient } from '../binance/rest/rest-client.ts'
import { RestError } from '../binance/rest/rest-errors.ts'
import { checkSymbols } from '../binance/rest/symbol-check.ts'
import type { MarketConfig } from '../config/config.ts'
import { ConfigError } from '../config/config.ts'
import type { Clock, TimerHandle } from '../core/clock.ts'
import type { MarketModule } from '../markets/market.ts'
import type { Logger } from '../observability/logger.ts'

const RECHECK_MS = 5 * 60_000

export class SymbolWatch {
  private timer: TimerHandle | null = null
  private stopped = false
  private readonly o: {
    /** One market's symbols and REST host. */
    market: MarketConfig
    module: MarketModule
    clock: Clock
    logger: Logger
    random?: () => number
    /** The app's REST client, for the later checks. */
    rest: () => RestClient | null
  }

  constructor(o: SymbolWatch['o']) {
    this.o = o
  }

  /** One quick look before anything else (no retries, 5 s): an unknown symbol is a configuration error. */
  async checkAtStart(): Promise<void> {
    const { market, module, clock, random } = this.o
    const quick = createRestClient({
      baseUrl: market.restUrl,
      market: module,
      clock,
      ...(random ? { random } : {}),
      maxRetries: 0,
      timeoutMs: 5_000,
    })
    try {
      await this.verify(quick, true)
    } finally {
      quick.close()
    }
  }

  stop(): void {
    this.stopped = true
    this.timer?.cancel()
  }

  private async verify(api: RestClient, atStart: boolean): Promise<void> {
    const { market, module, logger, clock } = this.o
    const check = await checkSymbols(api, market.symbols)
    if (check.kind === 'unknown') {
      // Named as configured (usdm:FOOUSDT), with the market that does not list them.
      const named = check.symbols.map((s) => (module.id === 'spot' ? s : `${module.id}:${s}`))
      const where = module.id === 'spot' ? 'Binance' : `${module.title} (market ${module.id})`
      const problem = `unknown on ${where}: ${named.join(', ')}`
      if (atStart)
        throw new ConfigError(
          market.market !== 'spot' || market.symbols.length > 1 ? 'TRADING_SYMBOLS' : 'TRADING_SYMBOL',
          problem,
          module.exampleSymbol,
        )
      logger.error(
        { code: 'UNKNOWN_SYMBOL', market: module.id, symbols: check.symbols },
        `symbols ${problem}; they will never receive data`,
      )
    } else if (check.kind === 'unreachable') {
      const network = check.error instanceof RestError && check.error.code === 'NETWORK'
      if (atStart && network) {
        // No network at all (or Binance blocked): say so once, and how to try the feeder without it.
        logger.warn(
          {
            code: 'BINANCE_UNREACHABLE',
            market: module.id,
            rest: market.restUrl,
            reason: check.error.message,
          },
          `Binance is unreachable from here (${market.restUrl}); the feeder keeps trying. No network? Run the built-in simulator: npx data-feeder simulate --port 9443 --speed 60 & and start with BINANCE_STREAM_URL=ws://127.0.0.1:9443/ws BINANCE_REST_URL=http://127.0.0.1:9443 (README: Try it offline)`,
        )
      } else {
        logger.warn(
          { code: 'SYMBOL_CHECK_DEFERRED', market: module.id, err: check.error },
          `${module.title} REST unreachable; symbols will be checked later`,
        )
      }
      this.timer = clock.setTimeout(() => {
        const rest = this.o.rest()
        if (!this.stopped && rest !== null) void this.verify(rest, false)
      }, RECHECK_MS)
    } else {
      for (const s of check.notTrading)
        logger.warn({ code: 'SYMBOL_NOT_TRADING', market: module.id, ...s }, 'symbol is not trading')
      if (!atStart) logger.info({ market: module.id, symbols: market.symbols }, 'symbols verified on Binance')
    }
  }
}
