/** How a ReconnectingConnection is configured, and why the defaults are what they are. */
import type { Clock } from '../core/clock.ts'
import type { BackoffOptions } from './backoff.ts'
import type { MessageKind } from './managed-socket-types.ts'
import type { PacerOptions } from './outgoing-pacer.ts'

export interface SocketSender {
  readonly socketId: string
  /** Queued behind the socket's pacer; lost with the socket, so re-send per socket. */
  send(text: string): void
}

export interface ConnectionOptions {
  readonly name: string
  /** Called for every new socket, so a reconnect can pick up a changed URL. */
  readonly url: () => string
  readonly clock: Clock
  readonly random?: () => number
  /** Default: every text frame is data. */
  readonly classify?: (text: string, receivedAt: number, socketId: string) => MessageKind
  /** Runs on every socket open, including reconnects and rotations (re-subscribe here). */
  readonly onSocketOpen?: (socket: SocketSender) => void
  readonly handshakeTimeoutMs?: number
  readonly staleAfterMs?: number
  readonly clientPingMs?: number
  readonly pongTimeoutMs?: number
  readonly maxLifetimeMs?: number
  readonly lifetimeJitterMs?: number
  readonly backoff?: BackoffOptions
  readonly pacer?: PacerOptions
}

const HOUR = 3_600_000

export const CONNECTION_DEFAULTS = Object.freeze({
  handshakeTimeoutMs: 10_000,
  // Judged per connection, across all its streams: active klines update every ~2 s
  // and bookTicker on every quote change, so 2 min of total silence means a broken
  // subscription, not a quiet market. Consecutive stale ends stretch it up to 4×
  // (connection.ts) so an all-illiquid connection is not killed over and over.
  // Dead TCP is caught sooner by the ping check below.
  staleAfterMs: 120_000,
  // Binance pings us every 20 s, but a dead path would also stop those silently;
  // our own ping notices within clientPingMs + pongTimeoutMs.
  clientPingMs: 30_000,
  pongTimeoutMs: 10_000,
  // Binance cuts at 24 h. Rotating at 23 h 30 m ± 5 min leaves 25+ minutes for the
  // replacement to prove itself (and retries), and de-synchronises connections.
  maxLifetimeMs: 23.5 * HOUR,
  lifetimeJitterMs: 5 * 60_000,
})
