/**
 * An export right after a bulk load, before ANALYZE has seen the rows (as after a backfill):
 * the planner then expects one row per range scan. Without the export's settings it
 * nested-loops every minute against the whole materialised range (quadratic in the range);
 * with them the whole-range statement joins the ranges by merge or hash, as it does once
 * statistics exist. Checked on the plan and on the settings the COPY connection runs with,
 * not on a clock; and the export's rows stay right.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { EXPORT_SETTINGS, exportRange } from '../../src/export/export-run.ts'
import type { Queryable } from '../../src/store/db.ts'
import { exportCopyQuery } from '../../src/store/export-columnar.ts'
import { exportColumns } from '../../src/store/export-queries.ts'
import { openTestDb, type TestDb } from '../helpers/db.ts'

const T0 = Date.parse('2024-03-01T00:00:00Z')
const MIN = 60_000
const N = 20_000
const RANGE = { market: 'spot', symbol: 'FRESHUSDT', from: T0, to: T0 + (N - 1) * MIN }

interface PlanNode {
  'Node Type': string
  Plans?: PlanNode[]
}

/** The join types above the candle and feature scans: the plan's top join nodes. */
function topJoins(plan: PlanNode): string[] {
  const out: string[] = []
  let node: PlanNode | undefined = plan
  while (node && out.length < 2) {
    if (/Join|Nested Loop/.test(node['Node Type'])) out.push(node['Node Type'])
    node = node.Plans?.[0]
  }
  return out
}

async function plan(q: Queryable, sql: string, settings: Record<string, string>): Promise<PlanNode> {
  for (const [name, value] of Object.entries(settings))
    await q.query('SELECT set_config($1, $2, true)', [name, value])
  const r = await q.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${sql}`)
  return (r.rows[0] as { 'QUERY PLAN': [{ Plan: PlanNode }] })['QUERY PLAN'][0].Plan
}

describe('export of rows ANALYZE has not seen', {
  skip: process.env.TEST_DATABASE_URL ? false : 'needs TEST_DATABASE_URL',
}, () => {
  let t: TestDb
  before(async () => {
    t = await openTestDb('postgres')
    // No autovacuum in this test's database: the rows stay unseen by ANALYZE for the whole test.
    await t.db.exec(
      'ALTER TABLE candles_1m SET (autovacuum_enabled = false); ALTER TABLE feature_cache SET (autovacuum_enabled = false)',
    )
    await t.db.query(
      `INSERT INTO candles_1m (market, symbol, open_time, close_time, open, high, low, close, volume, quote_volume,
         trades, taker_buy_base, taker_buy_quote, source)
       SELECT 'spot', 'FRESHUSDT', t, t + interval '59.999 seconds', 1.5 + i % 7, 9, 1, 1.25, 3, 4, 5, 0, 0, 'ws'
         FROM generate_series(0, $2::int - 1) i, LATERAL (SELECT $1::timestamptz + i * interval '1 minute' AS t) x`,
      [new Date(T0).toISOString(), N],
    )
    await t.db.query(
      `INSERT INTO feature_cache (market, symbol, open_time, window_size, close_zscore)
       SELECT market, symbol, open_time, w, 0.5 FROM candles_1m, unnest(ARRAY[5, 60]) w WHERE symbol = 'FRESHUSDT'`,
    )
  })
  after(() => t.cleanup())

  it('joins the ranges without nested loops under the export settings, and exports every minute', async () => {
    const { select } = exportCopyQuery(exportColumns([5, 60], true), [5, 60], RANGE)
    const stale = await t.db.tx((q) => plan(q, select, { jit: 'off' }))
    // The hazard is real here: with the server's defaults the planner nests the loops.
    assert.ok(topJoins(stale).includes('Nested Loop'), `default plan: ${topJoins(stale).join(', ')}`)
    const ours = await t.db.tx((q) => plan(q, select, { ...EXPORT_SETTINGS }))
    assert.deepEqual(
      topJoins(ours).filter((j) => !/^(Merge|Hash) /.test(j)),
      [],
      `export plan: ${topJoins(ours).join(', ')}`,
    )

    // The whole-range COPY runs on a connection of its own: the settings must reach it.
    const copyOut = t.db.copyOut?.bind(t.db)
    assert.ok(copyOut)
    const given: Record<string, string>[] = []
    const spied = Object.assign(Object.create(t.db) as typeof t.db, {
      copyOut: (sql: string, settings: Record<string, string> = {}) => {
        given.push(settings)
        return copyOut(sql, settings)
      },
    })
    const shown: Buffer[] = []
    for await (const c of copyOut(
      "COPY (SELECT current_setting('jit'), current_setting('enable_nestloop')) TO STDOUT",
      EXPORT_SETTINGS,
    ))
      shown.push(Buffer.from(c))
    assert.equal(Buffer.concat(shown).toString('utf8'), 'off\toff\n')

    let rows = 0
    const bytes: Uint8Array[] = []
    const out = {
      target: 'memory',
      write: async (b: Uint8Array | string) => void bytes.push(typeof b === 'string' ? Buffer.from(b) : b),
      commit: async () => {},
      abort: async () => {},
    }
    for (const format of ['parquet', 'csv'] as const) {
      const r = await exportRange(spied, { ...RANGE, windows: [5, 60], format }, out as never, {
        onRows: (n) => {
          rows += n
        },
      })
      assert.equal(r.rows, N, format)
    }
    assert.equal(rows, 2 * N)
    assert.deepEqual(given, [EXPORT_SETTINGS], 'the Parquet export asked for its COPY with the settings')
    const csv = Buffer.concat(bytes.slice(-Math.ceil(N / 10_000) - 1)).toString('utf8')
    assert.ok(csv.includes('FRESHUSDT'), 'the CSV holds the rows')
  })
})
