import type { Clock, TimerHandle } from '../../src/core/clock.ts'

interface Pending {
  at: number
  seq: number
  fn: () => void
  cancelled: boolean
}

/**
 * A clock that only moves when the test says so. Timers fire in time order
 * (ties in scheduling order) as `advance` walks past them.
 */
export class ManualClock implements Clock {
  private current: number
  private seq = 0
  private pending: Pending[] = []

  constructor(start = Date.UTC(2024, 0, 1)) {
    this.current = start
  }

  now(): number {
    return this.current
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const p: Pending = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false }
    this.pending.push(p)
    return {
      cancel: () => {
        p.cancelled = true
      },
    }
  }

  /** Number of timers still waiting to fire. */
  get timerCount(): number {
    return this.pending.filter((p) => !p.cancelled).length
  }

  /** Delays (from now) of the timers still waiting, sorted. */
  pendingDelays(): number[] {
    return this.pending
      .filter((p) => !p.cancelled)
      .map((p) => p.at - this.current)
      .sort((a, b) => a - b)
  }

  /** Moves time forward by `ms`, firing every timer due on the way. */
  advance(ms: number): void {
    const target = this.current + ms
    for (;;) {
      const next = this.nextDue(target)
      if (!next) break
      this.current = next.at
      next.cancelled = true
      next.fn()
    }
    this.current = target
    this.pending = this.pending.filter((p) => !p.cancelled)
  }

  /** Moves time to an absolute instant (never backwards). */
  advanceTo(at: number): void {
    this.advance(Math.max(0, at - this.current))
  }

  private nextDue(limit: number): Pending | undefined {
    let best: Pending | undefined
    for (const p of this.pending) {
      if (p.cancelled || p.at > limit) continue
      if (!best || p.at < best.at || (p.at === best.at && p.seq < best.seq)) best = p
    }
    return best
  }
}
