/**
 * The last `capacity` candle points of one symbol, in time order, as parallel
 * typed arrays addressed by a sequence number (seq % capacity). Every window of
 * the symbol reads from this one ring, so memory is one copy per symbol, not
 * one per window. Capacity is the largest window: a time window of N minutes
 * never holds more than N candles.
 */
import type { CandlePoint } from '../core/candle-point.ts'

export class PointRing {
  readonly capacity: number
  /** Seq the next push gets; the ring holds seqs [max(0, next − capacity), next). */
  next = 0
  readonly openTime: Float64Array
  readonly closeHi: Float64Array
  readonly closeLo: Float64Array
  readonly volumeHi: Float64Array
  readonly volumeLo: Float64Array
  readonly spreadBps: Float64Array
  readonly takerBuyRatio: Float64Array

  constructor(capacity: number) {
    this.capacity = Math.max(2, capacity)
    this.openTime = new Float64Array(this.capacity)
    this.closeHi = new Float64Array(this.capacity)
    this.closeLo = new Float64Array(this.capacity)
    this.volumeHi = new Float64Array(this.capacity)
    this.volumeLo = new Float64Array(this.capacity)
    this.spreadBps = new Float64Array(this.capacity)
    this.takerBuyRatio = new Float64Array(this.capacity)
  }

  /** Oldest seq still held. */
  get first(): number {
    return Math.max(0, this.next - this.capacity)
  }

  push(p: CandlePoint): number {
    const seq = this.next++
    const i = seq % this.capacity
    this.openTime[i] = p.openTime
    this.closeHi[i] = p.closeHi
    this.closeLo[i] = p.closeLo
    this.volumeHi[i] = p.volumeHi
    this.volumeLo[i] = p.volumeLo
    this.spreadBps[i] = p.spreadBps
    this.takerBuyRatio[i] = p.takerBuyRatio
    return seq
  }

  slot(seq: number): number {
    return seq % this.capacity
  }

  point(seq: number): CandlePoint {
    const i = seq % this.capacity
    return {
      openTime: this.openTime[i] as number,
      closeHi: this.closeHi[i] as number,
      closeLo: this.closeLo[i] as number,
      volumeHi: this.volumeHi[i] as number,
      volumeLo: this.volumeLo[i] as number,
      spreadBps: this.spreadBps[i] as number,
      takerBuyRatio: this.takerBuyRatio[i] as number,
    }
  }

  /** Seq of the point opening at `openTime`, or -1 when the ring does not hold it (binary search). */
  find(openTime: number): number {
    let lo = this.first
    let hi = this.next - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const t = this.openTime[mid % this.capacity] as number
      if (t === openTime) return mid
      if (t < openTime) lo = mid + 1
      else hi = mid - 1
    }
    return -1
  }

  /** The points held, oldest first. */
  points(): CandlePoint[] {
    const out: CandlePoint[] = []
    for (let s = this.first; s < this.next; s++) out.push(this.point(s))
    return out
  }
}
