/**
 * Complete history, live: initial backfill, catch-up after a restart, a lost
 * closing frame, a long disconnect, a rate-limited REST budget, a gap webhook.
 * Simulator and app share a clock running 60× fast.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, it } from 'node:test'
import { floorMinute } from '../../src/core/minute-ranges.ts'
import { MINUTE_MS } from '../../src/core/records.ts'
import { simulatedKline } from '../../src/simulator/market.ts'
import type { Db } from '../../src/store/db.ts'
import { pgTargets } from '../helpers/db.ts'
import { liveRig, missingMinutes } from '../helpers/live-app.ts'
import { until } from '../helpers/until.ts'

async function rowsOf(db: Db, symbol: string) {
  const r = await db.query<{ open_time: Date; close: string; source: string; bid: string | null }>(
    'SELECT open_time, close::text, source, bid::text FROM candles_1m WHERE symbol = $1 ORDER BY open_time',
    [symbol],
  )
  return r.rows.map((x) => ({ t: x.open_time.getTime(), close: x.close, source: x.source, bid: x.bid }))
}

async function qualityEvents(db: Db, type: string) {
  const r = await db.query<{
    symbol: string
    gap_start: Date
    gap_end: Date
    candles_missing: number
    details: { cause?: string }
  }>(
    'SELECT symbol, gap_start, gap_end, candles_missing, details FROM data_quality_logs WHERE event_type = $1 ORDER BY id',
    [type],
  )
  return r.rows
}

for (const kind of pgTargets()) {
  describe(`complete history on ${kind}`, () => {
    it('a fresh start backfills exactly INITIAL_BACKFILL_MINUTES; a restart after a pause catches up with no hole and no duplicate', async (t) => {
      const rig = await liveRig(kind)
      t.after(() => rig.close())
      const env = {
        TRADING_SYMBOLS: 'btcusdt,ethusdt',
        INITIAL_BACKFILL_MINUTES: '20',
        FEATURE_WINDOWS: '5,20',
      }
      const startedAt = rig.clock.now()
      const first = await rig.startApp(env)
      const db1 = first.app.db as Db
      // The window is the 20 minutes closed when the app started (its clock, not the test's);
      // its first recorded range starts it (a minute closed seconds before may be recorded later).
      const initialLog = await until('the initial backfill recorded', async () =>
        (await qualityEvents(db1, 'gap_detected')).find(
          (e) => e.symbol === 'ETHUSDT' && e.details.cause === 'initial',
        ),
      )
      const windowStart = initialLog.gap_start.getTime()
      const lastClosed = windowStart + 19 * MINUTE_MS
      assert.ok(lastClosed >= floorMinute(startedAt) - MINUTE_MS, 'the window ends at the start')
      assert.ok(lastClosed + MINUTE_MS <= rig.clock.now(), 'only closed minutes')
      await until(
        'initial backfill done',
        async () =>
          (await missingMinutes(db1, 'ETHUSDT', windowStart, lastClosed)) === 0 &&
          (await missingMinutes(db1, 'BTCUSDT', windowStart, lastClosed)) === 0,
      )
      for (const s of ['BTCUSDT', 'ETHUSDT']) {
        const rows = (await rowsOf(db1, s)).filter((r) => r.t <= lastClosed)
        assert.equal(rows.length, 20, `${s}: exactly the initial window`)
        assert.equal(rows[0]?.t, windowStart)
        for (const r of rows) assert.equal(r.close, simulatedKline(s, r.t).close)
        const initial = (await qualityEvents(db1, 'gap_detected')).filter(
          (e) => e.symbol === s && e.details.cause === 'initial',
        )
        // Every minute of the window was recorded missing, unless the stream had stored it
        // (a minute that closed just before the start) by the time the backfill looked.
        const accounted = new Set(rows.filter((r) => r.source === 'ws').map((r) => r.t))
        for (const e of initial) {
          const from = e.gap_start.getTime()
          const to = e.gap_end.getTime()
          assert.equal(e.candles_missing, (to - from) / MINUTE_MS + 1, `${s}: count of ${from}…${to}`)
          for (let m = from; m <= to; m += MINUTE_MS) accounted.add(m)
        }
        assert.deepEqual(
          [...accounted].sort((a, b) => a - b),
          rows.map((r) => r.t),
          `${s}: the initial window recorded as missing minutes`,
        )
      }
      await until(
        'two live minutes',
        async () => (await rowsOf(db1, 'BTCUSDT')).filter((r) => r.source === 'ws').length >= 2,
      )
      assert.equal(await first.app.stop('pause'), true)

      // Down for a few simulated minutes, then back.
      const downUntil = rig.clock.now() + 4 * MINUTE_MS
      await until('four minutes pass', () => rig.clock.now() >= downUntil)
      const second = await rig.startApp({
        TRADING_SYMBOLS: 'btcusdt,ethusdt',
        INITIAL_BACKFILL_MINUTES: '20',
      })
      const db2 = second.app.db as Db
      const back = floorMinute(rig.clock.now()) - MINUTE_MS
      await until(
        'caught up',
        async () =>
          (await missingMinutes(db2, 'BTCUSDT', windowStart, back)) === 0 &&
          (await missingMinutes(db2, 'ETHUSDT', windowStart, back)) === 0,
      )
      await until('live again', async () =>
        (await rowsOf(db2, 'BTCUSDT')).some((r) => r.t > back && r.source === 'ws'),
      )
      // A minute after `back` whose close frame fell into the reconnect may still be under repair.
      const contiguous = (times: number[]) => times.every((t, i) => t === windowStart + i * MINUTE_MS)
      await until('no hole up to the newest row', async () => {
        for (const s of ['BTCUSDT', 'ETHUSDT'])
          if (!contiguous((await rowsOf(db2, s)).map((r) => r.t))) return false
        return true
      })
      for (const s of ['BTCUSDT', 'ETHUSDT']) {
        const rows = await rowsOf(db2, s)
        const times = rows.map((r) => r.t)
        assert.deepEqual(
          times,
          Array.from({ length: times.length }, (_, i) => windowStart + i * MINUTE_MS),
          `${s}: contiguous`,
        )
        for (const r of rows) assert.equal(r.close, simulatedKline(s, r.t).close, `${s} ${r.t}`)
        assert.ok(
          rows.some((r) => r.source === 'rest' && r.t > lastClosed),
          `${s}: the pause was filled from REST`,
        )
      }
      const catchUp = await qualityEvents(db2, 'gap_detected')
      assert.ok(
        catchUp.some((e) => e.details.cause === 'catch_up'),
        'the restart recorded its catch-up',
      )
    })

    it('a lost closing frame is fetched after the threshold; the webhook hears of it; malformed REST pages are refused', async (t) => {
      const posts: unknown[] = []
      const hook = createServer((req, res) => {
        let body = ''
        req.on('data', (d) => {
          body += d
        })
        req.on('end', () => {
          posts.push(JSON.parse(body))
          res.end('ok')
        })
      })
      await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()))
      t.after(() => new Promise<void>((r) => hook.close(() => r())))
      const rig = await liveRig(kind)
      t.after(() => rig.close())
      rig.sim.hooks.rest.malformNext(1, 'html')
      const { app, lines } = await rig.startApp({
        TRADING_SYMBOLS: 'btcusdt',
        INITIAL_BACKFILL_MINUTES: '3',
        GAP_HANDLER_URL: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/gaps`,
      })
      // A minute that closes well after the start, however slow the start was: a live loss.
      const skipped = floorMinute(rig.clock.now()) + 2 * MINUTE_MS
      rig.sim.hooks.skipClosed('BTCUSDT', skipped)
      const db = app.db as Db
      await until(
        'the skipped minute repaired',
        async () => (await rowsOf(db, 'BTCUSDT')).some((r) => r.t === skipped),
        30_000,
      )
      const row = (await rowsOf(db, 'BTCUSDT')).find((r) => r.t === skipped)
      assert.equal(row?.source, 'rest')
      assert.equal(row?.close, simulatedKline('BTCUSDT', skipped).close)
      // Found by the next minute's close (a jump) or, at the latest, GAP_DETECTION_THRESHOLD after its own.
      const detected = lines.find(
        (l) => l.code === 'GAP_DETECTED' && /late_close|sequence_jump/.test(String(l.cause)),
      )
      assert.ok(detected, 'detected live')
      const events = await qualityEvents(db, 'gap_detected')
      const mine = events.find((e) => e.gap_start.getTime() === skipped)
      assert.equal(mine?.candles_missing, 1)
      // The row lands before the runner re-checks the range and records the fill.
      await until('the fill recorded', async () =>
        (await qualityEvents(db, 'gap_filled')).some((e) => e.gap_start.getTime() === skipped),
      )
      await until('the webhook called', () => posts.length > 0)
      assert.deepEqual(
        posts.find((p) => (p as { from: string }).from === new Date(skipped).toISOString()),
        {
          symbol: 'BTCUSDT',
          market: 'spot',
          from: new Date(skipped).toISOString(),
          to: new Date(skipped).toISOString(),
          missing: 1,
        },
      )
      assert.ok(
        lines.some((l) => l.code === 'INVALID_REST_RESPONSE'),
        'the HTML page was refused (and retried)',
      )
      const health = (await (await fetch(`http://127.0.0.1:${app.httpPort}/health`)).json()) as Record<
        string,
        unknown
      >
      assert.equal(typeof health.pending_backfills, 'number')
      assert.equal(typeof (health.details as Record<string, unknown>).gap_check_last, 'string')
      // The embedded database has no TimescaleDB; a server says it runs it or why not.
      assert.match(
        String((health.details as Record<string, unknown>).timescale),
        kind === 'pglite' ? /^off$/ : /^(on|unavailable \((not installed|not preloaded|no privilege)\))$/,
      )
    })

    it('a 90-second disconnect leaves no hole, even with a dead webhook', async (t) => {
      const rig = await liveRig(kind)
      t.after(() => rig.close())
      const { app, lines } = await rig.startApp({
        TRADING_SYMBOLS: 'btcusdt,nknusdt',
        INITIAL_BACKFILL_MINUTES: '2',
        GAP_HANDLER_URL: 'http://127.0.0.1:9/unreachable',
      })
      const db = app.db as Db
      const from = floorMinute(rig.clock.now()) - 2 * MINUTE_MS
      await until('streaming', async () => (await rowsOf(db, 'NKNUSDT')).some((r) => r.source === 'ws'))
      const cutAt = rig.clock.now()
      rig.sim.hooks.refuseConnections(1_000)
      rig.sim.hooks.dropAll()
      await until('90 s of outage', () => rig.clock.now() >= cutAt + 90_000)
      rig.sim.hooks.refuseConnections(0)
      const cut = lines.findIndex((x) => x.code === 'STREAM_DISCONNECTED')
      await until('reconnected', () => lines.slice(cut).some((l) => l.msg === 'stream connected'))
      const after = floorMinute(rig.clock.now()) + MINUTE_MS
      await until('a minute after the outage', async () =>
        (await rowsOf(db, 'BTCUSDT')).some((r) => r.t >= after),
      )
      for (const s of ['BTCUSDT', 'NKNUSDT']) {
        await until(`${s} complete`, async () => (await missingMinutes(db, s, from, after)) === 0, 30_000)
        for (const r of await rowsOf(db, s)) assert.equal(r.close, simulatedKline(s, r.t).close)
      }
      // Minutes whose close fell inside the outage.
      const outage = (await rowsOf(db, 'BTCUSDT')).filter(
        (r) => r.t + MINUTE_MS > cutAt + 2_000 && r.t + MINUTE_MS < cutAt + 88_000,
      )
      assert.ok(
        outage.length >= 1 && outage.every((r) => r.source === 'rest'),
        'outage minutes came from REST',
      )
      // Reported once its retries are spent, which may be after the repair.
      await until('the dead webhook reported', () => lines.some((l) => l.code === 'GAP_WEBHOOK_FAILED'))
    })

    it('a tiny REST weight budget: 429s are obeyed, no 418, and the backfill still completes', async (t) => {
      const rig = await liveRig(kind, { weightLimitPerMinute: 4 }, 2)
      t.after(() => rig.close())
      const { app, lines } = await rig.startApp({
        TRADING_SYMBOLS: 'btcusdt,ethusdt,bnbbtc',
        INITIAL_BACKFILL_MINUTES: '2500',
      })
      const db = app.db as Db
      const last = floorMinute(rig.clock.now()) - MINUTE_MS
      const from = last - 2499 * MINUTE_MS
      await until(
        'every symbol backfilled',
        async () => {
          for (const s of ['BTCUSDT', 'ETHUSDT', 'BNBBTC'])
            if ((await missingMinutes(db, s, from, last)) > 0) return false
          return true
        },
        90_000,
      )
      const stats = rig.sim.hooks.rest.stats()
      assert.ok(stats.responses429 >= 1, `429s seen: ${stats.responses429}`)
      assert.equal(stats.responses418, 0, 'never banned')
      assert.ok(lines.some((l) => l.code === 'REST_HTTP_429'))
    })

    it('symbols that could not be checked at start (REST down) are checked again later', async (t) => {
      const rig = await liveRig(kind)
      t.after(() => rig.close())
      rig.sim.hooks.rest.failNext(1, 503)
      const { lines } = await rig.startApp({ TRADING_SYMBOLS: 'btcusdt', INITIAL_BACKFILL_MINUTES: '0' })
      assert.ok(lines.some((l) => l.code === 'SYMBOL_CHECK_DEFERRED'))
      await until(
        'checked again (every 5 minutes)',
        () => lines.some((l) => l.msg === 'symbols verified on Binance'),
        20_000,
      )
    })
  })
}
