/**
 * `features --verify` and `--rebuild` over a range of one symbol: the stored
 * rows against their SQL definition (feature-oracle.ts), chunk by chunk so a
 * year is never held at once; and the rows a rebuild leaves no candle for.
 */
import { type Market, MINUTE_MS } from '../core/records.ts'
import type { Queryable } from '../store/db.ts'
import { diffFeature, type FeatureValues, featureOracle, storedFeatureValues } from './feature-oracle.ts'

export type MismatchKind = 'differs' | 'missing' | 'no_candle'

export interface FeatureMismatch {
  readonly windowSize: number
  readonly openTime: number
  /** differs: values differ; missing: a stored candle has no row; no_candle: a row has no stored candle. */
  readonly kind: MismatchKind
  readonly detail: readonly string[]
}

export interface WindowVerdict {
  readonly windowSize: number
  /** Stored candles of the range (rows there should be). */
  readonly candles: number
  readonly differs: number
  readonly missing: number
  readonly noCandle: number
}

export interface VerifyResult {
  readonly windows: readonly WindowVerdict[]
  readonly mismatches: number
  /** The first mismatches found, oldest first per window. */
  readonly samples: readonly FeatureMismatch[]
}

export interface VerifyOptions {
  readonly market: Market
  readonly symbol: string
  readonly windows: readonly number[]
  readonly from: number
  readonly to: number
  /** Minutes compared per query; default 10 000. */
  readonly chunkMinutes?: number
  /** Mismatches kept as samples; default 20. */
  readonly maxSamples?: number
}

export async function verifyFeatures(q: Queryable, o: VerifyOptions): Promise<VerifyResult> {
  const step = Math.max(1, Math.floor(o.chunkMinutes ?? 10_000)) * MINUTE_MS
  const maxSamples = o.maxSamples ?? 20
  const samples: FeatureMismatch[] = []
  const verdicts: WindowVerdict[] = []
  let mismatches = 0
  for (const w of [...new Set(o.windows)].sort((a, b) => a - b)) {
    const v = { windowSize: w, candles: 0, differs: 0, missing: 0, noCandle: 0 }
    for (let from = o.from; from <= o.to; from += step) {
      const to = Math.min(o.to, from + step - MINUTE_MS)
      const want = await featureOracle(q, o.market, o.symbol, w, from, to)
      const got = await storedFeatureValues(q, o.market, o.symbol, w, from, to)
      v.candles += want.length
      for (const m of compare(got, want)) {
        if (m.kind === 'differs') v.differs++
        else if (m.kind === 'missing') v.missing++
        else v.noCandle++
        mismatches++
        if (samples.length < maxSamples) samples.push(m)
      }
    }
    verdicts.push(v)
  }
  return { windows: verdicts, mismatches, samples }
}

/** Both lists sorted by open time, of one window. */
function compare(got: readonly FeatureValues[], want: readonly FeatureValues[]): FeatureMismatch[] {
  const out: FeatureMismatch[] = []
  let i = 0
  let j = 0
  while (i < got.length || j < want.length) {
    const g = got[i]
    const w = want[j]
    if (w === undefined || (g !== undefined && g.openTime < w.openTime)) {
      const r = g as FeatureValues
      out.push({ windowSize: r.windowSize, openTime: r.openTime, kind: 'no_candle', detail: [] })
      i++
    } else if (g === undefined || w.openTime < g.openTime) {
      out.push({ windowSize: w.windowSize, openTime: w.openTime, kind: 'missing', detail: [] })
      j++
    } else {
      const d = diffFeature(g, w)
      if (d.length > 0)
        out.push({ windowSize: w.windowSize, openTime: w.openTime, kind: 'differs', detail: d })
      i++
      j++
    }
  }
  return out
}

/** Deletes the rows of the range (of these windows) whose candle is not stored; returns how many. */
export async function deleteRowsWithoutCandle(q: Queryable, o: VerifyOptions): Promise<number> {
  const r = await q.query(
    `DELETE FROM feature_cache f
      WHERE f.market = $1 AND f.symbol = $2 AND f.window_size = ANY($3::int[])
        AND f.open_time BETWEEN $4::timestamptz AND $5::timestamptz
        AND NOT EXISTS (SELECT 1 FROM candles_1m c
                         WHERE c.market = f.market AND c.symbol = f.symbol AND c.open_time = f.open_time)`,
    [
      o.market,
      o.symbol,
      [...new Set(o.windows)],
      new Date(o.from).toISOString(),
      new Date(o.to).toISOString(),
    ],
  )
  return r.rowCount ?? 0
}
