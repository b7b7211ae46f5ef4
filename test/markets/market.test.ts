/**
 * The market plug-in: spot is one module, and a market whose streams live on
 * two routes (as futures' /market and /public) gets a connection per route
 * without any change to the feed.
 */
import assert from 'node:assert/strict'
import { afterEach, describe, test } from 'node:test'
import { decodeFrame } from '../../src/binance/ws/decode.ts'
import { createBinanceFeed } from '../../src/binance/ws/feed.ts'
import { planConnectionUrl, streamsFor } from '../../src/binance/ws/stream-names.ts'
import { loadConfig } from '../../src/config/config.ts'
import type { MarketModule } from '../../src/markets/market.ts'
import { SPOT } from '../../src/markets/spot.ts'
import { fixtureText } from '../helpers/fixtures.ts'
import { ManualClock } from '../helpers/manual-clock.ts'
import { TestServer } from '../stream/ws-test-server.ts'

/** Spot with its streams split over two routes and the event time required, like futures. */
const ROUTED: MarketModule = {
  ...SPOT,
  stream: {
    ...SPOT.stream,
    route: (s) => (s.endsWith('@bookTicker') ? '/public' : '/market'),
  },
  decode: { bookTickerEventTime: 'required' },
}

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

describe('markets', () => {
  test('spot: the configuration defaults are the module’s, and its streams are the documented names', () => {
    const config = loadConfig({})
    assert.equal(config.streamUrl, SPOT.stream.defaultUrl)
    assert.equal(config.restUrl, SPOT.rest.defaultUrl)
    assert.deepEqual(streamsFor(['btcusdt', 'BTCUSDT', 'ethusdt']), [
      'btcusdt@kline_1m',
      'btcusdt@bookTicker',
      'ethusdt@kline_1m',
      'ethusdt@bookTicker',
    ])
    assert.equal(SPOT.rest.weightOf('exchangeInfo'), 20)
    assert.equal(SPOT.rest.paths.klines, '/api/v3/klines')
  })

  test('a route is a path below the host, before /stream', () => {
    const plan = planConnectionUrl('wss://fstream.example/ws', ['btcusdt@bookTicker'], 7_680, '/public')
    assert.equal(plan.url, 'wss://fstream.example/public/stream?streams=btcusdt@bookTicker')
  })

  test('streams on different routes never share a connection', async () => {
    const clock = new ManualClock()
    const srv = await TestServer.start(clock)
    cleanups.push(() => srv.close())
    const feed = createBinanceFeed({
      baseUrl: srv.url,
      symbols: ['BTCUSDT', 'ETHUSDT'],
      market: ROUTED,
      clock,
      random: () => 0.5,
      onEvent: () => {},
    })
    cleanups.push(() => feed.stop())
    feed.start()
    await srv.connectionCount(2)
    const paths = srv.sockets.map((s) => s.url).sort()
    assert.deepEqual(paths, [
      '/market/stream?streams=btcusdt@kline_1m/ethusdt@kline_1m',
      '/public/stream?streams=btcusdt@bookTicker/ethusdt@bookTicker',
    ])
  })

  test('decoder rules come from the market: a bookTicker without E is refused where E is required', () => {
    const spotBook = fixtureText('spot_ws_bookTicker.raw.capture.json')
    assert.equal(decodeFrame(spotBook, 1).ok, true)
    const r = decodeFrame(spotBook, 1, ROUTED.decode)
    assert.equal(r.ok, false)
    assert.equal(!r.ok && r.detail, 'bookTicker.E')
    const futuresBook = fixtureText('futures_ws_bookTicker.raw.doc.json')
    assert.equal(decodeFrame(futuresBook, 1, ROUTED.decode).ok, true)
  })
})
