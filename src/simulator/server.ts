/**
 * `data-feeder simulate`: an offline Binance-compatible server — WebSocket
 * streams (shared/binance-api.md §1–5) and the spot REST market-data API
 * (§6–7, see rest/router.ts) on one node:http server. Both sides share one
 * symbol universe and one clock; test hooks inject the failures the feeder
 * must survive.
 */
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import { type Clock, systemClock } from '../core/clock.ts'
import { type ConnectionConfig, type ConnectionInfo, SimConnection } from './connection.ts'
import type { RestHooks } from './rest/hooks.ts'
import { createRestApi } from './rest/router.ts'
import { parseTarget } from './streams.ts'
import { createUniverse } from './universe.ts'

export interface SimulatorOptions {
  host?: string // 127.0.0.1
  port?: number // 0 = any free port
  clock?: Clock // systemClock
  klineUpdateMs?: number // 2000
  bookUpdateMs?: number // 1000
  pingIntervalMs?: number // 20 000
  pongTimeoutMs?: number // 60 000
  /** The x=true frame goes out this long after its minute ends. */
  closedFrameDelayMs?: number // 300
  maxStreamsPerConnection?: number // 1024
  maxIncomingPerSecond?: number // 5
  connectionLifetimeMs?: number // 24 h
  log?: (line: string) => void
  /** Listed symbols (default DEFAULT_SYMBOLS in universe.ts); others get -1121 and no stream frames. */
  symbols?: readonly string[]
  /** Per-symbol listing instant (ms): no data for earlier minutes. Default 0. */
  listedAt?: Readonly<Record<string, number>>
  /** REST REQUEST_WEIGHT limit per minute per IP. */
  weightLimitPerMinute?: number // 6000
  /** 429 answers in one minute after which a further request bans the IP (418). */
  banAfterRejected?: number // 3
  /** Replaces the simulated REST API for plain HTTP requests. */
  requestHandler?: (req: IncomingMessage, res: ServerResponse) => void
}

export type SimulatorEvent = 'connection' | 'close'

export interface SimulatorHooks {
  /** Abrupt: terminate every connection (no close frame). */
  dropAll(): void
  /** The next n upgrade attempts get HTTP 503 instead of 101. */
  refuseConnections(n: number): void
  /** Never send the x=true frame of that minute (the closing book still goes out). */
  skipClosed(symbol: string, openTime: number): void
  /** Sends text verbatim to every open connection, even while silenced. */
  injectRaw(text: string): void
  /** Sends the serverShutdown event (raw or combined per connection) to every connection. */
  serverShutdown(): void
  /** Zombie mode: connections stay open but send, answer and enforce nothing. */
  silence(on: boolean): void
  connections(): ConnectionInfo[]
  on(event: SimulatorEvent, fn: (info: { id: number }) => void): void
  /** REST-side hooks: failures, hangs, malformed klines, outages, weight limit, counters. */
  readonly rest: RestHooks
}

export interface Simulator {
  readonly port: number
  readonly wsBase: string
  readonly httpBase: string
  readonly hooks: SimulatorHooks
  close(): Promise<void>
}

function reject(socket: Duplex, status: number, body: string): void {
  const head =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`
  socket.once('finish', () => socket.destroy())
  socket.end(head + body)
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const clock = opts.clock ?? systemClock
  const log = opts.log ?? (() => {})
  const maxStreams = opts.maxStreamsPerConnection ?? 1024
  const connections = new Map<number, SimConnection>()
  const listeners: Record<SimulatorEvent, Array<(info: { id: number }) => void>> = {
    connection: [],
    close: [],
  }
  const universe = createUniverse({
    ...(opts.symbols ? { symbols: opts.symbols } : {}),
    ...(opts.listedAt ? { listedAt: opts.listedAt } : {}),
  })
  const rest = createRestApi({
    clock,
    universe,
    log,
    ...(opts.weightLimitPerMinute !== undefined ? { weightLimitPerMinute: opts.weightLimitPerMinute } : {}),
    ...(opts.banAfterRejected !== undefined ? { banAfterRejected: opts.banAfterRejected } : {}),
  })
  const skipped = new Set<string>()
  let refusals = 0
  let silent = false
  let nextId = 1

  const cfg: ConnectionConfig = {
    clock,
    klineUpdateMs: opts.klineUpdateMs ?? 2_000,
    bookUpdateMs: opts.bookUpdateMs ?? 1_000,
    pingIntervalMs: opts.pingIntervalMs ?? 20_000,
    pongTimeoutMs: opts.pongTimeoutMs ?? 60_000,
    closedFrameDelayMs: opts.closedFrameDelayMs ?? 300,
    maxStreamsPerConnection: maxStreams,
    maxIncomingPerSecond: opts.maxIncomingPerSecond ?? 5,
    connectionLifetimeMs: opts.connectionLifetimeMs ?? 24 * 60 * 60 * 1000,
    isSkipped: (symbol, openTime) => skipped.has(`${symbol.toUpperCase()}:${openTime}`),
    hasMinute: universe.hasMinute,
    isSilent: () => silent,
    log,
  }
  for (const key of [
    'klineUpdateMs',
    'bookUpdateMs',
    'pingIntervalMs',
    'pongTimeoutMs',
    'connectionLifetimeMs',
  ] as const) {
    if (!(cfg[key] > 0)) throw new RangeError(`${key} must be positive, got ${cfg[key]}`)
  }
  const emit = (event: SimulatorEvent, id: number) => {
    for (const fn of listeners[event]) fn({ id })
  }

  const wss = new WebSocketServer({ noServer: true, autoPong: false })
  const server = createServer(opts.requestHandler ?? rest.handle)
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy())
    if (refusals > 0) {
      refusals--
      log(`upgrade refused (${req.url})`)
      reject(socket, 503, '{"code":-1008,"msg":"Service unavailable (simulated)."}')
      return
    }
    const parsed = parseTarget(req.url ?? '/', maxStreams)
    if (!parsed.ok) {
      log(`upgrade rejected ${parsed.status} (${req.url}): ${parsed.msg}`)
      reject(socket, parsed.status, JSON.stringify({ code: parsed.code, msg: parsed.msg }))
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const id = nextId++
      const conn = new SimConnection(id, ws, parsed.target, cfg)
      connections.set(id, conn)
      ws.on('error', (err) => log(`connection ${id} error: ${err.message}`))
      ws.on('close', () => {
        conn.dispose()
        connections.delete(id)
        log(`connection ${id} closed`)
        emit('close', id)
      })
      log(`connection ${id} opened ${parsed.target.path}`)
      emit('connection', id)
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port, address } = server.address() as AddressInfo
  const host = address.includes(':') ? `[${address}]` : address

  const hooks: SimulatorHooks = {
    dropAll: () => {
      for (const c of connections.values()) c.terminate()
    },
    refuseConnections: (n) => {
      refusals = Math.max(0, Math.floor(n))
    },
    skipClosed: (symbol, openTime) => {
      skipped.add(`${symbol.toUpperCase()}:${openTime}`)
    },
    injectRaw: (text) => {
      for (const c of connections.values()) c.sendRaw(text)
    },
    serverShutdown: () => {
      for (const c of connections.values()) c.sendServerShutdown()
    },
    silence: (on) => {
      silent = on
    },
    connections: () => [...connections.values()].map((c) => c.info()),
    on: (event, fn) => {
      listeners[event].push(fn)
    },
    rest: rest.hooks,
  }

  let closed: Promise<void> | undefined
  return {
    port,
    wsBase: `ws://${host}:${port}/ws`,
    httpBase: `http://${host}:${port}`,
    hooks,
    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const c of connections.values()) c.terminate()
        rest.close()
        wss.close()
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closed
    },
  }
}
