/**
 * The simulator serves USD-M and COIN-M beside spot on one port, as Binance
 * documents them (binance-api.md §8): REST under /fapi and /dapi with their
 * own weight limits, USD-M streams routed (/market klines, /public books) and
 * its un-routed path accepting the handshake but sending no kline, futures
 * bookTicker with E and T, prices at the contract's precision.
 */
import assert from 'node:assert/strict'
import { afterEach, describe, test } from 'node:test'
import { MINUTE_MS } from '../../src/core/records.ts'
import { simulatedKline } from '../../src/simulator/market.ts'
import { simKey } from '../../src/simulator/profile.ts'
import { scaledClock } from '../../src/simulator/scaled-clock.ts'
import { type Simulator, startSimulator } from '../../src/simulator/server.ts'
import { TestClient } from './ws-client.ts'

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function sim(): Promise<Simulator> {
  // 60× fast, a few seconds before a minute boundary: a closed kline comes within a second or two.
  const epoch = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS - 3 * 3_600_000 - 5_000
  const s = await startSimulator({ clock: scaledClock(60, epoch) })
  cleanups.push(() => s.close())
  return s
}

async function client(url: string): Promise<TestClient> {
  const c = await TestClient.open(url)
  cleanups.push(() => c.close())
  return c
}

async function getJson(url: string): Promise<{ status: number; headers: Headers; body: unknown }> {
  const r = await fetch(url)
  return { status: r.status, headers: r.headers, body: await r.json() }
}

describe('simulator: futures markets', () => {
  test('REST: /fapi and /dapi klines up to 1500 rows, weighed by limit, at the contract precision', async () => {
    const s = await sim()
    const start = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS - 30 * 86_400_000
    const usdm = await getJson(
      `${s.httpBase}/fapi/v1/klines?symbol=BTCUSDT&interval=1m&startTime=${start}&limit=1500`,
    )
    assert.equal(usdm.status, 200)
    const rows = usdm.body as unknown[][]
    assert.equal(rows.length, 1500)
    assert.equal(usdm.headers.get('x-mbx-used-weight-1m'), '10')
    const k = simulatedKline(simKey('usdm', 'BTCUSDT'), start)
    assert.equal(rows[0]?.[4], k.close)
    // The futures contract has its own path and precision; the spot namesake's differs.
    assert.notEqual(k.close, simulatedKline('BTCUSDT', start).close)
    assert.match(k.close, /^\d+\.\d{3}$/)
    const coinm = await getJson(`${s.httpBase}/dapi/v1/klines?symbol=BTCUSD_PERP&interval=1m&limit=99`)
    assert.equal(coinm.status, 200)
    assert.equal((coinm.body as unknown[]).length, 99)
    assert.equal(coinm.headers.get('x-mbx-used-weight-1m'), '1')
    // Spot stays at 1000 a page, and a futures symbol is not spot's.
    const spot = await getJson(`${s.httpBase}/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1500`)
    assert.equal((spot.body as unknown[]).length, 1000)
    const wrong = await getJson(`${s.httpBase}/api/v3/klines?symbol=BTCUSD_PERP&interval=1m`)
    assert.equal(wrong.status, 400)
  })

  test('REST: futures exchangeInfo takes no parameters and lists every contract (COIN-M: contractStatus)', async () => {
    const s = await sim()
    const usdm = await getJson(`${s.httpBase}/fapi/v1/exchangeInfo`)
    const symbols = (usdm.body as { symbols: { symbol: string; status: string; contractType: string }[] })
      .symbols
    assert.ok(symbols.some((x) => x.symbol === 'BTCUSDT' && x.status === 'TRADING'))
    assert.ok(symbols.every((x) => x.contractType === 'PERPETUAL'))
    const coinm = await getJson(`${s.httpBase}/dapi/v1/exchangeInfo`)
    const c = (coinm.body as { symbols: Record<string, unknown>[] }).symbols
    assert.ok(c.some((x) => x.symbol === 'BTCUSD_PERP' && x.contractStatus === 'TRADING'))
    const withParam = await getJson(`${s.httpBase}/fapi/v1/exchangeInfo?symbol=BTCUSDT`)
    assert.equal(withParam.status, 400)
  })

  test('REST: each host has its own weight limit; a 429 on /fapi leaves /api and /dapi answering', async () => {
    const s = await sim()
    s.hooks.restOf('usdm').setWeightLimit(1)
    const a = await getJson(`${s.httpBase}/fapi/v1/time`)
    const b = await getJson(`${s.httpBase}/fapi/v1/time`)
    assert.equal(a.status, 200)
    assert.equal(b.status, 429)
    assert.ok(Number(b.headers.get('retry-after')) > 0)
    assert.equal((await getJson(`${s.httpBase}/api/v3/time`)).status, 200)
    assert.equal((await getJson(`${s.httpBase}/dapi/v1/time`)).status, 200)
    assert.equal(s.hooks.restOf('usdm').stats().responses429, 1)
    assert.equal(s.hooks.rest.stats().responses429, 0)
  })

  test('USD-M streams: klines on /market, books with E and T on /public; the un-routed path opens but sends no kline', async () => {
    const s = await sim()
    const host = s.wsHostOf('usdm')
    const streams = 'btcusdt@kline_1m/btcusdt@bookTicker'
    const market = await client(`${host}/market/stream?streams=${streams}`)
    const pub = await client(`${host}/public/stream?streams=${streams}`)
    const legacy = await client(`${host}/stream?streams=${streams}`)
    const closed = await market.until((m) => (m.data as { k?: { x?: boolean } }).k?.x === true)
    const k = (closed.hit.data as { k: { t: number; c: string } }).k
    assert.equal(k.c, simulatedKline(simKey('usdm', 'BTCUSDT'), k.t).close)
    for (const f of [...closed.before, JSON.stringify(closed.hit)])
      assert.equal((JSON.parse(f) as { stream: string }).stream, 'btcusdt@kline_1m', '/market: klines only')
    const book = (await pub.nextJson()) as { stream: string; data: Record<string, unknown> }
    assert.equal(book.stream, 'btcusdt@bookTicker')
    assert.equal(book.data.e, 'bookTicker')
    assert.equal(typeof book.data.E, 'number')
    assert.equal(typeof book.data.T, 'number')
    // The un-routed connection is open and serves books, but across the closed minute no kline came.
    const legacyFrames = await legacy.sync()
    const next = await legacy.until((m) => m.stream === 'btcusdt@bookTicker')
    for (const f of [...legacyFrames, ...next.before])
      assert.notEqual((JSON.parse(f) as { stream?: string }).stream, 'btcusdt@kline_1m')
    const kinds = new Set(
      [...legacyFrames, ...next.before].map((f) => (JSON.parse(f) as { stream?: string }).stream),
    )
    assert.ok(!kinds.has('btcusdt@kline_1m'), 'no kline on the un-routed path')
  })

  test('COIN-M streams: one socket under its host carries klines and books of BTCUSD_PERP', async () => {
    const s = await sim()
    const c = await client(
      `${s.wsHostOf('coinm')}/stream?streams=btcusd_perp@kline_1m/btcusd_perp@bookTicker`,
    )
    const seen = new Set<string>()
    await c.until((m) => {
      seen.add(String(m.stream))
      return seen.size === 2
    })
    assert.deepEqual([...seen].sort(), ['btcusd_perp@bookTicker', 'btcusd_perp@kline_1m'])
    // A COIN-M contract on the spot root is not listed there: no frame for it.
    const spot = await client(`${s.wsBase.replace(/\/ws$/, '')}/stream?streams=btcusd_perp@kline_1m`)
    assert.deepEqual(await spot.sync(), [])
  })
})
