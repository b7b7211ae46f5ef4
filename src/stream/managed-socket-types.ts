/** The contract between a ManagedSocket and its owner. */
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

/** `S` is the socket that calls them (ManagedSocket); generic so this contract imports nothing of it. */
export interface SocketHooks<S> {
  classify(text: string, receivedAt: number, socket: S): MessageKind
  onOpen(socket: S): void
  onHealthy(socket: S): void
  onError(socket: S, error: Error): void
}
