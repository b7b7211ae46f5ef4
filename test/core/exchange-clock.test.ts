import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ExchangeClock } from '../../src/core/exchange-clock.ts'
import { ManualClock } from '../helpers/manual-clock.ts'

const T0 = Date.UTC(2026, 0, 1)

/** A sample taken now on `local`, answered after `rttMs` by an exchange whose time is `server(t)`. */
function sample(local: ManualClock, exchange: ExchangeClock, rttMs: number, server: (t: number) => number) {
  const sentAt = local.now()
  local.advance(rttMs)
  exchange.addSample({ sentAt, receivedAt: local.now(), serverTime: server(sentAt + rttMs / 2) })
}

describe('ExchangeClock', () => {
  it('is the local clock until the first sample', () => {
    const local = new ManualClock(T0)
    const x = new ExchangeClock(local)
    assert.equal(x.synchronised(), false)
    assert.equal(x.now(), T0)
    assert.equal(x.rate(), 1)
  })

  it('follows a host clock that is off: the offset comes from the shortest round trip', () => {
    const local = new ManualClock(T0)
    const x = new ExchangeClock(local)
    const server = (t: number) => t + 2_500 // Binance is 2.5 s ahead of this host
    sample(local, x, 400, server)
    sample(local, x, 20, server)
    sample(local, x, 300, (t) => t + 2_500 + 150) // a slow answer whose midpoint is off by 150 ms
    assert.equal(x.rate(), 1)
    assert.equal(x.offsetMs(), 2_500)
    assert.equal(x.uncertaintyMs(), 10)
    local.advance(60_000)
    assert.equal(x.now(), local.now() + 2_500)
  })

  it('takes jitter of a real exchange as rate 1, and measures a sped-up simulator', () => {
    const local = new ManualClock(T0)
    const real = new ExchangeClock(local)
    sample(local, real, 10, (t) => t)
    local.advance(1_000)
    sample(local, real, 10, (t) => t + 15) // 15 ms of round-trip noise over a second
    assert.equal(real.rate(), 1)

    const sim = new ExchangeClock(local)
    const start = local.now()
    const simTime = (t: number) => T0 + 5_000_000 + (t - start) * 60
    sample(local, sim, 2, simTime)
    local.advance(1_000)
    sample(local, sim, 2, simTime)
    assert.ok(Math.abs(sim.rate() - 60) < 0.5, String(sim.rate()))
    local.advance(10_000)
    // Ten local seconds are ten exchange minutes, within the sampling error.
    assert.ok(Math.abs(sim.now() - simTime(local.now())) < 1_000)
    // A timer of one exchange minute fires after one local second.
    let fired = false
    sim.setTimeout(() => {
      fired = true
    }, 60_000)
    local.advance(999)
    assert.equal(fired, false)
    local.advance(20)
    assert.equal(fired, true)
  })

  it('slow answers never make a rate-1 exchange look faster', () => {
    const local = new ManualClock(T0)
    const x = new ExchangeClock(local)
    // The same clock on both sides, but answers that take 10 s (a loaded host on a fast test clock):
    // each midpoint is up to 5 s off, which over 60 s could read as a rate of 1.15.
    sample(local, x, 10_000, (t) => t - 5_000 + 1) // answered right after it was sent
    local.advance(50_000)
    sample(local, x, 10_000, (t) => t + 5_000 - 1) // answered just before it arrived
    assert.equal(x.rate(), 1)
    assert.ok(Math.abs(x.offsetMs()) <= 5_000)
  })

  it('an offset within half the round trip is taken as none', () => {
    const local = new ManualClock(T0)
    const x = new ExchangeClock(local)
    sample(local, x, 400, (t) => t + 150) // ±200 ms of uncertainty: 150 ms is noise
    assert.equal(x.offsetMs(), 0)
    sample(local, x, 100, (t) => t + 150) // ±50 ms: 150 ms is real
    assert.equal(x.offsetMs(), 150)
  })

  it('never runs backwards when a new sample moves the estimate back', () => {
    const local = new ManualClock(T0)
    const x = new ExchangeClock(local)
    sample(local, x, 100, (t) => t + 1_000)
    const before = x.now()
    sample(local, x, 10, (t) => t) // a better sample says the offset is 0, not 1 s
    assert.ok(x.now() >= before)
    local.advance(5_000)
    assert.equal(x.now(), local.now())
  })

  it('ignores a sample that cannot be right', () => {
    const local = new ManualClock(T0)
    const x = new ExchangeClock(local)
    x.addSample({ sentAt: T0 + 10, receivedAt: T0, serverTime: T0 })
    x.addSample({ sentAt: T0, receivedAt: T0 + 5, serverTime: Number.NaN })
    assert.equal(x.synchronised(), false)
  })
})
