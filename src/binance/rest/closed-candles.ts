/**
 * The closed candles of a range, page by page: each klines page starts after
 * the last row of the one before, and an empty page ends the walk (Binance has
 * nothing there: an outage, before listing, delisted). Minutes that have not
 * closed are never asked for.
 */
import type { Candle } from '../../core/records.ts'
import { MINUTE_MS } from '../../core/records.ts'
import type { MarketModule } from '../../markets/market.ts'
import type { BackfillResult, KlinesQuery } from './rest-api.ts'
import { checkMinute, checkSymbol } from './rest-requests.ts'
import type { KlinePage } from './rest-rows.ts'

export async function pageClosedCandles(
  klines: (q: KlinesQuery) => Promise<KlinePage>,
  symbol: string,
  fromOpenTime: number,
  toOpenTime: number,
  pages: {
    readonly limit: number /** Open time of the newest closed minute. */
    readonly lastClosed: number
    /** Whose symbols these are (COIN-M's carry a suffix). */
    readonly market?: MarketModule
  },
  onPage?: (candles: readonly Candle[]) => Promise<void> | void,
): Promise<BackfillResult> {
  checkSymbol(symbol, pages.market)
  checkMinute('fromOpenTime', fromOpenTime)
  checkMinute('toOpenTime', toOpenTime)
  const to = Math.min(toOpenTime, pages.lastClosed)
  let cursor = fromOpenTime
  const result = { candles: 0, pages: 0, rejected: 0 }
  while (cursor <= to) {
    const page = await klines({ startTime: cursor, endTime: to + MINUTE_MS - 1, limit: pages.limit })
    result.pages++
    result.candles += page.candles.length
    result.rejected += page.rejected.length
    if (page.candles.length > 0 && onPage) await onPage(page.candles)
    if (page.rawCount === 0 || page.lastOpenTime === null || page.lastOpenTime >= to) break
    // rows are verified to lie in [cursor, end], so this always moves forward
    cursor = page.lastOpenTime + MINUTE_MS
  }
  return result
}
