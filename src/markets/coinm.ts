/**
 * Binance COIN-M futures (dstream / dapi): contracts margined in the coin,
 * named like BTCUSD_PERP. Its streams are not routed: one socket carries
 * klines and bookTicker, as on spot (Binance's COIN-M "Websocket Market Streams").
 */
import { FUTURES_DECODE, FUTURES_PACER, FUTURES_STREAM_LIMITS, futuresWeightOf } from './futures.ts'
import type { MarketModule } from './market.ts'

export const COINM: MarketModule = {
  id: 'coinm',
  title: 'Binance COIN-M futures',
  symbolPattern: /^[A-Z0-9]{2,20}(?:_[A-Z0-9]{4,8})?$/,
  exampleSymbol: 'coinm:btcusd_perp',
  env: { streamUrl: 'BINANCE_COINM_STREAM_URL', restUrl: 'BINANCE_COINM_REST_URL' },
  stream: {
    defaultUrl: 'wss://dstream.binance.com',
    streamsOf: (s: string) => [`${s}@kline_1m`, `${s}@bookTicker`],
    route: () => '',
    maxStreamsPerConnection: 1024,
    pacer: FUTURES_PACER,
    limits: FUTURES_STREAM_LIMITS,
    klineUpdateMs: 250,
  },
  rest: {
    defaultUrl: 'https://dapi.binance.com',
    paths: {
      klines: '/dapi/v1/klines',
      exchangeInfo: '/dapi/v1/exchangeInfo',
      time: '/dapi/v1/time',
      ping: '/dapi/v1/ping',
    },
    weightOf: futuresWeightOf,
    weightLimitPerMinute: 2400,
    klinesPageLimit: 1500,
    exchangeInfoBySymbols: false,
  },
  decode: FUTURES_DECODE,
  simulator: { wsRoutes: [''], wsMount: '/coinm', unroutedServes: () => true, futures: true },
}
