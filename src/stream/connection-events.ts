/** What a ReconnectingConnection tells the world. Times are the injected clock's ms. */
import type { EndCause, MessageKind } from './managed-socket-types.ts'

export interface ConnectionEvents {
  /** A socket completed its handshake. `rotation`: it was opened to replace a live one. */
  open: { readonly socketId: string; readonly url: string; readonly rotation: boolean; readonly at: number }
  /** Every text frame, after the consumer classified it. */
  message: {
    readonly socketId: string
    readonly text: string
    readonly receivedAt: number
    readonly kind: MessageKind
  }
  /**
   * A socket delivered its first data message. `resumedAfter` is set when this
   * ends an outage: data may be missing between `from` (last data before the
   * outage, null if none ever arrived) and `to` (this first message).
   */
  healthy: {
    readonly socketId: string
    readonly at: number
    readonly resumedAfter: { readonly from: number | null; readonly to: number } | null
  }
  /** A socket ended. `delayMs` is the wait before the next attempt (0 on hand-over). */
  close: {
    readonly socketId: string
    readonly cause: EndCause
    readonly code: number | null
    readonly reason: string
    readonly willReconnect: boolean
    readonly delayMs: number | null
    readonly at: number
  }
  /** Start of an outage: no socket is delivering data any more. Emitted once per outage. */
  disconnected: {
    readonly socketId: string
    readonly cause: EndCause
    readonly lastMessageAt: number | null
    readonly at: number
  }
  /** A new attempt is scheduled. `attempt` counts failures since the last healthy socket. */
  reconnecting: {
    readonly attempt: number
    readonly delayMs: number
    readonly reason: EndCause | 'spawn_failed'
  }
  /** A replacement socket is being opened while the current one still serves. */
  rotating: { readonly socketId: string; readonly reason: string }
  /** Socket-level errors, for logging; the connection handles them itself. */
  error: { readonly socketId: string | null; readonly error: Error }
}

export interface ConnectionStatus {
  readonly name: string
  /** The active socket is open. */
  readonly connected: boolean
  /** The active socket has delivered data since it opened. */
  readonly healthy: boolean
  readonly activeSocketId: string | null
  readonly openSockets: number
  readonly openedAt: number | null
  readonly lastMessageAt: number | null
  readonly reconnects: number
  readonly rotations: number
  readonly framesSent: number
  readonly framesQueued: number
}
