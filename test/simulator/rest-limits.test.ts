import assert from 'node:assert/strict'
import { afterEach, describe, test } from 'node:test'
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/server.ts'
import { ManualClock } from '../helpers/manual-clock.ts'
import { get, usedWeight } from './rest-client.ts'

const T0 = Date.UTC(2024, 0, 1)
const KLINES = '/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1'

let clock: ManualClock
let sim: Simulator | undefined
async function setup(opts: SimulatorOptions = {}): Promise<Simulator> {
  clock = new ManualClock(T0 + 30_000)
  sim = await startSimulator({ clock, ...opts })
  return sim
}
afterEach(async () => {
  await sim?.close()
  sim = undefined
})

describe('REST request weight', () => {
  test('X-MBX-USED-WEIGHT-1M adds 1 (ping, time), 2 (klines), 20 (exchangeInfo), and resets each minute', async () => {
    const s = await setup()
    assert.equal(usedWeight(await get(s, '/api/v3/ping')), 1)
    assert.equal(usedWeight(await get(s, '/api/v3/time')), 2)
    assert.equal(usedWeight(await get(s, KLINES)), 4)
    assert.equal(usedWeight(await get(s, '/api/v3/exchangeInfo')), 24)
    assert.equal(
      usedWeight(await get(s, '/api/v3/klines?symbol=NOPE&interval=1m')),
      26,
      'errors are charged too',
    )
    clock.advance(29_999)
    assert.equal(usedWeight(await get(s, KLINES)), 28)
    clock.advance(1) // T0 + 1 min: a new fixed window
    assert.equal(usedWeight(await get(s, KLINES)), 2)
    const st = s.hooks.rest.stats()
    assert.equal(st.requests, 7)
    assert.equal(st.weightUsed, 30)
    assert.deepEqual(st.byPath, {
      '/api/v3/ping': 1,
      '/api/v3/time': 1,
      '/api/v3/klines': 4,
      '/api/v3/exchangeInfo': 1,
    })
  })

  test('past the limit: 429 -1003 with Retry-After to the window end; fine again next minute', async () => {
    const s = await setup({ weightLimitPerMinute: 10 })
    for (let i = 1; i <= 5; i++) assert.equal((await get(s, KLINES)).status, 200)
    clock.advance(5_500)
    const r = await get(s, KLINES)
    assert.equal(r.status, 429)
    assert.equal(r.headers.get('retry-after'), '25') // 24.5 s to T0+60 s, rounded up
    assert.equal(usedWeight(r), 12)
    assert.deepEqual(r.json(), {
      code: -1003,
      msg: 'Too much request weight used; current limit is 10 request weight per 1 MINUTE. Please use the websocket for live updates to avoid polling the API.',
    })
    clock.advance(24_500)
    const after = await get(s, KLINES)
    assert.equal(after.status, 200)
    assert.equal(usedWeight(after), 2)
    assert.equal(s.hooks.rest.stats().responses429, 1)
  })

  test('setWeightLimit applies at once', async () => {
    const s = await setup()
    s.hooks.rest.setWeightLimit(3)
    assert.equal((await get(s, KLINES)).status, 200)
    assert.equal((await get(s, KLINES)).status, 429)
  })

  test('continuing through 429s gets the IP banned: 418, Retry-After = ban, 2 min then escalating', async () => {
    const s = await setup({ weightLimitPerMinute: 10, banAfterRejected: 3 })
    const exhaust = async () => {
      for (let i = 0; i < 5; i++) assert.equal((await get(s, KLINES)).status, 200)
      for (let i = 0; i < 3; i++) assert.equal((await get(s, KLINES)).status, 429)
    }
    await exhaust()
    const ban = await get(s, KLINES)
    assert.equal(ban.status, 418)
    assert.equal(ban.headers.get('retry-after'), '120')
    const until = clock.now() + 120_000
    assert.deepEqual(ban.json(), {
      code: -1003,
      msg: `Way too much request weight used; IP banned until ${until}. Please use the websocket for live updates to avoid bans.`,
    })
    clock.advance(60_000) // a new weight window does not lift the ban
    const still = await get(s, '/api/v3/ping')
    assert.equal(still.status, 418)
    assert.equal(still.headers.get('retry-after'), '60')
    clock.advance(60_000)
    assert.equal((await get(s, '/api/v3/ping')).status, 200)

    clock.advance(60_000 - (clock.now() % 60_000)) // start of a fresh window
    await exhaust()
    const second = await get(s, KLINES)
    assert.equal(second.status, 418)
    assert.equal(second.headers.get('retry-after'), '240')
    const st = s.hooks.rest.stats()
    assert.equal(st.responses429, 6)
    assert.equal(st.responses418, 3)
  })
})
