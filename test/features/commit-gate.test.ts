/**
 * The commit gate: a live candle's feature rows are held until the candle
 * writer reports the candle committed, at most the update interval (on the
 * injected clock); a repair's rows replace held ones and otherwise pass.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CommitGate } from '../../src/feature-store/commit-gate.ts'
import type { FeatureRow } from '../../src/features/feature-row.ts'
import { ManualClock } from '../helpers/manual-clock.ts'
import { MIN, T0 } from './series.ts'

const row = (minute: number, windowSize: number, z = 0) =>
  ({
    market: 'spot',
    symbol: 'BTCUSDT',
    openTime: T0 + minute * MIN,
    windowSize,
    closeZscore: z,
  }) as FeatureRow
const candle = (minute: number) => ({ market: 'spot', symbol: 'BTCUSDT', openTime: T0 + minute * MIN })
const at = (rows: FeatureRow[]) =>
  rows.map((r) => `${(r.openTime - T0) / MIN}/${r.windowSize}/${r.closeZscore}`)

describe('commit gate', () => {
  it('holds rows until their candle is committed; other candles keep waiting', () => {
    const out: FeatureRow[][] = []
    const gate = new CommitGate(new ManualClock(), 60_000, (rows) => out.push(rows))
    gate.hold([row(1, 5), row(1, 60)])
    gate.hold([row(2, 5), row(2, 60)])
    assert.equal(out.length, 0)
    gate.committed([candle(1), candle(7)])
    assert.deepEqual(out.map(at), [['1/5/0', '1/60/0']])
    gate.committed([{ ...candle(2), market: 'usdm' }]) // another market's minute
    assert.equal(out.length, 1)
    gate.releaseAll()
    assert.deepEqual(out.map(at), [
      ['1/5/0', '1/60/0'],
      ['2/5/0', '2/60/0'],
    ])
  })

  it('releases rows whose candle is never reported once the interval has passed, each on its own time', () => {
    const clock = new ManualClock()
    const out: FeatureRow[][] = []
    const gate = new CommitGate(clock, 60_000, (rows) => out.push(rows))
    gate.hold([row(1, 5)])
    clock.advance(30_000)
    gate.hold([row(2, 5)])
    clock.advance(29_999)
    assert.equal(out.length, 0)
    clock.advance(1)
    assert.deepEqual(out.map(at), [['1/5/0']])
    clock.advance(30_000)
    assert.deepEqual(out.map(at), [['1/5/0'], ['2/5/0']])
  })

  it("a repair's rows replace the held rows of their candle and pass for the others", () => {
    const out: FeatureRow[][] = []
    const gate = new CommitGate(new ManualClock(), 60_000, (rows) => out.push(rows))
    gate.hold([row(3, 5, 1), row(3, 60, 1)])
    const free = gate.take([row(2, 5, 9), row(3, 5, 9), row(3, 60, 9)])
    assert.deepEqual(at(free), ['2/5/9'])
    gate.committed([candle(3)])
    assert.deepEqual(out.map(at), [['3/5/9', '3/60/9']])
  })
})
