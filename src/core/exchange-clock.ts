/**
 * The exchange's clock as this process sees it: the local clock mapped through
 * samples of the exchange's own time (`GET /api/v3/time` and its futures
 * equivalents). Whatever judges "future", "overdue" or "closed" reads this
 * clock, so a host whose clock is off by seconds does not misjudge minutes.
 *
 * A sample is (local send time, local receive time, server time); the server
 * answered at about the midpoint, give or take half the round trip. The
 * offset comes from the newest sample with the shortest round trip among the
 * recent ones, and is taken as 0 when it is within that half round trip (it
 * cannot be told from none). The rate is 1 for a real exchange; where successive samples say
 * otherwise by more than 2 % (the simulator sped up for a demo), the measured
 * rate is used, so that a minute of the exchange is a second here. Timers set
 * on this clock are shortened by the same rate.
 * Core module: pure state over an injected local clock.
 */
import type { Clock, TimerHandle } from './clock.ts'

export interface TimeSample {
  /** Local time the request was sent. */
  readonly sentAt: number
  /** Local time the answer arrived. */
  readonly receivedAt: number
  /** The exchange's time in the answer. */
  readonly serverTime: number
}

/** Recent samples kept; the rate is read across them. */
const KEPT = 8
/** Rates within this of 1 are taken as exactly 1 (round-trip noise, not a faster exchange). */
const RATE_SNAP = 0.02
/** The rate is read only across samples at least this far apart (local ms). */
const RATE_MIN_SPAN_MS = 500

export class ExchangeClock implements Clock {
  private readonly local: Clock
  private samples: TimeSample[] = []
  private anchorLocal = 0
  private anchorExchange = 0
  private currentRate = 1
  private anchored = false
  private lastReturned = Number.NEGATIVE_INFINITY

  constructor(local: Clock) {
    this.local = local
  }

  /** Exchange time now: the local clock itself until the first sample. Never runs backwards. */
  now(): number {
    const local = this.local.now()
    const t = this.anchored ? this.anchorExchange + (local - this.anchorLocal) * this.currentRate : local
    this.lastReturned = Math.max(this.lastReturned, t)
    return this.lastReturned
  }

  /** Runs `fn` after `ms` of exchange time. */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.local.setTimeout(fn, ms / this.currentRate)
  }

  /** Exchange time minus local time (ms), as of now. */
  offsetMs(): number {
    return this.now() - this.local.now()
  }

  /** 1 for a real exchange; the measured rate for a sped-up simulator. */
  rate(): number {
    return this.currentRate
  }

  /** Whether any sample arrived. */
  synchronised(): boolean {
    return this.anchored
  }

  /** The uncertainty of the offset: half the round trip of the sample it comes from. */
  uncertaintyMs(): number | null {
    const best = this.best()
    return best === null ? null : (best.receivedAt - best.sentAt) / 2
  }

  addSample(s: TimeSample): void {
    if (!(s.receivedAt >= s.sentAt) || !Number.isFinite(s.serverTime)) return
    this.samples = [...this.samples, s].slice(-KEPT)
    this.currentRate = this.measureRate()
    const best = this.best() as TimeSample
    // The best sample's midpoint, carried forward to the newest sample's time at the current rate.
    const mid = (best.sentAt + best.receivedAt) / 2
    this.anchorLocal = mid
    // An offset within half the round trip cannot be told from none: the clocks agree.
    const agree =
      this.currentRate === 1 && Math.abs(best.serverTime - mid) <= (best.receivedAt - best.sentAt) / 2
    this.anchorExchange = agree ? mid : best.serverTime
    this.anchored = true
  }

  /** Among the newest samples taken at this rate, the one with the shortest round trip. */
  private best(): TimeSample | null {
    if (this.samples.length === 0) return null
    // A changed rate makes older samples' midpoints incomparable: keep to the newest when it is not 1.
    if (this.currentRate !== 1) return this.samples.at(-1) as TimeSample
    let best = this.samples[0] as TimeSample
    for (const s of this.samples) {
      if (s.receivedAt - s.sentAt <= best.receivedAt - best.sentAt) best = s
    }
    return best
  }

  private measureRate(): number {
    const first = this.samples[0] as TimeSample
    const last = this.samples.at(-1) as TimeSample
    const localSpan = (last.sentAt + last.receivedAt) / 2 - (first.sentAt + first.receivedAt) / 2
    if (localSpan < RATE_MIN_SPAN_MS) return this.currentRate
    const rate = (last.serverTime - first.serverTime) / localSpan
    // The round trips bound how wrong the measured rate may be: a slow answer (a loaded host)
    // must not make a rate-1 exchange look faster, which would call open minutes closed.
    const error = (last.receivedAt - last.sentAt + first.receivedAt - first.sentAt) / 2 / localSpan
    if (!(rate > 0) || Math.abs(rate - 1) <= Math.max(RATE_SNAP, 2 * error)) return 1
    return rate
  }
}
