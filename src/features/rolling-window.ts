/**
 * One time window of one symbol: the candles whose open time lies in
 * (t − size minutes, t], t being the newest. With no missing minute that is
 * exactly the last `size` candles; a hole shortens it (see docs/FEATURES.md).
 * Keeps rolling moments of close, volume, spread_bps and taker_buy_ratio and
 * monotonic deques for the min/max of close and volume; every update is O(1)
 * (amortised) whatever the size.
 */
import { MINUTE_MS } from '../core/records.ts'
import { MonotonicDeque } from './monotonic-deque.ts'
import type { PointRing } from './point-ring.ts'
import { RollingMoments } from './rolling-moments.ts'

export class RollingWindow {
  /** Window size in candles (= minutes). */
  readonly size: number
  /** First seq inside the window. */
  tail: number
  readonly close = new RollingMoments()
  readonly volume = new RollingMoments()
  readonly spreadBps = new RollingMoments()
  readonly takerBuyRatio = new RollingMoments()
  readonly closeMin: MonotonicDeque
  readonly closeMax: MonotonicDeque
  readonly volumeMin: MonotonicDeque
  readonly volumeMax: MonotonicDeque
  /** How many times a series' sums were rebuilt around a new reference (for tests and the bench). */
  rebuilds = 0
  private readonly ring: PointRing

  constructor(ring: PointRing, size: number) {
    if (size > ring.capacity)
      throw new RangeError(`window ${size} is larger than the ring (${ring.capacity})`)
    this.ring = ring
    this.size = size
    this.tail = ring.next
    this.closeMin = new MonotonicDeque(size, 'min')
    this.closeMax = new MonotonicDeque(size, 'max')
    this.volumeMin = new MonotonicDeque(size, 'min')
    this.volumeMax = new MonotonicDeque(size, 'max')
  }

  /** Candles in the window, the newest included. */
  get count(): number {
    return this.ring.next - this.tail
  }

  /**
   * Drops the candles that a candle opening at `openTime` no longer sees. Call
   * before pushing that candle to the ring: the push may overwrite the oldest slot.
   */
  evictFor(openTime: number): void {
    const r = this.ring
    const oldest = openTime - this.size * MINUTE_MS
    while (this.tail < r.next && (r.openTime[r.slot(this.tail)] as number) <= oldest) {
      const i = r.slot(this.tail)
      this.close.remove(r.closeHi[i] as number, r.closeLo[i] as number)
      this.volume.remove(r.volumeHi[i] as number, r.volumeLo[i] as number)
      const spread = r.spreadBps[i] as number
      if (!Number.isNaN(spread)) this.spreadBps.remove(spread, 0)
      const ratio = r.takerBuyRatio[i] as number
      if (!Number.isNaN(ratio)) this.takerBuyRatio.remove(ratio, 0)
      this.tail++
    }
    this.closeMin.evictBefore(this.tail)
    this.closeMax.evictBefore(this.tail)
    this.volumeMin.evictBefore(this.tail)
    this.volumeMax.evictBefore(this.tail)
  }

  /** Takes in the candle just pushed to the ring at `seq`. */
  add(seq: number): void {
    const r = this.ring
    const i = r.slot(seq)
    const cHi = r.closeHi[i] as number
    const cLo = r.closeLo[i] as number
    const vHi = r.volumeHi[i] as number
    const vLo = r.volumeLo[i] as number
    this.close.add(cHi, cLo)
    this.volume.add(vHi, vLo)
    // Ordering by the nearest double is exact for values below 9e7 with 8 decimals; above, ties are harmless.
    this.closeMin.push(seq, cHi + cLo / 1e8)
    this.closeMax.push(seq, cHi + cLo / 1e8)
    this.volumeMin.push(seq, vHi + vLo / 1e8)
    this.volumeMax.push(seq, vHi + vLo / 1e8)
    const spread = r.spreadBps[i] as number
    if (!Number.isNaN(spread)) this.spreadBps.add(spread, 0)
    const ratio = r.takerBuyRatio[i] as number
    if (!Number.isNaN(ratio)) this.takerBuyRatio.add(ratio, 0)
    if (this.close.needsRebase()) this.rebuild(this.close, r.closeHi, r.closeLo)
    if (this.volume.needsRebase()) this.rebuild(this.volume, r.volumeHi, r.volumeLo)
    if (this.spreadBps.needsRebase()) this.rebuild(this.spreadBps, r.spreadBps, null)
    if (this.takerBuyRatio.needsRebase()) this.rebuild(this.takerBuyRatio, r.takerBuyRatio, null)
  }

  /** Re-centres a series on its newest value and sums the window again: O(size), rare. */
  private rebuild(m: RollingMoments, hi: Float64Array, lo: Float64Array | null): void {
    const r = this.ring
    this.rebuilds++
    let ref = -1
    for (let s = r.next - 1; s >= this.tail; s--) {
      if (!Number.isNaN(hi[r.slot(s)] as number)) {
        ref = s
        break
      }
    }
    if (ref < 0) {
      m.rebase(0, 0)
      return
    }
    m.rebase(hi[r.slot(ref)] as number, lo === null ? 0 : (lo[r.slot(ref)] as number))
    for (let s = this.tail; s < r.next; s++) {
      const j = r.slot(s)
      const v = hi[j] as number
      if (!Number.isNaN(v)) m.add(v, lo === null ? 0 : (lo[j] as number))
    }
  }
}
