/**
 * The one request-weight budget of a Binance IP, shared by every caller of a
 * client (LESSONS: after a reconnect every symbol hit REST at once, got 429s and
 * never recovered). A single FIFO queue: each request waits its turn, then until
 *  - no 429/418 pause is running (nothing is ever sent while paused),
 *  - fewer than `maxInFlight` requests are out,
 *  - its weight fits under the safety limit of the current minute window;
 * otherwise it sleeps (on the injected clock, jittered) until the next window.
 *
 * Used weight = max(what we sent this window, the last X-MBX-USED-WEIGHT-1M plus
 * what we sent after that request). The header is authoritative upwards (other
 * processes on the same IP count too); local accounting covers requests whose
 * answer has not come back yet.
 */
import type { Clock, TimerHandle } from '../../core/clock.ts'
import { offsetJitter, SCHEDULES } from '../../core/retry.ts'
import { RestError } from './rest-errors.ts'

export const WINDOW_MS = 60_000

export interface WeightBudgetOptions {
  readonly clock: Clock
  readonly random?: () => number
  /** Binance's REQUEST_WEIGHT per minute (spot: 6000). */
  readonly limitPerMinute?: number
  /** Fraction of the limit we allow ourselves (default 0.8). */
  readonly safetyFraction?: number
  /** Requests out at once (default 4): also bounds the overshoot while a window boundary is uncertain. */
  readonly maxInFlight?: number
  /** A pause longer than this is not waited out: the request fails with HTTP_418/HTTP_429 at once. */
  readonly maxPauseWaitMs?: number
  /** After a window boundary wait a further [min, min + spread) ms: our clock is not Binance's. */
  readonly windowJitterMinMs?: number
  readonly windowJitterSpreadMs?: number
  /** Told when a request has to wait for the budget. */
  readonly onWait?: (w: BudgetWait) => void
}

export interface BudgetWait {
  readonly reason: 'weight' | 'paused'
  readonly waitMs: number
  readonly usedWeight: number
  readonly weight: number
}

export const BUDGET_DEFAULTS = Object.freeze({
  limitPerMinute: 6000,
  safetyFraction: 0.8,
  maxInFlight: 4,
  maxPauseWaitMs: 10 * 60_000,
  windowJitterMinMs: SCHEDULES['rest.window'].minMs,
  windowJitterSpreadMs: SCHEDULES['rest.window'].spreadMs,
})

/** Handed out by `acquire`, given back exactly once by `release`. */
export interface WeightTicket {
  readonly weight: number
  readonly window: number
  /** Cumulative weight sent by this budget including this request. */
  readonly mark: number
}

export interface BudgetState {
  readonly usedWeight: number
  readonly safeLimit: number
  readonly inFlight: number
  readonly queued: number
  /** Epoch ms until which nothing is sent, or null. */
  readonly pausedUntil: number | null
  /** True while the head of the queue sleeps on the clock. */
  readonly sleeping: boolean
}

export class WeightBudget {
  readonly limit: number
  readonly safeLimit: number
  readonly maxPauseWaitMs: number
  private readonly clock: Clock
  private readonly random: () => number
  private readonly maxInFlight: number
  private readonly jitterMin: number
  private readonly jitterSpread: number
  private readonly onWait: ((w: BudgetWait) => void) | undefined

  private window = -1
  private sentInWindow = 0
  private cumulative = 0
  private headerBase = 0
  private headerMark = 0
  private inFlightCount = 0
  private queuedCount = 0
  private pausedUntil = 0
  private pauseStatus: 429 | 418 = 429
  private tail: Promise<unknown> = Promise.resolve()
  private timer: TimerHandle | null = null
  private wake: (() => void) | null = null
  private waitingForSlot = false
  private closed = false

  constructor(opts: WeightBudgetOptions) {
    this.clock = opts.clock
    this.random = opts.random ?? Math.random
    this.limit = opts.limitPerMinute ?? BUDGET_DEFAULTS.limitPerMinute
    const fraction = opts.safetyFraction ?? BUDGET_DEFAULTS.safetyFraction
    if (!(this.limit > 0) || !(fraction > 0 && fraction <= 1)) {
      throw new RestError('INVALID_ARGUMENT', `bad weight limit ${this.limit} × ${fraction}`)
    }
    this.safeLimit = Math.max(1, Math.floor(this.limit * fraction))
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? BUDGET_DEFAULTS.maxInFlight)
    this.maxPauseWaitMs = opts.maxPauseWaitMs ?? BUDGET_DEFAULTS.maxPauseWaitMs
    this.jitterMin = opts.windowJitterMinMs ?? BUDGET_DEFAULTS.windowJitterMinMs
    this.jitterSpread = opts.windowJitterSpreadMs ?? BUDGET_DEFAULTS.windowJitterSpreadMs
    this.onWait = opts.onWait
  }

  /** Estimated weight used in the current minute window. */
  used(): number {
    this.roll(this.clock.now())
    return Math.max(this.sentInWindow, this.headerBase + (this.cumulative - this.headerMark))
  }

  state(): BudgetState {
    const now = this.clock.now()
    return {
      usedWeight: this.used(),
      safeLimit: this.safeLimit,
      inFlight: this.inFlightCount,
      queued: this.queuedCount,
      pausedUntil: this.pausedUntil > now ? this.pausedUntil : null,
      sleeping: this.timer !== null,
    }
  }

  /** Waits for this request's turn and room in the budget; the caller must `release` the ticket. */
  acquire(weight: number): Promise<WeightTicket> {
    if (this.closed) return Promise.reject(closedError())
    this.queuedCount++
    const turn = this.tail.then(() => this.waitForRoom(weight))
    this.tail = turn.catch(() => undefined)
    return turn.finally(() => {
      this.queuedCount--
    })
  }

  /** The request is over; `headerUsed` is its X-MBX-USED-WEIGHT-1M, if any. */
  release(ticket: WeightTicket, headerUsed?: number): void {
    this.inFlightCount = Math.max(0, this.inFlightCount - 1)
    this.roll(this.clock.now())
    // A header from a request sent in an earlier window describes that window.
    if (headerUsed !== undefined && ticket.window === this.window) this.recordHeader(headerUsed, ticket.mark)
    if (this.waitingForSlot) this.poke()
  }

  /** Binance said stop (429/418): nothing is sent before `until` (epoch ms). */
  pause(until: number, status: 429 | 418): void {
    if (until > this.pausedUntil) {
      this.pausedUntil = until
      this.pauseStatus = status
    } else if (status === 418) {
      this.pauseStatus = 418
    }
    // Retry-After is Binance's own word on when it is safe; the 429's weight header, if any, was
    // recorded at release and keeps the rest of this window closed when it says the window is spent.
    this.poke()
  }

  /** Epoch ms until which the budget is paused (0 when not paused). */
  pausedUntilMs(): number {
    return this.pausedUntil > this.clock.now() ? this.pausedUntil : 0
  }

  /** Rejects every waiting request with CLOSED. */
  close(): void {
    this.closed = true
    this.poke()
  }

  private recordHeader(value: number, mark: number): void {
    const current = this.headerBase + (this.cumulative - this.headerMark)
    const fromHeader = value + (this.cumulative - mark)
    this.headerBase = Math.max(current, fromHeader)
    this.headerMark = this.cumulative
  }

  private roll(now: number): void {
    const w = Math.floor(now / WINDOW_MS)
    if (w === this.window) return
    this.window = w
    this.sentInWindow = 0
    this.headerBase = 0
    this.headerMark = this.cumulative
  }

  private async waitForRoom(weight: number): Promise<WeightTicket> {
    for (;;) {
      if (this.closed) throw closedError()
      const now = this.clock.now()
      this.roll(now)
      if (this.pausedUntil > now) {
        const remaining = this.pausedUntil - now
        if (remaining > this.maxPauseWaitMs) {
          throw new RestError(
            this.pauseStatus === 418 ? 'HTTP_418' : 'HTTP_429',
            `requests paused by Binance for another ${Math.ceil(remaining / 1000)} s`,
            { status: this.pauseStatus, retryAfterMs: remaining },
          )
        }
        this.notifyWait('paused', remaining, weight)
        await this.sleep(remaining)
        continue
      }
      if (this.inFlightCount >= this.maxInFlight) {
        this.waitingForSlot = true
        await this.sleep(null)
        this.waitingForSlot = false
        continue
      }
      const used = this.used()
      // A request heavier than the whole safe budget still goes, alone, into an empty window.
      if (used + weight > this.safeLimit && used > 0) {
        const nextWindow = (this.window + 1) * WINDOW_MS
        const waitMs =
          nextWindow - now + offsetJitter({ minMs: this.jitterMin, spreadMs: this.jitterSpread }, this.random)
        this.notifyWait('weight', waitMs, weight)
        await this.sleep(waitMs)
        continue
      }
      this.cumulative += weight
      this.sentInWindow += weight
      this.inFlightCount++
      return { weight, window: this.window, mark: this.cumulative }
    }
  }

  private notifyWait(reason: BudgetWait['reason'], waitMs: number, weight: number): void {
    try {
      this.onWait?.({ reason, waitMs, usedWeight: this.used(), weight })
    } catch {
      // a listener must not break the queue
    }
  }

  /** Sleeps on the clock (`null`: until poked). Only the queue head ever sleeps. */
  private sleep(ms: number | null): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.timer?.cancel()
        this.timer = null
        this.wake = null
        resolve()
      }
      this.wake = done
      if (ms !== null) this.timer = this.clock.setTimeout(done, ms)
    })
  }

  /** Wakes the head so it re-evaluates (release, pause, close). */
  private poke(): void {
    this.wake?.()
  }
}

function closedError(): RestError {
  return new RestError('CLOSED', 'REST client closed')
}
