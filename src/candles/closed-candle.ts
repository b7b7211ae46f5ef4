/**
 * Turns a closed kline (plus the quote as of its close) into a storable candle, or
 * says why it is not one. Pure: the caller decides what to count and log.
 */
import type { Candle, KlineEvent, Market } from '../core/records.ts'
import { MINUTE_MS } from '../core/records.ts'
import type { TimedQuote } from './book-state.ts'
import { compareDecimal } from './decimal.ts'

export type CandleRejectReason = 'not_1m' | 'bad_times' | 'future' | 'impossible_values'

export type CandleResult =
  | { readonly ok: true; readonly candle: Candle }
  | { readonly ok: false; readonly reason: CandleRejectReason; readonly detail: string }

/** A candle whose minute starts after our clock plus this margin is not believed. */
export const MAX_CLOCK_SKEW_MS = 60_000

export interface CandleFields {
  readonly symbol: string
  readonly openTime: number
  readonly closeTime: number
  readonly open: string
  readonly high: string
  readonly low: string
  readonly close: string
  readonly volume: string
  readonly takerBuyBase: string
}

/** Sanity rules shared by every source (stream, REST, archive). */
export function checkCandleFields(
  c: CandleFields,
  now: number,
): { reason: CandleRejectReason; detail: string } | null {
  if (c.openTime % MINUTE_MS !== 0 || c.closeTime !== c.openTime + MINUTE_MS - 1) {
    return { reason: 'bad_times', detail: `${c.symbol} t=${c.openTime} T=${c.closeTime}` }
  }
  if (c.openTime > now + MAX_CLOCK_SKEW_MS) {
    return { reason: 'future', detail: `${c.symbol} t=${c.openTime} is after now=${now}` }
  }
  const { open, high, low, close } = c
  if (
    compareDecimal(high, low) < 0 ||
    compareDecimal(high, open) < 0 ||
    compareDecimal(high, close) < 0 ||
    compareDecimal(low, open) > 0 ||
    compareDecimal(low, close) > 0
  ) {
    return {
      reason: 'impossible_values',
      detail: `${c.symbol} t=${c.openTime} o=${open} h=${high} l=${low} c=${close}`,
    }
  }
  if (compareDecimal(c.takerBuyBase, c.volume) > 0) {
    return {
      reason: 'impossible_values',
      detail: `${c.symbol} t=${c.openTime} taker buy volume above volume`,
    }
  }
  return null
}

export function candleFromKline(
  k: KlineEvent,
  /** The last quote at or before the kline's close, if known. */
  book: TimedQuote | undefined,
  market: Market,
  now: number,
): CandleResult {
  if (k.interval !== '1m')
    return { ok: false, reason: 'not_1m', detail: `${k.symbol} interval ${k.interval}` }
  const bad = checkCandleFields(k, now)
  if (bad) return { ok: false, ...bad }
  const candle: Candle = {
    type: 'candle',
    market,
    symbol: k.symbol,
    openTime: k.openTime,
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
    firstTradeId: k.firstTradeId,
    lastTradeId: k.lastTradeId,
    bid: book?.quote.bid ?? null,
    bidQty: book?.quote.bidQty ?? null,
    ask: book?.quote.ask ?? null,
    askQty: book?.quote.askQty ?? null,
    quoteTime: book?.quoteTime ?? null,
    source: 'ws',
    receivedAt: k.receivedAt,
  }
  return { ok: true, candle }
}
