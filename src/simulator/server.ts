/**
 * `data-feeder simulate`: an offline Binance-compatible server — WebSocket
 * streams (shared/binance-api.md §1–5, §8) and the REST market-data APIs of
 * spot, USD-M and COIN-M (§6–8, see rest/router.ts) on one node:http server:
 * REST by Binance's paths (/api, /fapi, /dapi), streams by host mount (spot at
 * the root, USD-M below /usdm with its /market and /public routes, COIN-M below /coinm). Both sides share one
 * symbol universe and one clock; test hooks inject the failures the feeder
 * must survive.
 */
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import { type Clock, systemClock } from '../core/clock.ts'
import { MARKETS, type Market } from '../core/records.ts'
import { MARKET_MODULES } from '../markets/markets.ts'
import { type ConnectionConfig, type ConnectionInfo, SimConnection } from './connection.ts'
import type { RestHooks } from './rest/hooks.ts'
import { createRestApi, type RestApi } from './rest/router.ts'
import { parseTarget } from './streams.ts'
import { createUniverse, type SymbolUniverse } from './universe.ts'

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
  /** Listed spot symbols (default DEFAULT_SYMBOLS in universe.ts); others get -1121 and no stream frames. */
  symbols?: readonly string[]
  /** Listed USD-M and COIN-M contracts (defaults in universe.ts). */
  futuresSymbols?: { readonly usdm?: readonly string[]; readonly coinm?: readonly string[] }
  /** Per-symbol listing instant (ms): no data for earlier minutes. Default 0. */
  listedAt?: Readonly<Record<string, number>>
  /** Spot REST REQUEST_WEIGHT limit per minute per IP (futures hosts: their market's, 2400). */
  weightLimitPerMinute?: number // 6000
  /** 429 answers in one minute after which a further request bans the IP (418). */
  banAfterRejected?: number // 3
  /** Replaces the simulated REST API for plain HTTP requests. */
  requestHandler?: (req: IncomingMessage, res: ServerResponse) => void
}

export type SimulatorEvent = 'connection' | 'close'

export interface SimulatorHooks {
  /** Abrupt: terminate every connection (no close frame), or only those of one market's host. */
  dropAll(market?: Market): void
  /** The next n upgrade attempts get HTTP 503 instead of 101. */
  refuseConnections(n: number): void
  /** Never send the x=true frame of that minute on that market (default spot); the closing book still goes out. */
  skipClosed(symbol: string, openTime: number, market?: Market): void
  /** The book does not move at all in that minute on that market (default spot): no bookTicker frame. */
  quietBook(symbol: string, openTime: number, market?: Market): void
  /** Sends text verbatim to every open connection (or a market's), even while silenced. */
  injectRaw(text: string, market?: Market): void
  /** Sends the serverShutdown event (raw or combined per connection) to every connection. */
  serverShutdown(): void
  /** Zombie mode: connections stay open but send, answer and enforce nothing. */
  silence(on: boolean): void
  connections(): ConnectionInfo[]
  on(event: SimulatorEvent, fn: (info: { id: number }) => void): void
  /** REST-side hooks of the spot host: failures, hangs, malformed klines, outages, weight limit, counters. */
  readonly rest: RestHooks
  /** The same hooks for each market's REST host (each has its own weight limit and bans). */
  restOf(market: Market): RestHooks
}

export interface Simulator {
  readonly port: number
  /** Spot's stream base (`ws://host:port/ws`). */
  readonly wsBase: string
  readonly httpBase: string
  /** A market's stream host root (futures are mounted below the port: `/usdm`, `/coinm`). */
  wsHostOf(market: Market): string
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
  const listed = (market: Market) =>
    market === 'spot'
      ? opts.symbols
      : market === 'usdm'
        ? opts.futuresSymbols?.usdm
        : opts.futuresSymbols?.coinm
  const universes = Object.fromEntries(
    MARKETS.map((market) => {
      const symbols = listed(market)
      return [
        market,
        createUniverse({
          market,
          ...(symbols ? { symbols } : {}),
          ...(opts.listedAt ? { listedAt: opts.listedAt } : {}),
        }),
      ]
    }),
  ) as Record<Market, SymbolUniverse>
  // One REST API per market host: own paths, weights, limit and bans; dispatched by path.
  const rests = Object.fromEntries(
    MARKETS.map((market) => [
      market,
      createRestApi({
        clock,
        universe: universes[market],
        market: MARKET_MODULES[market],
        log,
        ...(market === 'spot' && opts.weightLimitPerMinute !== undefined
          ? { weightLimitPerMinute: opts.weightLimitPerMinute }
          : {}),
        ...(opts.banAfterRejected !== undefined ? { banAfterRejected: opts.banAfterRejected } : {}),
      }),
    ]),
  ) as Record<Market, RestApi>
  const rest = rests.spot
  const restFor = (path: string): RestApi => MARKETS.map((m) => rests[m]).find((r) => r.serves(path)) ?? rest
  const handleRest = (req: IncomingMessage, res: ServerResponse) =>
    restFor(new URL(req.url ?? '/', 'http://sim.invalid').pathname).handle(req, res)
  const skipped = new Set<string>()
  const quietBooks = new Set<string>()
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
    isSkipped: (market, symbol, openTime) => skipped.has(`${market}:${symbol.toUpperCase()}:${openTime}`),
    isBookQuiet: (market, symbol, openTime) =>
      quietBooks.has(`${market}:${symbol.toUpperCase()}:${openTime}`),
    hasMinute: (market, symbol, openTime) => universes[market].hasMinute(symbol, openTime),
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
  // Futures hosts keep their own documented limits and kline speed unless the options set them.
  const connectionConfig = (market: Market): ConnectionConfig => {
    if (market === 'spot') return cfg
    const m = MARKET_MODULES[market].stream
    return {
      ...cfg,
      klineUpdateMs: opts.klineUpdateMs ?? m.klineUpdateMs,
      pingIntervalMs: opts.pingIntervalMs ?? m.limits.serverPingMs,
      pongTimeoutMs: opts.pongTimeoutMs ?? m.limits.pongDeadlineMs,
      maxIncomingPerSecond: opts.maxIncomingPerSecond ?? m.limits.incomingPerSecond,
    }
  }
  const emit = (event: SimulatorEvent, id: number) => {
    for (const fn of listeners[event]) fn({ id })
  }

  const wss = new WebSocketServer({ noServer: true, autoPong: false })
  const server = createServer(opts.requestHandler ?? handleRest)
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
      const conn = new SimConnection(id, ws, parsed.target, connectionConfig(parsed.target.market))
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
    dropAll: (market) => {
      for (const c of connections.values()) if (market === undefined || c.market === market) c.terminate()
    },
    refuseConnections: (n) => {
      refusals = Math.max(0, Math.floor(n))
    },
    skipClosed: (symbol, openTime, market = 'spot') => {
      skipped.add(`${market}:${symbol.toUpperCase()}:${openTime}`)
    },
    quietBook: (symbol, openTime, market = 'spot') => {
      quietBooks.add(`${market}:${symbol.toUpperCase()}:${openTime}`)
    },
    injectRaw: (text, market) => {
      for (const c of connections.values()) if (market === undefined || c.market === market) c.sendRaw(text)
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
    restOf: (market) => rests[market].hooks,
  }

  let closed: Promise<void> | undefined
  return {
    port,
    wsBase: `ws://${host}:${port}/ws`,
    wsHostOf: (market) => `ws://${host}:${port}${MARKET_MODULES[market].simulator.wsMount}`,
    httpBase: `http://${host}:${port}`,
    hooks,
    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const c of connections.values()) c.terminate()
        for (const m of MARKETS) rests[m].close()
        wss.close()
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closed
    },
  }
}
