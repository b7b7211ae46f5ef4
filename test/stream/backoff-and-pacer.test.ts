import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { delayFor, jitterAround, nominalDelay, SCHEDULES } from '../../src/core/retry.ts'
import { type OutgoingFrame, OutgoingPacer } from '../../src/stream/outgoing-pacer.ts'
import { ManualClock } from '../helpers/manual-clock.ts'

const RECONNECT = SCHEDULES['stream.reconnect']

describe('backoff', () => {
  test('nominal delays are 1, 2, 4, 8, 8 s', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 50].map((a) => nominalDelay(RECONNECT, a)),
      [1000, 2000, 4000, 8000, 8000, 8000],
    )
  })

  test('jitter only shortens, by at most 20 %, so 8 s stays a cap', () => {
    for (const r of [0, 0.25, 0.999999, 1]) {
      for (let a = 1; a <= 6; a++) {
        const d = delayFor(RECONNECT, a, () => r)
        assert.ok(
          d <= nominalDelay(RECONNECT, a) && d >= nominalDelay(RECONNECT, a) * 0.8,
          `${a}/${r} → ${d}`,
        )
      }
    }
    assert.equal(
      delayFor(RECONNECT, 1, () => Number.NaN),
      900,
      'a broken random source still yields a sane delay',
    )
  })

  test('rotation margin is centre ± spread', () => {
    assert.equal(
      jitterAround(1000, 100, () => 0),
      900,
    )
    assert.equal(
      jitterAround(1000, 100, () => 0.5),
      1000,
    )
    assert.equal(
      jitterAround(1000, 100, () => 1),
      1100,
    )
  })
})

describe('OutgoingPacer', () => {
  function setup() {
    const clock = new ManualClock()
    const sent: Array<{ at: number; frame: OutgoingFrame }> = []
    const pacer = new OutgoingPacer(clock, (frame) => sent.push({ at: clock.now(), frame }))
    return { clock, sent, pacer }
  }

  test('a burst of 50 is queued, not dropped, and never more than 4 per 1.2 s', () => {
    const { clock, sent, pacer } = setup()
    for (let i = 0; i < 50; i++) pacer.enqueue({ kind: 'text', text: String(i) })
    assert.equal(sent.length, 4)
    assert.equal(pacer.queued, 46)
    while (pacer.queued > 0) clock.advance(50)
    assert.equal(sent.length, 50)
    for (const s of sent) {
      assert.ok(sent.filter((o) => o.at >= s.at && o.at < s.at + 1_200).length <= 4)
    }
    assert.deepEqual(
      sent.map((s) => (s.frame.kind === 'text' ? s.frame.text : '')),
      Array.from({ length: 50 }, (_, i) => String(i)),
    )
  })

  test('pongs jump the queue, then pings, then control messages', () => {
    const { clock, sent, pacer } = setup()
    for (let i = 0; i < 6; i++) pacer.enqueue({ kind: 'text', text: String(i) })
    pacer.enqueue({ kind: 'ping', data: Buffer.from('p') })
    pacer.enqueue({ kind: 'pong', data: Buffer.from('q') })
    clock.advance(1_200)
    assert.deepEqual(
      sent.slice(4, 7).map((s) => s.frame.kind),
      ['pong', 'ping', 'text'],
    )
  })

  test('dispose drops the queue and leaves no timer', () => {
    const { clock, pacer } = setup()
    for (let i = 0; i < 10; i++) pacer.enqueue({ kind: 'text', text: String(i) })
    assert.equal(clock.timerCount, 1)
    pacer.dispose()
    assert.equal(clock.timerCount, 0)
    pacer.enqueue({ kind: 'text', text: 'late' })
    assert.equal(clock.timerCount, 0)
  })
})
