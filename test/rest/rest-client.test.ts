import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, it } from 'node:test'
import {
  createRestClient,
  isRetryableRestError,
  type RestClient,
  type RestClientOptions,
  RestError,
  type RestEvent,
} from '../../src/binance/rest/rest-client.ts'
import type { Candle } from '../../src/core/records.ts'
import { fixtureText } from '../helpers/fixtures.ts'
import { ManualClock } from '../helpers/manual-clock.ts'
import { drive, parked, until } from './drive.ts'
import { FakeBinance, klineRow, MIN } from './fake-binance.ts'

const START = Date.UTC(2024, 0, 10, 12, 0, 0) // a minute start
const FROM = Date.UTC(2024, 0, 1)

let clock: ManualClock
let server: FakeBinance
let events: RestEvent[]
let clients: RestClient[]

function client(opts: Partial<RestClientOptions> = {}): RestClient {
  const c = createRestClient({
    baseUrl: server.url,
    clock,
    random: () => 0.5,
    onEvent: (e) => events.push(e),
    ...opts,
  })
  clients.push(c)
  return c
}

function ofType<T extends RestEvent['type']>(type: T): Extract<RestEvent, { type: T }>[] {
  return events.filter((e): e is Extract<RestEvent, { type: T }> => e.type === type)
}

async function rejectsWith(p: Promise<unknown>, code: RestError['code']): Promise<RestError> {
  let caught: unknown
  await p.catch((e: unknown) => {
    caught = e
  })
  assert.ok(caught instanceof RestError, `expected RestError ${code}, got ${String(caught)}`)
  assert.equal(caught.code, code, caught.message)
  return caught
}

beforeEach(async () => {
  clock = new ManualClock(START + 30_000)
  server = await new FakeBinance(clock).start()
  events = []
  clients = []
})

afterEach(async () => {
  for (const c of clients) c.close()
  await server.close()
})

describe('RestClient: responses', () => {
  it('serves a documented row verbatim and exposes the weight header', async () => {
    const row = JSON.parse(fixtureText('futures_rest_klines.doc.json'))[0] as unknown[]
    row[6] = (row[0] as number) + MIN - 1
    server.script.push({ body: JSON.stringify([row]) })
    const c = client()
    const page = await c.klines('ETHBTC', { startTime: 1_499_040_000_000, limit: 1 })
    assert.equal(page.candles[0]?.open, '0.01634790')
    assert.equal(page.candles[0]?.volume, '148976.11427815')
    assert.equal(page.candles[0]?.source, 'rest')
    assert.equal(page.candles[0]?.receivedAt, START + 30_000)
    const q = server.requests[0]?.query
    assert.equal(q?.toString(), 'symbol=ETHBTC&interval=1m&startTime=1499040000000&limit=1')
    assert.equal(c.usedWeight(), 2)
    assert.deepEqual(
      ofType('weight').map((e) => e.headerWeight),
      [2],
    )
  })

  it('skips the still-open minute, honouring the close grace', async () => {
    clock.advanceTo(START + MIN + 1_000) // minute START+1 opened 1 s ago, minute START closed 1 s ago
    const c = client()
    const page = await c.klines('BTCUSDT', { startTime: START - 4 * MIN, endTime: START + 2 * MIN - 1 })
    assert.equal(page.rawCount, 6)
    assert.equal(page.skippedOpen, 2) // the open minute, and the one closed < 2 s ago
    assert.deepEqual(
      page.candles.map((x) => x.openTime),
      [4, 3, 2, 1].map((i) => START - i * MIN),
    )
    assert.deepEqual(page.rejected, [])
  })

  it('rejected rows are reported by event and never returned', async () => {
    const t = START - 10 * MIN
    const bad = klineRow(t + MIN)
    bad[2] = '1.00000000' // high below low
    server.script.push({ body: JSON.stringify([klineRow(t), bad, klineRow(t + 2 * MIN)]) })
    const page = await client().klines('BTCUSDT', { startTime: t, limit: 3 })
    assert.deepEqual(
      page.candles.map((x) => x.openTime),
      [t, t + 2 * MIN],
    )
    const ev = ofType('rejected_rows')
    assert.equal(ev.length, 1)
    assert.equal(ev[0]?.symbol, 'BTCUSDT')
    assert.equal(ev[0]?.rejections[0]?.reason, 'impossible_values')
  })

  const broken: Array<[string, { status?: number; body: string; contentType?: string }]> = [
    [
      'an HTML error page from a proxy (502)',
      { status: 502, body: '<html><h1>502 Bad Gateway</h1></html>', contentType: 'text/html' },
    ],
    [
      'an HTML page with 200',
      { body: '<!doctype html><title>Just a moment…</title>', contentType: 'text/html' },
    ],
    ['truncated JSON', { body: '[[1704067200000,"1.0","1.0","1.0"' }],
    ['{} instead of an array', { body: '{}' }],
    ['unordered rows', { body: JSON.stringify([klineRow(START - MIN), klineRow(START - 2 * MIN)]) }],
  ]
  for (const [name, mis] of broken) {
    it(`${name}: BAD_RESPONSE, retried, then the good page`, async () => {
      server.script.push(mis)
      const c = client()
      const page = await drive(
        clock,
        c,
        c.klines('BTCUSDT', { startTime: START - 3 * MIN, endTime: START - 1 }),
      )
      assert.equal(page.candles.length, 3)
      assert.equal(server.requests.length, 2)
      const retries = ofType('retry')
      assert.deepEqual(
        retries.map((r) => [r.code, r.attempt]),
        [['BAD_RESPONSE', 1]],
      )
      // equal jitter around 500 ms with random() = 0.5
      assert.equal(retries[0]?.delayMs, 375)
      assert.equal(server.requests[1]?.at, START + 30_000 + 375)
    })
  }

  it('a page that stays broken fails with BAD_RESPONSE after maxRetries', async () => {
    for (let i = 0; i < 3; i++) server.script.push({ body: '{}' })
    const c = client({ maxRetries: 2 })
    const err = await rejectsWith(drive(clock, c, c.klines('BTCUSDT', { limit: 5 })), 'BAD_RESPONSE')
    assert.equal(isRetryableRestError(err), true)
    assert.equal(server.requests.length, 3)
    assert.deepEqual(
      ofType('retry').map((r) => r.delayMs),
      [375, 750],
    )
  })

  it('-1121 Invalid symbol → UNKNOWN_SYMBOL, not retried', async () => {
    const c = client()
    const err = await rejectsWith(c.klines('NOPEUSDT', { limit: 1 }), 'UNKNOWN_SYMBOL')
    assert.equal(err.binanceCode, -1121)
    assert.equal(err.status, 400)
    assert.equal(isRetryableRestError(err), false)
    assert.equal(server.requests.length, 1)
    assert.equal(ofType('retry').length, 0)
  })

  it('other parameter errors (-1100 … -1130) are not retried', async () => {
    server.script.push({ status: 400, body: '{"code":-1100,"msg":"Illegal characters found in parameter"}' })
    const err = await rejectsWith(client().klines('BTCUSDT', { limit: 1 }), 'BINANCE_ERROR')
    assert.equal(err.binanceCode, -1100)
    assert.equal(server.requests.length, 1)
  })

  it('refuses bad symbols and arguments before anything reaches a URL', async () => {
    const c = client()
    for (const s of ['btcusdt', 'BTC/USDT', 'BTCUSDT&limit=5000', 'B', '']) {
      await rejectsWith(c.klines(s, { limit: 1 }), 'INVALID_ARGUMENT')
    }
    await rejectsWith(c.klines('BTCUSDT', { limit: 1001 }), 'INVALID_ARGUMENT')
    await rejectsWith(c.klines('BTCUSDT', { startTime: 2, endTime: 1 }), 'INVALID_ARGUMENT')
    await rejectsWith(c.closedCandlesBetween('BTCUSDT', FROM + 1, FROM + MIN), 'INVALID_ARGUMENT')
    await rejectsWith(c.exchangeInfo(['BTCUSDT', 'x"]']), 'INVALID_ARGUMENT')
    assert.equal(server.requests.length, 0)
  })

  it('exchangeInfo, time and ping', async () => {
    const c = client()
    const all = await c.exchangeInfo()
    assert.deepEqual(all.symbols, [{ symbol: 'ETHBTC', status: 'TRADING' }])
    const some = await c.exchangeInfo(['BTCUSDT', 'ETHUSDT'])
    assert.deepEqual(
      some.symbols.map((s) => s.symbol),
      ['BTCUSDT', 'ETHUSDT'],
    )
    assert.equal(server.requests[1]?.query.get('symbols'), '["BTCUSDT","ETHUSDT"]')
    await rejectsWith(c.exchangeInfo(['NOPEUSDT']), 'UNKNOWN_SYMBOL')
    assert.equal(await c.serverTime(), START + 30_000)
    await c.ping()
    assert.equal(c.usedWeight(), 20 * 3 + 1 + 1)
    server.script.push({ path: '/api/v3/time', body: '{"serverTime":"soon"}' })
    server.script.push({ path: '/api/v3/time', body: '{"serverTime":"soon"}' })
    const d = client({ maxRetries: 1 })
    await rejectsWith(drive(clock, d, d.serverTime()), 'BAD_RESPONSE')
  })
})

describe('RestClient: closedCandlesBetween', () => {
  it('2500 minutes = 3 requests with exact cursors; candles ascending and complete', async () => {
    const to = FROM + 2499 * MIN
    const c = client()
    const seen: number[] = []
    const r = await c.closedCandlesBetween('BTCUSDT', FROM, to, (cs: readonly Candle[]) => {
      for (const x of cs) seen.push(x.openTime)
    })
    assert.deepEqual(r, { candles: 2500, pages: 3, rejected: 0 })
    assert.deepEqual(
      server
        .klineRequests()
        .map((q) => [q.query.get('startTime'), q.query.get('endTime'), q.query.get('limit')]),
      [0, 1000, 2000].map((k) => [String(FROM + k * MIN), String(to + 59_999), '1000']),
    )
    assert.equal(seen.length, 2500)
    assert.ok(seen.every((t, i) => t === FROM + i * MIN))
  })

  it('an empty page ends the walk (no data after a delisting)', async () => {
    server.dataTo = FROM + 1499 * MIN
    const r = await client().closedCandlesBetween('BTCUSDT', FROM, FROM + 2499 * MIN)
    assert.deepEqual(r, { candles: 1500, pages: 3, rejected: 0 })
    assert.deepEqual(
      server.klineRequests().map((q) => Number(q.query.get('startTime'))),
      [FROM, FROM + 1000 * MIN, FROM + 1500 * MIN],
    )
  })

  it('a range with no data at all costs one request', async () => {
    server.dataFrom = FROM + 10_000 * MIN // listed later
    const r = await client().closedCandlesBetween('BTCUSDT', FROM, FROM + 99 * MIN)
    assert.deepEqual(r, { candles: 0, pages: 1, rejected: 0 })
  })

  it('never asks for minutes that have not closed', async () => {
    const c = client()
    const r = await c.closedCandlesBetween('BTCUSDT', START - 3 * MIN, START + 60 * MIN)
    assert.deepEqual(r, { candles: 3, pages: 1, rejected: 0 })
    assert.equal(server.requests[0]?.query.get('endTime'), String(START - 1))
    assert.deepEqual(await c.closedCandlesBetween('BTCUSDT', START, START + 5 * MIN), {
      candles: 0,
      pages: 0,
      rejected: 0,
    })
    assert.equal(server.requests.length, 1)
  })

  it('counts rejected rows and still moves past them', async () => {
    const bad = klineRow(FROM + MIN)
    bad[6] = FROM + 3 * MIN
    server.script.push({ body: JSON.stringify([klineRow(FROM), bad, klineRow(FROM + 2 * MIN)]) })
    const r = await client().closedCandlesBetween('BTCUSDT', FROM, FROM + 4 * MIN)
    assert.deepEqual(r, { candles: 4, pages: 2, rejected: 1 })
    assert.equal(server.requests[1]?.query.get('startTime'), String(FROM + 3 * MIN))
  })
})

describe('RestClient: weight budget', () => {
  it('waits for the next window instead of exceeding the budget: no 429 when the server limit equals the config', async () => {
    server.weightLimit = 10
    const c = client({ weightLimitPerMinute: 10 }) // uses ≤ 8 per window: 4 klines pages
    const to = FROM + 2499 * MIN
    const work = Promise.all(
      ['BTCUSDT', 'ETHUSDT', 'BNBUSDT'].map((s) => c.closedCandlesBetween(s, FROM, to)),
    )
    const results = await drive(clock, c, work)
    for (const r of results) assert.deepEqual(r, { candles: 2500, pages: 3, rejected: 0 })
    assert.equal(server.count429, 0)
    assert.equal(server.requests.length, 9)
    assert.ok(
      [...server.usedByWindow.values()].every((w) => w <= 8),
      JSON.stringify([...server.usedByWindow]),
    )
    assert.equal(server.usedByWindow.size, 3)
    const waits = ofType('budget_wait')
    assert.ok(waits.length >= 2)
    assert.ok(waits.every((w) => w.reason === 'weight'))
    // every first request of a window went out 1 s + jitter after the boundary, never before
    const firstOfWindow = new Map<number, number>()
    for (const q of server.requests) {
      const w = Math.floor(q.at / MIN)
      if (!firstOfWindow.has(w)) firstOfWindow.set(w, q.at - w * MIN)
    }
    assert.deepEqual([...firstOfWindow.values()].slice(1), [2_000, 2_000])
  })

  it('trusts X-MBX-USED-WEIGHT-1M: weight used by another process on the IP counts', async () => {
    server.weightLimit = 100
    server.externalWeight = 75
    const c = client({ weightLimitPerMinute: 100 })
    await c.ping()
    assert.equal(c.usedWeight(), 76)
    const work = Promise.all([c.ping(), c.ping(), c.ping(), c.ping(), c.ping()])
    await until(() => parked(c), 'client to wait for the next window')
    assert.equal(server.requests.length, 5) // 76 + 4 = 80 = 80 %; the fifth waits
    assert.equal(c.state().queued, 1)
    server.externalWeight = 0
    await drive(clock, c, work)
    assert.equal(server.requests.length, 6)
    assert.equal(server.count429, 0)
  })
})

describe('RestClient: 429 and 418', () => {
  it('429 + Retry-After pauses every call of the client; nothing is sent until then', async () => {
    server.script.push({
      status: 429,
      body: fixtureText('rest_error_too_much_weight_-1003.reconstructed-from-log.json'),
      headers: { 'retry-after': '30' },
    })
    const c = client()
    const t0 = clock.now()
    const first = c.klines('BTCUSDT', { startTime: START - 3 * MIN, endTime: START - 1 })
    await until(() => parked(c), 'pause after the 429')
    const pausedUntil = t0 + 30_000 + 500 + 750 // Retry-After + jitter (random 0.5)
    assert.equal(c.state().pausedUntil, pausedUntil)
    const rl = ofType('rate_limited')
    assert.deepEqual(
      rl.map((e) => [e.status, e.binanceCode, e.retryAfterMs, e.pausedUntil]),
      [[429, -1003, 30_000, pausedUntil]],
    )
    // concurrent calls from other "symbols" arrive during the pause
    const others = [c.klines('ETHUSDT', { limit: 2 }), c.serverTime(), c.ping()]
    await until(() => c.state().queued === 4 && parked(c), 'all calls queued')
    clock.advance(pausedUntil - 1 - clock.now())
    await until(() => parked(c))
    assert.equal(server.requests.length, 1, 'nothing sent during the pause')
    const all = await drive(clock, c, Promise.all([first, ...others]))
    assert.equal(all[0].candles.length, 3)
    assert.equal(server.requests.length, 5)
    assert.ok(server.requests.slice(1).every((q) => q.at >= pausedUntil))
    assert.equal(server.count429, 0)
  })

  it('429 without Retry-After pauses until the next window (+ jitter)', async () => {
    server.script.push({ status: 429, body: '{"code":-1003,"msg":"x"}' })
    const c = client()
    const done = c.ping()
    await until(() => parked(c))
    assert.equal(c.state().pausedUntil, START + MIN + 1_250)
    await drive(clock, c, done)
    assert.equal(server.requests[1]?.at, START + MIN + 1_250)
  })

  it('a misconfigured budget (above the server limit) gets a 429 once and recovers', async () => {
    server.weightLimit = 6
    const c = client({ weightLimitPerMinute: 10 })
    const r = await drive(clock, c, c.closedCandlesBetween('BTCUSDT', FROM, FROM + 4999 * MIN))
    assert.deepEqual(r, { candles: 5000, pages: 5, rejected: 0 })
    assert.equal(server.count429, 1)
    const sent = server.requests.filter((q) => q.status === 200).map((q) => Math.floor(q.at / MIN))
    // after the 429 the window's header (6 used) keeps the client out until the next window
    assert.deepEqual(
      [...new Set(sent)].map((w) => sent.filter((x) => x === w).length),
      [3, 2],
    )
  })

  it('418: paused for Retry-After (a ban), then the call completes', async () => {
    server.script.push({
      status: 418,
      body: '{"code":-1003,"msg":"Way too much request weight used; IP banned until 1704888300000."}',
      headers: { 'retry-after': '120' },
    })
    const c = client()
    const t0 = clock.now()
    const done = c.serverTime()
    await until(() => parked(c))
    assert.deepEqual(
      ofType('rate_limited').map((e) => [e.status, e.retryAfterMs]),
      [[418, 120_000]],
    )
    const until418 = t0 + 120_000 + 1_250
    assert.equal(c.state().pausedUntil, until418)
    assert.equal(await drive(clock, c, done), until418)
    assert.equal(server.requests.length, 2)
  })

  it('418 with a ban of days fails at once with HTTP_418, and later calls fail without being sent', async () => {
    server.script.push({
      status: 418,
      body: '{"code":-1003,"msg":"banned"}',
      headers: { 'retry-after': '259200' },
    })
    const c = client()
    const err = await rejectsWith(c.klines('BTCUSDT', { limit: 1 }), 'HTTP_418')
    assert.equal(err.retryAfterMs, 259_200_000)
    assert.equal(isRetryableRestError(err), false)
    const again = await rejectsWith(c.ping(), 'HTTP_418')
    assert.ok((again.retryAfterMs ?? 0) > 259_200_000)
    assert.equal(server.requests.length, 1)
    assert.equal(ofType('retry').length, 0)
  })
})

describe('RestClient: transient failures', () => {
  it('5xx (-1008 SERVER_BUSY) then success', async () => {
    server.script.push({
      status: 503,
      body: '{"code":-1008,"msg":"Server is currently overloaded with other requests."}',
    })
    server.script.push({
      status: 500,
      body: '{"code":-1001,"msg":"Internal error; unable to process your request."}',
    })
    const c = client()
    const page = await drive(
      clock,
      c,
      c.klines('BTCUSDT', { startTime: START - 2 * MIN, endTime: START - 1 }),
    )
    assert.equal(page.candles.length, 2)
    assert.deepEqual(
      ofType('retry').map((r) => [r.code, r.status, r.binanceCode, r.delayMs]),
      [
        ['HTTP_5XX', 503, -1008, 375],
        ['HTTP_5XX', 500, -1001, 750],
      ],
    )
  })

  it('timeout (the server hangs) then success', async () => {
    server.script.push({ hang: true })
    const c = client({ timeoutMs: 10_000 })
    const done = c.serverTime()
    await until(() => server.requests.length === 1 && c.state().inFlight === 1, 'request to hang')
    const t0 = clock.now()
    clock.advance(10_000)
    const t = await drive(clock, c, done)
    assert.equal(t, t0 + 10_000 + 375)
    assert.deepEqual(
      ofType('retry').map((r) => r.code),
      ['TIMEOUT'],
    )
  })

  it('a connection reset is a NETWORK error, retried', async () => {
    server.script.push({ destroy: true })
    const c = client()
    await drive(clock, c, c.ping())
    assert.deepEqual(
      ofType('retry').map((r) => r.code),
      ['NETWORK'],
    )
  })

  it('connection refused → NETWORK, retried with backoff, fails after maxRetries', async () => {
    const dead = createServer()
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r))
    const port = (dead.address() as AddressInfo).port
    await new Promise<void>((r) => dead.close(() => r()))
    const c = client({ baseUrl: `http://127.0.0.1:${port}`, maxRetries: 3 })
    const err = await rejectsWith(drive(clock, c, c.ping()), 'NETWORK')
    assert.match(err.message, /ECONNREFUSED/)
    assert.equal(ofType('request').length, 4)
    assert.deepEqual(
      ofType('retry').map((r) => r.delayMs),
      [375, 750, 1500],
    )
  })

  it('close() ends waiting calls with CLOSED', async () => {
    server.script.push({ status: 429, body: '{"code":-1003,"msg":"x"}', headers: { 'retry-after': '30' } })
    const c = client()
    const a = c.ping()
    await until(() => parked(c))
    const b = c.serverTime()
    c.close()
    await rejectsWith(a, 'CLOSED')
    await rejectsWith(b, 'CLOSED')
    await rejectsWith(c.ping(), 'CLOSED')
    assert.equal(server.requests.length, 1)
  })
})
