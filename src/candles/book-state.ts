import type { BookTickerEvent } from '../core/records.ts'

/**
 * Latest best bid/ask per symbol. While a connection is being replaced two
 * sockets deliver the same updates; the update id keeps the newest.
 */
export class BookState {
  private readonly latestBySymbol = new Map<string, BookTickerEvent>()

  /** Returns false when the update is older than what is already held. */
  update(e: BookTickerEvent): boolean {
    const prev = this.latestBySymbol.get(e.symbol)
    if (prev !== undefined && prev.updateId > e.updateId) return false
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
