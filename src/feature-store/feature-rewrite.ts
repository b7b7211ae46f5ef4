/**
 * Rewrites, from scratch over candles_1m, the feature_cache rows that a change
 * to candles_1m made stale, outside a running engine (the backfill command).
 * A candle changed at minute t lies in the windows of the candles in
 * [t, t + (largest window − 1) min], so that is what is rewritten, for the
 * candles that exist. Spans are walked in chunks: a year of backfill holds one
 * chunk's candles and rows at a time.
 */

import { candlePoint } from '../core/candle-point.ts'
import { type MinuteRange, mergeRanges } from '../core/minute-ranges.ts'
import { type Market, MINUTE_MS } from '../core/records.ts'
import type { FeatureRow } from '../features/feature-row.ts'
import { recomputeFeatures } from '../features/recompute.ts'
import type { Queryable } from '../store/db.ts'
import { readCandleSpan } from './feature-sql.ts'

export interface FeatureRewriteOptions {
  readonly db: Queryable
  readonly market: Market
  readonly symbol: string
  /** Window sizes in candles (FEATURE_WINDOWS). */
  readonly windows: readonly number[]
  /** Commits one chunk's rows; resolves once they are in feature_cache, rejects to stop. */
  readonly write: (rows: readonly FeatureRow[]) => Promise<void>
  /** Minutes of rows recomputed per step; default 10 000. */
  readonly chunkMinutes?: number
  /** Rewrite the rows of the given spans only, not those after them that see them (`features --rebuild`). */
  readonly exact?: boolean
}

export interface FeatureRewriteResult {
  /** The spans of open times whose rows were rewritten, merged and sorted. */
  readonly spans: readonly MinuteRange[]
  readonly rows: number
}

const DEFAULT_CHUNK_MINUTES = 10_000

/** Minutes after a changed candle whose rows see it: the largest window's reach, and at least the next minute's log return. */
export function featureReachMs(windows: readonly number[]): number {
  return Math.max(1, Math.max(...windows) - 1) * MINUTE_MS
}

/** The open times whose rows the changed candles make stale, merged and sorted. */
export function affectedSpans(changed: readonly MinuteRange[], windows: readonly number[]): MinuteRange[] {
  const reach = featureReachMs(windows)
  return mergeRanges(changed.map((r) => ({ from: r.from, to: r.to + reach })))
}

export async function rewriteFeatures(
  o: FeatureRewriteOptions,
  changed: readonly MinuteRange[],
): Promise<FeatureRewriteResult> {
  const windows = [...new Set(o.windows)].sort((a, b) => a - b)
  if (windows.length === 0 || windows.some((w) => !Number.isInteger(w) || w < 1)) {
    throw new RangeError(`window sizes must be positive integers, got ${o.windows.join(',')}`)
  }
  const reach = featureReachMs(windows)
  const step = Math.max(1, Math.floor(o.chunkMinutes ?? DEFAULT_CHUNK_MINUTES)) * MINUTE_MS
  const spans = o.exact === true ? mergeRanges(changed) : affectedSpans(changed, windows)
  let rows = 0
  for (const span of spans) {
    for (let from = span.from; from <= span.to; from += step) {
      const to = Math.min(span.to, from + step - MINUTE_MS)
      // Each chunk starts a fresh state `reach` before its first row, so every row sees its whole window.
      const stored = await readCandleSpan(o.db, o.market, o.symbol, from - reach, to)
      const r = recomputeFeatures(o.market, o.symbol, windows, stored.map(candlePoint), from, to)
      if (r.rows.length > 0) await o.write(r.rows)
      rows += r.rows.length
    }
  }
  return { spans, rows }
}
