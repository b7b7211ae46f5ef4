/**
 * Known data for the status page tests: simulator-valued candles over a day
 * with a hole, late-filled minutes and quality log rows.
 */
import type { Candle, CandleSource } from '../../src/core/records.ts'
import { MINUTE_MS } from '../../src/core/records.ts'
import { simulatedBook } from '../../src/simulator/book.ts'
import { simulatedKline } from '../../src/simulator/market.ts'
import { buildCandleUpsert } from '../../src/store/candle-sql.ts'
import type { Queryable } from '../../src/store/db.ts'

export function simCandle(symbol: string, openTime: number, source: CandleSource = 'ws'): Candle {
  const k = simulatedKline(symbol, openTime)
  const b = simulatedBook(symbol, openTime)
  const rest = source !== 'ws'
  return {
    type: 'candle',
    market: 'spot',
    symbol,
    openTime,
    closeTime: k.closeTime,
    open: k.open,
    high: k.high,
    low: k.low,
    close: k.close,
    volume: k.volume,
    quoteVolume: k.quoteVolume,
    trades: k.trades,
    takerBuyBase: k.takerBuyBase,
    takerBuyQuote: k.takerBuyQuote,
    firstTradeId: rest ? null : k.firstTradeId < 0 ? null : k.firstTradeId,
    lastTradeId: rest ? null : k.lastTradeId < 0 ? null : k.lastTradeId,
    bid: rest ? null : b.bid,
    bidQty: rest ? null : b.bidQty,
    ask: rest ? null : b.ask,
    askQty: rest ? null : b.askQty,
    quoteTime: rest ? null : openTime + 45_000,
    source,
    receivedAt: openTime + MINUTE_MS + 300,
  }
}

export async function insertCandles(db: Queryable, candles: readonly Candle[]): Promise<void> {
  for (let i = 0; i < candles.length; i += 500) {
    const q = buildCandleUpsert(candles.slice(i, i + 500))
    await db.query({ text: q.text, values: q.values })
  }
}

/**
 * The layout both status tests use, relative to `end` (exclusive, a whole
 * minute): the day [end − 1440 min, end).
 * - BTCUSDT: every minute, except a 3-minute hole at end−300..end−298; minutes
 *   end−500..end−496 from REST and end−700 from the archive; plus one candle
 *   just outside the window on each side.
 * - ETHUSDT: only the last 60 minutes (a symbol tracked for an hour).
 */
export const LAYOUT = {
  BTCUSDT: { present: 1440 - 3 - 6, filled: 6, missing: 3 },
  ETHUSDT: { present: 60, filled: 0, missing: 1380 },
} as const

export function layoutCandles(end: number, opts: { outside?: boolean } = {}): Candle[] {
  const out: Candle[] = []
  for (let i = 1; i <= 1440; i++) {
    const t = end - i * MINUTE_MS
    if (i >= 298 && i <= 300) continue
    const source: CandleSource = i >= 496 && i <= 500 ? 'rest' : i === 700 ? 'archive' : 'ws'
    out.push(simCandle('BTCUSDT', t, source))
    if (i <= 60) out.push(simCandle('ETHUSDT', t))
  }
  if (opts.outside ?? true) {
    out.push(simCandle('BTCUSDT', end - 1441 * MINUTE_MS))
    out.push(simCandle('BTCUSDT', end))
  }
  return out
}
