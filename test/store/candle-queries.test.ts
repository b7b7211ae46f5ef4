import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  countCandles,
  countQualityEvents,
  detectGaps,
  insertQualityLog,
  latestCandleTime,
} from '../../src/store/candle-queries.ts'
import { buildCandleUpsert } from '../../src/store/candle-sql.ts'
import { openTestDb, pgTargets, type TestDb } from '../helpers/db.ts'
import { candle, MIN, T0 } from './candle-fixture.ts'

for (const kind of pgTargets()) {
  describe(`candle queries on ${kind}`, () => {
    let t: TestDb
    before(async () => {
      t = await openTestDb(kind)
    })
    after(() => t.cleanup())

    test('detect_gaps finds the missing minutes exactly, as ranges', async () => {
      const present = [0, 1, 2, 5, 6, 9]
      await t.db.query(buildCandleUpsert(present.map((m) => candle({ symbol: 'GAPUSDT', minute: m }))))
      const gaps = await detectGaps(t.db, 'spot', 'gapusdt', T0, T0 + 12 * MIN)
      assert.deepEqual(gaps, [
        { rangeStart: T0 + 3 * MIN, rangeEnd: T0 + 4 * MIN, missing: 2 },
        { rangeStart: T0 + 7 * MIN, rangeEnd: T0 + 8 * MIN, missing: 2 },
        { rangeStart: T0 + 10 * MIN, rangeEnd: T0 + 11 * MIN, missing: 2 },
      ])
      // Half-open [from, to), from rounded up to the next whole minute.
      assert.deepEqual(await detectGaps(t.db, 'spot', 'GAPUSDT', T0 + 30_000, T0 + 4 * MIN), [
        { rangeStart: T0 + 3 * MIN, rangeEnd: T0 + 3 * MIN, missing: 1 },
      ])
      assert.deepEqual(await detectGaps(t.db, 'spot', 'GAPUSDT', T0, T0 + 3 * MIN), [])
      assert.deepEqual(await detectGaps(t.db, 'spot', 'GAPUSDT', T0, T0), [])
    })

    test('detect_gaps never counts the minute in progress as missing', async () => {
      // One transaction: now() stands still, so the minute cannot turn between the steps.
      await t.db.tx(async (q) => {
        const r = await q.query<{ m: Date }>(`SELECT date_trunc('minute', now(), 'UTC') AS m`)
        const current = (r.rows[0] as { m: Date }).m.getTime()
        const closed = [1, 2, 3, 4, 5].map((k) => candle({ symbol: 'NOWUSDT', openTime: current - k * MIN }))
        await q.query(buildCandleUpsert(closed))
        const sql = (fn: string, to: string) =>
          `SELECT range_start, missing FROM ${fn}('spot', 'NOWUSDT', now() - interval '5 minutes', ${to})`
        assert.deepEqual((await q.query(sql('detect_gaps', 'now()'))).rows, [])
        assert.deepEqual((await q.query(sql('detect_gaps', `now() + interval '1 hour'`))).rows, [])
        // The service's own query leaves the bound to its caller.
        const raw = await q.query<{ range_start: Date; missing: number }>(sql('missing_minutes', 'now()'))
        assert.deepEqual(
          raw.rows.map((x) => [x.range_start.getTime(), x.missing]),
          [[current, 1]],
        )
        await q.exec(`DELETE FROM candles_1m WHERE symbol = 'NOWUSDT'`)
      })
    })

    test('detect_gaps over 30 days of an empty symbol is one range', async () => {
      const days = 30 * 1440
      const gaps = await detectGaps(t.db, 'spot', 'NONEUSDT', T0, T0 + days * MIN)
      assert.deepEqual(gaps, [{ rangeStart: T0, rangeEnd: T0 + (days - 1) * MIN, missing: days }])
    })

    test('countCandles and latestCandleTime', async () => {
      await t.db.query(buildCandleUpsert([0, 1, 7].map((m) => candle({ symbol: 'CNTUSDT', minute: m }))))
      assert.equal(await countCandles(t.db, { symbol: 'cntusdt' }), 3)
      assert.equal(await countCandles(t.db, { market: 'spot', symbol: 'CNTUSDT' }), 3)
      assert.ok((await countCandles(t.db)) >= 3)
      assert.equal(await latestCandleTime(t.db, 'spot', 'CNTUSDT'), T0 + 7 * MIN)
      assert.equal(await latestCandleTime(t.db, 'spot', 'NOPEUSDT'), null)
      assert.ok(((await latestCandleTime(t.db)) ?? 0) >= T0 + 7 * MIN)
    })

    test('data_quality_logs rows are written with the fixed column names', async () => {
      const since = Date.now() - 60_000
      const id = await insertQualityLog(t.db, {
        eventType: 'gap_detected',
        market: 'spot',
        symbol: 'btcusdt',
        gapStart: T0,
        gapEnd: T0 + 4 * MIN,
        candlesMissing: 5,
        source: 'ws',
        details: { reason: 'late close' },
      })
      await insertQualityLog(t.db, { eventType: 'ws_disconnected', symbol: null, errorMessage: 'code 1006' })
      const r = await t.db.query<Record<string, unknown>>('SELECT * FROM data_quality_logs WHERE id = $1', [
        id,
      ])
      const row = r.rows[0] ?? {}
      assert.equal(row.symbol, 'BTCUSDT')
      assert.equal(row.event_type, 'gap_detected')
      assert.equal((row.gap_start as Date).getTime(), T0)
      assert.equal((row.gap_end as Date).getTime(), T0 + 4 * MIN)
      assert.equal(row.candles_missing, 5)
      assert.equal(row.resolved, false)
      assert.deepEqual(row.details, { reason: 'late close' })
      assert.equal(await countQualityEvents(t.db, since), 2)
      assert.equal(await countQualityEvents(t.db, since, ['ws_disconnected']), 1)
    })

    test('the aggregate views roll minutes up (first open, last close)', async () => {
      const cs = [0, 1, 2, 3, 4, 5].map((m) =>
        candle({
          symbol: 'AGGUSDT',
          minute: m,
          open: `${100 + m}`,
          close: `${110 + m}`,
          high: '200',
          low: '50',
        }),
      )
      await t.db.query(buildCandleUpsert(cs))
      const r = await t.db.query<Record<string, unknown>>(
        `SELECT open_time, open::text, close::text, volume::text, candles FROM candles_5m WHERE symbol = 'AGGUSDT' ORDER BY open_time`,
      )
      assert.equal(r.rows.length, 2)
      assert.equal((r.rows[0]?.open_time as Date | undefined)?.getTime(), T0)
      assert.equal(r.rows[0]?.open, '100')
      assert.equal(r.rows[0]?.close, '114')
      assert.equal(r.rows[0]?.candles, 5)
      assert.equal(r.rows[0]?.volume, '61.72835000')
      const d = await t.db.query<{ candles: number }>(
        `SELECT candles FROM candles_1d WHERE symbol = 'AGGUSDT'`,
      )
      assert.equal(d.rows[0]?.candles, 6)
    })
  })
}
