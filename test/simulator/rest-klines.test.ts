import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { afterEach, describe, test } from 'node:test'
import { formingKline, type SimKline, simulatedKline } from '../../src/simulator/market.ts'
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/server.ts'
import { ManualClock } from '../helpers/manual-clock.ts'
import { get, openTimes, usedWeight } from './rest-client.ts'
import { TestClient } from './ws-client.ts'

const T0 = Date.UTC(2024, 0, 1)
const MIN = 60_000
const NOW = T0 + 10 * MIN + 30_000 // half-way through the minute at T0+10m
const CUR = T0 + 10 * MIN
type Json = Record<string, unknown>

const row = (k: SimKline) => [
  k.openTime,
  k.open,
  k.high,
  k.low,
  k.close,
  k.volume,
  k.closeTime,
  k.quoteVolume,
  k.trades,
  k.takerBuyBase,
  k.takerBuyQuote,
  '0',
]
const minutes = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i * MIN)

let clock: ManualClock
let sim: Simulator | undefined
async function setup(opts: SimulatorOptions = {}, now = NOW): Promise<Simulator> {
  clock = new ManualClock(now)
  sim = await startSimulator({ clock, ...opts })
  return sim
}
afterEach(async () => {
  await sim?.close()
  sim = undefined
})
const klines = (query: string) => get(sim as Simulator, `/api/v3/klines?${query}`)

describe('REST klines: rows', () => {
  test('12-column rows equal to the stream values; the last row is the still-open minute', async () => {
    await setup()
    const r = await klines('symbol=BTCUSDT&interval=1m&limit=5')
    assert.equal(r.status, 200)
    assert.equal(usedWeight(r), 2)
    const rows = r.json() as unknown[][]
    const doc = JSON.parse(
      readFileSync('/work/shared/fixtures/spot_rest_klines.doc.json', 'utf8'),
    ) as unknown[][]
    const types = (x: unknown[]) => x.map((v) => typeof v)
    for (const x of rows) assert.deepEqual(types(x), types(doc[0] as unknown[]))
    assert.deepEqual(openTimes(r), minutes(CUR - 4 * MIN, 5))
    for (const t of minutes(CUR - 4 * MIN, 4)) {
      assert.deepEqual(rows[(t - (CUR - 4 * MIN)) / MIN], row(simulatedKline('BTCUSDT', t)))
    }
    const open = rows[4] as unknown[]
    assert.deepEqual(open, row(formingKline('BTCUSDT', CUR, 30_000) as SimKline))
    assert.ok((open[6] as number) > NOW, 'closeTime in the future')
    assert.ok((open[8] as number) < simulatedKline('BTCUSDT', CUR).trades)
  })

  test('a minute with no trade yet is served flat at its open price', async () => {
    await setup({}, CUR)
    const rows = (await klines('symbol=ETHUSDT&interval=1m&limit=1')).json() as unknown[][]
    const k = simulatedKline('ETHUSDT', CUR)
    const z = '0.00000000'
    assert.deepEqual(rows, [[CUR, k.open, k.open, k.open, k.open, z, CUR + MIN - 1, z, 0, z, z, '0']])
  })

  test('the backfilled minute equals the streamed x=true frame to the last digit', async () => {
    await setup({}, T0)
    const c = await TestClient.open(`${(sim as Simulator).wsBase}/nknusdt@kline_1m`)
    let closed: Json | undefined
    for (let i = 0; !closed; i++) {
      assert.ok(i < 30, 'a closed kline within 5 simulated minutes')
      clock.advance(10_000)
      for (const text of await c.sync()) {
        const k = (JSON.parse(text) as Json).k as Json
        if (k.x === true) closed = k
      }
    }
    c.ws.terminate()
    const [r] = (await klines(`symbol=NKNUSDT&interval=1m&startTime=${T0}&limit=1`)).json() as unknown[][]
    const k = closed
    assert.deepEqual(r, [k.t, k.o, k.h, k.l, k.c, k.v, k.T, k.q, k.n, k.V, k.Q, k.B])
  })
})

describe('REST klines: selection rules', () => {
  test('no start/end: the newest `limit`, default 500', async () => {
    await setup()
    assert.deepEqual(openTimes(await klines('symbol=BTCUSDT&interval=1m')), minutes(CUR - 499 * MIN, 500))
    assert.deepEqual(openTimes(await klines('symbol=BTCUSDT&interval=1m&limit=1')), [CUR])
  })

  test('start only: from the first openTime ≥ startTime, ascending', async () => {
    await setup()
    assert.deepEqual(
      openTimes(await klines(`symbol=BTCUSDT&interval=1m&startTime=${T0}&limit=3`)),
      minutes(T0, 3),
    )
    assert.deepEqual(
      openTimes(await klines(`symbol=BTCUSDT&interval=1m&startTime=${T0 + 1}&limit=3`)),
      minutes(T0 + MIN, 3),
    )
    // Runs up to the open minute, not past it.
    assert.deepEqual(
      openTimes(await klines(`symbol=BTCUSDT&interval=1m&startTime=${T0 + 8 * MIN}`)),
      minutes(T0 + 8 * MIN, 3),
    )
    assert.deepEqual(openTimes(await klines(`symbol=BTCUSDT&interval=1m&startTime=${CUR + MIN}`)), [])
  })

  test('end only: the newest rows with openTime ≤ endTime', async () => {
    await setup()
    assert.deepEqual(
      openTimes(await klines(`symbol=BTCUSDT&interval=1m&endTime=${T0 + 5 * MIN + 59_999}&limit=3`)),
      minutes(T0 + 3 * MIN, 3),
    )
    assert.deepEqual(
      openTimes(await klines(`symbol=BTCUSDT&interval=1m&endTime=${T0 + 5 * MIN - 1}&limit=2`)),
      minutes(T0 + 3 * MIN, 2),
    )
    assert.deepEqual(
      openTimes(await klines(`symbol=BTCUSDT&interval=1m&endTime=${CUR + 50 * MIN}&limit=2`)),
      [CUR - MIN, CUR],
    )
  })

  test('both: from start, not past end, at most `limit`', async () => {
    await setup()
    assert.deepEqual(
      openTimes(await klines(`symbol=BTCUSDT&interval=1m&startTime=${T0}&endTime=${T0 + 2 * MIN}`)),
      minutes(T0, 3),
    )
    assert.deepEqual(
      openTimes(await klines(`symbol=BTCUSDT&interval=1m&startTime=${T0}&endTime=${T0 + 5 * MIN}&limit=2`)),
      minutes(T0, 2),
    )
    const bad = await klines(`symbol=BTCUSDT&interval=1m&startTime=${T0 + MIN}&endTime=${T0}`)
    assert.equal(bad.status, 400)
    assert.deepEqual(bad.json(), { code: -1023, msg: 'Start time is greater than end time.' })
  })

  test('limit: max 1000, larger values clamped to 1000, below 1 → -1130, non-digits → -1100', async () => {
    await setup()
    const start = CUR - 2_000 * MIN
    const max = openTimes(await klines(`symbol=BTCUSDT&interval=1m&startTime=${start}&limit=1000`))
    assert.deepEqual(max, minutes(start, 1000))
    const over = openTimes(await klines(`symbol=BTCUSDT&interval=1m&startTime=${start}&limit=5000`))
    assert.deepEqual(over, max)
    const zero = await klines('symbol=BTCUSDT&interval=1m&limit=0')
    assert.deepEqual(zero.json(), { code: -1130, msg: "Data sent for parameter 'limit' is not valid." })
    const junk = await klines('symbol=BTCUSDT&interval=1m&limit=ten')
    assert.deepEqual(junk.json(), {
      code: -1100,
      msg: "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'.",
    })
  })

  test('startTime/endTime in microseconds (16 digits) select the same minutes', async () => {
    await setup()
    const us = (ms: number) => BigInt(ms) * 1000n
    const r = await klines(
      `symbol=BTCUSDT&interval=1m&startTime=${us(T0 + MIN)}&endTime=${us(T0 + 2 * MIN) + 999n}`,
    )
    assert.deepEqual(openTimes(r), minutes(T0 + MIN, 2))
    const mid = await klines(`symbol=BTCUSDT&interval=1m&startTime=${us(T0) + 1n}&limit=1`)
    assert.deepEqual(openTimes(mid), [T0 + MIN])
    // Still ms in the rows.
    assert.equal((r.json() as number[][])[0]?.[6], T0 + 2 * MIN - 1)
  })

  test('timeZone is accepted (no effect on 1m) and validated', async () => {
    await setup()
    const utc = (await klines('symbol=BTCUSDT&interval=1m&limit=3')).text
    for (const tz of ['0', '+08:00', '-12:00', '14', '5:45']) {
      const r = await klines(`symbol=BTCUSDT&interval=1m&limit=3&timeZone=${encodeURIComponent(tz)}`)
      assert.equal(r.text, utc, tz)
    }
    for (const tz of ['15', '-13:00', 'UTC', '1:75']) {
      const r = await klines(`symbol=BTCUSDT&interval=1m&limit=3&timeZone=${encodeURIComponent(tz)}`)
      assert.deepEqual(r.json(), { code: -1130, msg: "Data sent for parameter 'timeZone' is not valid." }, tz)
    }
  })
})

describe('REST klines: listing, outages, errors', () => {
  test('no rows before a symbol is listed (listedAt)', async () => {
    await setup({ listedAt: { ETHUSDT: T0 + 7 * MIN } })
    const q = 'symbol=ETHUSDT&interval=1m'
    assert.deepEqual(openTimes(await klines(`${q}&startTime=${T0}&limit=3`)), minutes(T0 + 7 * MIN, 3))
    assert.deepEqual(openTimes(await klines(`${q}&endTime=${T0 + 6 * MIN}`)), [])
    assert.deepEqual(openTimes(await klines(q)), minutes(T0 + 7 * MIN, 4))
    assert.equal(openTimes(await klines('symbol=BTCUSDT&interval=1m')).length, 500)
  })

  test('outage(symbol, from, to): those rows are absent and do not count against limit', async () => {
    await setup()
    const s = sim as Simulator
    s.hooks.rest.outage('btcusdt', T0 + 2 * MIN, T0 + 3 * MIN)
    const q = 'symbol=BTCUSDT&interval=1m'
    assert.deepEqual(openTimes(await klines(`${q}&startTime=${T0}&limit=4`)), [
      T0,
      T0 + MIN,
      T0 + 4 * MIN,
      T0 + 5 * MIN,
    ])
    assert.deepEqual(openTimes(await klines(`${q}&endTime=${T0 + 4 * MIN}&limit=3`)), [
      T0,
      T0 + MIN,
      T0 + 4 * MIN,
    ])
    assert.deepEqual(openTimes(await klines(`${q}&startTime=${T0 + 2 * MIN}&endTime=${T0 + 3 * MIN}`)), [])
    assert.equal(openTimes(await klines(`symbol=ETHUSDT&interval=1m&startTime=${T0}&limit=4`)).length, 4)
  })

  test('-1102 missing symbol/interval, -1100 lowercase, -1121 unknown, -1120 bad or unsimulated interval', async () => {
    await setup()
    const cases: Array<[string, number, string]> = [
      ['interval=1m', -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."],
      [
        'symbol=&interval=1m',
        -1102,
        "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
      ],
      ['symbol=BTCUSDT', -1102, "Mandatory parameter 'interval' was not sent, was empty/null, or malformed."],
      [
        'symbol=btcusdt&interval=1m',
        -1100,
        "Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'.",
      ],
      ['symbol=NOPEUSDT&interval=1m', -1121, 'Invalid symbol.'],
      ['symbol=BTCUSDT&interval=1x', -1120, 'Invalid interval.'],
      ['symbol=BTCUSDT&interval=1M', -1120, 'Invalid interval.'],
      [
        'symbol=BTCUSDT&interval=1m&startTime=-5',
        -1100,
        "Illegal characters found in parameter 'startTime'; legal range is '^[0-9]{1,20}$'.",
      ],
      [
        'symbol=BTCUSDT&interval=1m&limit=5&foo=bar',
        -1104,
        "Not all sent parameters were read; read '3' parameter(s) but was sent '4'.",
      ],
    ]
    for (const [q, code, msg] of cases) {
      const r = await klines(q)
      assert.equal(r.status, 400, q)
      assert.deepEqual(r.json(), { code, msg }, q)
      assert.ok(r.headers.has('x-mbx-used-weight-1m'), q)
    }
  })
})
