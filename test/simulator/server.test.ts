import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { WebSocket } from 'ws'
import { CLOSING_BOOK_AT_MS, simulatedBook } from '../../src/simulator/book.ts'
import { simulatedKline } from '../../src/simulator/market.ts'
import { simKey } from '../../src/simulator/profile.ts'
import { type Simulator, startSimulator } from '../../src/simulator/server.ts'
import { ManualClock } from '../helpers/manual-clock.ts'
import { once, TestClient } from './ws-client.ts'

const T0 = Date.UTC(2024, 0, 1)
const MIN = 60_000
const fixture = (name: string): unknown => JSON.parse(readFileSync(`/work/shared/fixtures/${name}`, 'utf8'))

type Json = Record<string, unknown>
const kOf = (m: Json) => ((m.data ?? m) as Json).k as Json | undefined

/** The k object Binance would send for a closed simulated minute. */
function expectedK(symbol: string, t: number): Json {
  const k = simulatedKline(symbol, t)
  return {
    t: k.openTime,
    T: k.closeTime,
    s: k.symbol,
    i: '1m',
    f: k.firstTradeId,
    L: k.lastTradeId,
    o: k.open,
    c: k.close,
    h: k.high,
    l: k.low,
    v: k.volume,
    n: k.trades,
    x: true,
    q: k.quoteVolume,
    V: k.takerBuyBase,
    Q: k.takerBuyQuote,
    B: '0',
  }
}

function expectedBook(symbol: string, t: number): Json {
  const b = simulatedBook(symbol, t)
  return { u: b.updateId, s: symbol, b: b.bid, B: b.bidQty, a: b.ask, A: b.askQty }
}

let clock: ManualClock
let sim: Simulator
const clients: TestClient[] = []
/** Advances the clock to `to` in 10 s steps, syncing each step so pongs keep up; returns the frames. */
async function walk(c: TestClient, to: number): Promise<Json[]> {
  const out: string[] = []
  while (clock.now() < to) {
    clock.advance(Math.min(10_000, to - clock.now()))
    out.push(...(await c.sync()))
  }
  return out.map((t) => JSON.parse(t) as Json)
}
const open = async (path: string, opts?: { autoPong?: boolean }) => {
  const c = await TestClient.open(`ws://127.0.0.1:${sim.port}${path}`, opts)
  clients.push(c)
  return c
}

beforeEach(async () => {
  clock = new ManualClock(T0)
  sim = await startSimulator({ clock })
})
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate()
  await sim.close()
})

describe('simulator: endpoints and control over a real socket', () => {
  test('wsBase/httpBase and non-upgrade HTTP', async () => {
    assert.equal(sim.wsBase, `ws://127.0.0.1:${sim.port}/ws`)
    assert.equal(sim.httpBase, `http://127.0.0.1:${sim.port}`)
    const res = await fetch(`${sim.httpBase}/nope`)
    assert.equal(res.status, 404)
    await res.arrayBuffer()
    const ping = await fetch(`${sim.httpBase}/api/v3/ping`)
    assert.deepEqual(await ping.json(), {})
  })

  test('control methods on /ws, then combined switches the frame shape', async () => {
    const c = await open('/ws')
    assert.deepEqual(await c.request({ method: 'SUBSCRIBE', params: ['btcusdt@bookTicker'], id: 1 }), {
      result: null,
      id: 1,
    })
    assert.deepEqual(await c.request({ method: 'LIST_SUBSCRIPTIONS', id: 'x1' }), {
      result: ['btcusdt@bookTicker'],
      id: 'x1',
    })
    assert.deepEqual(await c.request({ method: 'GET_PROPERTY', params: ['combined'], id: 2 }), {
      result: false,
      id: 2,
    })
    assert.deepEqual(await c.request({ method: 'SUBSCRIBE', params: ['btcusdt@trade'], id: 3 }), {
      ...(fixture('ws_error_invalid_stream.observed.json') as Json),
      id: 3,
    })
    clock.advance(1_000)
    const raw = (await c.nextJson()) as Json
    assert.deepEqual(Object.keys(raw), ['u', 's', 'b', 'B', 'a', 'A'])
    assert.equal(raw.s, 'BTCUSDT')
    assert.deepEqual(await c.request({ method: 'SET_PROPERTY', params: ['combined', true], id: 4 }), {
      result: null,
      id: 4,
    })
    clock.advance(1_000)
    const wrapped = (await c.nextJson()) as Json
    assert.deepEqual(Object.keys(wrapped), ['stream', 'data'])
    assert.equal(wrapped.stream, 'btcusdt@bookTicker')
    assert.ok(((wrapped.data as Json).u as number) > (raw.u as number))
    assert.deepEqual(await c.request({ method: 'UNSUBSCRIBE', params: ['btcusdt@bookTicker'], id: 5 }), {
      result: null,
      id: 5,
    })
    const info = sim.hooks.connections()
    assert.equal(info.length, 1)
    assert.deepEqual(
      { ...info[0], id: 0 },
      {
        id: 0,
        path: '/ws',
        streams: [],
        combined: true,
        openedAt: T0,
        pingsSent: 0,
        pongsReceived: 0,
        controlMessages: 6,
      },
    )
  })

  test('invalid JSON gets code 3 with id null; int64 ids are echoed exactly', async () => {
    const c = await open('/ws')
    c.send('{"method":')
    const err = (await c.nextJson()) as { error: { code: number }; id: null }
    assert.equal(err.error.code, 3)
    assert.equal(err.id, null)
    c.send('{"method":"LIST_SUBSCRIPTIONS","id":9007199254740993}')
    assert.equal(await c.next(), '{"result":[],"id":9007199254740993}')
  })

  test('invalid or unknown URLs are refused with HTTP 400 / 404', async () => {
    const status = (path: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${sim.port}${path}`)
        ws.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0)
          res.resume()
          ws.terminate()
        })
        ws.on('error', () => {})
      })
    assert.equal(await status('/ws/btcusdt@depth'), 400)
    assert.equal(await status('/stream?streams=btcusdt@kline_1m/btcusdt@aggTrade'), 400)
    assert.equal(await status('/nope'), 404)
  })

  test('refuseConnections(n) refuses exactly the next n upgrades with 503', async () => {
    sim.hooks.refuseConnections(2)
    const attempt = () =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`${sim.wsBase}/btcusdt@kline_1m`)
        ws.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0)
          res.resume()
          ws.terminate()
        })
        ws.on('open', () => {
          resolve(101)
          ws.terminate()
        })
        ws.on('error', () => {})
      })
    assert.deepEqual([await attempt(), await attempt(), await attempt()], [503, 503, 101])
  })
})

describe('simulator: market frames', () => {
  test('combined: x=false frames; the closing book is the last before the close, a moved book precedes x=true', async () => {
    const c = await open('/stream?streams=btcusdt@kline_1m/btcusdt@bookTicker/nknusdt@kline_1m')
    clock.advance(2_000)
    const { before, hit } = await c.until((m) => m.stream === 'btcusdt@kline_1m')
    // The book frame at 1 s; at 2 s the kline timer (armed first) fires before the book one.
    assert.equal(before.length, 1)
    const data = hit.data as Json
    assert.deepEqual(Object.keys(data), ['e', 'E', 's', 'k'])
    assert.equal(data.E, T0 + 2_000)
    const k = data.k as Json
    assert.deepEqual(Object.keys(k), [
      't',
      'T',
      's',
      'i',
      'f',
      'L',
      'o',
      'c',
      'h',
      'l',
      'v',
      'n',
      'x',
      'q',
      'V',
      'Q',
      'B',
    ])
    assert.equal(k.x, false)
    assert.equal(k.t, T0)
    assert.ok((k.n as number) < simulatedKline('BTCUSDT', T0).trades)

    const untilClose = await walk(c, T0 + MIN - 1)
    const books = untilClose.filter((m) => m.stream === 'btcusdt@bookTicker')
    // Quotes every second until 45 s (the one at 1 s was read above), then the closing book,
    // then nothing until the close.
    assert.equal(books.length, 44)
    assert.deepEqual(books.at(-1), { stream: 'btcusdt@bookTicker', data: expectedBook('BTCUSDT', T0) })
    const frames = await walk(c, T0 + MIN + 300)
    const closedAt = frames.findIndex((m) => kOf(m)?.x === true)
    assert.ok(closedAt > 0)
    const closed = frames[closedAt] as Json
    assert.equal(closed.stream, 'btcusdt@kline_1m')
    assert.deepEqual((closed.data as Json).k, expectedK('BTCUSDT', T0))
    assert.equal((closed.data as Json).E, T0 + MIN + 300)
    // After the close the book moves again, before the minute's x=true frame goes out.
    const moved = frames[closedAt - 1] as Json
    assert.equal(moved.stream, 'btcusdt@bookTicker')
    assert.ok(((moved.data as Json).u as number) > (expectedBook('BTCUSDT', T0).u as number))
    const nkn = frames[closedAt + 1] as Json
    assert.deepEqual((nkn.data as Json).k, expectedK('NKNUSDT', T0), 'no book stream for NKN: x=true alone')
    // No frame of the new minute went out before the x=true frames.
    for (const m of frames.slice(0, closedAt)) assert.ok(kOf(m) === undefined || kOf(m)?.t === T0)
  })

  test('raw /ws/<stream>: bare events; u strictly increasing across the close', async () => {
    const c = await open('/ws/ethusdt@bookTicker/ethusdt@kline_1m')
    const frames = await walk(c, T0 + 2 * MIN + 1_000)
    const us = frames.filter((m) => 'u' in m).map((m) => m.u as number)
    assert.ok(us.length > 60)
    for (let i = 1; i < us.length; i++)
      assert.ok((us[i] as number) > (us[i - 1] as number), `u rises at ${i}`)
    const closes = frames.flatMap((m, i) => (kOf(m)?.x === true ? [i] : []))
    assert.equal(closes.length, 2)
    for (const [n, i] of closes.entries()) {
      // The closing book went out before the close; a later one (the book moved) before x=true.
      const closing = frames.findIndex((m) => (m as Json).u === expectedBook('ETHUSDT', T0 + n * MIN).u)
      assert.ok(closing >= 0 && closing < i - 1, `closing book of minute ${n} before x=true`)
      assert.deepEqual(frames[closing], expectedBook('ETHUSDT', T0 + n * MIN))
      assert.ok(((frames[i - 1] as Json).u as number) > ((frames[closing] as Json).u as number))
      assert.deepEqual(kOf(frames[i] as Json), expectedK('ETHUSDT', T0 + n * MIN))
    }
  })

  test('USD-M books: T is when the book changed, E when the frame went out, both on the simulator clock', async () => {
    const c = await open('/usdm/public/stream?streams=btcusdt@bookTicker')
    const books = (await walk(c, T0 + MIN + 300)).map((m) => m.data as Json)
    assert.ok(books.length > 40)
    for (const b of books) {
      assert.equal(b.e, 'bookTicker')
      assert.ok((b.T as number) <= (b.E as number), `T ${b.T} after E ${b.E}`)
    }
    const before = books.filter((b) => (b.T as number) <= T0 + MIN - 1)
    const closing = simulatedBook(simKey('usdm', 'BTCUSDT'), T0)
    // The last book at or before the close is the closing book, changed 45 s into the minute.
    assert.deepEqual([before.at(-1)?.u, before.at(-1)?.T], [closing.updateId, T0 + CLOSING_BOOK_AT_MS])
    // The book moves again after the close (before the x=true kline, on the other socket).
    assert.ok(books.some((b) => (b.T as number) >= T0 + MIN && (b.u as number) > closing.updateId))
  })

  test('skipClosed withholds exactly that x=true frame', async () => {
    sim.hooks.skipClosed('btcusdt', T0 + MIN)
    const c = await open('/ws/btcusdt@kline_1m')
    const frames = await walk(c, T0 + 3 * MIN + 300)
    const closed = frames.flatMap((m) => (kOf(m)?.x === true ? [kOf(m)?.t] : []))
    assert.deepEqual(closed, [T0, T0 + 2 * MIN])
  })

  test('serverShutdown has the documented raw and combined shapes', async () => {
    const raw = await open('/ws')
    const comb = await open('/stream?streams=btcusdt@kline_1m')
    clock.advance(5)
    sim.hooks.serverShutdown()
    const r = (await raw.nextJson()) as Json
    const cb = (await comb.nextJson()) as Json
    const rawDoc = fixture('spot_ws_serverShutdown.raw.doc.json') as Json
    const combDoc = fixture('spot_ws_serverShutdown.combined.doc.json') as Json
    assert.deepEqual(r, { ...rawDoc, E: T0 + 5 })
    assert.deepEqual(cb, { ...combDoc, data: { ...(combDoc.data as Json), E: T0 + 5 } })
    assert.deepEqual(Object.keys(r), Object.keys(rawDoc))
  })

  test('injectRaw sends text verbatim; dropAll terminates without a close frame', async () => {
    const a = await open('/ws')
    const b = await open('/stream')
    sim.hooks.injectRaw('not json {')
    assert.equal(await a.next(), 'not json {')
    assert.equal(await b.next(), 'not json {')
    const closes = [once(sim, 'close'), a.closed, b.closed]
    sim.hooks.dropAll()
    const [, ca, cb] = await Promise.all(closes)
    assert.equal((ca as { code: number }).code, 1006)
    assert.equal((cb as { code: number }).code, 1006)
    assert.equal(clock.timerCount, 0, 'every timer died with its connection')
  })
})
