import type { BookTickerEvent } from '../core/records.ts'

/**
 * How long after a quote a lower update id is still taken for a straggler.
 *
 * `u` only orders the updates of one sequence: Binance documents no guarantee
 * that it keeps rising (binance-api.md §5, §11), and it starts again when the
 * matching engine restarts. Within one socket frames arrive in order, so the
 * only lower ids that are really older are the few in flight while a socket is
 * being replaced: ManagedSocket drops the old socket's frames as soon as the
 * replacement delivers data, so these come at most a few network-lag
 * milliseconds behind the quote they would replace. A lower id arriving later
 * than this is a restarted sequence and replaces the held quote. Half a second
 * is far above the lag between two sockets of the same feed and below the
 * shortest reconnect delay (1 s less 20 % jitter), so the first quote after a
 * reconnect is always taken, and after an in-place restart the book is stale
 * for at most this long.
 */
export const OUT_OF_ORDER_WINDOW_MS = 500

/** Latest best bid/ask per symbol. */
export class BookState {
  private readonly latestBySymbol = new Map<string, BookTickerEvent>()
  private readonly windowMs: number

  constructor(outOfOrderWindowMs: number = OUT_OF_ORDER_WINDOW_MS) {
    this.windowMs = outOfOrderWindowMs
  }

  /** Returns false when the update is a straggler behind the quote already held. */
  update(e: BookTickerEvent): boolean {
    const prev = this.latestBySymbol.get(e.symbol)
    if (prev !== undefined && prev.updateId > e.updateId && e.receivedAt - prev.receivedAt < this.windowMs)
      return false
    this.latestBySymbol.set(e.symbol, e)
    return true
  }

  latest(symbol: string): BookTickerEvent | undefined {
    return this.latestBySymbol.get(symbol)
  }

  get size(): number {
    return this.latestBySymbol.size
  }
}
