/**
 * A simulated Binance REST host — spot (shared/binance-api.md §6–7), USD-M or COIN-M (§8) — as a
 * node:http request handler: ping, time, exchangeInfo and klines, with
 * per-IP request weights, 429/418, and the test hooks of RestHooks.
 *
 * Order of processing: hangNext → failNext → ban/weight check → endpoint.
 * Unknown paths answer 404 and other methods 405, neither charged.
 */

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Clock } from '../../core/clock.ts'
import type { MarketModule } from '../../markets/market.ts'
import { SPOT } from '../../markets/spot.ts'
import type { SymbolUniverse } from '../universe.ts'
import { type ApiError, errorBody } from './api-error.ts'
import { EXCHANGE_INFO_PARAMS, exchangeInfo, pickListings } from './exchange-info.ts'
import { futuresExchangeInfo } from './futures-exchange-info.ts'
import type { FailBody, MalformKind, RestHooks, RestStats } from './hooks.ts'
import { KLINES_PARAMS, parseKlines, selectKlines } from './klines.ts'
import { HTML_TYPE, JSON_TYPE, malformKlines, proxyHtml, type RawReply } from './malform.ts'
import { Outages } from './outages.ts'
import { isApiError, readParams } from './query.ts'
import { WeightLimiter } from './weights.ts'

export interface RestOptions {
  readonly clock: Clock
  readonly universe: SymbolUniverse
  /** The market whose host this is: its paths, weights and limit (default spot). */
  readonly market?: MarketModule
  /** REQUEST_WEIGHT per minute per IP (default: the market's, 6000 on spot). */
  readonly weightLimitPerMinute?: number
  /** 429 answers within one minute after which a further request gets the IP banned (default 3). */
  readonly banAfterRejected?: number
  readonly log?: (line: string) => void
}

export interface RestApi {
  readonly hooks: RestHooks
  /** Whether the path is one of this host's endpoints. */
  serves(path: string): boolean
  handle(req: IncomingMessage, res: ServerResponse): void
  /** Ends requests left hanging by hangNext. */
  close(): void
}

interface Endpoint {
  /** Charged before the parameters are read; futures klines weigh by the `limit` asked for. */
  readonly weight: (query: URLSearchParams) => number
  readonly params: readonly string[]
  readonly run: (params: ReadonlyMap<string, string>) => Reply
}

type Reply = { readonly ok: unknown } | ApiError | { readonly raw: RawReply }

const REASONS: Record<number, string> = {
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Temporarily Unavailable',
  504: 'Gateway Time-out',
}

function failReply(status: number, body: FailBody | string | undefined): RawReply {
  const kind =
    body ?? (status >= 502 && status <= 504 ? 'proxy_html' : status === 408 ? 'timeout' : 'disconnected')
  switch (kind) {
    case 'proxy_html':
      return { status, contentType: HTML_TYPE, body: proxyHtml(status, REASONS[status] ?? 'Error') }
    case 'disconnected':
      return {
        status,
        contentType: JSON_TYPE,
        body: errorBody({
          status,
          code: -1001,
          msg: 'Internal error; unable to process your request. Please try again.',
        }),
      }
    case 'timeout':
      return {
        status,
        contentType: JSON_TYPE,
        body: errorBody({
          status,
          code: -1007,
          msg: 'Timeout waiting for response from backend server. Send status unknown; execution status unknown.',
        }),
      }
    default:
      return { status, contentType: /^\s*[[{]/.test(kind) ? JSON_TYPE : HTML_TYPE, body: kind }
  }
}

function clientIp(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? 'unknown'
  return a.startsWith('::ffff:') ? a.slice(7) : a
}

export function createRestApi(opts: RestOptions): RestApi {
  const { clock, universe } = opts
  const log = opts.log ?? (() => {})
  const market = opts.market ?? SPOT
  const limiter = new WeightLimiter({
    limit: opts.weightLimitPerMinute ?? market.rest.weightLimitPerMinute,
    banAfterRejected: opts.banAfterRejected ?? 3,
  })
  const outages = new Outages()
  const stats: RestStats = { requests: 0, weightUsed: 0, responses429: 0, responses418: 0, byPath: {} }
  const hanging = new Set<ServerResponse>()
  let hangs = 0
  const fails: Array<{
    status: number
    body: FailBody | string | undefined
    headers: Record<string, string>
  }> = []
  const malforms: MalformKind[] = []

  // The market's REST layout (spot: /api/v3/…, USD-M /fapi/v1/…, COIN-M /dapi/v1/…), as the client reads it.
  const { paths, weightOf } = market.rest
  const futures = market.simulator.futures
  const endpoints: Record<string, Endpoint> = {
    [paths.ping]: { weight: () => weightOf('ping'), params: [], run: () => ({ ok: {} }) },
    [paths.time]: {
      weight: () => weightOf('time'),
      params: [],
      run: () => ({ ok: { serverTime: clock.now() } }),
    },
    [paths.exchangeInfo]: futures
      ? {
          // Futures exchangeInfo takes no parameters and lists every contract.
          weight: () => weightOf('exchangeInfo'),
          params: [],
          run: () => ({
            ok: futuresExchangeInfo(market.id, universe.listings, clock.now(), limiter.limit),
          }),
        }
      : {
          weight: () => weightOf('exchangeInfo'),
          params: EXCHANGE_INFO_PARAMS,
          run: (params) => {
            const listings = pickListings(params, universe)
            if (isApiError(listings)) return listings
            return { ok: exchangeInfo(listings, params, clock.now(), limiter.limit) }
          },
        },
    [paths.klines]: {
      weight: (query) => {
        const limit = Number(query.get('limit') ?? Number.NaN)
        return weightOf('klines', Number.isInteger(limit) && limit > 0 ? limit : undefined)
      },
      params: KLINES_PARAMS,
      run: (params) => {
        const q = parseKlines(params, universe)
        if (isApiError(q)) return q
        const rows = selectKlines(q, clock.now(), universe, outages)
        const kind = malforms.shift()
        return kind ? { raw: malformKlines(rows, kind, clock.now()) } : { ok: rows }
      },
    },
  }

  function send(res: ServerResponse, r: RawReply, headers: Record<string, string | number> = {}): void {
    res.writeHead(r.status, {
      'Content-Type': r.contentType,
      'Content-Length': Buffer.byteLength(r.body),
      ...headers,
    })
    res.end(r.body)
  }

  const json = (status: number, value: unknown): RawReply => ({
    status,
    contentType: JSON_TYPE,
    body: JSON.stringify(value),
  })

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://sim.invalid')
    stats.requests++
    stats.byPath[url.pathname] = (stats.byPath[url.pathname] ?? 0) + 1
    if (hangs > 0) {
      hangs--
      hanging.add(res)
      res.on('close', () => hanging.delete(res))
      log(`rest: hanging ${req.method} ${req.url}`)
      return
    }
    const fail = fails.shift()
    if (fail) {
      log(`rest: failing ${req.method} ${req.url} with ${fail.status}`)
      send(res, failReply(fail.status, fail.body), fail.headers)
      return
    }
    const ep = endpoints[url.pathname]
    if (!ep) {
      send(res, json(404, { code: -1, msg: 'Not found' }))
      return
    }
    if (req.method !== 'GET') {
      send(res, json(405, { code: -1, msg: `Method ${req.method} not allowed` }), { Allow: 'GET' })
      return
    }
    const now = clock.now()
    const ip = clientIp(req)
    const weight = ep.weight(url.searchParams)
    const charge = limiter.charge(ip, weight, now)
    if (charge.kind !== 'banned') stats.weightUsed += weight
    const weightHeaders = { 'X-MBX-USED-WEIGHT': charge.used, 'X-MBX-USED-WEIGHT-1M': charge.used }
    if (charge.kind === 'banned') {
      stats.responses418++
      const msg = `Way too much request weight used; IP banned until ${charge.until}. Please use the websocket for live updates to avoid bans.`
      log(`rest: 418 for ${ip} until ${charge.until}`)
      send(res, json(418, { code: -1003, msg }), { ...weightHeaders, 'Retry-After': charge.retryAfterS })
      return
    }
    if (charge.kind === 'limited') {
      stats.responses429++
      const msg = `Too much request weight used; current limit is ${charge.limit} request weight per 1 MINUTE. Please use the websocket for live updates to avoid polling the API.`
      send(res, json(429, { code: -1003, msg }), { ...weightHeaders, 'Retry-After': charge.retryAfterS })
      return
    }
    const parsed = readParams(url.searchParams, ep.params)
    const reply: Reply = 'params' in parsed ? ep.run(parsed.params) : parsed.error
    if ('raw' in reply) send(res, reply.raw, weightHeaders)
    else if ('ok' in reply) send(res, json(200, reply.ok), weightHeaders)
    else send(res, { status: reply.status, contentType: JSON_TYPE, body: errorBody(reply) }, weightHeaders)
  }

  const count = (n: number) => Math.max(0, Math.floor(n))
  const hooks: RestHooks = {
    failNext: (n, status = 500, body, headers = {}) => {
      for (let i = 0; i < count(n); i++) fails.push({ status, body, headers })
    },
    hangNext: (n) => {
      hangs += count(n)
    },
    malformNext: (n, kind) => {
      for (let i = 0; i < count(n); i++) malforms.push(kind)
    },
    outage: (symbol, from, to) => outages.add(symbol, from, to),
    setWeightLimit: (n) => limiter.setLimit(n),
    stats: () => ({ ...stats, byPath: { ...stats.byPath } }),
  }

  return {
    hooks,
    handle,
    serves: (path) => Object.hasOwn(endpoints, path),
    close: () => {
      for (const res of hanging) res.destroy()
      hanging.clear()
    },
  }
}
