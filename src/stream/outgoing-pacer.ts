/**
 * Every frame we send on one socket — pongs, our own pings, SUBSCRIBEs — goes
 * through one pacer, because Binance counts all of them against 5 incoming
 * messages per second per connection and disconnects (1008) whoever exceeds it.
 * A burst of re-subscriptions after a reconnect must queue, never drop.
 */
import type { Clock, TimerHandle } from '../core/clock.ts'

export type OutgoingFrame =
  | { readonly kind: 'pong'; readonly data: Buffer }
  | { readonly kind: 'ping'; readonly data: Buffer }
  | { readonly kind: 'text'; readonly text: string }

export interface PacerOptions {
  /** Frames allowed in any window of `windowMs`. */
  readonly limit: number
  readonly windowMs: number
}

/**
 * 4 per 1.2 s rather than 5 per 1 s: "< 5" is the rule, and the extra 200 ms
 * absorbs network jitter that can squeeze two of our windows into one of
 * Binance's. Still ~3 frames/s, far above what pings and pongs need.
 */
export const DEFAULT_PACER: PacerOptions = Object.freeze({ limit: 4, windowMs: 1_200 })

// Lower number goes first: a pong has a 60 s deadline, our ping proves liveness,
// control messages can wait.
const PRIORITY: Record<OutgoingFrame['kind'], number> = { pong: 0, ping: 1, text: 2 }

export class OutgoingPacer {
  private readonly queues: OutgoingFrame[][] = [[], [], []]
  private readonly sentAt: number[] = []
  private timer: TimerHandle | null = null
  private disposed = false
  private sentTotal = 0

  private readonly clock: Clock
  private readonly transmit: (frame: OutgoingFrame) => void
  private readonly opts: PacerOptions

  constructor(clock: Clock, transmit: (frame: OutgoingFrame) => void, opts: PacerOptions = DEFAULT_PACER) {
    this.clock = clock
    this.transmit = transmit
    this.opts = opts
  }

  get sent(): number {
    return this.sentTotal
  }

  get queued(): number {
    return this.queues.reduce((n, q) => n + q.length, 0)
  }

  enqueue(frame: OutgoingFrame): void {
    if (this.disposed) return
    this.queues[PRIORITY[frame.kind]]?.push(frame)
    this.drain()
  }

  /** Drops the queue and the timer; the socket they belonged to is gone. */
  dispose(): void {
    this.disposed = true
    this.timer?.cancel()
    this.timer = null
    for (const q of this.queues) q.length = 0
  }

  private drain(): void {
    if (this.timer || this.disposed) return
    for (;;) {
      const frame = this.peek()
      if (!frame) return
      const now = this.clock.now()
      const waitMs = this.waitBefore(now)
      if (waitMs > 0) {
        this.timer = this.clock.setTimeout(() => {
          this.timer = null
          this.drain()
        }, waitMs)
        return
      }
      this.take()
      this.sentAt.push(now)
      if (this.sentAt.length > this.opts.limit) this.sentAt.shift()
      this.sentTotal++
      this.transmit(frame)
      if (this.disposed) return
    }
  }

  private waitBefore(now: number): number {
    if (this.sentAt.length < this.opts.limit) return 0
    const oldest = this.sentAt[0] ?? now
    return Math.max(0, oldest + this.opts.windowMs - now)
  }

  private peek(): OutgoingFrame | undefined {
    for (const q of this.queues) if (q.length > 0) return q[0]
    return undefined
  }

  private take(): void {
    for (const q of this.queues) {
      if (q.length > 0) {
        q.shift()
        return
      }
    }
  }
}
