/**
 * One simulated stream connection: control messages, the 5-messages-per-
 * second rule, server pings with a pong deadline, the lifetime limit, and
 * the market feed. Every timer it starts is cancelled in `dispose`.
 */
import type { WebSocket } from 'ws'
import type { Clock, TimerHandle } from '../core/clock.ts'
import type { Market } from '../core/records.ts'
import { type ControlState, handleControl } from './control.ts'
import { every } from './every.ts'
import { MarketFeed } from './feed.ts'
import { frame, SERVER_SHUTDOWN_STREAM, serverShutdownEvent } from './frames.ts'
import type { ConnectionTarget, StreamName } from './streams.ts'

export interface ConnectionConfig {
  readonly clock: Clock
  readonly klineUpdateMs: number
  readonly bookUpdateMs: number
  readonly pingIntervalMs: number
  readonly pongTimeoutMs: number
  readonly closedFrameDelayMs: number
  readonly maxStreamsPerConnection: number
  readonly maxIncomingPerSecond: number
  readonly connectionLifetimeMs: number
  readonly isSkipped: (market: Market, symbol: string, openTime: number) => boolean
  readonly isBookQuiet: (market: Market, symbol: string, openTime: number) => boolean
  readonly hasMinute: (market: Market, symbol: string, openTime: number) => boolean
  /** While true the connection is a zombie: it sends, answers and enforces nothing. */
  readonly isSilent: () => boolean
  readonly log: (line: string) => void
}

export interface ConnectionInfo {
  id: number
  path: string
  streams: string[]
  combined: boolean
  openedAt: number
  pingsSent: number
  pongsReceived: number
  controlMessages: number
}

/** Close codes: Binance closes a policy breach with 1008 "Too many requests". */
export const CLOSE_RATE_LIMIT = 1008
export const CLOSE_PONG_TIMEOUT = 1008
export const CLOSE_LIFETIME = 1001

export class SimConnection {
  readonly openedAt: number
  private state: ControlState
  private pingsSent = 0
  private pongsReceived = 0
  private controlMessages = 0
  private closing = false
  private readonly incoming: number[] = []
  private readonly awaitingPong = new Map<string, TimerHandle>()
  private readonly timers: TimerHandle[] = []
  private readonly feed: MarketFeed

  readonly id: number
  /** The market whose host the connection is on. */
  readonly market: Market
  private readonly ws: WebSocket
  private readonly target: ConnectionTarget
  private readonly cfg: ConnectionConfig

  constructor(id: number, ws: WebSocket, target: ConnectionTarget, cfg: ConnectionConfig) {
    this.id = id
    this.market = target.market
    this.ws = ws
    this.target = target
    this.cfg = cfg
    this.openedAt = cfg.clock.now()
    this.state = { streams: target.streams, combined: target.combined }
    ws.on('message', (data) => this.onMessage(String(data)))
    ws.on('ping', (data) => this.onPing(data))
    ws.on('pong', (data) => this.onPong(data))
    this.timers.push(every(cfg.clock, cfg.pingIntervalMs, () => this.sendPing()))
    this.timers.push(
      cfg.clock.setTimeout(
        () => this.close(CLOSE_LIFETIME, 'Connection lifetime reached'),
        cfg.connectionLifetimeMs,
      ),
    )
    this.feed = new MarketFeed(
      cfg,
      target,
      () => this.state.streams,
      (s, e) => this.sendEvent(s, e),
    )
  }

  info(): ConnectionInfo {
    return {
      id: this.id,
      path: this.target.path,
      streams: this.state.streams.map((s) => s.name),
      combined: this.state.combined,
      openedAt: this.openedAt,
      pingsSent: this.pingsSent,
      pongsReceived: this.pongsReceived,
      controlMessages: this.controlMessages,
    }
  }

  /** Sends text verbatim, even while silent (test hook). */
  sendRaw(text: string): void {
    if (!this.closing) this.ws.send(text)
  }

  sendServerShutdown(): void {
    this.sendRaw(
      frame(SERVER_SHUTDOWN_STREAM, serverShutdownEvent(this.cfg.clock.now()), this.state.combined),
    )
  }

  /** Abrupt end: no close frame. */
  terminate(): void {
    this.dispose()
    this.ws.terminate()
  }

  dispose(): void {
    this.closing = true
    for (const t of this.timers) t.cancel()
    for (const t of this.awaitingPong.values()) t.cancel()
    this.awaitingPong.clear()
    this.feed.stop()
  }

  private close(code: number, reason: string): void {
    if (this.closing) return
    this.cfg.log(`connection ${this.id} closed by server: ${code} ${reason}`)
    this.dispose()
    this.ws.close(code, reason)
  }

  private send(text: string): void {
    if (!this.closing && !this.cfg.isSilent()) this.ws.send(text)
  }

  private sendEvent(stream: StreamName, event: string): void {
    this.send(frame(stream.name, event, this.state.combined))
  }

  /** Counts one incoming frame; false when it broke the rate limit and the connection is closing. */
  private admit(): boolean {
    if (this.closing) return false
    const now = this.cfg.clock.now()
    this.incoming.push(now)
    while (this.incoming.length > 0 && (this.incoming[0] as number) <= now - 1000) this.incoming.shift()
    if (this.incoming.length > this.cfg.maxIncomingPerSecond && !this.cfg.isSilent()) {
      this.close(CLOSE_RATE_LIMIT, 'Too many requests')
      return false
    }
    return true
  }

  private onMessage(text: string): void {
    if (!this.admit()) return
    this.controlMessages++
    if (this.cfg.isSilent()) return
    const out = handleControl(text, this.state, this.cfg.maxStreamsPerConnection)
    if (out.next) this.state = out.next
    this.send(out.reply)
  }

  private onPing(data: Buffer): void {
    if (this.admit() && !this.cfg.isSilent()) this.ws.pong(data)
  }

  private onPong(data: Buffer): void {
    if (!this.admit()) return
    this.pongsReceived++
    const payload = data.toString('latin1')
    if (!this.awaitingPong.has(payload)) return // unsolicited: allowed, but answers nothing
    // An echo answers that ping and every older one.
    for (const [p, deadline] of this.awaitingPong) {
      deadline.cancel()
      this.awaitingPong.delete(p)
      if (p === payload) break
    }
  }

  private sendPing(): void {
    if (this.closing || this.cfg.isSilent()) return
    const payload = String(this.cfg.clock.now())
    this.pingsSent++
    this.ws.ping(payload)
    const deadline = this.cfg.clock.setTimeout(() => {
      if (this.awaitingPong.has(payload) && !this.cfg.isSilent())
        this.close(CLOSE_PONG_TIMEOUT, 'Pong timeout')
    }, this.cfg.pongTimeoutMs)
    this.awaitingPong.set(payload, deadline)
  }
}
