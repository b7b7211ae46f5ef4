/**
 * SUBSCRIBE bookkeeping for a feed: the requests Binance has not answered yet,
 * and what happens when it refuses one. A refused request is sent again on the
 * same socket after a jittered, growing delay; every third refusal in a row
 * replaces the socket instead (a fresh one subscribes everything afresh), so a
 * failed SUBSCRIBE never leaves its streams unsubscribed for good. All frames go
 * through the socket's pacer, so retries stay within 5 messages/s. Emits, never
 * logs: the feed turns `onRetry` into an event.
 */
import type { Clock, TimerHandle } from '../../core/clock.ts'
import { delayFor, type ExponentialSchedule, SCHEDULES } from '../../core/retry.ts'
import type { SocketSender } from '../../stream/connection-options.ts'

export interface PendingRequest {
  readonly connectionId: string
  readonly socketId: string
  /** Index of this request's batch in the connection's SUBSCRIBE plan. */
  readonly batch: number
  readonly streams: readonly string[]
}

export interface SubscribeRetry {
  readonly connectionId: string
  readonly socketId: string
  readonly streams: readonly string[]
  /** Refusals in a row for this batch of this connection, across sockets. */
  readonly attempt: number
  readonly delayMs: number
  readonly action: 'resend' | 'replace'
  readonly code: number
  readonly msg: string
}

export interface SubscriptionsOptions {
  readonly clock: Clock
  readonly random: () => number
  readonly onRetry: (e: SubscribeRetry) => void
  /** Replace the socket: open a new one (which subscribes afresh), then close this one. */
  readonly replace: (connectionId: string, socketId: string) => void
  readonly backoff?: ExponentialSchedule
}

/** Every this many refusals in a row, the socket is replaced rather than asked again. */
export const REPLACE_EVERY = 3

export class Subscriptions {
  private readonly opts: SubscriptionsOptions
  private readonly pending = new Map<number, PendingRequest>()
  private readonly senders = new Map<string, SocketSender>()
  private readonly timers = new Map<string, Set<TimerHandle>>()
  /** `connectionId batch` → refusals in a row; cleared when that batch is acknowledged. */
  private readonly refusals = new Map<string, number>()
  private requestSeq = 0

  constructor(opts: SubscriptionsOptions) {
    this.opts = opts
  }

  /** A socket opened: subscribe every batch on it. */
  open(connectionId: string, socket: SocketSender, batches: readonly (readonly string[])[]): void {
    this.senders.set(socket.socketId, socket)
    batches.forEach((streams, batch) => {
      this.send(socket, { connectionId, socketId: socket.socketId, batch, streams })
    })
  }

  /** The unanswered request with this id, if it is one of ours. */
  request(id: number): PendingRequest | undefined {
    return this.pending.get(id)
  }

  /** `{"result":null,"id":…}` for one of ours: the request it answers, or undefined. */
  acknowledged(id: number): PendingRequest | undefined {
    const p = this.pending.get(id)
    if (!p) return undefined
    this.pending.delete(id)
    this.refusals.delete(key(p))
    return p
  }

  /** An error reply for one of ours: schedules the retry and returns the request, or undefined. */
  refused(id: number, code: number, msg: string): PendingRequest | undefined {
    const p = this.pending.get(id)
    if (!p) return undefined
    this.pending.delete(id)
    const attempt = (this.refusals.get(key(p)) ?? 0) + 1
    this.refusals.set(key(p), attempt)
    const delayMs = delayFor(this.opts.backoff ?? SCHEDULES['stream.subscribe'], attempt, this.opts.random)
    const action = attempt % REPLACE_EVERY === 0 ? 'replace' : 'resend'
    this.opts.onRetry({ ...p, attempt, delayMs, action, code, msg })
    this.schedule(p.socketId, delayMs, () => {
      const socket = this.senders.get(p.socketId)
      if (!socket) return
      if (action === 'replace') this.opts.replace(p.connectionId, p.socketId)
      else this.send(socket, p)
    })
    return p
  }

  /** The socket is gone: its unanswered requests and retry timers go with it. */
  socketClosed(socketId: string): void {
    this.senders.delete(socketId)
    for (const t of this.timers.get(socketId) ?? []) t.cancel()
    this.timers.delete(socketId)
    for (const [id, p] of this.pending) if (p.socketId === socketId) this.pending.delete(id)
  }

  pendingOn(socketId: string | null): number {
    let n = 0
    for (const p of this.pending.values()) if (p.socketId === socketId) n++
    return n
  }

  stop(): void {
    for (const id of [...this.senders.keys(), ...this.timers.keys()]) this.socketClosed(id)
    this.pending.clear()
  }

  private send(socket: SocketSender, p: PendingRequest): void {
    const id = ++this.requestSeq
    this.pending.set(id, p)
    socket.send(JSON.stringify({ method: 'SUBSCRIBE', params: p.streams, id }))
  }

  private schedule(socketId: string, ms: number, fn: () => void): void {
    let set = this.timers.get(socketId)
    if (!set) {
      set = new Set()
      this.timers.set(socketId, set)
    }
    const timers = set
    const handle = this.opts.clock.setTimeout(() => {
      timers.delete(handle)
      fn()
    }, ms)
    timers.add(handle)
  }
}

function key(p: PendingRequest): string {
  return `${p.connectionId} ${p.batch}`
}
