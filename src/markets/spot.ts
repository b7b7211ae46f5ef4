/** Binance spot (binance-api.md): one stream route, /api/v3 REST, 6 000 weight a minute. */
import type { MarketModule, RestEndpoint } from './market.ts'

/** Request weights (spot, since 2023-08-25). */
const WEIGHTS: Readonly<Record<RestEndpoint, number>> = Object.freeze({
  klines: 2,
  exchangeInfo: 20,
  time: 1,
  ping: 1,
})

export const SPOT: MarketModule = {
  id: 'spot',
  title: 'Binance spot',
  symbolPattern: /^[A-Z0-9]{2,30}$/,
  exampleSymbol: 'btcusdt',
  env: { streamUrl: 'BINANCE_STREAM_URL', restUrl: 'BINANCE_REST_URL' },
  stream: {
    defaultUrl: 'wss://stream.binance.com:9443/ws',
    streamsOf: (s: string) => [`${s}@kline_1m`, `${s}@bookTicker`],
    route: () => '',
    /** Binance's per-connection stream limit (binance-api.md §3). */
    maxStreamsPerConnection: 1024,
    // 4 per 1.2 s under "5 per second" (the stream's DEFAULT_PACER).
    pacer: { limit: 4, windowMs: 1_200 },
    limits: { incomingPerSecond: 5, serverPingMs: 20_000, pongDeadlineMs: 60_000 },
    klineUpdateMs: 2_000,
  },
  rest: {
    defaultUrl: 'https://api.binance.com',
    paths: {
      klines: '/api/v3/klines',
      exchangeInfo: '/api/v3/exchangeInfo',
      time: '/api/v3/time',
      ping: '/api/v3/ping',
    },
    weightOf: (endpoint: RestEndpoint) => WEIGHTS[endpoint],
    weightLimitPerMinute: 6000,
    klinesPageLimit: 1000,
    exchangeInfoBySymbols: true,
  },
  decode: { bookTickerEventTime: 'optional' },
  simulator: { wsRoutes: [''], wsMount: '', unroutedServes: () => true, futures: false },
}
