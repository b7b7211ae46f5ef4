/**
 * The Binance market-data feed: symbols → ≤1024 streams per connection →
 * one ReconnectingConnection each → decoded StreamEvents. Binance specifics
 * live here (URLs, SUBSCRIBE and its retries, serverShutdown); lifecycle lives
 * in src/stream.
 */

import type { Clock } from '../../core/clock.ts'
import type { StreamEvent } from '../../core/records.ts'
import { TypedEmitter } from '../../core/typed-emitter.ts'
import type { MarketModule } from '../../markets/market.ts'
import { SPOT } from '../../markets/spot.ts'
import { type ConnectionOptions, ReconnectingConnection } from '../../stream/connection.ts'
import type { ConnectionEvents } from '../../stream/connection-events.ts'
import type { MessageKind } from '../../stream/managed-socket-types.ts'
import { decodeFrame } from './decode.ts'
import { chunkStreams, MAX_URL_LENGTH, planConnectionUrl, streamsFor } from './stream-names.ts'
import { type SubscribeRetry, Subscriptions } from './subscriptions.ts'

export interface EventMeta {
  readonly connectionId: string
  readonly socketId: string
  readonly stream: string | null
}

export type ConnectionTuning = Partial<
  Pick<
    ConnectionOptions,
    | 'handshakeTimeoutMs'
    | 'staleAfterMs'
    | 'healthyAfterMs'
    | 'clientPingMs'
    | 'pongTimeoutMs'
    | 'maxLifetimeMs'
    | 'lifetimeJitterMs'
    | 'backoff'
    | 'pacer'
  >
>

export interface BinanceFeedOptions {
  /** BINANCE_STREAM_URL, e.g. `wss://stream.binance.com:9443/ws`. */
  readonly baseUrl: string
  readonly symbols: readonly string[]
  readonly clock: Clock
  readonly random?: () => number
  /** kline, book_ticker and control_error events, in arrival order per socket. */
  readonly onEvent: (event: StreamEvent, meta: EventMeta) => void
  readonly onInvalid?: (reason: string, detail: string, connectionId: string) => void
  readonly maxStreamsPerConnection?: number
  readonly maxUrlLength?: number
  /** Streams per SUBSCRIBE request when the URL could not hold them all. */
  readonly subscribeBatchSize?: number
  readonly connection?: ConnectionTuning
  /** Stream names, routes, limits and payload rules (default: spot). */
  readonly market?: MarketModule
}

type WithConnection<T> = { readonly connectionId: string } & T

export interface BinanceFeedEvents {
  connected: WithConnection<{ socketId: string; streams: number; rotation: boolean; at: number }>
  /** First data on a socket. `afterReconnect`: it ends an outage whose window is `resumedAfter`. */
  healthy: WithConnection<{
    socketId: string
    afterReconnect: boolean
    resumedAfter: ConnectionEvents['healthy']['resumedAfter']
    at: number
  }>
  disconnected: WithConnection<{ socketId: string; reason: string; lastMessageAt: number | null; at: number }>
  reconnecting: WithConnection<{ attempt: number; delayMs: number; reason: string }>
  close: WithConnection<ConnectionEvents['close']>
  rotating: WithConnection<{ socketId: string; reason: string }>
  invalid: WithConnection<{ socketId: string; reason: string; detail: string }>
  control_error: WithConnection<{
    socketId: string
    id: number | string | null
    code: number
    msg: string
    streams: readonly string[] | null
  }>
  subscribed: WithConnection<{ socketId: string; id: number; streams: number }>
  /** Binance refused a SUBSCRIBE: it is sent again after `delayMs`, or the socket is replaced. */
  subscribe_retry: SubscribeRetry
  error: WithConnection<{ socketId: string | null; error: Error }>
}

export interface FeedConnectionStatus {
  readonly id: string
  readonly streams: number
  readonly connected: boolean
  readonly healthy: boolean
  readonly lastMessageAt: number | null
  readonly openedAt: number | null
  readonly reconnects: number
  readonly rotations: number
  /** SUBSCRIBE requests sent on the active socket and not yet acknowledged. */
  readonly pendingSubscriptions: number
}

/** Binance has no documented cap on SUBSCRIBE params; 200 keeps frames small and well-tested sizes. */
const DEFAULT_SUBSCRIBE_BATCH = 200

interface FeedConnection {
  readonly id: string
  readonly streams: readonly string[]
  readonly conn: ReconnectingConnection
}

export class BinanceFeed extends TypedEmitter<BinanceFeedEvents> {
  private readonly opts: BinanceFeedOptions
  private readonly connections: FeedConnection[]
  private readonly subscriptions: Subscriptions
  private readonly rules: MarketModule['decode']

  constructor(opts: BinanceFeedOptions) {
    super()
    this.opts = opts
    this.subscriptions = new Subscriptions({
      clock: opts.clock,
      random: opts.random ?? Math.random,
      onRetry: (e) => this.emit('subscribe_retry', e),
      replace: (connectionId, socketId) =>
        this.connections.find((c) => c.id === connectionId)?.conn.rotate('subscribe_failed', socketId),
    })
    const market = opts.market ?? SPOT
    this.rules = market.decode
    // Streams served on different routes (futures: /market, /public) never share a connection.
    const byRoute = new Map<string, string[]>()
    for (const s of streamsFor(opts.symbols, market)) {
      const route = market.stream.route(s)
      byRoute.set(route, [...(byRoute.get(route) ?? []), s])
    }
    const max = opts.maxStreamsPerConnection ?? market.stream.maxStreamsPerConnection
    const chunks = [...byRoute].flatMap(([route, streams]) =>
      chunkStreams(streams, max).map((c) => ({ route, streams: c })),
    )
    // Spot keeps its historical names (binance-0, …); futures connections are named for their market.
    const prefix = market.id === 'spot' ? 'binance' : market.id
    this.connections = chunks.map((c, i) => this.build(`${prefix}-${i}`, c.streams, c.route))
  }

  start(): void {
    for (const c of this.connections) c.conn.start()
  }

  async stop(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.conn.stop()))
    this.subscriptions.stop()
  }

  status(): FeedConnectionStatus[] {
    return this.connections.map((c) => {
      const s = c.conn.status()
      const pendingSubscriptions = this.subscriptions.pendingOn(s.activeSocketId)
      return {
        id: c.id,
        streams: c.streams.length,
        connected: s.connected,
        healthy: s.healthy,
        lastMessageAt: s.lastMessageAt,
        openedAt: s.openedAt,
        reconnects: s.reconnects,
        rotations: s.rotations,
        pendingSubscriptions,
      }
    })
  }

  /** Every connection has an open socket that has delivered data. */
  allConnected(): boolean {
    return this.connections.length > 0 && this.connections.every((c) => c.conn.status().healthy)
  }

  private build(id: string, streams: readonly string[], route: string): FeedConnection {
    const max = this.opts.maxUrlLength ?? MAX_URL_LENGTH
    const plan = planConnectionUrl(this.opts.baseUrl, streams, max, route)
    const size = this.opts.subscribeBatchSize ?? DEFAULT_SUBSCRIBE_BATCH
    const batches: string[][] = []
    for (let i = 0; i < plan.toSubscribe.length; i += size) batches.push(plan.toSubscribe.slice(i, i + size))
    const conn = new ReconnectingConnection({
      ...this.opts.connection,
      name: id,
      url: () => plan.url,
      clock: this.opts.clock,
      ...(this.opts.random ? { random: this.opts.random } : {}),
      classify: (text, receivedAt, socketId) => this.route(conn, id, text, receivedAt, socketId),
      // Every socket, including reconnects and rotations, subscribes afresh:
      // a socket that skips this looks healthy while half its streams are silent.
      onSocketOpen: (socket) => this.subscriptions.open(id, socket, batches),
    })
    this.wire(id, streams.length, conn)
    return { id, streams, conn }
  }

  private route(
    conn: ReconnectingConnection,
    connectionId: string,
    text: string,
    receivedAt: number,
    socketId: string,
  ): MessageKind {
    const r = decodeFrame(text, receivedAt, this.rules)
    if (!r.ok) {
      this.opts.onInvalid?.(r.reason, r.detail, connectionId)
      this.emit('invalid', { connectionId, socketId, reason: r.reason, detail: r.detail })
      return 'invalid'
    }
    const e = r.event
    switch (e.type) {
      case 'kline':
      case 'book_ticker':
        this.opts.onEvent(e, { connectionId, socketId, stream: r.stream })
        return 'data'
      case 'server_shutdown':
        conn.rotate('server_shutdown', socketId)
        return 'control'
      case 'control_result': {
        const p = typeof e.id === 'number' ? this.subscriptions.acknowledged(e.id) : undefined
        if (p && typeof e.id === 'number')
          this.emit('subscribed', { connectionId, socketId, id: e.id, streams: p.streams.length })
        return 'control'
      }
      case 'control_error': {
        this.opts.onEvent(e, { connectionId, socketId, stream: null })
        // An error without our id (e.g. `"id": null`) cannot be matched to a request; it is surfaced only.
        const id = typeof e.id === 'number' ? e.id : null
        const p = id === null ? undefined : this.subscriptions.request(id)
        this.emit('control_error', {
          connectionId,
          socketId,
          id: e.id,
          code: e.code,
          msg: e.msg,
          streams: p?.streams ?? null,
        })
        if (id !== null) this.subscriptions.refused(id, e.code, e.msg)
        return 'control'
      }
    }
  }

  private wire(connectionId: string, streams: number, conn: ReconnectingConnection): void {
    conn.on('open', (e) =>
      this.emit('connected', { connectionId, socketId: e.socketId, streams, rotation: e.rotation, at: e.at }),
    )
    conn.on('healthy', (e) =>
      this.emit('healthy', {
        connectionId,
        socketId: e.socketId,
        afterReconnect: e.resumedAfter !== null,
        resumedAfter: e.resumedAfter,
        at: e.at,
      }),
    )
    conn.on('disconnected', (e) =>
      this.emit('disconnected', {
        connectionId,
        socketId: e.socketId,
        reason: e.cause,
        lastMessageAt: e.lastMessageAt,
        at: e.at,
      }),
    )
    conn.on('reconnecting', (e) => this.emit('reconnecting', { connectionId, ...e }))
    conn.on('close', (e) => {
      this.subscriptions.socketClosed(e.socketId)
      this.emit('close', { connectionId, ...e })
    })
    conn.on('rotating', (e) => this.emit('rotating', { connectionId, ...e }))
    conn.on('error', (e) => this.emit('error', { connectionId, ...e }))
  }
}

export function createBinanceFeed(opts: BinanceFeedOptions): BinanceFeed {
  return new BinanceFeed(opts)
}
