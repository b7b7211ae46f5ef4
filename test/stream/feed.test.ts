import assert from 'node:assert/strict'
import { afterEach, describe, test } from 'node:test'
import {
  type BinanceFeedEvents,
  type BinanceFeedOptions,
  createBinanceFeed,
} from '../../src/binance/ws/feed.ts'
import type { StreamEvent } from '../../src/core/records.ts'
import { fixtureText } from '../helpers/fixtures.ts'
import { ManualClock } from '../helpers/manual-clock.ts'
import { Conditions, collect, emissions, nextEvent, TestServer } from './ws-test-server.ts'

const HOUR = 3_600_000
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const SHUTDOWN = fixtureText('spot_ws_serverShutdown.combined.doc.json')

function klineFrame(symbol: string): string {
  const f = JSON.parse(fixtureText('spot_ws_kline_1m_open.combined.capture.json'))
  f.stream = `${symbol.toLowerCase()}@kline_1m`
  f.data.s = symbol
  f.data.k.s = symbol
  return JSON.stringify(f)
}

async function setup(symbols: string[], extra: Partial<BinanceFeedOptions> = {}) {
  const clock = new ManualClock()
  const srv = await TestServer.start(clock)
  cleanups.push(() => srv.close())
  const events: Array<{ event: StreamEvent; stream: string | null }> = []
  const invalid: string[] = []
  const client = new Conditions()
  const feed = createBinanceFeed({
    baseUrl: srv.url,
    symbols,
    clock,
    random: () => 0.5,
    onEvent: (event, meta) => {
      events.push({ event, stream: meta.stream })
      client.note(event.type)
    },
    onInvalid: (reason) => invalid.push(reason),
    connection: { clientPingMs: 10 * HOUR },
    ...extra,
  })
  cleanups.push(() => feed.stop())
  return { clock, srv, feed, events, invalid, client }
}

function subscribedParams(texts: string[]): string[] {
  return texts.flatMap((t) => {
    const m = JSON.parse(t)
    return m.method === 'SUBSCRIBE' ? (m.params as string[]) : []
  })
}

function urlStreams(url: string): string[] {
  const q = url.split('?streams=')[1] ?? ''
  return q.split('&')[0]?.split('/') ?? []
}

describe('BinanceFeed', { timeout: 20_000 }, () => {
  test('2500 streams open 3 connections of 1024/1024/452, URL plus SUBSCRIBEs for the rest', async () => {
    const symbols = Array.from({ length: 1250 }, (_, i) => `SYM${i}USDT`)
    const { srv, feed } = await setup(symbols)
    srv.onConnection = (s) =>
      s.ws.on('message', (d) => {
        const m = JSON.parse(d.toString())
        s.ws.send(JSON.stringify({ result: null, id: m.id }))
      })
    const acks = emissions(feed, 'subscribed', 4 + 4 + 1)
    feed.start()
    assert.deepEqual(
      feed.status().map((c) => c.streams),
      [1024, 1024, 452],
    )
    await srv.connectionCount(3)
    await acks
    const perSocket = srv.sockets.map((s) => {
      const texts = s.received.filter((r) => r.kind === 'text').map((r) => r.data)
      return [...urlStreams(s.url), ...subscribedParams(texts)]
    })
    assert.deepEqual(
      perSocket.map((p) => p.length).sort((a, b) => b - a),
      [1024, 1024, 452],
    )
    const all = new Set(perSocket.flat())
    assert.equal(all.size, 2500)
    for (const s of srv.sockets) assert.ok(s.url.length < 8_000)
    assert.ok(feed.status().every((c) => c.pendingSubscriptions === 0))
    assert.equal(feed.allConnected(), false, 'open but no data yet is not connected')
  })

  test('routes data to onEvent, rejects garbage, and only data makes a connection healthy', async () => {
    const { srv, feed, events, invalid, client } = await setup(['NKNUSDT'])
    feed.start()
    await srv.connectionCount(1)
    const s = srv.socket(0)
    const rejected = nextEvent(feed, 'invalid')
    s.ws.send('{"result":null,"id":99}')
    s.ws.send('{not json')
    await rejected
    assert.deepEqual(invalid, ['invalid_json'])
    assert.equal(feed.status()[0]?.healthy, false)
    assert.equal(feed.allConnected(), false)
    const healthy = nextEvent(feed, 'healthy')
    s.ws.send(klineFrame('NKNUSDT'))
    s.ws.send(fixtureText('spot_ws_bookTicker.combined.capture.json'))
    const h = await healthy
    assert.equal(h.afterReconnect, false)
    await client.until(() => events.length === 2)
    assert.deepEqual(
      events.map((e) => [e.event.type, e.stream]),
      [
        ['kline', 'nknusdt@kline_1m'],
        ['book_ticker', 'nknusdt@bookTicker'],
      ],
    )
    assert.equal(feed.allConnected(), true)
    const st = feed.status()[0]
    assert.equal(st?.connected, true)
    assert.equal(st?.streams, 2)
  })

  test('serverShutdown opens the replacement first, closes the old one after it delivers', async () => {
    const { srv, feed } = await setup(['NKNUSDT'])
    const disconnects = collect(feed, 'disconnected')
    const reconnects = collect(feed, 'reconnecting')
    feed.start()
    await srv.connectionCount(1)
    const first = nextEvent(feed, 'healthy')
    srv.socket(0).ws.send(klineFrame('NKNUSDT'))
    await first
    const rotating = nextEvent(feed, 'rotating')
    const replacement = nextEvent(feed, 'connected', (c) => c.rotation)
    srv.socket(0).ws.send(SHUTDOWN)
    assert.equal((await rotating).reason, 'server_shutdown')
    await replacement
    await srv.connectionCount(2)
    assert.equal(srv.socket(0).closed, false)
    srv.socket(0).ws.send(klineFrame('NKNUSDT')) // the old one keeps serving meanwhile
    srv.socket(1).ws.send(klineFrame('NKNUSDT'))
    await srv.closedSocket(0)
    assert.equal(srv.socket(0).closeCode, 1000)
    assert.ok(srv.log.indexOf('connection:1') < srv.log.indexOf('close:0'))
    assert.equal(disconnects.length, 0)
    assert.equal(reconnects.length, 0)
    assert.equal(feed.status()[0]?.rotations, 1)
  })

  test('every reconnect re-subscribes; SUBSCRIBE errors are surfaced with their streams', async () => {
    const { clock, srv, feed, events } = await setup(['BTCUSDT', 'ETHUSDT'], { maxUrlLength: 60 })
    const firstError = nextEvent(feed, 'control_error')
    const reconnected = nextEvent(feed, 'healthy', (h) => h.afterReconnect)
    feed.start()
    await srv.connectionCount(1)
    await srv.until(() => srv.socket(0).received.length > 0)
    const req = JSON.parse(srv.socket(0).received[0]?.data ?? '{}')
    assert.equal(req.method, 'SUBSCRIBE')
    srv
      .socket(0)
      .ws.send(JSON.stringify({ error: { code: 2, msg: 'Invalid request: invalid stream' }, id: req.id }))
    srv.socket(0).ws.send(klineFrame('BTCUSDT'))
    const err = await firstError
    assert.deepEqual(err.streams, req.params)
    assert.equal(err.code, 2)
    const retry = nextEvent(feed, 'reconnecting')
    srv.socket(0).ws.terminate()
    const r = await retry
    assert.equal(r.attempt, 1)
    clock.advance(r.delayMs)
    await srv.connectionCount(2)
    await srv.until(() => srv.socket(1).received.length > 0)
    const again = JSON.parse(srv.socket(1).received[0]?.data ?? '{}')
    assert.deepEqual(again.params, req.params)
    assert.equal(srv.socket(1).url, srv.socket(0).url)
    srv.socket(1).ws.send(klineFrame('ETHUSDT'))
    const h = await reconnected
    assert.deepEqual(h.resumedAfter, { from: clock.now() - r.delayMs, to: clock.now() })
    assert.ok(events.some((e) => e.event.type === 'control_error'))
  })

  test('a refused SUBSCRIBE is sent again on the same socket after a jittered delay', async () => {
    const { clock, srv, feed } = await setup(['BTCUSDT', 'ETHUSDT'], { maxUrlLength: 60 })
    let refuse = true
    srv.onConnection = (s) =>
      s.ws.on('message', (d) => {
        const m = JSON.parse(d.toString())
        const reply = refuse
          ? { error: { code: 2, msg: 'Invalid request: try later' }, id: m.id }
          : { result: null, id: m.id }
        refuse = false
        s.ws.send(JSON.stringify(reply))
      })
    const retry = nextEvent(feed, 'subscribe_retry')
    const subscribed = nextEvent(feed, 'subscribed')
    feed.start()
    const r = await retry
    assert.equal(r.attempt, 1)
    assert.equal(r.action, 'resend')
    assert.equal(r.delayMs, 900, '1 s less 10 % (random() = 0.5)')
    assert.equal(r.code, 2)
    const first = JSON.parse(srv.socket(0).received[0]?.data ?? '{}')
    assert.deepEqual(r.streams, first.params)
    clock.advance(r.delayMs - 1)
    assert.equal(feed.status()[0]?.pendingSubscriptions, 0, 'not sent again before the delay')
    clock.advance(1)
    assert.equal(feed.status()[0]?.pendingSubscriptions, 1)
    const ack = await subscribed
    const texts = srv
      .socket(0)
      .received.filter((x) => x.kind === 'text')
      .map((x) => JSON.parse(x.data))
    assert.equal(texts.length, 2)
    assert.deepEqual(texts[1].params, first.params)
    assert.notEqual(texts[1].id, first.id)
    assert.equal(ack.id, texts[1].id)
    assert.equal(ack.socketId, r.socketId)
    assert.equal(srv.sockets.length, 1, 'same socket')
    assert.equal(feed.status()[0]?.pendingSubscriptions, 0)
  })

  test('a SUBSCRIBE refused again and again replaces the socket every third time', async () => {
    const { clock, srv, feed } = await setup(['BTCUSDT', 'ETHUSDT'], { maxUrlLength: 60 })
    let refuse = true
    srv.onConnection = (s) => {
      s.ws.send(klineFrame('BTCUSDT'))
      s.ws.on('message', (d) => {
        const m = JSON.parse(d.toString())
        const reply = refuse
          ? { error: { code: 2, msg: 'Invalid request' }, id: m.id }
          : { result: null, id: m.id }
        s.ws.send(JSON.stringify(reply))
      })
    }
    const retries: BinanceFeedEvents['subscribe_retry'][] = []
    const seen = new Conditions()
    feed.on('subscribe_retry', (e) => {
      retries.push(e)
      seen.note('retry')
    })
    const rotating = collect(feed, 'rotating')
    feed.start()
    for (let attempt = 1; attempt <= 3; attempt++) {
      await seen.until(() => retries.length >= attempt)
      const r = retries[attempt - 1]
      assert.equal(r?.attempt, attempt)
      assert.equal(r?.action, attempt === 3 ? 'replace' : 'resend')
      assert.equal(r?.socketId, 'binance-0#1')
      clock.advance(r?.delayMs ?? 0)
    }
    await srv.connectionCount(2)
    await srv.closedSocket(0)
    assert.deepEqual(
      rotating.map((x) => x.reason),
      ['subscribe_failed'],
    )
    assert.equal(srv.socket(0).received.filter((x) => x.kind === 'text').length, 3, 'sent, resent twice')
    // The replacement subscribed afresh and was refused too: the count goes on, and so does the delay.
    await seen.until(() => retries.length >= 4)
    const fourth = retries[3]
    assert.equal(fourth?.attempt, 4)
    assert.equal(fourth?.action, 'resend')
    assert.equal(fourth?.socketId, 'binance-0#2')
    assert.equal(fourth?.delayMs, 7_200)
    refuse = false
    const ok = nextEvent(feed, 'subscribed')
    clock.advance(fourth?.delayMs ?? 0)
    assert.equal((await ok).socketId, 'binance-0#2')
    assert.equal(feed.status()[0]?.pendingSubscriptions, 0)
    assert.equal(feed.status()[0]?.rotations, 1)
  })

  test('stop() leaves no timers and no reconnects across all connections', async () => {
    const symbols = Array.from({ length: 600 }, (_, i) => `SYM${i}USDT`)
    const { clock, srv, feed } = await setup(symbols)
    const opened = emissions(feed, 'connected', 2)
    feed.start()
    await opened
    assert.ok(clock.timerCount > 0)
    await feed.stop()
    await feed.stop()
    assert.equal(clock.timerCount, 0)
    clock.advance(HOUR)
    assert.equal(clock.timerCount, 0)
    assert.equal(srv.sockets.length, 2)
    assert.ok(feed.status().every((c) => !c.connected))
  })
})
