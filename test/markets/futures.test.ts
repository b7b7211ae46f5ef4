/**
 * USD-M and COIN-M as modules: configuration (market prefixes, host roots,
 * bad entries), their documented limits and REST layout, the connections a
 * feed opens for them, and the decoding of futures payloads (Binance's
 * documented examples and frames in the shape of live captures), including
 * malformed ones.
 */
import assert from 'node:assert/strict'
import { afterEach, describe, test } from 'node:test'
import { parseKlineRows } from '../../src/binance/rest/rest-rows.ts'
import { decodeFrame } from '../../src/binance/ws/decode.ts'
import { createBinanceFeed } from '../../src/binance/ws/feed.ts'
import { CandleAssembler } from '../../src/candles/candle-assembler.ts'
import { ConfigError, loadConfig } from '../../src/config/config.ts'
import type { BookTickerEvent, KlineEvent } from '../../src/core/records.ts'
import { COINM } from '../../src/markets/coinm.ts'
import { USDM } from '../../src/markets/usdm.ts'
import { fixtureText } from '../helpers/fixtures.ts'
import { ManualClock } from '../helpers/manual-clock.ts'
import { TestServer } from '../stream/ws-test-server.ts'

const RX = 1_700_000_000_000
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function decodeOk(text: string, rules = USDM.decode) {
  const r = decodeFrame(text, RX, rules)
  assert.ok(r.ok, r.ok ? '' : `${r.reason} ${r.detail}`)
  return r
}

describe('futures configuration', () => {
  test('entries carry their market; each market gets its symbols and its host roots', () => {
    const c = loadConfig({ TRADING_SYMBOLS: 'btcusdt, usdm:BTCUSDT,usdm:ethusdt,COINM:btcusd_perp,btcusdt' })
    assert.deepEqual(c.symbols, ['BTCUSDT'])
    assert.deepEqual(
      c.markets.map((m) => [m.market, m.symbols, m.streamUrl, m.restUrl]),
      [
        ['spot', ['BTCUSDT'], 'wss://stream.binance.com:9443/ws', 'https://api.binance.com'],
        ['usdm', ['BTCUSDT', 'ETHUSDT'], 'wss://fstream.binance.com', 'https://fapi.binance.com'],
        ['coinm', ['BTCUSD_PERP'], 'wss://dstream.binance.com', 'https://dapi.binance.com'],
      ],
    )
    const moved = loadConfig({
      TRADING_SYMBOLS: 'usdm:btcusdt',
      BINANCE_USDM_STREAM_URL: 'ws://127.0.0.1:9000/usdm/',
      BINANCE_USDM_REST_URL: 'http://127.0.0.1:9000',
    })
    assert.deepEqual(moved.symbols, [])
    assert.deepEqual(moved.markets, [
      {
        market: 'usdm',
        symbols: ['BTCUSDT'],
        streamUrl: 'ws://127.0.0.1:9000/usdm',
        restUrl: 'http://127.0.0.1:9000',
      },
    ])
  })

  for (const [value, problem] of [
    ['btcusdt,xyz:btcusdt', /unknown market "xyz" in "xyz:btcusdt" \(markets: spot, usdm, coinm\)/],
    ['usdm:btc-usdt', /"usdm:btc-usdt", not a usdm symbol/],
    ['coinm:btcusd_', /not a coinm symbol/],
    ['btcusd_perp', /"btcusd_perp", not a spot symbol/],
    ['usdm:', /not a usdm symbol/],
  ] as const) {
    test(`TRADING_SYMBOLS=${value} is refused, naming the entry and its market`, () => {
      assert.throws(
        () => loadConfig({ TRADING_SYMBOLS: value }),
        (e: unknown) =>
          e instanceof ConfigError && e.variable === 'TRADING_SYMBOLS' && problem.test(e.message),
      )
    })
  }

  test('a futures host root must be a ws(s) / http(s) URL', () => {
    assert.throws(() => loadConfig({ BINANCE_USDM_STREAM_URL: 'https://fstream.binance.com' }), {
      message: /BINANCE_USDM_STREAM_URL/,
    })
    assert.throws(() => loadConfig({ BINANCE_COINM_REST_URL: 'ftp://dapi' }), {
      message: /BINANCE_COINM_REST_URL/,
    })
  })
})

describe('futures modules follow Binance’s futures documentation', () => {
  test('limits: 10 incoming messages a second (we pace at 8 per 1.2 s), 1024 streams, ping 3 min / pong 10 min', () => {
    for (const m of [USDM, COINM]) {
      assert.equal(m.stream.limits.incomingPerSecond, 10)
      assert.ok(m.stream.pacer.limit / (m.stream.pacer.windowMs / 1000) < 10)
      assert.equal(m.stream.maxStreamsPerConnection, 1024)
      assert.equal(m.stream.limits.serverPingMs, 180_000)
      assert.equal(m.stream.limits.pongDeadlineMs, 600_000)
      assert.equal(m.rest.klinesPageLimit, 1500)
    }
  })

  test('REST: paths per host; klines weigh by limit (1 / 2 / 5 / 10), the rest 1', () => {
    assert.equal(USDM.rest.paths.klines, '/fapi/v1/klines')
    assert.equal(COINM.rest.paths.exchangeInfo, '/dapi/v1/exchangeInfo')
    assert.deepEqual(
      [99, 100, 499, 500, 1000, 1001, 1500].map((l) => USDM.rest.weightOf('klines', l)),
      [1, 2, 2, 5, 5, 10, 10],
    )
    assert.equal(USDM.rest.weightOf('exchangeInfo'), 1)
  })

  test('USD-M: klines on /market, books on /public, never the un-routed URL; COIN-M: one route', async () => {
    const clock = new ManualClock()
    const srv = await TestServer.start(clock)
    cleanups.push(() => srv.close())
    const base = srv.url.replace(/\/ws$/, '')
    for (const [market, symbols] of [
      [USDM, ['BTCUSDT', 'ETHUSDT']],
      [COINM, ['BTCUSD_PERP']],
    ] as const) {
      const feed = createBinanceFeed({ baseUrl: base, symbols, market, clock, onEvent: () => {} })
      cleanups.push(() => feed.stop())
      feed.start()
    }
    await srv.connectionCount(3)
    assert.deepEqual(srv.sockets.map((s) => s.url).sort(), [
      '/market/stream?streams=btcusdt@kline_1m/ethusdt@kline_1m',
      '/public/stream?streams=btcusdt@bookTicker/ethusdt@bookTicker',
      '/stream?streams=btcusd_perp@kline_1m/btcusd_perp@bookTicker',
    ])
  })
})

describe('futures payloads', () => {
  test('bookTicker (docs example): E and T kept on the event, values verbatim', () => {
    const { event } = decodeOk(fixtureText('futures_ws_bookTicker.raw.doc.json'))
    assert.deepEqual(event, {
      type: 'book_ticker',
      symbol: 'BNBUSDT',
      updateId: 400900217,
      eventTime: 1568014460893,
      transactionTime: 1568014460891,
      receivedAt: RX,
      bid: '25.35190000',
      bidQty: '31.21000000',
      ask: '25.36520000',
      askQty: '40.66000000',
    })
  })

  test('bookTicker with the newer ps/st fields: same event; tick precision kept ("7.6120")', () => {
    const { event } = decodeOk(fixtureText('futures_ws_bookTicker_ps_st.raw.reconstructed.json'))
    const b = event as BookTickerEvent
    assert.equal(b.ask, '7.6120')
    assert.equal(b.bid, '7.6110')
    assert.equal(b.bidQty, '2')
    assert.equal(b.transactionTime, 1626992760398)
    assert.equal(b.eventTime, 1626992760402)
  })

  test('kline (docs example, forming) and a closed combined kline decode with every string verbatim', () => {
    const open = decodeOk(fixtureText('futures_ws_kline.raw.doc.json')).event as KlineEvent
    assert.equal(open.closed, false)
    assert.equal(open.open, '0.0010')
    assert.equal(open.volume, '1000')
    const r = decodeOk(fixtureText('futures_ws_kline_1m_closed.combined.reconstructed.json'))
    assert.equal(r.stream, 'sushiusdt@kline_1m')
    const k = r.event as KlineEvent
    assert.equal(k.closed, true)
    assert.equal(k.close, '7.6120')
    // Assembled with the book as of its close into a candle of the usdm market, decimals
    // untouched. The captured book's T is 399 ms after the kline's close: not this minute's.
    // The same book with T 2 ms before the close is, though both are handled after it.
    const assembler = new CandleAssembler(['SUSHIUSDT'], 'usdm')
    const text = fixtureText('futures_ws_bookTicker_ps_st.raw.reconstructed.json')
    const after = decodeOk(text).event
    assert.equal(after.type === 'book_ticker' && after.transactionTime, k.closeTime + 399)
    const before = decodeOk(
      text
        .replace('"T":1626992760398', `"T":${k.closeTime - 2}`)
        .replace('"u":3417820719183', '"u":3417820719182'),
    ).event
    assembler.accept(before, k.closeTime + 300)
    assembler.accept(after, k.closeTime + 301)
    const c = assembler.accept(k, k.closeTime + 400)
    assert.equal(c.kind, 'candle')
    if (c.kind === 'candle') {
      assert.equal(c.candle.market, 'usdm')
      assert.equal(c.candle.close, '7.6120')
      assert.equal(c.candle.ask, '7.6120')
      assert.equal(c.candle.bidQty, '2')
      assert.equal(c.candle.quoteTime, k.closeTime - 2)
    }
  })

  test('COIN-M symbols carry a contract suffix', () => {
    const text = fixtureText('futures_ws_kline_1m_closed.combined.reconstructed.json')
      .replaceAll('sushiusdt', 'btcusd_perp')
      .replaceAll('SUSHIUSDT', 'BTCUSD_PERP')
    assert.equal((decodeOk(text, COINM.decode).event as KlineEvent).symbol, 'BTCUSD_PERP')
  })

  const book = JSON.parse(fixtureText('futures_ws_bookTicker.raw.doc.json')) as Record<string, unknown>
  for (const [what, mutate, detail] of [
    ['without T', (o: Record<string, unknown>) => delete o.T, 'bookTicker.T'],
    ['with T as text', (o: Record<string, unknown>) => (o.T = '1568014460891'), 'bookTicker.T'],
    ['without E', (o: Record<string, unknown>) => delete o.E, 'bookTicker.E'],
    ['with a numeric price', (o: Record<string, unknown>) => (o.b = 25.3519), 'bookTicker decimal field'],
    ['with a symbol like BTC-USD', (o: Record<string, unknown>) => (o.s = 'BTC-USD'), 'bookTicker.s'],
  ] as const) {
    test(`a futures bookTicker ${what} is refused (bad_field ${detail})`, () => {
      const o = { ...book }
      mutate(o)
      const r = decodeFrame(JSON.stringify(o), RX, USDM.decode)
      assert.equal(r.ok, false)
      assert.deepEqual(!r.ok && [r.reason, r.detail], ['bad_field', detail])
    })
  }

  test('REST rows (docs example, column 12 non-zero) become usdm candles; a malformed row is refused alone', () => {
    const doc = (JSON.parse(fixtureText('futures_rest_klines.doc.json')) as unknown[][])[0] as unknown[]
    const later = Date.UTC(2030, 0, 1)
    // The documented row is a week; as a minute (close time = open + 59 999) it is a 1m row.
    const weekly = parseKlineRows([doc], 'BTCUSDT', later, { market: 'usdm' })
    assert.equal(weekly.candles.length, 0)
    assert.equal(weekly.rejected.length, 1)
    const row = doc.map((v, i) => (i === 6 ? (doc[0] as number) + 59_999 : v))
    const next = row.map((v, i) => (i === 0 || i === 6 ? (v as number) + 60_000 : v))
    const page = parseKlineRows([row, next.slice(0, 11)], 'BTCUSDT', later, { market: 'usdm' })
    assert.equal(page.candles.length, 1)
    assert.equal(page.candles[0]?.market, 'usdm')
    assert.equal(page.candles[0]?.open, '0.01634790')
    assert.equal(page.rejected.length, 1)
  })
})
