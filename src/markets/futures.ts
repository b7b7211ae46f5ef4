/**
 * What USD-M and COIN-M futures share (binance-api.md §8; Binance's futures
 * "Websocket Market Streams" page): 10 incoming messages a second, 1024
 * streams a connection, a server ping every 3 minutes with a 10-minute pong
 * deadline, klines every 250 ms; REST klines up to 1500 a page, weighted by
 * the page size asked for; bookTicker with `E` and `T`.
 */
import type { MarketModule, RestEndpoint } from './market.ts'

/** 8 per 1.2 s under "10 per second", with the same jitter margin as spot's 4 per 1.2 s. */
export const FUTURES_PACER: MarketModule['stream']['pacer'] = Object.freeze({ limit: 8, windowMs: 1_200 })

export const FUTURES_STREAM_LIMITS: MarketModule['stream']['limits'] = Object.freeze({
  incomingPerSecond: 10,
  serverPingMs: 3 * 60_000,
  pongDeadlineMs: 10 * 60_000,
})

/** Klines weight by `limit`: [1,100) 1, [100,500) 2, [500,1000] 5, above 10; the rest 1. */
export function futuresWeightOf(endpoint: RestEndpoint, limit = 500): number {
  if (endpoint !== 'klines') return 1
  if (limit < 100) return 1
  if (limit < 500) return 2
  if (limit <= 1000) return 5
  return 10
}

export const FUTURES_DECODE: MarketModule['decode'] = Object.freeze({
  bookTickerEventTime: 'required',
  bookTickerTransactionTime: 'required',
})
