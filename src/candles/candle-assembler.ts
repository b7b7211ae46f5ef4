/**
 * The candle/book stage: decoded stream events in, closed candles out.
 * Forming klines (x=false) never leave this stage; they only tell us the
 * stream is alive. Frames for symbols we did not subscribe are refused.
 * A closed candle carries the last quote at or before its close (book-state.ts),
 * not the one held when its x=true frame arrives seconds later.
 */
import type { Candle, Market, StreamEvent } from '../core/records.ts'
import { BookState } from './book-state.ts'
import { type CandleRejectReason, candleFromKline } from './closed-candle.ts'

export type AssemblerRejectReason = CandleRejectReason | 'unsubscribed_symbol'

export type AssembleResult =
  | { readonly kind: 'candle'; readonly candle: Candle }
  | { readonly kind: 'book' | 'forming' | 'ignored' }
  | { readonly kind: 'rejected'; readonly reason: AssemblerRejectReason; readonly detail: string }

export class CandleAssembler {
  readonly book = new BookState()
  private readonly symbols: ReadonlySet<string>
  private readonly market: Market

  constructor(symbols: readonly string[], market: Market) {
    this.symbols = new Set(symbols.map((s) => s.toUpperCase()))
    this.market = market
  }

  /** `now`: the exchange's clock as the frame is handled, i.e. its receive time there. */
  accept(e: StreamEvent, now: number): AssembleResult {
    if (e.type !== 'kline' && e.type !== 'book_ticker') return { kind: 'ignored' }
    if (!this.symbols.has(e.symbol)) {
      return { kind: 'rejected', reason: 'unsubscribed_symbol', detail: `${e.type} for ${e.symbol}` }
    }
    if (e.type === 'book_ticker') {
      this.book.update(e, now)
      return { kind: 'book' }
    }
    if (!e.closed) return { kind: 'forming' }
    const r = candleFromKline(e, this.book.asOfClose(e.symbol, e.closeTime), this.market, now)
    return r.ok
      ? { kind: 'candle', candle: r.candle }
      : { kind: 'rejected', reason: r.reason, detail: r.detail }
  }
}
