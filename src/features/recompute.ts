/**
 * Features from scratch over an array of candles: a fresh state is fed the
 * points in time order and the rows of those at or after `emitFrom` are kept.
 * Used for warm-up and repairs, so that the stored rows of a span always equal
 * what a full recomputation over candles_1m gives.
 */

import type { CandlePoint } from '../core/candle-point.ts'
import { nextTurn } from '../core/next-turn.ts'
import type { Market } from '../core/records.ts'
import type { FeatureRow } from './feature-row.ts'
import { SymbolState } from './symbol-state.ts'

export interface Recomputed {
  rows: FeatureRow[]
  /** The state after the last point: a ready live state when the points end at the newest candle. */
  state: SymbolState
}

/**
 * `points` must be sorted by open time without duplicates, and start at least
 * max(window) − 1 minutes before `emitFrom` (or at the symbol's first candle) for
 * the emitted rows to see their whole windows.
 */
export function recomputeFeatures(
  market: Market,
  symbol: string,
  windowSizes: readonly number[],
  points: readonly CandlePoint[],
  emitFrom: number,
  emitTo = Number.POSITIVE_INFINITY,
): Recomputed {
  const r: Recomputed = { rows: [], state: new SymbolState(market, symbol, windowSizes) }
  feed(r, points, 0, points.length, emitFrom, emitTo)
  return r
}

/** Points fed per turn of the event loop: a few milliseconds of work. */
export const POINTS_PER_TURN = 500

/** recomputeFeatures in steps of `perTurn` points with a turn of the event loop between them. */
export async function recomputeFeaturesInSteps(
  market: Market,
  symbol: string,
  windowSizes: readonly number[],
  points: readonly CandlePoint[],
  emitFrom: number,
  perTurn = POINTS_PER_TURN,
): Promise<Recomputed> {
  const r: Recomputed = { rows: [], state: new SymbolState(market, symbol, windowSizes) }
  for (let i = 0; i < points.length; i += perTurn) {
    if (i > 0) await nextTurn()
    feed(r, points, i, Math.min(points.length, i + perTurn), emitFrom, Number.POSITIVE_INFINITY)
  }
  return r
}

function feed(
  r: Recomputed,
  points: readonly CandlePoint[],
  from: number,
  to: number,
  emitFrom: number,
  emitTo: number,
): void {
  for (let i = from; i < to; i++) {
    const p = points[i] as CandlePoint
    r.state.push(p, p.openTime >= emitFrom && p.openTime <= emitTo ? r.rows : undefined)
  }
}

/**
 * Merges sorted point lists by open time; for a minute present in several, the
 * list given later wins (e.g. the database, then candles the engine saw but the
 * candle writer may not have committed yet).
 */
export function mergePoints(...lists: ReadonlyArray<readonly CandlePoint[]>): CandlePoint[] {
  const byTime = new Map<number, CandlePoint>()
  for (const list of lists) for (const p of list) byTime.set(p.openTime, p)
  return [...byTime.values()].sort((a, b) => a.openTime - b.openTime)
}
