import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, test } from 'node:test'
import { nominalDelay, SCHEDULES } from '../../src/core/retry.ts'
import {
  CONNECTION_DEFAULTS,
  type ConnectionOptions,
  ReconnectingConnection,
} from '../../src/stream/connection.ts'
import { ManualClock } from '../helpers/manual-clock.ts'
import { collect, nextEvent, TestServer } from './ws-test-server.ts'

const HOUR = 3_600_000
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function connect(clock: ManualClock, url: string, extra: Partial<ConnectionOptions> = {}) {
  const conn = new ReconnectingConnection({
    name: 'test',
    url: () => url,
    clock,
    random: () => 0.5,
    // Keep the ping and lifetime machinery out of the way unless a test is about them.
    clientPingMs: 10 * HOUR,
    maxLifetimeMs: 100 * HOUR,
    ...extra,
  })
  cleanups.push(() => conn.stop())
  conn.start()
  return conn
}

async function server(clock: ManualClock, opts: { autoPong?: boolean } = {}) {
  const s = await TestServer.start(clock, opts)
  cleanups.push(() => s.close())
  return s
}

function assertJittered(delay: number, attempt: number): void {
  const n = nominalDelay(SCHEDULES['stream.reconnect'], attempt)
  assert.ok(delay >= n * 0.8 && delay <= n, `attempt ${attempt}: ${delay} ms not within [${n * 0.8}, ${n}]`)
}

describe('ReconnectingConnection', { timeout: 20_000 }, () => {
  test('abrupt terminates back off 1,2,4,8,8 s; one frame then a drop keeps backing off; a healthy socket resets it', async () => {
    const clock = new ManualClock()
    const srv = await server(clock)
    let mode: 'drop' | 'one_frame' | 'healthy' = 'drop'
    srv.onConnection = (s) => {
      if (mode === 'drop') s.ws.terminate()
      else if (mode === 'one_frame') s.ws.send('{"tick":1}', () => s.ws.terminate())
      else s.ws.send('{"tick":1}')
    }
    const conn = connect(clock, srv.url)
    const delays: number[] = []
    for (let attempt = 1; attempt <= 5; attempt++) {
      const r = await nextEvent(conn, 'reconnecting')
      assert.equal(r.attempt, attempt)
      assert.equal(r.reason, 'remote_close')
      assertJittered(r.delayMs, attempt)
      // Only the backoff timer is alive: the dead socket's timers died with it.
      assert.deepEqual(clock.pendingDelays(), [r.delayMs])
      delays.push(r.delayMs)
      clock.advance(r.delayMs)
    }
    assert.deepEqual(delays, [900, 1800, 3600, 7200, 7200]) // random() = 0.5 → 10 % off
    // A server that accepts, sends one frame and drops is not a healthy connection.
    mode = 'one_frame'
    for (let attempt = 6; attempt <= 8; attempt++) {
      const healthy = nextEvent(conn, 'healthy')
      const r = await nextEvent(conn, 'reconnecting')
      await healthy
      assert.equal(r.attempt, attempt, 'one data frame does not reset the backoff')
      assert.equal(r.delayMs, 7_200)
      clock.advance(r.delayMs)
    }
    // Data over the whole healthy span, then a drop: the next attempt is the first again.
    mode = 'healthy'
    const healthy = await nextEvent(conn, 'healthy')
    assert.deepEqual(healthy.resumedAfter, { from: clock.now() - 7_200, to: clock.now() })
    clock.advance(CONNECTION_DEFAULTS.healthyAfterMs - 1)
    const late = nextEvent(conn, 'message', (m) => m.text.includes('late'))
    srv.socket(srv.sockets.length - 1).ws.send('{"late":1}')
    await late
    const early = nextEvent(conn, 'reconnecting')
    srv.socket(srv.sockets.length - 1).ws.terminate()
    const r = await early
    assert.equal(r.attempt, 9, `data for ${CONNECTION_DEFAULTS.healthyAfterMs - 1} ms is not yet healthy`)
    clock.advance(r.delayMs)
    await nextEvent(conn, 'healthy')
    clock.advance(CONNECTION_DEFAULTS.healthyAfterMs)
    const lateAgain = nextEvent(conn, 'message', (m) => m.text.includes('late'))
    srv.socket(srv.sockets.length - 1).ws.send('{"late":2}')
    await lateAgain
    const after = nextEvent(conn, 'reconnecting')
    srv.socket(srv.sockets.length - 1).ws.terminate()
    const reset = await after
    assert.equal(reset.attempt, 1)
    assertJittered(reset.delayMs, 1)
  })

  test('healthyAfterMs is configurable', async () => {
    const clock = new ManualClock()
    const srv = await server(clock)
    srv.onConnection = (s) => s.ws.send('{"tick":1}', () => s.ws.terminate())
    const conn = connect(clock, srv.url, { healthyAfterMs: 0 })
    for (let i = 0; i < 3; i++) {
      const r = await nextEvent(conn, 'reconnecting')
      assert.equal(r.attempt, 1, 'with no minimum span, any data resets the backoff')
      clock.advance(r.delayMs)
    }
  })

  test('a server that refuses the handshake keeps being retried with growing delays', async () => {
    const clock = new ManualClock()
    let status = 503
    const http = createServer()
    http.on('upgrade', (_req, socket) => {
      const extra = status === 429 ? 'Retry-After: 30\r\n' : ''
      socket.end(`HTTP/1.1 ${status} Nope\r\n${extra}Content-Length: 0\r\n\r\n`)
    })
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
    cleanups.push(() => new Promise((r) => http.close(() => r())))
    const port = (http.address() as AddressInfo).port
    const conn = connect(clock, `ws://127.0.0.1:${port}/ws`)
    for (let attempt = 1; attempt <= 6; attempt++) {
      const r = await nextEvent(conn, 'reconnecting')
      assert.equal(r.reason, 'http_status')
      assert.equal(r.attempt, attempt)
      assertJittered(r.delayMs, attempt)
      if (attempt === 6) status = 429
      clock.advance(r.delayMs)
    }
    const told = await nextEvent(conn, 'reconnecting')
    assert.equal(told.delayMs, 30_000, 'Retry-After wins over the 8 s cap')
    assert.equal(conn.status().connected, false)
  })

  test('a closed port (ECONNREFUSED) is retried too', async () => {
    const clock = new ManualClock()
    const http = createServer()
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
    const port = (http.address() as AddressInfo).port
    await new Promise<void>((r) => http.close(() => r()))
    const conn = connect(clock, `ws://127.0.0.1:${port}/ws`)
    for (let attempt = 1; attempt <= 3; attempt++) {
      const r = await nextEvent(conn, 'reconnecting')
      assert.equal(r.reason, 'error')
      assert.equal(r.attempt, attempt)
      clock.advance(r.delayMs)
    }
  })

  test('a zombie that answers pings but sends no data is dropped as stale and replaced', async () => {
    const clock = new ManualClock()
    const srv = await server(clock)
    srv.onConnection = (s) => {
      if (s.index === 0) s.ws.send('{"tick":1}')
    }
    const conn = connect(clock, srv.url, { staleAfterMs: 5_000 })
    await nextEvent(conn, 'healthy')
    const disconnected = nextEvent(conn, 'disconnected')
    const closed = nextEvent(conn, 'close')
    const reconnecting = nextEvent(conn, 'reconnecting')
    clock.advance(4_999)
    assert.equal(conn.status().connected, true)
    clock.advance(1)
    assert.equal((await closed).cause, 'stale')
    const d = await disconnected
    assert.equal(d.lastMessageAt, clock.now() - 5_000)
    const r = await reconnecting
    assert.equal(r.attempt, 1)
    const opened = nextEvent(conn, 'open')
    clock.advance(r.delayMs)
    await opened
    // The replacement is silent too: it gets the same deadline, not a longer one.
    const again = nextEvent(conn, 'close')
    clock.advance(4_999)
    assert.equal(conn.status().connected, true)
    clock.advance(1)
    assert.equal((await again).cause, 'stale')
  })

  test('by default a silent socket is replaced within a minute, and so is its silent replacement', async () => {
    const clock = new ManualClock()
    const srv = await server(clock)
    srv.onConnection = (s) => {
      if (s.index === 0) s.ws.send('{"tick":1}')
    }
    const conn = connect(clock, srv.url)
    const deadline = CONNECTION_DEFAULTS.staleAfterMs
    assert.ok(deadline <= 60_000, `default silence deadline ${deadline} ms`)
    await nextEvent(conn, 'healthy')
    for (let socket = 0; socket < 3; socket++) {
      const closed = nextEvent(conn, 'close')
      const reconnecting = nextEvent(conn, 'reconnecting')
      clock.advance(deadline - 1)
      assert.equal(conn.status().connected, true, `socket ${socket} still up just before the deadline`)
      clock.advance(1)
      assert.equal((await closed).cause, 'stale')
      const r = await reconnecting
      const opened = nextEvent(conn, 'open')
      clock.advance(r.delayMs)
      await opened
    }
    assert.equal(srv.sockets.length, 4)
  })

  test('a socket whose pongs stop is terminated after pongTimeoutMs; answered pings keep it', async () => {
    const clock = new ManualClock()
    const srv = await server(clock, { autoPong: false })
    let answer = true
    srv.onConnection = (s) => {
      s.ws.send('{"tick":1}')
      s.ws.on('ping', (data) => {
        if (!answer) return
        s.ws.pong(data)
        s.ws.send('{"after-pong":1}') // arrives after the pong: awaiting it proves the pong was seen
      })
    }
    const conn = connect(clock, srv.url, { clientPingMs: 1_000, pongTimeoutMs: 2_000, staleAfterMs: HOUR })
    await nextEvent(conn, 'healthy')
    const afterPong = nextEvent(conn, 'message', (m) => m.text.includes('after-pong'))
    clock.advance(1_000)
    await afterPong
    clock.advance(999) // past the first ping's deadline: its pong counted
    assert.equal(conn.status().connected, true, 'answered ping keeps the socket')
    answer = false
    clock.advance(1) // second ping, 1 s after the pong
    await srv.until(() => srv.socket(0).received.filter((r) => r.kind === 'ping').length === 2)
    clock.advance(1_999)
    assert.equal(conn.status().connected, true)
    clock.advance(1)
    const close = await nextEvent(conn, 'close')
    assert.equal(close.cause, 'pong_timeout')
    assert.equal(close.willReconnect, true)
    await srv.closedSocket(0)
  })

  test('server pings are answered with a pong echoing the payload, through the pacer', async () => {
    const clock = new ManualClock()
    const srv = await server(clock)
    srv.onConnection = (s) => s.ws.send('{"tick":1}')
    const conn = connect(clock, srv.url)
    await nextEvent(conn, 'healthy')
    const before = conn.status().framesSent
    srv.socket(0).ws.ping(Buffer.from('payload-42'))
    await srv.until(() => srv.socket(0).received.some((r) => r.kind === 'pong'))
    const pong = srv.socket(0).received.find((r) => r.kind === 'pong')
    assert.equal(pong?.data, 'payload-42')
    assert.equal(conn.status().framesSent, before + 1)
  })

  test('outgoing frames never exceed 4 in any rolling second, even for a burst of 50 plus pings', async () => {
    const clock = new ManualClock()
    const srv = await server(clock)
    srv.onConnection = (s) => s.ws.send('{"tick":1}')
    const conn = connect(clock, srv.url, { clientPingMs: 700, pongTimeoutMs: HOUR })
    await nextEvent(conn, 'healthy')
    for (let i = 0; i < 50; i++) conn.send(JSON.stringify({ method: 'SUBSCRIBE', params: [`s${i}`], id: i }))
    srv.socket(0).ws.ping(Buffer.from('srv-1'))
    const texts = () => srv.socket(0).received.filter((r) => r.kind === 'text')
    let pinged = false
    while (texts().length < 50) {
      clock.advance(100)
      if (!pinged && clock.now() % 3_000 === 0) {
        srv.socket(0).ws.ping(Buffer.from('srv-2'))
        pinged = true
      }
      await srv.until(() => srv.totalReceived() >= conn.status().framesSent)
    }
    const all = srv.socket(0).received
    for (const r of all) {
      const inWindow = all.filter((o) => o.at >= r.at && o.at < r.at + 1_000).length
      assert.ok(inWindow < 5, `${inWindow} frames in the second after ${r.at}`)
    }
    assert.deepEqual(
      texts().map((r) => JSON.parse(r.data).id),
      Array.from({ length: 50 }, (_, i) => i),
    )
    const pongs = all.filter((r) => r.kind === 'pong').map((r) => r.data)
    assert.ok(pongs.includes('srv-1') && pongs.includes('srv-2'), 'server pings answered during the burst')
    assert.ok(
      all.some((r) => r.kind === 'ping'),
      'client pings went through the same pacer',
    )
  })

  test('rotation before the lifetime limit opens the new socket first, then closes the old; no minute lost', async () => {
    const clock = new ManualClock()
    const srv = await server(clock)
    // One frame a minute: keep the silence watchdog out of this test.
    const conn = connect(clock, srv.url, {
      maxLifetimeMs: 10 * 60_000,
      lifetimeJitterMs: 60_000,
      staleAfterMs: HOUR,
    })
    const minutes = new Set<number>()
    conn.on('message', (m) => minutes.add(JSON.parse(m.text).minute))
    const closes = collect(conn, 'close')
    const outages = collect(conn, 'disconnected')
    const reconnects = collect(conn, 'reconnecting')
    await nextEvent(conn, 'open')
    for (let minute = 0; minute < 20; minute++) {
      const replacement = nextEvent(conn, 'open')
      clock.advance(60_000)
      if (minute === 9) {
        // random() = 0.5 → lifetime exactly 10 min: the replacement is being opened now.
        assert.equal((await replacement).rotation, true)
        await srv.connectionCount(2)
        assert.equal(srv.socket(0).closed, false, 'old socket still open while the new one proves itself')
      }
      const targets = srv.open()
      for (const s of targets) s.ws.send(JSON.stringify({ minute }))
      await nextEvent(conn, 'message', (m) => JSON.parse(m.text).minute === minute)
      if (minute === 9) await srv.closedSocket(0)
    }
    assert.deepEqual(
      [...minutes].sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => i),
    )
    assert.ok(srv.log.indexOf('connection:1') < srv.log.indexOf('close:0'), 'new before old closed')
    assert.equal(srv.socket(0).closeCode, 1000)
    assert.equal(closes.length, 1)
    assert.equal(closes[0]?.cause, 'rotated')
    assert.equal(closes[0]?.delayMs, 0)
    assert.equal(outages.length, 0)
    assert.equal(reconnects.length, 0)
    assert.equal(conn.status().rotations, 1)
  })

  test('stop() is idempotent, closes with 1000 and leaves no timer and no reconnect', async () => {
    const clock = new ManualClock()
    const srv = await server(clock)
    srv.onConnection = (s) => s.ws.send('{"tick":1}')
    const conn = connect(clock, srv.url, { clientPingMs: 1_000 })
    await nextEvent(conn, 'healthy')
    assert.ok(clock.timerCount > 0)
    const closes = collect(conn, 'close')
    const first = conn.stop()
    assert.equal(conn.stop(), first)
    await first
    await srv.closedSocket(0)
    assert.equal(srv.socket(0).closeCode, 1000)
    assert.equal(clock.timerCount, 0)
    assert.equal(closes[0]?.willReconnect, false)
    clock.advance(HOUR)
    assert.equal(clock.timerCount, 0)
    assert.equal(conn.status().openSockets, 0)
    assert.equal(srv.sockets.length, 1)
  })

  test('stop() during a backoff wait cancels it', async () => {
    const clock = new ManualClock()
    const srv = await server(clock)
    srv.onConnection = (s) => s.ws.terminate()
    const conn = connect(clock, srv.url)
    await nextEvent(conn, 'reconnecting')
    assert.equal(clock.timerCount, 1)
    await conn.stop()
    assert.equal(clock.timerCount, 0)
    clock.advance(HOUR)
    assert.equal(srv.sockets.length, 1)
  })
})
