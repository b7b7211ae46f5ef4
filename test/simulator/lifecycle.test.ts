import assert from 'node:assert/strict'
import { afterEach, describe, test } from 'node:test'
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/server.ts'
import { ManualClock } from '../helpers/manual-clock.ts'
import { once, TestClient } from './ws-client.ts'

const T0 = Date.UTC(2024, 0, 1)

let clock: ManualClock
let sim: Simulator | undefined
const clients: TestClient[] = []

async function setup(opts: SimulatorOptions = {}): Promise<Simulator> {
  clock = new ManualClock(T0)
  sim = await startSimulator({ clock, ...opts })
  return sim
}
async function open(path: string, opts?: { autoPong?: boolean }): Promise<TestClient> {
  const c = await TestClient.open(`ws://127.0.0.1:${sim?.port}${path}`, opts)
  clients.push(c)
  return c
}
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate()
  await sim?.close()
  sim = undefined
})

describe('5 incoming messages per rolling second', () => {
  test('a 6th control message within the second closes with 1008', async () => {
    await setup()
    const c = await open('/ws')
    for (let i = 1; i <= 6; i++) c.send({ method: 'LIST_SUBSCRIPTIONS', id: i })
    for (let i = 1; i <= 5; i++) assert.deepEqual(await c.nextJson(), { result: [], id: i })
    assert.deepEqual(await c.closed, { code: 1008, reason: 'Too many requests' })
    assert.equal(clock.timerCount, 0)
  })

  test('5 per second is fine when the window rolls on', async () => {
    const s = await setup()
    const c = await open('/ws')
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5; i++) c.send({ method: 'GET_PROPERTY', params: ['combined'], id: i })
      for (let i = 0; i < 5; i++) assert.deepEqual(await c.nextJson(), { result: false, id: i })
      clock.advance(1_000)
    }
    assert.equal(s.hooks.connections()[0]?.controlMessages, 15)
  })

  test('client pings and pongs count too', async () => {
    await setup()
    const pinger = await open('/ws')
    for (let i = 0; i < 6; i++) pinger.ws.ping()
    assert.equal((await pinger.closed).code, 1008)
    const ponger = await open('/ws')
    for (let i = 0; i < 3; i++) ponger.ws.pong()
    for (let i = 0; i < 3; i++) ponger.send({ method: 'LIST_SUBSCRIPTIONS', id: i })
    assert.equal((await ponger.closed).code, 1008)
  })
})

describe('server pings', () => {
  test('ping every 20 s carries a payload; echoed pongs keep the connection alive', async () => {
    const s = await setup()
    const c = await open('/ws')
    clock.advance(20_000)
    await c.pingCount(1)
    assert.equal(c.pings[0], String(T0 + 20_000))
    for (let i = 0; i < 12; i++) {
      clock.advance(10_000)
      await c.sync()
    }
    const info = s.hooks.connections()[0]
    assert.equal(info?.pingsSent, 7)
    assert.equal(info?.pongsReceived, 7)
    assert.equal(c.ws.readyState, c.ws.OPEN)
  })

  test('no pong within 60 s closes the connection; unsolicited pongs do not count', async () => {
    await setup({ pingIntervalMs: 1_000_000 })
    const c = await open('/ws', { autoPong: false })
    c.ws.pong() // before any ping: allowed
    clock.advance(1_000_000)
    await c.pingCount(1)
    c.ws.pong('not the payload')
    await c.sync()
    clock.advance(59_999)
    await c.sync()
    clock.advance(1)
    assert.deepEqual(await c.closed, { code: 1008, reason: 'Pong timeout' })
  })

  test('a late echo of the payload still counts if it arrives before the deadline', async () => {
    const s = await setup({ pingIntervalMs: 1_000_000 })
    const c = await open('/ws', { autoPong: false })
    clock.advance(1_000_000)
    await c.pingCount(1)
    clock.advance(59_000)
    c.ws.pong(c.pings[0])
    await c.sync()
    clock.advance(10_000)
    await c.sync()
    assert.equal(s.hooks.connections()[0]?.pongsReceived, 1)
  })
})

describe('zombie, lifetime and limits', () => {
  test('silence(true): no data and no pings until silence(false)', async () => {
    const s = await setup()
    const c = await open('/stream?streams=btcusdt@bookTicker/btcusdt@kline_1m')
    s.hooks.silence(true)
    clock.advance(5 * 60_000)
    s.hooks.injectRaw('marker')
    assert.equal(await c.next(), 'marker', 'nothing was sent before the marker')
    assert.equal(c.pings.length, 0)
    assert.equal(s.hooks.connections()[0]?.pingsSent, 0)
    s.hooks.silence(false)
    clock.advance(1_000)
    const frame = (await c.nextJson()) as { stream: string }
    assert.equal(frame.stream, 'btcusdt@bookTicker')
  })

  test('the server closes a connection at the end of its lifetime', async () => {
    const s = await setup({ connectionLifetimeMs: 30_000, pingIntervalMs: 1_000_000 })
    const c = await open('/ws/btcusdt@kline_1m')
    const closed = once(s, 'close')
    clock.advance(30_000)
    assert.equal((await c.closed).code, 1001)
    await closed
    assert.equal(s.hooks.connections().length, 0)
    assert.equal(clock.timerCount, 0)
  })

  test('more than 1024 streams: SUBSCRIBE is refused, URL upgrade is rejected', async () => {
    const s = await setup()
    const c = await open('/ws')
    const names = Array.from({ length: 1025 }, (_, i) => `s${i}@kline_1m`)
    assert.deepEqual(await c.request({ method: 'SUBSCRIBE', params: names, id: 1 }), {
      error: { code: 2, msg: 'Invalid request: more than 1024 streams' },
      id: 1,
    })
    assert.deepEqual(await c.request({ method: 'SUBSCRIBE', params: names.slice(0, 1024), id: 2 }), {
      result: null,
      id: 2,
    })
    assert.equal(s.hooks.connections()[0]?.streams.length, 1024)
    await s.close()
    const small = await setup({ maxStreamsPerConnection: 2 })
    await assert.rejects(
      TestClient.open(`ws://127.0.0.1:${small.port}/stream?streams=a@kline_1m/b@kline_1m/c@kline_1m`),
      /400/,
    )
  })

  test('events: connection and close are reported with the connection id', async () => {
    const s = await setup()
    const opened = once(s, 'connection')
    const c = await open('/ws')
    const { id } = await opened
    assert.equal(s.hooks.connections()[0]?.id, id)
    const closed = once(s, 'close')
    await c.close()
    assert.deepEqual(await closed, { id })
  })
})

test('startSimulator rejects non-positive intervals', async () => {
  await assert.rejects(startSimulator({ klineUpdateMs: 0 }), RangeError)
})
