/**
 * Minutes for which the simulated Binance "has no data" (an exchange
 * outage): REST leaves those rows out, as Binance does for its own outages.
 */
import { MINUTE } from '../market.ts'

interface Range {
  readonly from: number
  readonly to: number
}

export class Outages {
  private readonly bySymbol = new Map<string, Range[]>()

  /** Open times from `fromOpenTime` to `toOpenTime`, both inclusive. */
  add(symbol: string, fromOpenTime: number, toOpenTime: number): void {
    if (!(toOpenTime >= fromOpenTime)) {
      throw new RangeError(`outage must end at or after its start: ${fromOpenTime}…${toOpenTime}`)
    }
    const sym = symbol.toUpperCase()
    const list = this.bySymbol.get(sym) ?? []
    list.push({ from: fromOpenTime, to: toOpenTime })
    this.bySymbol.set(sym, list)
  }

  /** The first minute ≥ t (stepping forward) or ≤ t (backward) that is not in an outage. */
  skip(symbol: string, t: number, direction: 1 | -1): number {
    const list = this.bySymbol.get(symbol.toUpperCase())
    if (!list) return t
    let at = t
    for (let moved = true; moved; ) {
      moved = false
      for (const r of list) {
        if (at >= r.from && at <= r.to) {
          at =
            direction === 1
              ? Math.floor(r.to / MINUTE) * MINUTE + MINUTE
              : Math.ceil(r.from / MINUTE) * MINUTE - MINUTE
          moved = true
        }
      }
    }
    return at
  }
}
