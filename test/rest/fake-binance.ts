/**
 * A small Binance spot REST double on loopback (port 0): klines generated per
 * minute, exchangeInfo/time/ping from the shared fixtures, a per-minute weight
 * counter on the test's ManualClock that answers 429 like Binance, and a script
 * of one-shot misbehaviours (status, body, headers, hang, reset).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fixtureText } from '../helpers/fixtures.ts'
import type { ManualClock } from '../helpers/manual-clock.ts'

export const MIN = 60_000

export interface Misbehaviour {
  /** Only requests to this path consume the entry (default: any). */
  readonly path?: string
  readonly status?: number
  readonly body?: string
  readonly contentType?: string
  readonly headers?: Readonly<Record<string, string>>
  /** Never answer (until the server closes). */
  readonly hang?: boolean
  /** Reset the connection without an answer. */
  readonly destroy?: boolean
}

export interface LoggedRequest {
  readonly path: string
  readonly query: URLSearchParams
  /** ManualClock time when the request arrived. */
  readonly at: number
  status: number
}

const WEIGHTS: Record<string, number> = {
  '/api/v3/klines': 2,
  '/api/v3/exchangeInfo': 20,
  '/api/v3/time': 1,
  '/api/v3/ping': 1,
}

/** Deterministic, sane 1m row for minute `t` (open time, ms). */
export function klineRow(t: number): unknown[] {
  const m = t / MIN
  const o = 1000 + (m % 97)
  const c = 1000 + ((m * 7) % 97)
  const f = (x: number): string => x.toFixed(8)
  return [
    t,
    f(o),
    f(Math.max(o, c) + 1.5),
    f(Math.min(o, c) - 0.25),
    f(c),
    '12.50000000',
    t + MIN - 1,
    '12650.12345678',
    m % 500,
    '6.25000000',
    '6325.06172839',
    '0',
  ]
}

export class FakeBinance {
  readonly requests: LoggedRequest[] = []
  readonly script: Misbehaviour[] = []
  /** REQUEST_WEIGHT per minute window (ManualClock minutes). */
  weightLimit = 6000
  /** Weight used by "another process on the same IP", added to every window. */
  externalWeight = 0
  /** Open times with data: [dataFrom, dataTo]; the current (still-open) minute is the other bound. */
  dataFrom = 0
  dataTo = Number.MAX_SAFE_INTEGER
  readonly symbols = new Set(['BTCUSDT', 'ETHUSDT', 'BNBUSDT'])
  readonly usedByWindow = new Map<number, number>()
  count429 = 0
  private readonly clock: ManualClock
  private readonly server: Server
  private readonly hung: ServerResponse[] = []
  private port = 0

  constructor(clock: ManualClock) {
    this.clock = clock
    this.server = createServer((req, res) => this.handle(req, res))
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.port = (this.server.address() as AddressInfo).port
    return this
  }

  async close(): Promise<void> {
    for (const res of this.hung) res.destroy()
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  klineRequests(): LoggedRequest[] {
    return this.requests.filter((r) => r.path === '/api/v3/klines')
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://x')
    const now = this.clock.now()
    const log: LoggedRequest = { path: u.pathname, query: u.searchParams, at: now, status: 0 }
    this.requests.push(log)
    const i = this.script.findIndex((m) => m.path === undefined || m.path === u.pathname)
    const mis = i >= 0 ? this.script.splice(i, 1)[0] : undefined
    if (mis?.hang) {
      this.hung.push(res)
      return
    }
    if (mis?.destroy) {
      req.socket.destroy()
      return
    }
    const window = Math.floor(now / MIN)
    const weight = WEIGHTS[u.pathname] ?? 1
    const used = (this.usedByWindow.get(window) ?? 0) + this.externalWeight
    if (mis === undefined && used + weight > this.weightLimit) {
      this.count429++
      const retryAfter = Math.ceil(((window + 1) * MIN - now) / 1000)
      const body = `{"code":-1003,"msg":"Too much request weight used; current limit is ${this.weightLimit} request weight per 1 MINUTE."}`
      this.send(res, log, 429, body, 'application/json;charset=UTF-8', {
        'retry-after': String(retryAfter),
        'x-mbx-used-weight-1m': String(used),
      })
      return
    }
    if (mis?.status !== 429 && mis?.status !== 418) {
      this.usedByWindow.set(window, (this.usedByWindow.get(window) ?? 0) + weight)
    }
    const headers = { 'x-mbx-used-weight-1m': String(used + weight), ...mis?.headers }
    if (mis !== undefined && (mis.status !== undefined || mis.body !== undefined)) {
      this.send(
        res,
        log,
        mis.status ?? 200,
        mis.body ?? '',
        mis.contentType ?? 'application/json;charset=UTF-8',
        headers,
      )
      return
    }
    const [status, body] = this.route(u, now)
    this.send(res, log, status, body, 'application/json;charset=UTF-8', headers)
  }

  private route(u: URL, now: number): [number, string] {
    switch (u.pathname) {
      case '/api/v3/ping':
        return [200, fixtureText('spot_rest_ping.doc.json')]
      case '/api/v3/time':
        return [200, JSON.stringify({ serverTime: now })]
      case '/api/v3/exchangeInfo': {
        const info = JSON.parse(fixtureText('spot_rest_exchangeInfo.doc.json')) as { symbols: unknown[] }
        const wanted = u.searchParams.get('symbols')
        if (wanted !== null) {
          const list = JSON.parse(wanted) as string[]
          if (list.some((s) => !this.symbols.has(s)))
            return [400, fixtureText('rest_error_invalid_symbol.doc.json')]
          info.symbols = list.map((symbol) => ({ symbol, status: 'TRADING' }))
        }
        return [200, JSON.stringify(info)]
      }
      case '/api/v3/klines':
        return this.klines(u.searchParams, now)
      default:
        return [404, '<html><body>Not Found</body></html>']
    }
  }

  private klines(q: URLSearchParams, now: number): [number, string] {
    const symbol = q.get('symbol') ?? ''
    if (!this.symbols.has(symbol)) return [400, fixtureText('rest_error_invalid_symbol.doc.json')]
    if (q.get('interval') !== '1m') return [400, '{"code":-1120,"msg":"Invalid interval."}']
    const limit = Math.min(1000, Number(q.get('limit') ?? 500))
    const current = Math.floor(now / MIN) * MIN
    const end = Math.min(Number(q.get('endTime') ?? current), current, this.dataTo)
    let t = q.has('startTime') ? Math.ceil(Number(q.get('startTime')) / MIN) * MIN : end - (limit - 1) * MIN
    t = Math.max(t, this.dataFrom)
    const rows: unknown[] = []
    for (; t <= end && rows.length < limit; t += MIN) rows.push(klineRow(t))
    return [200, JSON.stringify(rows)]
  }

  private send(
    res: ServerResponse,
    log: LoggedRequest,
    status: number,
    body: string,
    contentType: string,
    headers: Record<string, string>,
  ): void {
    log.status = status
    res.writeHead(status, { 'content-type': contentType, ...headers })
    res.end(body)
  }
}
