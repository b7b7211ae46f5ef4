/**
 * The live feature state of one symbol: its ring of recent candles and one
 * rolling window per configured size. Candles go in strictly by time; each push
 * yields that candle's row for every window.
 */

import type { CandlePoint } from '../core/candle-point.ts'
import type { Market } from '../core/records.ts'
import { computeFeatures, logReturnAt } from './compute.ts'
import type { FeatureRow } from './feature-row.ts'
import { PointRing } from './point-ring.ts'
import { RollingWindow } from './rolling-window.ts'

export class SymbolState {
  readonly market: Market
  readonly symbol: string
  readonly ring: PointRing
  readonly windows: readonly RollingWindow[]

  constructor(market: Market, symbol: string, windowSizes: readonly number[]) {
    if (windowSizes.length === 0) throw new RangeError('at least one window size is needed')
    this.market = market
    this.symbol = symbol
    this.ring = new PointRing(Math.max(...windowSizes))
    this.windows = windowSizes.map((n) => new RollingWindow(this.ring, n))
  }

  /** Open time of the newest candle taken in; -Infinity before the first. */
  get newest(): number {
    const r = this.ring
    return r.next === 0 ? Number.NEGATIVE_INFINITY : (r.openTime[r.slot(r.next - 1)] as number)
  }

  /** The newest point, or undefined before the first. */
  last(): CandlePoint | undefined {
    return this.ring.next === 0 ? undefined : this.ring.point(this.ring.next - 1)
  }

  /**
   * Takes in the next candle (its open time must be later than `newest`) and
   * appends its row for every window to `out` when given.
   */
  push(p: CandlePoint, out?: FeatureRow[]): void {
    if (!(p.openTime > this.newest)) {
      throw new RangeError(`candle ${new Date(p.openTime).toISOString()} is not after the newest one`)
    }
    for (const w of this.windows) w.evictFor(p.openTime)
    const seq = this.ring.push(p)
    for (const w of this.windows) w.add(seq)
    if (out === undefined) return
    const logReturn = logReturnAt(this.ring, seq)
    for (const w of this.windows)
      out.push(computeFeatures(this.market, this.symbol, this.ring, w, seq, logReturn))
  }

  /** True when every window holds `size` candles (no hole, old enough). */
  isFull(): boolean {
    return this.ring.next > 0 && this.windows.every((w) => w.count === w.size)
  }
}
