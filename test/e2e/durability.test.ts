/**
 * Nothing lost, end to end: a database outage longer than every retry while
 * the stream flows (through a TCP proxy of the test's own), the database
 * server itself stopped and restarted (a scratch cluster), and a `kill -9`
 * of the real CLI in the middle of a burst followed by a restart.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { systemClock } from '../../src/core/clock.ts'
import { floorMinute } from '../../src/core/minute-ranges.ts'
import { MINUTE_MS } from '../../src/core/records.ts'
import { simulatedKline } from '../../src/simulator/market.ts'
import { scaledClock } from '../../src/simulator/scaled-clock.ts'
import { startSimulator } from '../../src/simulator/server.ts'
import type { Db } from '../../src/store/db.ts'
import { openDb } from '../../src/store/open-db.ts'
import { freePort, startCli } from '../helpers/cli.ts'
import { postgresOptions } from '../helpers/db.ts'
import { feederTarget } from '../helpers/feeder-target.ts'
import { liveRig, missingMinutes } from '../helpers/live-app.ts'
import { scratchClusterUnavailable, startScratchCluster } from '../helpers/pg-cluster.ts'
import { startTcpProxy } from '../helpers/tcp-proxy.ts'
import { until } from '../helpers/until.ts'

const PG = process.env.TEST_DATABASE_URL ? false : 'needs TEST_DATABASE_URL'

async function rows(db: Db, symbol: string) {
  const r = await db.query<{ open_time: Date; close_time: Date; close: string }>(
    'SELECT open_time, close_time, close::text FROM candles_1m WHERE symbol = $1 ORDER BY open_time',
    [symbol],
  )
  return r.rows.map((x) => ({ t: x.open_time.getTime(), closeTime: x.close_time.getTime(), close: x.close }))
}

async function health(port: number | null) {
  const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(10_000) })
  return (await r.json()) as Record<string, unknown> & {
    details: Record<string, unknown>
  }
}

/** The app streaming into a real PostgreSQL reached through a TCP proxy the test controls. */
async function streamingBehindProxy(t: TestContext, env: Record<string, string>) {
  const rig = await liveRig('postgres')
  const url = new URL(rig.target.env.DATABASE_URL as string)
  const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) })
  t.after(async () => {
    proxy.resume()
    proxy.restore()
    await rig.close()
    await proxy.close()
  })
  const { app, lines } = await rig.startApp({
    DATABASE_URL: proxy.url(url.toString()),
    INITIAL_BACKFILL_MINUTES: '2',
    ...env,
  })
  const direct = await rig.target.open()
  t.after(() => direct.close())
  await until('live candles', async () => (await rows(direct, 'BTCUSDT')).length >= 4)
  const first = (await rows(direct, 'BTCUSDT'))[0]?.t as number
  return { rig, proxy, app, lines, direct, first }
}

describe('durability', { skip: PG }, () => {
  it('a database outage longer than every retry: spooled, reported, replayed; every minute there once', async (t) => {
    const { rig, proxy, app, lines, direct, first } = await streamingBehindProxy(t, {
      TRADING_SYMBOLS: 'btcusdt,ethusdt',
      DB_MAX_RETRIES: '1',
    })
    const base = `http://127.0.0.1:${app.httpPort}`

    proxy.cut()
    await until(
      'candles spooled',
      async () => Number((await health(app.httpPort)).details.spool_bytes) > 0,
      30_000,
    )
    const during = await health(app.httpPort)
    assert.equal(during.status, 'unhealthy')
    assert.equal(during.database_connected, false)
    assert.equal((await fetch(`${base}/ready`)).status, 503)
    const metrics = await (await fetch(`${base}/metrics`)).text()
    assert.match(metrics, /^feeder_db_up 0$/m)
    assert.match(metrics, /^feeder_spool_bytes [1-9]\d*$/m)
    assert.match(metrics, /^feeder_db_failed_candles_total [1-9]\d*$/m)
    const cutMinutes = floorMinute(rig.clock.now()) + 3 * MINUTE_MS
    await until('three more minutes stream into the spool', () => rig.clock.now() > cutMinutes)

    proxy.restore()
    await until(
      'spool replayed',
      async () => Number((await health(app.httpPort)).details.spool_bytes) === 0,
      30_000,
    )
    const last = floorMinute(rig.clock.now()) - 2 * MINUTE_MS
    for (const s of ['BTCUSDT', 'ETHUSDT']) {
      await until(`${s} complete`, async () => (await missingMinutes(direct, s, first, last)) === 0, 30_000)
      for (const r of await rows(direct, s)) {
        assert.equal(r.closeTime, r.t + MINUTE_MS - 1)
        assert.equal(r.close, simulatedKline(s, r.t).close)
      }
    }
    // Quality rows are written beside the data path (the failure one once the database answers again).
    await until('db_write_failed and spool_replayed recorded', async () => {
      const dq = await direct.query<{ event_type: string }>(
        'SELECT DISTINCT event_type FROM data_quality_logs',
      )
      const types = new Set(dq.rows.map((r) => r.event_type))
      return types.has('db_write_failed') && types.has('spool_replayed')
    })
    assert.ok(lines.some((l) => l.code === 'DB_WRITE_FAILED'))
    assert.equal((await health(app.httpPort)).database_connected, true)
  })

  it('a database that hangs (no error, no answer) is reported down at once and loses nothing', async (t) => {
    const { rig, proxy, app, lines, direct, first } = await streamingBehindProxy(t, {
      TRADING_SYMBOLS: 'btcusdt',
    })
    const base = `http://127.0.0.1:${app.httpPort}`

    proxy.pause()
    const pausedAt = rig.clock.now()
    // /health itself must keep answering: its row count may not wait on the hung server.
    await until('reported down', async () => (await health(app.httpPort)).database_connected === false)
    assert.ok(rig.clock.now() - pausedAt < 60_000, 'detected within a minute of the hang')
    assert.equal((await health(app.httpPort)).status, 'unhealthy')
    assert.equal((await fetch(`${base}/ready`)).status, 503)
    assert.match(await (await fetch(`${base}/metrics`)).text(), /^feeder_db_up 0$/m)
    assert.ok(lines.some((l) => l.code === 'DB_UNREACHABLE'))
    const hungUntil = floorMinute(rig.clock.now()) + 3 * MINUTE_MS
    await until('three minutes pass with the server hung', () => rig.clock.now() > hungUntil)

    proxy.resume()
    await until('reported up again', async () => (await health(app.httpPort)).database_connected === true)
    const last = floorMinute(rig.clock.now()) - 2 * MINUTE_MS
    await until('complete', async () => (await missingMinutes(direct, 'BTCUSDT', first, last)) === 0, 30_000)
    for (const r of await rows(direct, 'BTCUSDT')) {
      assert.equal(r.closeTime, r.t + MINUTE_MS - 1)
      assert.equal(r.close, simulatedKline('BTCUSDT', r.t).close)
    }
  })

  it('the database server itself stops and restarts under live streaming: nothing lost, nothing doubled', {
    skip: scratchClusterUnavailable(),
  }, async (t) => {
    const cluster = await startScratchCluster()
    const rig = await liveRig('postgres')
    t.after(async () => {
      await rig.close()
      await cluster.close()
    })
    const { app, lines } = await rig.startApp({
      DATABASE_URL: cluster.url(),
      TRADING_SYMBOLS: 'btcusdt,ethusdt',
      INITIAL_BACKFILL_MINUTES: '2',
    })
    const before = await openDb(postgresOptions(cluster.url()))
    await until('live candles', async () => (await rows(before, 'BTCUSDT')).length >= 4)
    const first = (await rows(before, 'BTCUSDT'))[0]?.t as number
    await before.close()

    // A fast shutdown terminates every session (57P01), then refuses connections.
    await cluster.stop('fast')
    await until('the outage seen', async () => (await health(app.httpPort)).database_connected === false)
    const downAt = rig.clock.now()
    await until('two minutes down', () => rig.clock.now() > downAt + 2 * MINUTE_MS)
    assert.equal((await fetch(`http://127.0.0.1:${app.httpPort}/ready`)).status, 503)
    await cluster.start()

    const after = await openDb(postgresOptions(cluster.url()))
    t.after(() => after.close())
    await until('back', async () => (await health(app.httpPort)).database_connected === true, 30_000)
    const last = floorMinute(rig.clock.now()) - 2 * MINUTE_MS
    for (const s of ['BTCUSDT', 'ETHUSDT']) {
      await until(`${s} complete`, async () => (await missingMinutes(after, s, first, last)) === 0, 30_000)
      for (const r of await rows(after, s)) {
        assert.equal(r.closeTime, r.t + MINUTE_MS - 1)
        assert.equal(r.close, simulatedKline(s, r.t).close)
      }
    }
    assert.ok(!lines.some((l) => Number(l.level) >= 60), 'nothing fatal was logged')
    assert.equal((await fetch(`http://127.0.0.1:${app.httpPort}/live`)).status, 200)
  })

  it('started while the database is down: waits with /ready 503, streams once it is up, stops at once on SIGTERM', {
    skip: scratchClusterUnavailable(),
  }, async (t) => {
    const cluster = await startScratchCluster()
    await cluster.stop()
    const sim = await startSimulator({ clock: systemClock })
    const dataDir = mkdtempSync(join(tmpdir(), 'feeder-wait-'))
    t.after(async () => {
      await sim.close()
      await cluster.close()
      rmSync(dataDir, { recursive: true, force: true })
    })
    const port = await freePort()
    const env = {
      DATABASE_URL: cluster.url(),
      DATA_DIR: dataDir,
      BINANCE_STREAM_URL: sim.wsBase,
      BINANCE_REST_URL: sim.httpBase,
      TRADING_SYMBOLS: 'btcusdt',
      INITIAL_BACKFILL_MINUTES: '3',
      HEALTH_CHECK_HOST: '127.0.0.1',
      HEALTH_CHECK_PORT: String(port),
    }
    const waiting = (p: ReturnType<typeof startCli>, n: number) =>
      until(
        `${n} tries`,
        () => p.lines.filter((l) => l.code === 'DB_UNAVAILABLE_AT_START').length >= n,
        30_000,
      )

    // Stopped while waiting: at once, exit 0, nothing to flush.
    const early = startCli(['run'], env)
    t.after(() => early.child.kill('SIGKILL'))
    await waiting(early, 1)
    early.child.kill('SIGTERM')
    assert.equal(await early.exited, 0)
    assert.ok(!early.lines.some((l) => l.code === 'SHUTDOWN_TIMEOUT'))

    const p = startCli(['run'], env)
    t.after(() => p.child.kill('SIGKILL'))
    await waiting(p, 2)
    const base = `http://127.0.0.1:${port}`
    assert.equal((await fetch(`${base}/live`)).status, 200)
    assert.equal((await fetch(`${base}/ready`)).status, 503)
    const h = await health(port)
    assert.equal(h.status, 'unhealthy')
    assert.equal(h.database_connected, false)
    assert.ok(!p.lines.some((l) => l.msg === 'streaming'), 'no stream before the store is ready')

    await cluster.start()
    await until('database ready', () => p.lines.some((l) => l.msg === 'database ready'), 40_000)
    const db = await openDb(postgresOptions(cluster.url()))
    t.after(() => db.close())
    // The initial window is the 3 minutes closed when the service started streaming (its log's
    // time, not this process's: a window taken from here lost its first minute to the service's
    // whenever a minute began in between). Its two newest minutes are in it whichever side of a
    // minute boundary that start fell on.
    const streaming = await until('streaming', () => p.lines.find((l) => l.msg === 'streaming'), 40_000)
    const last = floorMinute(Date.parse(String(streaming.time))) - MINUTE_MS
    await until(
      'the initial window stored',
      async () => (await missingMinutes(db, 'BTCUSDT', last - MINUTE_MS, last)) === 0,
      60_000, // the catch-up's REST pages and writes; a loaded 2-core machine needed more than 30 s
    ).catch(async (err: Error) => {
      // A rare failure under load: say what was stored and what the service said about it.
      const stored = (await rows(db, 'BTCUSDT')).map((r) => new Date(r.t).toISOString().slice(11, 16))
      const said = p.lines.map((l) => JSON.stringify(l).slice(0, 300))
      throw new Error(
        `${err.message}; window ${new Date(last - MINUTE_MS).toISOString()}..${new Date(last).toISOString()}; ` +
          `stored ${stored.join(' ')}\n${said.join('\n')}`,
      )
    })
    for (const r of await rows(db, 'BTCUSDT')) assert.equal(r.close, simulatedKline('BTCUSDT', r.t).close)
    await until('ready', async () => (await fetch(`${base}/ready`)).status === 200, 30_000)
    p.child.kill('SIGTERM')
    assert.equal(await p.exited, 0)
  })

  it('kill -9 in the middle of a burst, then a restart: no missing and no duplicate minute', async (t) => {
    // The simulator runs 30× fast, 10 minutes behind real time: every candle is in the feeder's past.
    const epoch = Math.floor((Date.now() - 10 * MINUTE_MS) / MINUTE_MS) * MINUTE_MS - 5_000
    const sim = await startSimulator({ clock: scaledClock(30, epoch) })
    const target = await feederTarget('postgres')
    t.after(async () => {
      await sim.close()
      await target.cleanup()
    })
    const port = await freePort()
    const env = {
      ...target.env,
      BINANCE_STREAM_URL: sim.wsBase,
      BINANCE_REST_URL: sim.httpBase,
      TRADING_SYMBOLS: 'btcusdt,ethusdt,bnbusdt,solusdt',
      INITIAL_BACKFILL_MINUTES: '3',
      HEALTH_CHECK_HOST: '127.0.0.1',
      HEALTH_CHECK_PORT: String(port),
    }
    const db = await target.open()
    t.after(() => db.close())
    const one = startCli(['run'], env)
    t.after(() => one.child.kill('SIGKILL'))
    await until('streaming', async () => (await rows(db, 'SOLUSDT').catch(() => [])).length >= 5, 30_000)
    // A burst: every symbol closes a minute at once; kill as it lands.
    const before = (await rows(db, 'BTCUSDT')).length
    await until('the burst begins', async () => (await rows(db, 'BTCUSDT')).length > before)
    one.child.kill('SIGKILL')
    assert.equal(await one.exited, 'SIGKILL')
    const two = startCli(['run'], env)
    t.after(() => two.child.kill('SIGKILL'))
    await until('running again', () => two.lines.some((l) => l.msg === 'streaming'), 30_000)
    const resumeAt = Date.now()
    await until('live again for two minutes', () => Date.now() - resumeAt > 5_000)
    const symbols = ['BTCUSDT', 'ETHUSDT', 'BNBUSDT', 'SOLUSDT']
    for (const s of symbols) {
      await until(
        `${s} complete`,
        async () => {
          const r = await rows(db, s)
          return r.length > 0 && (await missingMinutes(db, s, r[0]?.t as number, r.at(-1)?.t as number)) === 0
        },
        30_000,
      )
    }
    two.child.kill('SIGTERM')
    assert.equal(await two.exited, 0)
    for (const s of symbols) {
      const r = await rows(db, s)
      const times = r.map((x) => x.t)
      assert.deepEqual(
        times,
        Array.from({ length: times.length }, (_, i) => (times[0] as number) + i * MINUTE_MS),
        `${s} minute by minute`,
      )
      for (const x of r) {
        // The key is the minute (the primary key keeps it once): each row is that minute's candle.
        assert.equal(x.closeTime, x.t + MINUTE_MS - 1, `${s} ${x.t} spans its minute`)
        assert.equal(x.close, simulatedKline(s, x.t).close)
      }
    }
  })
})
