/**
 * Rewriting the feature rows a change to candles_1m made stale, outside the
 * engine (the backfill command's repair): every row in the affected span equals
 * the SQL oracle, chunk boundaries included; nothing past the span is touched.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Candle } from '../../src/core/records.ts'
import { affectedSpans, rewriteFeatures } from '../../src/feature-store/feature-rewrite.ts'
import { createFeatureWriter } from '../../src/feature-store/feature-writer.ts'
import type { FeatureRow } from '../../src/features/feature-row.ts'
import { openTestDb, pgTargets, type TestDb } from '../helpers/db.ts'
import { ManualClock } from '../helpers/manual-clock.ts'
import { assertMatchesOracle, oracle, storeCandles, storedFeatures } from './oracle.ts'
import { MIN, series, T0 } from './series.ts'

describe('affected spans', () => {
  test('a change reaches (largest window − 1) minutes on; spans whose reaches meet are joined', () => {
    const at = (m: number) => T0 + m * MIN
    assert.deepEqual(
      affectedSpans(
        [
          { from: at(200), to: at(204) },
          { from: at(10), to: at(10) },
          { from: at(60), to: at(60) },
        ],
        [2, 50],
      ),
      [
        { from: at(10), to: at(109) },
        { from: at(200), to: at(253) },
      ],
    )
    assert.deepEqual(affectedSpans([{ from: at(0), to: at(0) }], [2]), [{ from: at(0), to: at(1) }])
  })
})

for (const kind of pgTargets()) {
  describe(`feature rewrite on ${kind}`, () => {
    let t: TestDb
    before(async () => {
      t = await openTestDb(kind)
    })
    after(async () => {
      await t.cleanup()
    })

    /** rewriteFeatures through a real feature writer, as the backfill command uses it. */
    async function rewrite(
      symbol: string,
      windows: number[],
      changed: { from: number; to: number }[],
      force = false,
    ) {
      const writer = createFeatureWriter({
        db: t.db,
        clock: new ManualClock(),
        intervalMs: 1_000,
        maxRetries: 0,
        force,
      })
      const chunks: number[] = []
      const r = await rewriteFeatures(
        {
          db: t.db,
          market: 'spot',
          symbol,
          windows,
          chunkMinutes: 7,
          write: async (rows: readonly FeatureRow[]) => {
            chunks.push(rows.length)
            writer.add(rows)
            await writer.flush()
          },
        },
        changed,
      )
      await writer.close()
      assert.deepEqual(writer.takeFailed(), [])
      return { ...r, chunks }
    }

    test('from an empty feature_cache, in chunks of 7 minutes over holes: every row equals the oracle', async () => {
      const sym = 'CHUNKUSDT'
      const cs = series({ symbol: sym, length: 300, seed: 11, holes: 0.05 })
      await storeCandles(t.db, cs)
      const r = await rewrite(sym, [2, 30], [{ from: T0, to: T0 + 299 * MIN }])
      assert.equal(r.rows, cs.length * 2)
      assert.ok(r.chunks.length > 40 && r.chunks.every((n) => n <= 14), 'one chunk of rows at a time')
      for (const w of [2, 30]) assert.equal(await assertMatchesOracle(t.db, sym, w), cs.length)
    })

    test('changed past candles: the rows of their windows are rewritten up to the reach, not one row further', async () => {
      const sym = 'STALEUSDT'
      const windows = [2, 20]
      const cs = series({ symbol: sym, length: 200, seed: 12 })
      await storeCandles(t.db, cs)
      await rewrite(sym, windows, [{ from: T0, to: T0 + 199 * MIN }])
      // Minutes 50..52 change in candles_1m; minute 53 is deleted (a hole the rows must skip).
      const changed: Candle[] = [50, 51, 52].map((m) => {
        const price = `${60_100 + m}.00000000`
        return { ...(cs[m] as Candle), close: price, high: price }
      })
      await storeCandles(t.db, changed)
      await t.db.query('DELETE FROM candles_1m WHERE symbol = $1 AND open_time = $2', [
        sym,
        new Date(T0 + 53 * MIN),
      ])
      await t.db.query('DELETE FROM feature_cache WHERE symbol = $1 AND open_time = $2', [
        sym,
        new Date(T0 + 53 * MIN),
      ])
      // Stale now: the rows that see minutes 50..52.
      const stale = await storedFeatures(t.db, sym, 20)
      const want = await oracle(t.db, sym, 20)
      const differing = want
        .filter((w, i) => stale[i]?.closeMean !== w.closeMean)
        .map((w) => (w.openTime - T0) / MIN)
      assert.deepEqual(differing[0], 50)
      // The last row the change reaches is 53 + 19 = 72 (its window lost minute 53); mark 73 to see it left alone.
      await t.db.query(
        'UPDATE feature_cache SET close_zscore = 999 WHERE symbol = $1 AND open_time = $2 AND window_size = 20',
        [sym, new Date(T0 + 73 * MIN)],
      )
      // A deleted candle shrinks the windows that held it: the guard refuses rows computed from
      // fewer candles than the stored ones (no writer deletes candles), so only a rebuild, past
      // the guard, puts them right.
      await rewrite(sym, windows, [{ from: T0 + 50 * MIN, to: T0 + 53 * MIN }])
      const refused = await storedFeatures(t.db, sym, 20)
      assert.equal(refused.find((r) => r.openTime === T0 + 60 * MIN)?.windowCount, 20, 'guard held')
      const r = await rewrite(sym, windows, [{ from: T0 + 50 * MIN, to: T0 + 53 * MIN }], true)
      assert.deepEqual(r.spans, [{ from: T0 + 50 * MIN, to: T0 + 72 * MIN }])
      // 23 minutes less the deleted one, two windows.
      assert.equal(r.rows, 22 * 2)
      const marked = await t.db.query<{ z: number }>(
        'SELECT close_zscore AS z FROM feature_cache WHERE symbol = $1 AND open_time = $2 AND window_size = 20',
        [sym, new Date(T0 + 73 * MIN)],
      )
      assert.equal(marked.rows[0]?.z, 999, 'the row past the reach is not rewritten')
      await rewrite(sym, [20], [{ from: T0 + 73 * MIN, to: T0 + 73 * MIN }], true) // puts minute 73 right again
      for (const w of windows) assert.equal(await assertMatchesOracle(t.db, sym, w), 199)
    })
  })
}
