import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { mergeRanges, minutesIn, subtractRanges, totalMinutes } from '../../src/core/minute-ranges.ts'
import { MINUTE_MS } from '../../src/core/records.ts'
import { GapDetector } from '../../src/gaps/gap-detector.ts'

const T0 = Date.UTC(2024, 0, 1, 12, 0)
const m = (i: number) => T0 + i * MINUTE_MS

describe('minute ranges', () => {
  it('merge joins overlapping and touching ranges', () => {
    assert.deepEqual(
      mergeRanges([
        { from: m(5), to: m(6) },
        { from: m(0), to: m(2) },
        { from: m(3), to: m(3) },
        { from: m(10), to: m(12) },
        { from: m(11), to: m(11) },
        { from: m(9), to: m(8) },
      ]),
      [
        { from: m(0), to: m(3) },
        { from: m(5), to: m(6) },
        { from: m(10), to: m(12) },
      ],
    )
  })

  it('subtract removes known minutes', () => {
    assert.deepEqual(
      subtractRanges(
        [{ from: m(0), to: m(9) }],
        [
          { from: m(2), to: m(3) },
          { from: m(9), to: m(20) },
        ],
      ),
      [
        { from: m(0), to: m(1) },
        { from: m(4), to: m(8) },
      ],
    )
    assert.deepEqual(subtractRanges([{ from: m(0), to: m(9) }], [{ from: m(-5), to: m(20) }]), [])
    assert.equal(
      totalMinutes([
        { from: m(0), to: m(9) },
        { from: m(20), to: m(20) },
      ]),
      11,
    )
    assert.equal(minutesIn({ from: m(3), to: m(2) }), 0)
  })
})

describe('GapDetector', () => {
  it('a jump in the closed-candle sequence is a gap', () => {
    const d = new GapDetector(['BTCUSDT'], 70_000)
    d.settle('BTCUSDT', m(0))
    assert.equal(d.onCandle('BTCUSDT', m(1)), null)
    assert.deepEqual(d.onCandle('BTCUSDT', m(5)), {
      symbol: 'BTCUSDT',
      from: m(2),
      to: m(4),
      cause: 'sequence_jump',
    })
    assert.equal(d.onCandle('BTCUSDT', m(3)), null, 'a late candle from the past is no new gap')
    assert.equal(d.onCandle('ETHUSDT', m(9)), null, 'unknown symbols are not tracked')
  })

  it('a minute whose close is more than the threshold late is overdue, once', () => {
    const d = new GapDetector(['BTCUSDT', 'NKNUSDT'], 70_000)
    d.settle('BTCUSDT', m(0))
    d.settle('NKNUSDT', m(0))
    d.onCandle('BTCUSDT', m(1))
    // Minute 2 closes at m(3); it is overdue from m(3) + 70 s.
    assert.deepEqual(d.overdue(m(3) + 69_999), [
      { symbol: 'NKNUSDT', from: m(1), to: m(1), cause: 'late_close' },
    ])
    assert.deepEqual(d.overdue(m(3) + 70_000), [
      { symbol: 'BTCUSDT', from: m(2), to: m(2), cause: 'late_close' },
      { symbol: 'NKNUSDT', from: m(2), to: m(2), cause: 'late_close' },
    ])
    assert.deepEqual(d.overdue(m(3) + 71_000), [], 'reported once')
    assert.equal(d.onCandle('BTCUSDT', m(2)), null, 'the late frame after all: nothing new')
  })

  it('nothing is overdue before the first settle or candle', () => {
    const d = new GapDetector(['BTCUSDT'], 70_000)
    assert.deepEqual(d.overdue(m(100)), [])
  })

  it('a disconnect window is reported minute by minute as each becomes overdue, like a late close', () => {
    const d = new GapDetector(['BTCUSDT'], 15_000)
    d.settle('BTCUSDT', m(9))
    // Last data 10:59.5, first data on the new socket 12:01: minutes 9…11 closed in between.
    const now = m(12) + 1_000
    assert.deepEqual(d.onDisconnect(m(10) + 59_500, now, now), [
      { symbol: 'BTCUSDT', from: m(9), to: m(10), cause: 'disconnect' },
    ])
    // Minute 11 closes at 12:00; it is held until 12:15.
    assert.equal(d.nextDueAt(), m(12) + 15_000)
    assert.deepEqual(d.overdue(m(12) + 14_999), [])
    assert.deepEqual(d.overdue(m(12) + 15_000), [
      { symbol: 'BTCUSDT', from: m(11), to: m(11), cause: 'disconnect' },
    ])
    assert.equal(d.nextDueAt(), null)
    assert.deepEqual(d.overdue(m(12) + 16_000), [], 'reported once, not again as a late close')
    assert.equal(d.onCandle('BTCUSDT', m(12)), null, 'the next minute is no sequence jump')
  })

  it('a disconnect window that leaves a hole before it still lets the hole be reported', () => {
    const d = new GapDetector(['BTCUSDT'], 15_000)
    d.settle('BTCUSDT', m(5))
    assert.deepEqual(d.onDisconnect(m(8) + 10_000, m(9) + 1_000, m(9) + 20_000), [
      { symbol: 'BTCUSDT', from: m(7), to: m(8), cause: 'disconnect' },
    ])
    assert.deepEqual(d.overdue(m(9) + 20_000), [
      { symbol: 'BTCUSDT', from: m(6), to: m(8), cause: 'late_close' },
    ])
  })

  it('a disconnect window covers every minute whose close fell inside it', () => {
    const d = new GapDetector(['BTCUSDT', 'ETHUSDT'], 70_000)
    const gaps = d.disconnectWindow(m(10) + 30_000, m(12) + 5_000)
    assert.deepEqual(
      gaps.map((g) => [g.symbol, g.from, g.to, g.cause]),
      [
        ['BTCUSDT', m(9), m(11), 'disconnect'],
        ['ETHUSDT', m(9), m(11), 'disconnect'],
      ],
    )
  })
})
