/**
 * One WebSocket and every timer that serves it. When the socket ends, all of
 * its timers and its outgoing queue end with it, at once (LESSONS: a ping timer
 * outliving its socket became a reconnect loop, and leaked).
 *
 * `ended` resolves as soon as the socket is finished for our purposes — when we
 * decide to drop it (stale, pong timeout, rotation, stop) or when it closes.
 * `closed` resolves when the TCP connection is actually gone.
 */
import type { IncomingMessage } from 'node:http'
import WebSocket from 'ws'
import type { Clock, TimerHandle } from '../core/clock.ts'
import { jitterAround } from '../core/retry.ts'
import type { EndCause, SocketEnd, SocketHooks, SocketTuning } from './managed-socket-types.ts'
import { type OutgoingFrame, OutgoingPacer } from './outgoing-pacer.ts'

// Binance frames are a few hundred bytes; refuse absurd frames before buffering them.
const MAX_PAYLOAD_BYTES = 1024 * 1024

export class ManagedSocket {
  readonly ended: Promise<SocketEnd>
  readonly closed: Promise<void>
  /** Resolves on the first data message; stays pending if the socket never proves itself. */
  readonly healthy: Promise<void>
  readonly createdAt: number
  openedAt: number | null = null
  firstDataAt: number | null = null
  lastDataAt: number | null = null
  endInfo: SocketEnd | null = null

  private readonly ws: WebSocket
  private readonly pacer: OutgoingPacer
  private readonly timers = new Set<TimerHandle>()
  private pongTimer: TimerHandle | null = null
  private handshakeTimer: TimerHandle | null = null
  private pingSeq = 0
  private lastError: Error | null = null
  private http: { status: number; retryAfterMs: number | null } | null = null
  private rotationWanted: string | null = null
  private rotationWaiter: ((reason: string) => void) | null = null
  private resolveEnded!: (end: SocketEnd) => void
  private resolveClosed!: () => void
  private resolveHealthy!: () => void

  readonly id: string
  readonly url: string
  private readonly clock: Clock
  private readonly random: () => number
  private readonly tuning: SocketTuning
  private readonly hooks: SocketHooks<ManagedSocket>

  constructor(init: {
    id: string
    url: string
    clock: Clock
    random: () => number
    tuning: SocketTuning
    hooks: SocketHooks<ManagedSocket>
  }) {
    this.id = init.id
    this.url = init.url
    this.clock = init.clock
    this.random = init.random
    this.tuning = init.tuning
    this.hooks = init.hooks
    const { url, clock, tuning } = init
    this.ended = new Promise((r) => {
      this.resolveEnded = r
    })
    this.closed = new Promise((r) => {
      this.resolveClosed = r
    })
    this.healthy = new Promise((r) => {
      this.resolveHealthy = r
    })
    this.createdAt = clock.now()
    this.pacer = new OutgoingPacer(clock, (f) => this.transmit(f), tuning.pacer)
    // Pongs go through our pacer, so ws must not answer pings behind its back.
    this.ws = new WebSocket(url, { autoPong: false, maxPayload: MAX_PAYLOAD_BYTES, perMessageDeflate: false })
    this.ws.on('open', () => this.handleOpen())
    this.ws.on('message', (data, isBinary) => this.handleMessage(data, isBinary))
    this.ws.on('ping', (data) => this.pacer.enqueue({ kind: 'pong', data }))
    this.ws.on('pong', () => this.handlePong())
    this.ws.on('error', (err) => this.handleError(err))
    this.ws.on('unexpected-response', (_req, res) => this.handleHttpResponse(res))
    this.ws.on('close', (code, reason) => this.handleClose(code, reason.toString()))
    this.handshakeTimer = this.schedule(tuning.handshakeTimeoutMs, () =>
      this.finish('handshake_timeout', `no handshake within ${tuning.handshakeTimeoutMs} ms`),
    )
  }

  get isOpen(): boolean {
    return this.endInfo === null && this.ws.readyState === WebSocket.OPEN
  }

  get sent(): number {
    return this.pacer.sent
  }

  get queued(): number {
    return this.pacer.queued
  }

  /** Queues a text frame behind the pacer; dropped silently once the socket has ended. */
  send(text: string): void {
    this.pacer.enqueue({ kind: 'text', text })
  }

  /** Resolves when this socket should be replaced (lifetime, serverShutdown, retry). */
  whenRotationDue(): Promise<string> {
    const wanted = this.rotationWanted
    if (wanted !== null) {
      this.rotationWanted = null
      return Promise.resolve(wanted)
    }
    return new Promise((r) => {
      this.rotationWaiter = r
    })
  }

  requestRotation(reason: string): void {
    if (this.endInfo) return
    const waiter = this.rotationWaiter
    if (waiter) {
      this.rotationWaiter = null
      waiter(reason)
    } else {
      this.rotationWanted = reason
    }
  }

  /** Asks for rotation again later; the timer is this socket's and dies with it. */
  retryRotationAfter(ms: number, reason: string): void {
    this.schedule(ms, () => this.requestRotation(reason))
  }

  /** Ends the socket for `cause`; graceful close for rotation/stop, abrupt otherwise. */
  finish(cause: EndCause, reason: string, code: number | null = null): void {
    if (this.endInfo) return
    this.markEnded(cause, reason, code)
    const graceful = (cause === 'rotated' || cause === 'stopped') && this.ws.readyState === WebSocket.OPEN
    if (graceful) this.ws.close(1000, cause)
    else this.ws.terminate()
  }

  private markEnded(cause: EndCause, reason: string, code: number | null): void {
    for (const t of this.timers) t.cancel()
    this.timers.clear()
    this.pongTimer = null
    this.pacer.dispose()
    this.rotationWaiter = null
    this.endInfo = {
      socketId: this.id,
      cause,
      code,
      reason,
      httpStatus: this.http?.status ?? null,
      retryAfterMs: this.http?.retryAfterMs ?? null,
      openedAt: this.openedAt,
      firstDataAt: this.firstDataAt,
      lastDataAt: this.lastDataAt,
      endedAt: this.clock.now(),
    }
    this.resolveEnded(this.endInfo)
  }

  private schedule(ms: number, fn: () => void): TimerHandle {
    const handle: TimerHandle = this.clock.setTimeout(() => {
      this.timers.delete(handle)
      if (!this.endInfo) fn()
    }, ms)
    this.timers.add(handle)
    return handle
  }

  private cancel(handle: TimerHandle | null): void {
    if (!handle) return
    handle.cancel()
    this.timers.delete(handle)
  }

  private handleOpen(): void {
    if (this.endInfo) return
    this.openedAt = this.clock.now()
    this.cancel(this.handshakeTimer)
    this.armStale(this.tuning.staleAfterMs)
    this.schedule(this.tuning.clientPingMs, () => this.sendPing())
    const lifetime = jitterAround(this.tuning.maxLifetimeMs, this.tuning.lifetimeJitterMs, this.random)
    this.schedule(lifetime, () => this.requestRotation('max_lifetime'))
    this.hooks.onOpen(this)
  }

  private handleMessage(data: WebSocket.RawData, isBinary: boolean): void {
    if (this.endInfo) return
    const receivedAt = this.clock.now()
    const text = isBinary ? '' : rawToString(data)
    const kind = isBinary ? 'invalid' : this.hooks.classify(text, receivedAt, this)
    if (kind !== 'data' || this.endInfo) return
    this.lastDataAt = receivedAt
    if (this.firstDataAt === null) {
      this.firstDataAt = receivedAt
      this.resolveHealthy()
      this.hooks.onHealthy(this)
    }
  }

  // Re-arming on every message would allocate a timer per frame; instead the
  // timer wakes at the earliest possible stale instant and re-checks.
  private armStale(ms: number): void {
    this.schedule(ms, () => {
      const last = this.lastDataAt ?? this.openedAt ?? this.createdAt
      const silentFor = this.clock.now() - last
      if (silentFor >= this.tuning.staleAfterMs) {
        this.finish('stale', `no data message for ${silentFor} ms`)
      } else {
        this.armStale(this.tuning.staleAfterMs - silentFor)
      }
    })
  }

  private sendPing(): void {
    this.pacer.enqueue({ kind: 'ping', data: Buffer.from(String(++this.pingSeq)) })
  }

  private handlePong(): void {
    // Only a pong to our outstanding ping counts; unsolicited ones prove nothing.
    if (!this.pongTimer || this.endInfo) return
    this.cancel(this.pongTimer)
    this.pongTimer = null
    this.schedule(this.tuning.clientPingMs, () => this.sendPing())
  }

  private transmit(frame: OutgoingFrame): void {
    if (this.ws.readyState !== WebSocket.OPEN) return
    try {
      if (frame.kind === 'text') this.ws.send(frame.text)
      else if (frame.kind === 'pong') this.ws.pong(frame.data)
      else {
        this.ws.ping(frame.data)
        // The deadline starts when the ping really leaves, not when it was queued.
        this.pongTimer = this.schedule(this.tuning.pongTimeoutMs, () =>
          this.finish('pong_timeout', `no pong within ${this.tuning.pongTimeoutMs} ms`),
        )
      }
    } catch (err) {
      this.handleError(err instanceof Error ? err : new Error(String(err)))
    }
  }

  private handleError(err: Error): void {
    this.lastError = err
    if (!this.endInfo) this.hooks.onError(this, err)
  }

  private handleHttpResponse(res: IncomingMessage): void {
    this.http = {
      status: res.statusCode ?? 0,
      retryAfterMs: parseRetryAfter(res.headers['retry-after'], this.clock.now()),
    }
    res.resume()
    this.ws.terminate()
  }

  private handleClose(code: number, reason: string): void {
    if (!this.endInfo) {
      if (this.http) this.markEnded('http_status', `HTTP ${this.http.status}`, null)
      else if (this.openedAt === null || (this.lastError && code === 1006)) {
        this.markEnded('error', this.lastError?.message ?? reason, code)
      } else this.markEnded('remote_close', reason, code)
    }
    this.resolveClosed()
  }
}

function rawToString(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8')
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.from(data).toString('utf8')
}

/** Retry-After is seconds or an HTTP date; null when absent or unreadable. */
function parseRetryAfter(value: string | undefined, now: number): number | null {
  if (!value) return null
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000
  const at = Date.parse(value)
  return Number.isNaN(at) ? null : Math.max(0, at - now)
}
