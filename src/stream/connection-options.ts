/** How a ReconnectingConnection is configured, and why the defaults are what they are. */
import type { Clock } from '../core/clock.ts'
import { type ExponentialSchedule, SCHEDULES } from '../core/retry.ts'
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
  readonly healthyAfterMs?: number
  readonly clientPingMs?: number
  readonly pongTimeoutMs?: number
  readonly maxLifetimeMs?: number
  readonly lifetimeJitterMs?: number
  readonly backoff?: ExponentialSchedule
  readonly pacer?: PacerOptions
}

const HOUR = 3_600_000

export const CONNECTION_DEFAULTS = Object.freeze({
  handshakeTimeoutMs: 10_000,
  // Silence deadline, judged per connection across all its streams (pings and
  // control replies do not count). Binance pushes every kline_1m stream every 2 s
  // while its symbol trades (binance-api.md §4, "Update Speed: 2000ms") and every
  // bookTicker on each change of its best quote (§5), and a connection carries both
  // streams of up to 512 symbols. 60 s without a single data frame is 30 missed
  // kline updates on every stream at once and no quote change on any book: a
  // broken subscription or a zombie, not a quiet market. Illiquid symbols are the
  // reason it is not shorter (a 1m kline of one was seen to send a single frame in
  // 30 s, §4); a connection of nothing but such symbols may now and then be replaced
  // needlessly, which costs a reconnect, never data: closed minutes are reconciled
  // from REST whatever the stream does. A replacement gets the same deadline — one
  // that is silent too is just as broken. Dead TCP is caught sooner by the ping
  // check below.
  staleAfterMs: 60_000,
  // A socket is healthy — and resets the reconnect backoff (SPEC §5) — once it has
  // delivered data over at least this span. One frame proves little: a server that
  // accepts, sends a frame and drops must keep being backed off from. Half the
  // silence deadline: a socket that kept delivering this long was serving.
  healthyAfterMs: 30_000,
  // Binance pings us every 20 s, but a dead path would also stop those silently;
  // our own ping notices within clientPingMs + pongTimeoutMs.
  clientPingMs: 30_000,
  pongTimeoutMs: 10_000,
  // Binance cuts at 24 h. Rotating at 23 h 30 m ± 5 min leaves 25+ minutes for the
  // replacement to prove itself (and retries), and de-synchronises connections.
  maxLifetimeMs: 23.5 * HOUR,
  lifetimeJitterMs: SCHEDULES['stream.lifetime'].spreadMs,
})
