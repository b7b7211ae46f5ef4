import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { RestError } from '../../src/binance/rest/rest-errors.ts'
import { WeightBudget } from '../../src/binance/rest/weight-budget.ts'
import { ManualClock } from '../helpers/manual-clock.ts'

const MIN = 60_000
const T = Date.UTC(2024, 0, 10, 12, 0, 10)

const flush = (): Promise<void> => new Promise((r) => setImmediate(r))

function budget(clock: ManualClock, extra: Partial<ConstructorParameters<typeof WeightBudget>[0]> = {}) {
  return new WeightBudget({ clock, random: () => 0, ...extra })
}

describe('WeightBudget', () => {
  it('keeps a 20 % margin under the documented 6000', () => {
    const b = budget(new ManualClock(T))
    assert.equal(b.limit, 6000)
    assert.equal(b.safeLimit, 4800)
    assert.throws(() => budget(new ManualClock(T), { limitPerMinute: 0 }), RestError)
  })

  it('queues FIFO and waits for the next window (+ jitter) when the weight would pass the safe limit', async () => {
    const clock = new ManualClock(T)
    const b = budget(clock, { limitPerMinute: 10 }) // safe 8
    const order: number[] = []
    const tickets = [1, 2, 3, 4, 5].map((i) =>
      b.acquire(2).then((t) => {
        order.push(i)
        b.release(t)
        return t
      }),
    )
    await flush()
    assert.deepEqual(order, [1, 2, 3, 4])
    assert.equal(b.used(), 8)
    assert.equal(b.state().sleeping, true)
    assert.deepEqual(clock.pendingDelays(), [MIN - 10_000 + 1_000])
    clock.advance(MIN - 10_000 + 999)
    await flush()
    assert.deepEqual(order, [1, 2, 3, 4])
    clock.advance(1)
    await Promise.all(tickets)
    assert.deepEqual(order, [1, 2, 3, 4, 5])
    assert.equal(b.used(), 2)
  })

  it('takes the header as authoritative upwards, and ignores a header from an earlier window', async () => {
    const clock = new ManualClock(T)
    const b = budget(clock, { limitPerMinute: 100 })
    const a = await b.acquire(2)
    const c = await b.acquire(2)
    b.release(a, 50) // another process used 48; c was sent after a, so it is not in 50
    assert.equal(b.used(), 52)
    clock.advance(MIN)
    b.release(c, 99) // describes the old window
    assert.equal(b.used(), 0)
  })

  it('limits requests in flight and hands the slot on at release', async () => {
    const clock = new ManualClock(T)
    const b = budget(clock, { maxInFlight: 2 })
    const t1 = await b.acquire(1)
    await b.acquire(1)
    let third = false
    const p = b.acquire(1).then(() => {
      third = true
    })
    await flush()
    assert.equal(third, false)
    assert.equal(clock.timerCount, 0) // waits for a release, not for time
    b.release(t1)
    await p
    assert.equal(third, true)
  })

  it('a pause blocks every request; one longer than maxPauseWaitMs fails at once', async () => {
    const clock = new ManualClock(T)
    const b = budget(clock, { maxPauseWaitMs: 60_000 })
    b.pause(T + 30_000, 429)
    let sent = false
    const p = b.acquire(1).then(() => {
      sent = true
    })
    await flush()
    assert.equal(sent, false)
    clock.advance(29_999)
    await flush()
    assert.equal(sent, false)
    clock.advance(1)
    await p
    b.pause(clock.now() + 3_600_000, 418)
    await assert.rejects(b.acquire(1), (e: unknown) => {
      assert.ok(e instanceof RestError)
      assert.equal(e.code, 'HTTP_418')
      assert.equal(e.retryAfterMs, 3_600_000)
      return true
    })
  })

  it('close rejects waiting requests', async () => {
    const clock = new ManualClock(T)
    const b = budget(clock)
    b.pause(T + 30_000, 429)
    const p = b.acquire(1)
    await flush()
    b.close()
    await assert.rejects(p, (e: unknown) => e instanceof RestError && e.code === 'CLOSED')
    await assert.rejects(b.acquire(1), (e: unknown) => e instanceof RestError && e.code === 'CLOSED')
  })
})
