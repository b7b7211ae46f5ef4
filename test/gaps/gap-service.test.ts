/**
 * Gap repair timing, on the injected clock: the simulator's REST API and a
 * real database do the work, the test moves time.
 */
import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import { createRestClient } from '../../src/binance/rest/rest-client.ts'
import { MINUTE_MS } from '../../src/core/records.ts'
import { createGapService } from '../../src/gaps/gap-service.ts'
import { startSimulator } from '../../src/simulator/server.ts'
import { buildCandleUpsert } from '../../src/store/candle-sql.ts'
import { type DbKind, openTestDb, pgTargets } from '../helpers/db.ts'
import { ManualClock } from '../helpers/manual-clock.ts'
import { candle } from '../store/candle-fixture.ts'

const T0 = Date.UTC(2024, 0, 1, 12, 0)
const m = (i: number) => T0 + i * MINUTE_MS
const THRESHOLD_MS = 15_000

type Db = Awaited<ReturnType<typeof openTestDb>>['db']

/** A gap service for BTCUSDT (initial window 10 minutes) on the simulator's REST, its clock at `at`. */
async function services(kind: DbKind, t: TestContext, at: number) {
  const clock = new ManualClock(at)
  const sim = await startSimulator({ clock })
  const tdb = await openTestDb(kind)
  const rest = createRestClient({ baseUrl: sim.httpBase, clock, maxRetries: 0 })
  const gaps = createGapService({
    db: tdb.db,
    rest,
    clock,
    symbols: ['BTCUSDT'],
    thresholdMs: THRESHOLD_MS,
    initialBackfillMinutes: 10,
    webhookUrl: null,
    write: async (candles) => {
      await tdb.db.query(buildCandleUpsert(candles))
    },
    random: () => 0.5,
  })
  t.after(async () => {
    gaps.stop()
    rest.close()
    await sim.close()
    await tdb.cleanup()
  })
  return { clock, sim, gaps, db: tdb.db }
}

async function recorded(db: Db, type: string) {
  const r = await db.query<{
    gap_start: Date
    gap_end: Date
    candles_missing: number
    details: { cause: string }
  }>(
    'SELECT gap_start, gap_end, candles_missing, details FROM data_quality_logs WHERE event_type = $1 ORDER BY id',
    [type],
  )
  return r.rows.map((x) => ({
    from: x.gap_start.getTime(),
    to: x.gap_end.getTime(),
    missing: x.candles_missing,
    cause: x.details.cause,
  }))
}

async function rig(kind: DbKind, t: TestContext) {
  const { clock, sim, gaps, db } = await services(kind, t, m(10) + 30_000)
  const rowSource = async (openTime: number) => {
    const r = await db.query<{ source: string }>(
      "SELECT source FROM candles_1m WHERE symbol = 'BTCUSDT' AND open_time = $1",
      [new Date(openTime)],
    )
    return r.rows[0]?.source ?? null
  }
  const detected = async () => (await recorded(db, 'gap_detected')).map((e) => [e.from, e.cause] as const)
  // Minutes 0…9 are stored by the initial backfill; the stream is live from here.
  await gaps.start()
  await gaps.runner.idle()
  assert.equal(await rowSource(m(9)), 'rest')
  return { clock, sim, gaps, rowSource, detected }
}

for (const kind of pgTargets()) {
  describe(`GapService on ${kind}`, () => {
    it('a minute lost across a reconnect is fetched once its close + threshold has passed, not a minute later', async (t) => {
      const { clock, sim, gaps, rowSource, detected } = await rig(kind, t)
      // Last data on the old socket at 10:59.5 (minute 10 still forming); the socket dies
      // before minute 10's x=true frame; the new one delivers data from 11:01.
      clock.advanceTo(m(11) + 1_000)
      gaps.onResumed(m(10) + 59_500, m(11) + 1_000)
      await gaps.runner.idle()
      const requests = sim.hooks.rest.stats().requests
      clock.advanceTo(m(11) + THRESHOLD_MS - 1)
      await gaps.runner.idle()
      assert.equal(await rowSource(m(10)), null, 'the stream may still deliver it: not fetched yet')
      assert.equal(sim.hooks.rest.stats().requests, requests)
      clock.advanceTo(m(11) + THRESHOLD_MS)
      await gaps.runner.idle()
      assert.equal(await rowSource(m(10)), 'rest', 'fetched at close + threshold')
      assert.deepEqual((await detected()).at(-1), [m(10), 'disconnect'])
    })

    it('the same holds while no socket is up at all', async (t) => {
      const { clock, gaps, rowSource } = await rig(kind, t)
      // Nothing arrives after 10:59.5: no resume, only the clock.
      clock.advanceTo(m(11) + THRESHOLD_MS - 1)
      await gaps.runner.idle()
      assert.equal(await rowSource(m(10)), null)
      // The overdue check runs every 10 s; by the next one after the threshold it is queued.
      clock.advanceTo(m(11) + THRESHOLD_MS + 10_000)
      await gaps.runner.idle()
      assert.equal(await rowSource(m(10)), 'rest')
    })

    // Minute 9 closed half a second before the start; its x=true frame came on the new socket
    // and was stored before the start-up lookup ran. `history` was stored by an earlier run.
    const startWithLiveMinute9 = async (t: TestContext, history: number[]) => {
      const { gaps, db } = await services(kind, t, m(10) + 500)
      if (history.length > 0)
        await db.query(buildCandleUpsert(history.map((i) => candle({ openTime: m(i), source: 'rest' }))))
      const live = candle({ openTime: m(9) })
      gaps.onCandle(live)
      await db.query(buildCandleUpsert([live]))
      await gaps.start()
      await gaps.runner.idle()
      return recorded(db, 'gap_detected')
    }

    it('a new symbol stays new when the stream stored its first candle before the start-up lookup', async (t) => {
      assert.deepEqual(await startWithLiveMinute9(t, []), [
        { from: m(0), to: m(8), missing: 9, cause: 'initial' },
      ])
    })

    it('a symbol with history before the live candles is caught up from its latest stored minute', async (t) => {
      assert.deepEqual(await startWithLiveMinute9(t, [-5]), [
        { from: m(-4), to: m(8), missing: 13, cause: 'catch_up' },
      ])
    })

    it('a long outage: the overdue checks and the window after it repair every minute, each reported once', async (t) => {
      const { clock, gaps, rowSource, detected } = await rig(kind, t)
      // The overdue checks queue minutes 10 and 11 while their first repair is still running;
      // none of those jobs may be dropped, and the window adds no second report.
      clock.advanceTo(m(12) + 20_000)
      gaps.onResumed(m(10) + 59_500, m(12) + 20_000)
      await gaps.runner.idle()
      assert.equal(await rowSource(m(10)), 'rest')
      assert.equal(await rowSource(m(11)), 'rest')
      assert.deepEqual(
        (await detected()).filter(([, cause]) => cause !== 'initial').map(([from]) => from),
        [m(10), m(11)],
      )
    })
  })
}
