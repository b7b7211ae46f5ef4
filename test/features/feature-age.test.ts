/** How far committed feature rows trail a symbol's newest candle, per window (feeder_feature_age_seconds). */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { FeatureAgeTracker } from '../../src/feature-store/feature-age.ts'
import type { FeatureRow } from '../../src/features/feature-row.ts'
import { MIN, T0 } from './series.ts'

const row = (minute: number, windowSize: number) =>
  ({ symbol: 'BTCUSDT', openTime: T0 + minute * MIN, windowSize }) as FeatureRow

describe('feature age', () => {
  it('is 0 when the newest candle has its rows, and grows by the minutes still without them', () => {
    const a = new FeatureAgeTracker([5, 60])
    a.noteCandle('BTCUSDT', T0 + 10 * MIN)
    a.noteWritten([row(10, 5), row(10, 60)])
    assert.deepEqual(a.ages(), [
      { symbol: 'BTCUSDT', window: 5, seconds: 0 },
      { symbol: 'BTCUSDT', window: 60, seconds: 0 },
    ])
    a.noteCandle('BTCUSDT', T0 + 13 * MIN)
    a.noteWritten([row(12, 5), row(9, 60)]) // an older row (a repair) moves nothing back
    assert.deepEqual(a.ages(), [
      { symbol: 'BTCUSDT', window: 5, seconds: 60 },
      { symbol: 'BTCUSDT', window: 60, seconds: 180 },
    ])
  })

  it('a window that never got a row counts from a minute before the first candle seen', () => {
    const a = new FeatureAgeTracker([5])
    a.noteCandle('ETHUSDT', T0)
    assert.deepEqual(a.ages(), [{ symbol: 'ETHUSDT', window: 5, seconds: 60 }])
    a.noteCandle('ETHUSDT', T0 + 4 * MIN)
    assert.deepEqual(a.ages(), [{ symbol: 'ETHUSDT', window: 5, seconds: 300 }])
  })
})
