/**
 * Binance USD-M perpetual futures (fstream / fapi). Since 2026-04-23 its
 * streams are routed: klines on `/market`, bookTicker on `/public`; the
 * un-routed URL still opens but delivers no kline (binance-api.md §8).
 */
import { FUTURES_DECODE, FUTURES_PACER, FUTURES_STREAM_LIMITS, futuresWeightOf } from './futures.ts'
import type { MarketModule } from './market.ts'

const isBook = (stream: string): boolean => stream.endsWith('@bookTicker')

export const USDM: MarketModule = {
  id: 'usdm',
  title: 'Binance USD-M futures',
  symbolPattern: /^[A-Z0-9]{2,30}$/,
  exampleSymbol: 'usdm:btcusdt',
  env: { streamUrl: 'BINANCE_USDM_STREAM_URL', restUrl: 'BINANCE_USDM_REST_URL' },
  stream: {
    defaultUrl: 'wss://fstream.binance.com',
    streamsOf: (s: string) => [`${s}@kline_1m`, `${s}@bookTicker`],
    route: (stream: string) => (isBook(stream) ? '/public' : '/market'),
    maxStreamsPerConnection: 1024,
    pacer: FUTURES_PACER,
    limits: FUTURES_STREAM_LIMITS,
    klineUpdateMs: 250,
  },
  rest: {
    defaultUrl: 'https://fapi.binance.com',
    paths: {
      klines: '/fapi/v1/klines',
      exchangeInfo: '/fapi/v1/exchangeInfo',
      time: '/fapi/v1/time',
      ping: '/fapi/v1/ping',
    },
    weightOf: futuresWeightOf,
    // REQUEST_WEIGHT of fapi (exchangeInfo rateLimits); the host's budget is its own.
    weightLimitPerMinute: 2400,
    klinesPageLimit: 1500,
    exchangeInfoBySymbols: false,
  },
  decode: FUTURES_DECODE,
  simulator: {
    wsRoutes: ['/market', '/public'],
    wsMount: '/usdm',
    unroutedServes: isBook,
    futures: true,
  },
}
