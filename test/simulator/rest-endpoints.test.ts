import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { type Simulator, startSimulator } from '../../src/simulator/server.ts'
import { ManualClock } from '../helpers/manual-clock.ts'
import { get, usedWeight } from './rest-client.ts'

const T0 = Date.UTC(2024, 0, 1)
const fixture = (name: string): unknown => JSON.parse(readFileSync(`/work/shared/fixtures/${name}`, 'utf8'))
type Json = Record<string, unknown>

let clock: ManualClock
let sim: Simulator
beforeEach(async () => {
  clock = new ManualClock(T0 + 12_345)
  sim = await startSimulator({ clock })
})
afterEach(() => sim.close())

describe('REST: ping, time, exchangeInfo', () => {
  test('ping and time match the documented shapes, weight 1 each', async () => {
    const ping = await get(sim, '/api/v3/ping')
    assert.equal(ping.status, 200)
    assert.deepEqual(ping.json(), fixture('spot_rest_ping.doc.json'))
    assert.match(ping.headers.get('content-type') ?? '', /^application\/json/)
    assert.equal(usedWeight(ping), 1)
    const time = await get(sim, '/api/v3/time')
    assert.deepEqual(
      Object.keys(time.json() as Json),
      Object.keys(fixture('spot_rest_time.doc.json') as Json),
    )
    assert.deepEqual(time.json(), { serverTime: T0 + 12_345 })
    assert.equal(usedWeight(time), 2)
    assert.equal(time.headers.get('x-mbx-used-weight'), '2')
  })

  test('exchangeInfo has the documented keys, the configured weight limit, weight 20', async () => {
    const doc = fixture('spot_rest_exchangeInfo.doc.json') as Json
    const docSymbol = (doc.symbols as Json[])[0] as Json
    const r = await get(sim, '/api/v3/exchangeInfo')
    assert.equal(r.status, 200)
    assert.equal(usedWeight(r), 20)
    const info = r.json() as Json
    assert.deepEqual(
      Object.keys(info),
      Object.keys(doc).filter((k) => k !== 'sors'),
    )
    assert.equal(info.timezone, 'UTC')
    assert.equal(info.serverTime, T0 + 12_345)
    assert.deepEqual((info.rateLimits as Json[])[0], {
      rateLimitType: 'REQUEST_WEIGHT',
      interval: 'MINUTE',
      intervalNum: 1,
      limit: 6000,
    })
    const symbols = info.symbols as Json[]
    const names = symbols.map((s) => s.symbol)
    for (const s of ['BTCUSDT', 'ETHUSDT', 'BNBBTC', 'NKNUSDT']) assert.ok(names.includes(s), s)
    for (const s of symbols) {
      assert.deepEqual(Object.keys(s), Object.keys(docSymbol))
      assert.equal(s.status, 'TRADING')
    }
    const btc = symbols.find((s) => s.symbol === 'BTCUSDT') as Json
    assert.equal(btc.baseAsset, 'BTC')
    assert.equal(btc.quoteAsset, 'USDT')
    const bnbbtc = symbols.find((s) => s.symbol === 'BNBBTC') as Json
    assert.deepEqual([bnbbtc.baseAsset, bnbbtc.quoteAsset], ['BNB', 'BTC'])
    const price = (btc.filters as Json[]).find((f) => f.filterType === 'PRICE_FILTER') as Json
    assert.equal(price.tickSize, '0.01000000')
  })

  test('exchangeInfo symbol= / symbols= select; unknown symbol → 400 -1121', async () => {
    const one = (await get(sim, '/api/v3/exchangeInfo?symbol=ETHUSDT')).json() as Json
    assert.deepEqual(
      (one.symbols as Json[]).map((s) => s.symbol),
      ['ETHUSDT'],
    )
    const q = encodeURIComponent(JSON.stringify(['BNBBTC', 'BTCUSDT']))
    const many = (await get(sim, `/api/v3/exchangeInfo?symbols=${q}`)).json() as Json
    assert.deepEqual(
      (many.symbols as Json[]).map((s) => s.symbol),
      ['BNBBTC', 'BTCUSDT'],
    )
    const bad = await get(sim, '/api/v3/exchangeInfo?symbol=NOPEUSDT')
    assert.equal(bad.status, 400)
    assert.deepEqual(bad.json(), fixture('rest_error_invalid_symbol.doc.json'))
    const badMany = await get(sim, `/api/v3/exchangeInfo?symbols=${encodeURIComponent('["BTCUSDT","NOPE"]')}`)
    assert.deepEqual(badMany.json(), { code: -1121, msg: 'Invalid symbol.' })
    const both = await get(sim, `/api/v3/exchangeInfo?symbol=BTCUSDT&symbols=${q}`)
    assert.equal((both.json() as Json).code, -1128)
    const malformed = await get(sim, '/api/v3/exchangeInfo?symbols=BTCUSDT')
    assert.equal((malformed.json() as Json).code, -1100)
  })

  test('a configured universe and weight limit show in exchangeInfo', async () => {
    await sim.close()
    sim = await startSimulator({ clock, symbols: ['dogeusdt', 'ETHBTC'], weightLimitPerMinute: 1200 })
    const info = (await get(sim, '/api/v3/exchangeInfo')).json() as Json
    assert.deepEqual(
      (info.symbols as Json[]).map((s) => s.symbol),
      ['DOGEUSDT', 'ETHBTC'],
    )
    assert.equal(((info.rateLimits as Json[])[0] as Json).limit, 1200)
    sim.hooks.rest.setWeightLimit(3000)
    const again = (await get(sim, '/api/v3/exchangeInfo')).json() as Json
    assert.equal(((again.rateLimits as Json[])[0] as Json).limit, 3000)
  })

  test('unknown path → 404, wrong method → 405, unread parameter → -1104; none of them fatal', async () => {
    const nf = await get(sim, '/api/v3/nope')
    assert.equal(nf.status, 404)
    const post = await get(sim, '/api/v3/klines?symbol=BTCUSDT&interval=1m', { method: 'POST' })
    assert.equal(post.status, 405)
    assert.equal(post.headers.get('allow'), 'GET')
    const extra = await get(sim, '/api/v3/ping?foo=1')
    assert.equal(extra.status, 400)
    assert.deepEqual(extra.json(), {
      code: -1104,
      msg: "Not all sent parameters were read; read '0' parameter(s) but was sent '1'.",
    })
    const dup = await get(sim, '/api/v3/klines?symbol=BTCUSDT&symbol=BTCUSDT&interval=1m')
    assert.equal((dup.json() as Json).code, -1101)
    assert.deepEqual(sim.hooks.rest.stats().byPath, {
      '/api/v3/nope': 1,
      '/api/v3/klines': 2,
      '/api/v3/ping': 1,
    })
  })
})
