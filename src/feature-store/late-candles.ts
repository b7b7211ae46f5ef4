/**
 * Candles handed to the feature engine out of order, which candles_1m may not
 * hold yet (the candle writer is asynchronous): a repair merges them over what
 * it reads. Each stays for a TTL, by which time the candle writer has committed it.
 */
import type { CandlePoint } from '../core/candle-point.ts'

export class LateCandles {
  private readonly bySymbol = new Map<string, Map<number, { point: CandlePoint; at: number }>>()
  private readonly ttlMs: number

  constructor(ttlMs: number) {
    this.ttlMs = ttlMs
  }

  add(symbol: string, p: CandlePoint, now: number): void {
    let late = this.bySymbol.get(symbol)
    if (late === undefined) {
      late = new Map()
      this.bySymbol.set(symbol, late)
    }
    late.set(p.openTime, { point: p, at: now })
  }

  /** The symbol's late candles with open time in [lo, hi], oldest first; expired ones are dropped. */
  between(symbol: string, lo: number, hi: number, now: number): CandlePoint[] {
    const late = this.bySymbol.get(symbol)
    if (late === undefined) return []
    const out: CandlePoint[] = []
    for (const [t, e] of late) {
      if (now - e.at > this.ttlMs) late.delete(t)
      else if (t >= lo && t <= hi) out.push(e.point)
    }
    return out.sort((a, b) => a.openTime - b.openTime)
  }
}
