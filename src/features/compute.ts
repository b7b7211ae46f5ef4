/**
 * The features of one candle over one window, read off the window's rolling
 * state in O(1). Pure: ring and window in, row out.
 */

import { FRACTION_UNITS, toUnits, unitsBetween } from '../core/decimal-parts.ts'
import { type Market, MINUTE_MS } from '../core/records.ts'
import type { FeatureRow } from './feature-row.ts'
import type { MonotonicDeque } from './monotonic-deque.ts'
import type { PointRing } from './point-ring.ts'
import type { RollingWindow } from './rolling-window.ts'

/** ln(close / previous close) for the candle at `seq`; null when the previous minute is missing. */
export function logReturnAt(ring: PointRing, seq: number): number | null {
  if (seq - 1 < ring.first) return null
  const i = ring.slot(seq)
  const j = ring.slot(seq - 1)
  if (ring.openTime[j] !== (ring.openTime[i] as number) - MINUTE_MS) return null
  const prev = toUnits(ring.closeHi[j] as number, ring.closeLo[j] as number)
  const cur = toUnits(ring.closeHi[i] as number, ring.closeLo[i] as number)
  if (!(prev > 0 && cur > 0)) return null
  // log1p of the exact relative move: ln(c/p) loses every digit of a 1e-13 move, this keeps them.
  const move = unitsBetween(
    ring.closeHi[i] as number,
    ring.closeLo[i] as number,
    ring.closeHi[j] as number,
    ring.closeLo[j] as number,
  )
  return Math.log1p(move / prev)
}

function minmax(
  ring: PointRing,
  hi: Float64Array,
  lo: Float64Array,
  seq: number,
  min: MonotonicDeque,
  max: MonotonicDeque,
): number {
  const a = ring.slot(min.frontSeq())
  const b = ring.slot(max.frontSeq())
  const i = ring.slot(seq)
  const range = unitsBetween(hi[b] as number, lo[b] as number, hi[a] as number, lo[a] as number)
  if (!(range > 0)) return 0
  return unitsBetween(hi[i] as number, lo[i] as number, hi[a] as number, lo[a] as number) / range
}

export function computeFeatures(
  market: Market,
  symbol: string,
  ring: PointRing,
  w: RollingWindow,
  seq: number,
  logReturn: number | null,
): FeatureRow {
  const i = ring.slot(seq)
  const cHi = ring.closeHi[i] as number
  const cLo = ring.closeLo[i] as number
  const spread = ring.spreadBps[i] as number
  const ratio = ring.takerBuyRatio[i] as number
  const count = seq + 1 - w.tail
  return {
    market,
    symbol,
    openTime: ring.openTime[i] as number,
    windowSize: w.size,
    closeZscore: w.close.zscore(w.close.offset(cHi, cLo)),
    closeMinmax: minmax(ring, ring.closeHi, ring.closeLo, seq, w.closeMin, w.closeMax),
    volumeZscore: w.volume.zscore(w.volume.offset(ring.volumeHi[i] as number, ring.volumeLo[i] as number)),
    volumeMinmax: minmax(ring, ring.volumeHi, ring.volumeLo, seq, w.volumeMin, w.volumeMax),
    logReturn,
    spreadBpsZscore: Number.isNaN(spread) ? null : w.spreadBps.zscore(w.spreadBps.offset(spread, 0)),
    takerBuyRatioZscore: Number.isNaN(ratio)
      ? null
      : w.takerBuyRatio.zscore(w.takerBuyRatio.offset(ratio, 0)),
    closeMean: w.close.refHi + (w.close.refLo + w.close.meanOffset()) / FRACTION_UNITS,
    closeStd: w.close.std() / FRACTION_UNITS,
    windowCount: count,
    windowFull: count === w.size,
    windowQuoted: w.spreadBps.n,
  }
}
