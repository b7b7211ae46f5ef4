/**
 * A WebSocket connection that stays up: one explicit reconnect loop (CONVENTIONS
 * 8), jittered backoff that resets only after a healthy socket (one that kept
 * delivering data for `healthyAfterMs`, SPEC §5), a watchdog per socket, and
 * rotation before the server's lifetime limit with an overlap so that no
 * message window is lost. Exchange-agnostic: the consumer
 * says which frames are data (`classify`) and what to send on a new socket
 * (`onSocketOpen`).
 */
import type { TimerHandle } from '../core/clock.ts'
import { delayFor, type ExponentialSchedule, SCHEDULES } from '../core/retry.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import type { ConnectionEvents, ConnectionStatus } from './connection-events.ts'
import { CONNECTION_DEFAULTS, type ConnectionOptions } from './connection-options.ts'
import { ManagedSocket } from './managed-socket.ts'
import type { SocketEnd, SocketHooks, SocketTuning } from './managed-socket-types.ts'
import { DEFAULT_PACER } from './outgoing-pacer.ts'

export type { ConnectionOptions, SocketSender } from './connection-options.ts'
export { CONNECTION_DEFAULTS } from './connection-options.ts'

/** 418/429 on the handshake without Retry-After: wait at least this long (we are being told off). */
const TOLD_OFF_MIN_DELAY_MS = 60_000

export class ReconnectingConnection extends TypedEmitter<ConnectionEvents> {
  private readonly random: () => number
  private readonly tuning: SocketTuning
  private readonly backoff: ExponentialSchedule
  private readonly healthyAfterMs: number
  private readonly sockets = new Set<ManagedSocket>()
  private active: ManagedSocket | null = null
  private loopDone: Promise<void> | null = null
  private stopPromise: Promise<void> | null = null
  private stopped = false
  private sleepTimer: TimerHandle | null = null
  private wake: (() => void) | null = null
  private socketSeq = 0
  private inOutage = false
  private outageFrom: number | null = null
  private lastDataAt: number | null = null
  private reconnects = 0
  private rotations = 0
  private sentByGone = 0

  private readonly opts: ConnectionOptions

  constructor(opts: ConnectionOptions) {
    super()
    this.opts = opts
    this.random = opts.random ?? Math.random
    this.backoff = opts.backoff ?? SCHEDULES['stream.reconnect']
    const d = CONNECTION_DEFAULTS
    this.healthyAfterMs = opts.healthyAfterMs ?? d.healthyAfterMs
    this.tuning = {
      handshakeTimeoutMs: opts.handshakeTimeoutMs ?? d.handshakeTimeoutMs,
      staleAfterMs: opts.staleAfterMs ?? d.staleAfterMs,
      clientPingMs: opts.clientPingMs ?? d.clientPingMs,
      pongTimeoutMs: opts.pongTimeoutMs ?? d.pongTimeoutMs,
      maxLifetimeMs: opts.maxLifetimeMs ?? d.maxLifetimeMs,
      lifetimeJitterMs: opts.lifetimeJitterMs ?? d.lifetimeJitterMs,
      pacer: opts.pacer ?? DEFAULT_PACER,
    }
  }

  get name(): string {
    return this.opts.name
  }

  start(): void {
    if (this.loopDone || this.stopped) return
    this.loopDone = this.loop()
  }

  /** Idempotent. Closes every socket with 1000, cancels every timer; no reconnect after it. */
  stop(): Promise<void> {
    if (!this.stopPromise) {
      this.stopped = true
      this.sleepTimer?.cancel()
      this.sleepTimer = null
      this.wake?.()
      for (const s of this.sockets) s.finish('stopped', 'stop() called')
      const closing = [...this.sockets].map((s) => s.closed)
      this.stopPromise = Promise.all([this.loopDone, ...closing]).then(() => undefined)
    }
    return this.stopPromise
  }

  /** Replace the socket (e.g. the server announced shutdown): new one first, then close the old. */
  rotate(reason: string, socketId?: string): void {
    const target = socketId ? [...this.sockets].find((s) => s.id === socketId) : this.active
    target?.requestRotation(reason)
  }

  /** Sends on the active socket through its pacer; dropped if there is none. */
  send(text: string): boolean {
    if (!this.active?.isOpen) return false
    this.active.send(text)
    return true
  }

  status(): ConnectionStatus {
    const a = this.active
    let sent = this.sentByGone
    let queued = 0
    for (const s of this.sockets) {
      sent += s.sent
      queued += s.queued
    }
    return {
      name: this.opts.name,
      connected: a?.isOpen ?? false,
      healthy: (a?.isOpen ?? false) && a?.firstDataAt != null,
      activeSocketId: a?.id ?? null,
      openSockets: [...this.sockets].filter((s) => s.isOpen).length,
      openedAt: a?.openedAt ?? null,
      lastMessageAt: this.lastDataAt,
      reconnects: this.reconnects,
      rotations: this.rotations,
      framesSent: sent,
      framesQueued: queued,
    }
  }

  private async loop(): Promise<void> {
    let failures = 0
    let carried: ManagedSocket | null = null
    while (!this.stopped) {
      let socket: ManagedSocket
      try {
        socket = carried ?? this.spawn(false)
      } catch (err) {
        // A URL the ws client rejects will not heal, but retrying keeps it visible.
        this.emit('error', { socketId: null, error: err instanceof Error ? err : new Error(String(err)) })
        failures++
        await this.pause(failures, 'spawn_failed', null)
        continue
      }
      carried = null
      this.active = socket
      let served: { end: SocketEnd; next: ManagedSocket | null }
      try {
        served = await this.serve(socket)
      } finally {
        socket.finish('stopped', 'connection loop left this socket')
      }
      const { end, next } = served
      if (this.wasHealthy(end)) failures = 0
      if (next) {
        this.emitClose(end, true, 0)
        if (next.firstDataAt === null) this.beginOutage(end)
        carried = next
        continue
      }
      if (this.stopped) {
        this.emitClose(end, false, null)
        break
      }
      failures++
      this.beginOutage(end)
      await this.pause(failures, end.cause, end)
    }
    this.active = null
  }

  private async pause(
    failures: number,
    reason: ConnectionEvents['reconnecting']['reason'],
    end: SocketEnd | null,
  ) {
    let delayMs = delayFor(this.backoff, failures, this.random)
    if (end?.retryAfterMs != null) delayMs = Math.max(delayMs, end.retryAfterMs)
    else if (end?.httpStatus === 418 || end?.httpStatus === 429)
      delayMs = Math.max(delayMs, TOLD_OFF_MIN_DELAY_MS)
    if (end) this.emitClose(end, true, delayMs)
    this.reconnects++
    this.emit('reconnecting', { attempt: failures, delayMs, reason })
    await new Promise<void>((resolve) => {
      if (this.stopped) return resolve()
      this.wake = resolve
      this.sleepTimer = this.opts.clock.setTimeout(() => {
        this.sleepTimer = null
        resolve()
      }, delayMs)
    })
    this.wake = null
  }

  /** Serves one socket, including any rotations, until it ends or hands over to a successor. */
  private async serve(active: ManagedSocket): Promise<{ end: SocketEnd; next: ManagedSocket | null }> {
    let rotationTries = 0
    for (;;) {
      const first = await Promise.race([active.ended, active.whenRotationDue()])
      if (typeof first !== 'string') return { end: first, next: null }
      if (this.stopped) continue
      this.emit('rotating', { socketId: active.id, reason: first })
      const next = this.spawn(true)
      const outcome = await Promise.race([
        next.healthy.then(() => 'healthy' as const),
        next.ended.then(() => 'next_failed' as const),
        active.ended.then(() => 'active_ended' as const),
      ])
      if (this.stopped) {
        next.finish('stopped', 'stop() called')
        return { end: await active.ended, next: null }
      }
      if (outcome === 'healthy') {
        this.rotations++
        active.finish('rotated', `replaced by ${next.id} (${first})`)
        return { end: await active.ended, next }
      }
      if (outcome === 'active_ended') return { end: await active.ended, next }
      // The replacement failed before delivering data; the old socket still serves.
      rotationTries++
      const delayMs = delayFor(this.backoff, rotationTries, this.random)
      this.emitClose(await next.ended, true, delayMs)
      active.retryRotationAfter(delayMs, first)
    }
  }

  /** Delivered data over at least `healthyAfterMs`: only such a socket resets the backoff. */
  private wasHealthy(end: SocketEnd): boolean {
    if (end.firstDataAt === null || end.lastDataAt === null) return false
    return end.lastDataAt - end.firstDataAt >= this.healthyAfterMs
  }

  private spawn(rotation: boolean): ManagedSocket {
    const id = `${this.opts.name}#${++this.socketSeq}`
    const socket = new ManagedSocket({
      id,
      url: this.opts.url(),
      clock: this.opts.clock,
      random: this.random,
      tuning: this.tuning,
      hooks: this.hooks(rotation),
    })
    this.sockets.add(socket)
    void socket.closed.then(() => {
      this.sentByGone += socket.sent
      this.sockets.delete(socket)
    })
    return socket
  }

  private hooks(rotation: boolean): SocketHooks<ManagedSocket> {
    return {
      classify: (text, receivedAt, s) => {
        const kind = this.opts.classify ? this.opts.classify(text, receivedAt, s.id) : 'data'
        if (kind === 'data') this.lastDataAt = receivedAt
        this.emit('message', { socketId: s.id, text, receivedAt, kind })
        return kind
      },
      onOpen: (s) => {
        this.emit('open', { socketId: s.id, url: s.url, rotation, at: s.openedAt ?? this.opts.clock.now() })
        this.opts.onSocketOpen?.({ socketId: s.id, send: (text) => s.send(text) })
      },
      onHealthy: (s) => this.markHealthy(s),
      onError: (s, error) => this.emit('error', { socketId: s.id, error }),
    }
  }

  private markHealthy(s: ManagedSocket): void {
    const to = s.firstDataAt ?? this.opts.clock.now()
    const resumedAfter = this.inOutage ? { from: this.outageFrom, to } : null
    this.inOutage = false
    this.outageFrom = null
    this.emit('healthy', { socketId: s.id, at: to, resumedAfter })
  }

  private beginOutage(end: SocketEnd): void {
    if (this.inOutage) return
    this.inOutage = true
    this.outageFrom = this.lastDataAt
    this.emit('disconnected', {
      socketId: end.socketId,
      cause: end.cause,
      lastMessageAt: this.lastDataAt,
      at: end.endedAt,
    })
  }

  private emitClose(end: SocketEnd, willReconnect: boolean, delayMs: number | null): void {
    this.emit('close', {
      socketId: end.socketId,
      cause: end.cause,
      code: end.code,
      reason: end.reason,
      willReconnect,
      delayMs,
      at: end.endedAt,
    })
  }
}
