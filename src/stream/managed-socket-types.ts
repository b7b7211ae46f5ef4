/** The contract between a ManagedSocket and its owner. */
import type { ManagedSocket } from './managed-socket.ts'
import type { PacerOptions } from './outgoing-pacer.ts'

/** What the consumer made of an incoming text frame. Only 'data' proves health. */
export type MessageKind = 'data' | 'control' | 'invalid'

export type EndCause =
  | 'remote_close'
  | 'error'
  | 'http_status'
  | 'handshake_timeout'
  | 'stale'
  | 'pong_timeout'
  | 'rotated'
  | 'stopped'

export interface SocketEnd {
  readonly socketId: string
  readonly cause: EndCause
  readonly code: number | null
  readonly reason: string
  readonly httpStatus: number | null
  readonly retryAfterMs: number | null
  readonly openedAt: number | null
  readonly firstDataAt: number | null
  readonly lastDataAt: number | null
  readonly endedAt: number
}

export interface SocketTuning {
  readonly handshakeTimeoutMs: number
  readonly staleAfterMs: number
  readonly clientPingMs: number
  readonly pongTimeoutMs: number
  readonly maxLifetimeMs: number
  readonly lifetimeJitterMs: number
  readonly pacer: PacerOptions
}

export interface SocketHooks {
  classify(text: string, receivedAt: number, socket: ManagedSocket): MessageKind
  onOpen(socket: ManagedSocket): void
  onHealthy(socket: ManagedSocket): void
  onError(socket: ManagedSocket, error: Error): void
}
