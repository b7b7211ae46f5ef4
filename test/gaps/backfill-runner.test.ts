import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import { createRestClient } from '../../src/binance/rest/rest-client.ts'
import type { Clock } from '../../src/core/clock.ts'
import { floorMinute } from '../../src/core/minute-ranges.ts'
import { MINUTE_MS } from '../../src/core/records.ts'
import { BackfillRunner } from '../../src/gaps/backfill-runner.ts'
import { scaledClock } from '../../src/simulator/scaled-clock.ts'
import { startSimulator } from '../../src/simulator/server.ts'
import { buildCandleUpsert } from '../../src/store/candle-sql.ts'
import { type DbKind, openTestDb, pgTargets } from '../helpers/db.ts'
import { ManualClock } from '../helpers/manual-clock.ts'
import { until } from '../helpers/until.ts'

/** A runner over a simulator on `clock`, and a fresh database. */
async function rigOn(kind: DbKind, t: TestContext, clock: Clock, timeoutMs?: number) {
  const sim = await startSimulator({ clock })
  const tdb = await openTestDb(kind)
  const rest = createRestClient({
    baseUrl: sim.httpBase,
    clock,
    maxRetries: 0,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  })
  t.after(async () => {
    rest.close()
    await sim.close()
    await tdb.cleanup()
  })
  const runner = new BackfillRunner({
    db: tdb.db,
    rest,
    clock,
    market: 'spot',
    write: async (candles) => {
      await tdb.db.query(buildCandleUpsert(candles))
    },
    random: () => 0.5,
  })
  return { sim, tdb, runner }
}

/** A runner over a simulator whose clock runs 600× fast, and a fresh database. */
async function runnerRig(kind: DbKind, t: TestContext) {
  const clock = scaledClock(600, Date.UTC(2024, 0, 1, 12, 0, 30))
  // Time runs 600× fast here: give requests a timeout that means something in real time.
  return { clock, ...(await rigOn(kind, t, clock, 3_600_000)) }
}

/** The same runner on a clock that only the test moves. */
async function manualRig(kind: DbKind, t: TestContext, start: number) {
  const clock = new ManualClock(start)
  const { sim, tdb, runner } = await rigOn(kind, t, clock)
  const stored = async () => {
    const r = await tdb.db.query<{ open_time: Date }>(
      "SELECT open_time FROM candles_1m WHERE symbol = 'BTCUSDT' ORDER BY open_time",
    )
    return r.rows.map((x) => x.open_time.getTime())
  }
  return { clock, sim, tdb, runner, stored }
}

for (const kind of pgTargets()) {
  describe(`BackfillRunner on ${kind}, manual clock`, () => {
    const T0 = Date.UTC(2024, 0, 1, 12, 0)
    const m = (i: number) => T0 + i * MINUTE_MS

    it("a job queued while the symbol's last job is in flight is not lost", async (t) => {
      const { runner, stored } = await manualRig(kind, t, m(20))
      runner.enqueue({ symbol: 'BTCUSDT', from: m(0), to: m(4), cause: 'catch_up' })
      // The first job is being worked on (its queue is empty now); a new gap comes in meanwhile.
      assert.equal(runner.pendingJobs(), 1)
      runner.enqueue({ symbol: 'BTCUSDT', from: m(6), to: m(7), cause: 'late_close' })
      await runner.idle()
      assert.deepEqual(await stored(), [m(0), m(1), m(2), m(3), m(4), m(6), m(7)])
      assert.equal(runner.pendingJobs(), 0)
      runner.close()
    })

    it('a recent minute Binance does not have yet is recorded as a gap once, however often it is retried', async (t) => {
      const { clock, sim, tdb, runner } = await manualRig(kind, t, m(20))
      const detected: unknown[] = []
      runner.on('gap_detected', (e) => detected.push(e))
      sim.hooks.rest.outage('BTCUSDT', m(17), m(17))
      runner.enqueue({ symbol: 'BTCUSDT', from: m(17), to: m(17), cause: 'late_close' })
      await runner.idle()
      // Retried every minute until it is old enough to be declared unfillable (10 min).
      for (let i = 1; i <= 12; i++) {
        clock.advanceTo(m(20 + i))
        await runner.idle()
      }
      const rows = await tdb.db.query<{ event_type: string; n: string }>(
        'SELECT event_type, count(*)::text AS n FROM data_quality_logs GROUP BY event_type ORDER BY 1',
      )
      assert.deepEqual(
        rows.rows.map((r) => [r.event_type, r.n]),
        [
          ['gap_detected', '1'],
          ['gap_unfillable', '1'],
        ],
      )
      assert.equal(detected.length, 1, 'one gap_detected event (one webhook call)')
      assert.equal(runner.pendingJobs(), 0)
      runner.close()
    })

    it('a step that fails before recording its gap records it on the retry', async (t) => {
      const { clock, tdb, runner } = await manualRig(kind, t, m(20))
      const failures: unknown[] = []
      runner.on('job_failed', (e) => failures.push(e.error))
      // The records table is away: the step fails at its first record.
      await tdb.db.exec('ALTER TABLE data_quality_logs RENAME TO dql_away')
      runner.enqueue({ symbol: 'BTCUSDT', from: m(10), to: m(12), cause: 'disconnect' })
      await runner.idle()
      assert.equal(failures.length, 1)
      await tdb.db.exec('ALTER TABLE dql_away RENAME TO data_quality_logs')
      clock.advance(60_000)
      await runner.idle()
      const rows = await tdb.db.query<{ event_type: string; candles_missing: number }>(
        'SELECT event_type, candles_missing FROM data_quality_logs ORDER BY id',
      )
      assert.deepEqual(
        rows.rows.map((r) => [r.event_type, r.candles_missing]),
        [
          ['gap_detected', 3],
          ['gap_filled', 3],
        ],
      )
      runner.close()
    })

    it('a minute queued before it settled is fetched as soon as it settles, not a minute later', async (t) => {
      const { clock, runner, stored } = await manualRig(kind, t, m(11) + 1_000)
      // Minute 10 closed 1 s ago: the stream may still deliver it; minute 9 is settled.
      runner.enqueue({ symbol: 'BTCUSDT', from: m(9), to: m(10), cause: 'disconnect' })
      await runner.idle()
      assert.deepEqual(await stored(), [m(9)])
      clock.advanceTo(m(11) + 4_999)
      await runner.idle()
      assert.deepEqual(await stored(), [m(9)])
      clock.advanceTo(m(11) + 5_000) // close + the runner's 5 s settle time
      await runner.idle()
      assert.deepEqual(await stored(), [m(9), m(10)])
      runner.close()
    })
  })

  describe(`BackfillRunner on ${kind}`, () => {
    it('a failing REST step is retried; its gap is recorded once; unfillable minutes are recorded once and not fetched again', async (t) => {
      const { clock, sim, tdb, runner } = await runnerRig(kind, t)
      const failures: unknown[] = []
      runner.on('job_failed', (e) => failures.push(e.error))
      const last = floorMinute(clock.now()) - 30 * MINUTE_MS
      const from = last - 59 * MINUTE_MS
      sim.hooks.rest.outage('BTCUSDT', from + 10 * MINUTE_MS, from + 11 * MINUTE_MS)
      sim.hooks.rest.failNext(2, 503)
      runner.enqueue({ symbol: 'BTCUSDT', from, to: last, cause: 'disconnect' })
      assert.equal(runner.pendingJobs(), 1)
      await until('two failed attempts, then an idle runner', async () => {
        await runner.idle()
        return failures.length >= 2 && runner.pendingJobs() === 0
      })
      assert.equal(failures.length, 2, 'two failed attempts, then success')
      const rows = await tdb.db.query<{
        event_type: string
        candles_missing: number
        candles_recovered: number | null
      }>('SELECT event_type, candles_missing, candles_recovered FROM data_quality_logs ORDER BY id')
      assert.deepEqual(
        rows.rows.map((r) => r.event_type),
        ['gap_detected', 'gap_filled', 'gap_unfillable'],
      )
      assert.equal(rows.rows[0]?.candles_missing, 60)
      const count = await tdb.db.query<{ n: string }>(
        "SELECT count(*)::text AS n FROM candles_1m WHERE symbol = 'BTCUSDT'",
      )
      assert.equal(count.rows[0]?.n, '58')
      // Again: nothing missing but the confirmed-empty minutes: no request, no new record.
      const before = sim.hooks.rest.stats().requests
      runner.enqueue({ symbol: 'BTCUSDT', from, to: last, cause: 'catch_up' })
      await runner.idle()
      assert.equal(sim.hooks.rest.stats().requests, before)
      const again = await tdb.db.query<{ n: string }>('SELECT count(*)::text AS n FROM data_quality_logs')
      assert.equal(again.rows[0]?.n, '3')
      runner.close()
    })

    it('a minute keeps the cause of the job that queued it first; only new minutes take a later cause', async (t) => {
      const { clock, tdb, runner } = await runnerRig(kind, t)
      const last = floorMinute(clock.now()) - 30 * MINUTE_MS
      const from = last - 19 * MINUTE_MS
      // ETHUSDT keeps the runner busy, so both BTCUSDT jobs are queued before either is worked on.
      runner.enqueue({ symbol: 'ETHUSDT', from, to: last, cause: 'initial' })
      runner.enqueue({ symbol: 'BTCUSDT', from, to: last - 5 * MINUTE_MS, cause: 'catch_up' })
      runner.enqueue({ symbol: 'BTCUSDT', from: last - 8 * MINUTE_MS, to: last, cause: 'sequence_jump' })
      await runner.idle()
      const rows = await tdb.db.query<{ gap_start: Date; gap_end: Date; details: { cause: string } }>(
        "SELECT gap_start, gap_end, details FROM data_quality_logs WHERE symbol = 'BTCUSDT' AND event_type = 'gap_detected' ORDER BY gap_start",
      )
      assert.deepEqual(
        rows.rows.map((r) => [r.gap_start.getTime(), r.gap_end.getTime(), r.details.cause]),
        [
          [from, last - 5 * MINUTE_MS, 'catch_up'],
          [last - 4 * MINUTE_MS, last, 'sequence_jump'],
        ],
      )
      const count = await tdb.db.query<{ n: string }>(
        "SELECT count(*)::text AS n FROM candles_1m WHERE symbol = 'BTCUSDT'",
      )
      assert.equal(count.rows[0]?.n, '20')
      runner.close()
    })
  })
}
