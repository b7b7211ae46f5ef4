/**
 * minute_coverage (migrations 010, 013) on PGlite, on the real PostgreSQL
 * (TEST_DATABASE_URL) and on TimescaleDB hypertables (TEST_TIMESCALE_URL): every
 * status over a planted range around the database's current minute, the
 * provenance and feature columns, the range convention and bad arguments.
 *
 * The planted minutes sit around `now()`, read inside the same transaction as
 * the queries, so the current minute cannot turn between the steps.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { MINUTE_MS } from '../../src/core/records.ts'
import { buildCandleUpsert } from '../../src/store/candle-sql.ts'
import { coverageSummary, minuteCoverage } from '../../src/store/coverage-queries.ts'
import type { Db, Queryable } from '../../src/store/db.ts'
import { migrate } from '../../src/store/migrate.ts'
import { openDb } from '../../src/store/open-db.ts'
import { createTestDatabase, openTestDb, pgTargets, postgresOptions } from '../helpers/db.ts'
import { candle } from './candle-fixture.ts'

type Target = { name: string; open: () => Promise<{ db: Db; cleanup: () => Promise<void> }> }

const targets: Target[] = pgTargets().map((kind) => ({
  name: kind,
  open: async () => openTestDb(kind),
}))
const TS_URL = process.env.TEST_TIMESCALE_URL
if (TS_URL)
  targets.push({
    name: 'timescaledb',
    open: async () => {
      const target = await createTestDatabase(TS_URL)
      const db = await openDb(postgresOptions(target.connectionString))
      const r = await migrate(db)
      assert.equal(r.timescale.state, 'on')
      return {
        db,
        cleanup: async () => {
          await db.close()
          await target.cleanup()
        },
      }
    },
  })

async function currentMinute(q: Queryable): Promise<number> {
  const r = await q.query<{ m: Date }>(`SELECT date_trunc('minute', now(), 'UTC') AS m`)
  return (r.rows[0] as { m: Date }).m.getTime()
}

async function features(q: Queryable, symbol: string, rows: [number, number][]): Promise<void> {
  await q.query(
    `INSERT INTO feature_cache (market, symbol, open_time, window_size, close_zscore, window_count, window_full)
     SELECT 'spot', $1, t, w, 0, 1, w = 1 FROM unnest($2::timestamptz[], $3::int[]) AS x(t, w)`,
    [symbol, rows.map(([t]) => new Date(t).toISOString()), rows.map(([, w]) => w)],
  )
}

async function unfillable(q: Queryable, symbol: string, from: number, to: number): Promise<void> {
  await q.query(
    `INSERT INTO data_quality_logs (market, symbol, event_type, gap_start, gap_end, candles_missing)
     VALUES ('spot', $1, 'gap_unfillable', $2, $3, $4)`,
    [symbol, new Date(from).toISOString(), new Date(to).toISOString(), (to - from) / MINUTE_MS + 1],
  )
}

for (const target of targets) {
  describe(`minute_coverage on ${target.name}`, () => {
    let t: { db: Db; cleanup: () => Promise<void> }
    before(async () => {
      t = await target.open()
    })
    after(() => t.cleanup())

    test('every status, provenance and feature windows over a planted range', async () => {
      await t.db.tx(async (q) => {
        const c = await currentMinute(q)
        const at = (k: number) => c + k * MINUTE_MS
        const sym = 'COVUSDT'
        await q.query(
          buildCandleUpsert([
            candle({ symbol: sym, openTime: at(-10) }),
            candle({ symbol: sym, openTime: at(-9) }),
            candle({
              symbol: sym,
              openTime: at(-5),
              source: 'rest',
              bid: null,
              bidQty: null,
              ask: null,
              askQty: null,
            }),
            candle({ symbol: sym, openTime: at(-2), source: 'archive' }),
          ]),
        )
        // Another symbol's candles in the holes must not count.
        await q.query(
          buildCandleUpsert([-8, -4, -1].map((k) => candle({ symbol: 'OTHERUSDT', openTime: at(k) }))),
        )
        await features(q, sym, [
          [at(-10), 1440],
          [at(-10), 60],
          [at(-9), 60],
          [at(-4), 60],
        ])
        await unfillable(q, sym, at(-7), at(-6))
        await unfillable(q, 'OTHERUSDT', at(-4), at(-3))

        // From half a minute before -10 (rounded up to -10) to just past the next minute's open.
        const rows = await minuteCoverage(q, {
          market: 'spot',
          symbol: sym,
          from: at(-10) - 30_000,
          to: at(1) + 1,
        })
        const view = rows.map((r) => [(r.openTime - c) / MINUTE_MS, r.status, r.source, r.featureWindows])
        assert.deepEqual(view, [
          [-10, 'stored', 'ws', [60, 1440]],
          [-9, 'stored', 'ws', [60]],
          [-8, 'missing', null, []],
          [-7, 'confirmed_empty', null, []],
          [-6, 'confirmed_empty', null, []],
          [-5, 'stored', 'rest', []],
          // A feature row whose candle is absent is still reported: the column says what feature_cache holds.
          [-4, 'missing', null, [60]],
          [-3, 'missing', null, []],
          [-2, 'stored', 'archive', []],
          // Closed less than 60 s + 70 s ago: not overdue yet.
          [-1, 'in_progress', null, []],
          [0, 'in_progress', null, []],
          [1, 'in_progress', null, []],
        ])
        for (const r of rows)
          assert.equal(r.ingestedAt !== null, r.status === 'stored', `ingested_at at ${r.openTime}`)
        const stored = await q.query<{ ingested_at: Date }>(
          `SELECT ingested_at FROM candles_1m WHERE symbol = $1 AND open_time = $2`,
          [sym, new Date(at(-5)).toISOString()],
        )
        assert.equal(rows[5]?.ingestedAt, stored.rows[0]?.ingested_at.getTime())

        // A grace of 0: the minute that closed in this minute is overdue at once.
        const strict = await minuteCoverage(q, {
          market: 'spot',
          symbol: sym,
          from: at(-1),
          to: at(0),
          graceMs: 0,
        })
        assert.deepEqual(
          strict.map((r) => r.status),
          ['missing'],
        )
        // Symbol and market spelled otherwise are normalised.
        const spelled = await minuteCoverage(q, {
          market: 'SPOT',
          symbol: 'covusdt',
          from: at(-10),
          to: at(-9),
        })
        assert.deepEqual(
          spelled.map((r) => r.status),
          ['stored'],
        )

        const summary = await coverageSummary(q, { market: 'spot', symbol: sym, from: at(-10), to: at(2) })
        assert.deepEqual(summary, {
          minutes: 12,
          stored: 4,
          confirmedEmpty: 2,
          missing: 3,
          inProgress: 3,
          ranges: [
            { status: 'missing', from: at(-8), to: at(-8), minutes: 1 },
            { status: 'confirmed_empty', from: at(-7), to: at(-6), minutes: 2 },
            { status: 'missing', from: at(-4), to: at(-3), minutes: 2 },
            { status: 'in_progress', from: at(-1), to: at(1), minutes: 3 },
          ],
        })
        await q.exec(`DELETE FROM candles_1m; DELETE FROM feature_cache; DELETE FROM data_quality_logs`)
      })
    })

    test('the range is [from, to) from the first whole minute, as detect_gaps', async () => {
      const t0 = Date.UTC(2024, 0, 1)
      const m = (k: number) => t0 + k * MINUTE_MS
      await t.db.query(buildCandleUpsert([0, 1, 3].map((k) => candle({ symbol: 'RNGUSDT', openTime: m(k) }))))
      const times = async (from: number, to: number) =>
        (await minuteCoverage(t.db, { market: 'spot', symbol: 'RNGUSDT', from, to })).map(
          (r) => (r.openTime - t0) / MINUTE_MS,
        )
      assert.deepEqual(await times(m(0), m(4)), [0, 1, 2, 3])
      assert.deepEqual(await times(m(0) + 1, m(4)), [1, 2, 3])
      assert.deepEqual(await times(m(0), m(3) + 1), [0, 1, 2, 3])
      assert.deepEqual(await times(m(2), m(2)), [])
      assert.deepEqual(await times(m(2) + 1_000, m(2) + 2_000), [])
      // No candles at all: every minute is reported, long past ones as missing.
      const empty = await minuteCoverage(t.db, {
        market: 'spot',
        symbol: 'NONEUSDT',
        from: m(0),
        to: m(1440),
      })
      assert.equal(empty.length, 1440)
      assert.ok(empty.every((r, i) => r.status === 'missing' && r.openTime === m(i)))
      // Whole minutes of a candle-less day before and after the candles.
      const wide = await coverageSummary(t.db, {
        market: 'spot',
        symbol: 'RNGUSDT',
        from: m(-1440),
        to: m(1440),
      })
      assert.deepEqual([wide.minutes, wide.stored, wide.missing, wide.ranges.length], [2880, 3, 2877, 3])
    })

    test('matches a minute-by-minute reference: holes at the edges, partial hours, odd feature rows', async () => {
      const t0 = Date.UTC(2024, 2, 1)
      const m = (k: number) => t0 + k * MINUTE_MS
      const span = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i)
      const plant = async (
        symbol: string,
        candles: number[],
        rows: [number, number][],
        offGrid: number[] = [],
      ) => {
        await t.db.query(
          `INSERT INTO candles_1m (symbol, open_time, close_time, open, high, low, close, volume, quote_volume,
                                   trades, taker_buy_base, taker_buy_quote, source)
           SELECT $1, t, t + interval '59.999 seconds', 1, 1, 1, 1, 1, 1, 1, 1, 1, 'ws'
             FROM unnest($2::timestamptz[]) AS t`,
          [symbol, candles.map((k) => new Date(m(k)).toISOString())],
        )
        await features(t.db, symbol, [
          ...rows.map(([k, w]): [number, number] => [m(k), w]),
          ...offGrid.map((k): [number, number] => [m(k) + 30_000, 60]),
        ])
      }
      // Minutes -30 .. 209 (four hours around t0): holes at the start, in the middle, a whole
      // hour (120 .. 179) and at the end.
      const holes = new Set([
        ...span(-30, -25),
        7,
        8,
        59,
        60,
        61,
        100,
        ...span(120, 180),
        205,
        206,
        207,
        208,
        209,
      ])
      const stored = span(-30, 210).filter((k) => !holes.has(k))
      const every = (ws: number[], ks: number[]) => ks.flatMap((k) => ws.map((w): [number, number] => [k, w]))
      const scenarios: Record<
        string,
        { rows: [number, number][]; offGrid?: number[]; path: 'fast' | 'exact' }
      > = {
        // Every stored minute has both windows.
        FULLUSDT: { rows: every([60, 1440], stored), path: 'fast' },
        // 1440 from minute 62 on (just after a hole), 60 until 100 (a hole): three segments.
        SPANUSDT: {
          rows: [
            ...every(
              [60],
              stored.filter((k) => k < 100),
            ),
            ...every(
              [1440],
              stored.filter((k) => k >= 62),
            ),
          ],
          path: 'fast',
        },
        // 60 until 190, 1440 from 70 on.
        MIXDUSDT: {
          rows: [
            ...every(
              [60],
              stored.filter((k) => k < 190),
            ),
            ...every(
              [1440],
              stored.filter((k) => k >= 70),
            ),
          ],
          path: 'fast',
        },
        // An hour where only some minutes have features.
        PARTUSDT: {
          rows: every(
            [60],
            stored.filter((k) => k < 10 || k > 40),
          ),
          path: 'exact',
        },
        // A feature row on a minute without a candle (inside a hole, and in the candle-less hour).
        HOLEUSDT: { rows: [...every([60], stored), [8, 60], [150, 60]], path: 'exact' },
        // A row off the minute grid, beside complete windows.
        GRIDUSDT: {
          rows: every(
            [60],
            stored.filter((k) => k !== 30),
          ),
          offGrid: [29],
          path: 'exact',
        },
        // A window that neither starts nor ends the range's feature rows.
        MIDWUSDT: {
          rows: [
            ...every([60], stored),
            ...every(
              [5],
              stored.filter((k) => k > 20 && k < 90),
            ),
          ],
          path: 'exact',
        },
        // No features at all.
        BAREUSDT: { rows: [], path: 'fast' },
      }
      for (const [symbol, sc] of Object.entries(scenarios)) await plant(symbol, stored, sc.rows, sc.offGrid)

      const reference = async (symbol: string, from: number, to: number) => {
        const first = Math.ceil(from / MINUTE_MS) * MINUTE_MS
        const r = await t.db.query<{ m: Date; source: string | null; ws: number[] }>(
          `SELECT g.m, c.source,
                  coalesce((SELECT array_agg(f.window_size ORDER BY f.window_size) FROM feature_cache f
                             WHERE f.market = 'spot' AND f.symbol = $1 AND f.open_time = g.m), '{}') AS ws
             FROM generate_series($2::timestamptz, $3::timestamptz - interval '1 microsecond', interval '1 minute') AS g(m)
             LEFT JOIN candles_1m c ON c.market = 'spot' AND c.symbol = $1 AND c.open_time = g.m
            ORDER BY g.m`,
          [symbol, new Date(first).toISOString(), new Date(to).toISOString()],
        )
        return r.rows.map((x) => [(x.m.getTime() - t0) / MINUTE_MS, x.source ? 'stored' : 'missing', x.ws])
      }
      const ranges: [number, number][] = [
        [m(-40), m(220)],
        [m(-30), m(210)],
        [m(-27) + 1, m(208) - 1],
        [m(17), m(143)],
        [m(60), m(120)],
        [m(59), m(62)],
        [m(121), m(179)],
        [m(100), m(101)],
        [m(7), m(7)],
      ]
      for (const symbol of Object.keys(scenarios))
        for (const [from, to] of ranges) {
          const rows = await minuteCoverage(t.db, { market: 'spot', symbol, from, to })
          const got = rows.map((r) => [(r.openTime - t0) / MINUTE_MS, r.status, r.featureWindows])
          assert.deepEqual(got, await reference(symbol, from, to), `${symbol} [${from}, ${to})`)
        }
      // Both ways of finding the windows were taken where expected.
      for (const [symbol, sc] of Object.entries(scenarios)) {
        const r = await t.db.query<{ bare: boolean }>(
          `SELECT bare FROM minute_coverage_plan('spot', $1, $2::timestamptz, $3::timestamptz)`,
          [symbol, new Date(m(-30)).toISOString(), new Date(m(210)).toISOString()],
        )
        assert.equal(r.rows[0]?.bare, sc.path === 'fast', symbol)
      }
      await t.db.exec(`DELETE FROM candles_1m; DELETE FROM feature_cache`)
    })

    test('bad arguments: a clear error, never a silent answer', async () => {
      const t0 = Date.UTC(2024, 0, 1)
      await assert.rejects(
        minuteCoverage(t.db, { market: 'spot', symbol: 'BTCUSDT', from: t0 + MINUTE_MS, to: t0 }),
        (err: Error & { code?: string }) =>
          err.code === '22023' && /from \(.*\) is after to/.test(err.message),
      )
      await assert.rejects(
        minuteCoverage(t.db, {
          market: 'spot',
          symbol: 'BTCUSDT',
          from: t0,
          to: t0 + MINUTE_MS,
          graceMs: -1_000,
        }),
        (err: Error & { code?: string }) => err.code === '22023' && /grace .* is negative/.test(err.message),
      )
      await assert.rejects(
        t.db.query(`SELECT * FROM minute_coverage('spot', NULL, now(), now())`),
        (err: Error & { code?: string }) => err.code === '22004' && /must not be null/.test(err.message),
      )
    })
  })
}
