/**
 * The few values of a candle the features use, parsed once. Built from a live
 * Candle or from a candles_1m row read back as text, by the same code, so that
 * live and repaired features agree to the bit.
 */

import { splitDecimal, toUnits } from './decimal-parts.ts'
import type { Candle } from './records.ts'

/** What the features read of a candle (Candle fields, or the same columns as text). */
export type CandleValues = Pick<Candle, 'openTime' | 'close' | 'volume' | 'takerBuyBase' | 'bid' | 'ask'>

export interface CandlePoint {
  readonly openTime: number
  readonly closeHi: number
  readonly closeLo: number
  readonly volumeHi: number
  readonly volumeLo: number
  /** (ask − bid) / mid × 10 000 as candles_1m.spread_bps; NaN where that column is null. */
  readonly spreadBps: number
  /** taker_buy_base / volume as candles_1m.taker_buy_ratio; NaN where that column is null. */
  readonly takerBuyRatio: number
}

export function candlePoint(c: CandleValues): CandlePoint {
  const [closeHi, closeLo] = splitDecimal(c.close)
  const [volumeHi, volumeLo] = splitDecimal(c.volume)
  const volume = toUnits(volumeHi, volumeLo)
  let takerBuyRatio = Number.NaN
  if (volume > 0) {
    const [tHi, tLo] = splitDecimal(c.takerBuyBase)
    takerBuyRatio = toUnits(tHi, tLo) / volume
  }
  let spreadBps = Number.NaN
  if (c.bid !== null && c.ask !== null) {
    const [bHi, bLo] = splitDecimal(c.bid)
    const [aHi, aLo] = splitDecimal(c.ask)
    const bid = toUnits(bHi, bLo)
    const ask = toUnits(aHi, aLo)
    // Integer units: the difference and sum are exact, so only the division rounds.
    if (bid + ask > 0) spreadBps = ((ask - bid) * 20_000) / (bid + ask)
  }
  return { openTime: c.openTime, closeHi, closeLo, volumeHi, volumeLo, spreadBps, takerBuyRatio }
}

/** True when two points would give the same features (same minute, same values). */
export function samePoint(a: CandlePoint, b: CandlePoint): boolean {
  return (
    a.openTime === b.openTime &&
    a.closeHi === b.closeHi &&
    a.closeLo === b.closeLo &&
    a.volumeHi === b.volumeHi &&
    a.volumeLo === b.volumeLo &&
    Object.is(a.spreadBps, b.spreadBps) &&
    Object.is(a.takerBuyRatio, b.takerBuyRatio)
  )
}
