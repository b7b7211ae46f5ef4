/**
 * The independent oracle: the features as PostgreSQL window functions compute
 * them over candles_1m (src/feature-store/feature-oracle.ts, which shares
 * nothing with the engine's rolling arithmetic and is what `features --verify`
 * holds the stored rows against), over a symbol's whole history.
 */
import assert from 'node:assert/strict'
import type { Candle } from '../../src/core/records.ts'
import { createFeatureEngine, type FeatureEngine } from '../../src/feature-store/feature-engine.ts'
import {
  diffFeature,
  type FeatureValues,
  featureOracle,
  storedFeatureValues,
} from '../../src/feature-store/feature-oracle.ts'
import { buildCandleUpsert } from '../../src/store/candle-sql.ts'
import type { Queryable } from '../../src/store/db.ts'
import { ManualClock } from '../helpers/manual-clock.ts'

export type Expected = FeatureValues

/** The whole symbol's history, far wider than any test's. */
const ALL = { from: Date.UTC(2000, 0, 1), to: Date.UTC(2100, 0, 1) }

export function oracle(q: Queryable, symbol: string, windowSize: number): Promise<Expected[]> {
  return featureOracle(q, 'spot', symbol, windowSize, ALL.from, ALL.to)
}

export function storedFeatures(q: Queryable, symbol: string, windowSize: number): Promise<Expected[]> {
  return storedFeatureValues(q, 'spot', symbol, windowSize, ALL.from, ALL.to)
}

/** Every stored row equals the oracle, and there is exactly one row per candle. */
export async function assertMatchesOracle(q: Queryable, symbol: string, windowSize: number): Promise<number> {
  const want = await oracle(q, symbol, windowSize)
  const got = await storedFeatures(q, symbol, windowSize)
  assert.equal(got.length, want.length, `${symbol}/${windowSize}: rows`)
  for (let i = 0; i < want.length; i++) {
    const g = got[i] as Expected
    const w = want[i] as Expected
    const at = `${symbol}/${windowSize} @${new Date(w.openTime).toISOString()}`
    assert.equal(g.openTime, w.openTime, at)
    assert.notEqual(g.windowQuoted, null, `${at} window_quoted`)
    assert.deepEqual(diffFeature(g, w), [], at)
  }
  return want.length
}

/** Writes candles to candles_1m in chunks PGlite accepts. */
export async function storeCandles(q: Queryable, candles: readonly Candle[]): Promise<void> {
  for (let i = 0; i < candles.length; i += 1000) await q.query(buildCandleUpsert(candles.slice(i, i + 1000)))
}

/**
 * A warm engine on a manual clock over what candles_1m holds; with `span`, every row of the
 * candles of that span written too (a complete feature_cache to start a test from).
 */
export async function warmEngine(
  db: Queryable & { kind: 'postgres' | 'pglite' },
  symbol: string,
  windows: readonly number[],
  span?: { from: number; to: number },
): Promise<FeatureEngine> {
  const engine = createFeatureEngine({
    db: db as Parameters<typeof createFeatureEngine>[0]['db'],
    clock: new ManualClock(),
    symbols: [symbol],
    windows,
    updateIntervalMs: 60_000,
    maxRetries: 0,
  })
  await engine.warmUp()
  if (span !== undefined) await engine.onHistoryChanged(symbol, span.from, span.to)
  await engine.flush()
  return engine
}
