/**
 * The feature upsert's guard, against the real databases: a row computed from
 * fewer candles (window_count) or fewer quoted candles (window_quoted) than the
 * stored one is refused; one that saw as much is written (the latest wins);
 * rows from before migration 011 take any write; a rebuild writes past the
 * guard. And writeNow(): rows go out at once, not at the interval.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createFeatureWriter, type FeatureWriter } from '../../src/feature-store/feature-writer.ts'
import type { FeatureRow } from '../../src/features/feature-row.ts'
import { openTestDb, pgTargets, type TestDb } from '../helpers/db.ts'
import { ManualClock } from '../helpers/manual-clock.ts'
import { until } from '../helpers/until.ts'
import { MIN, T0 } from './series.ts'

function row(symbol: string, over: Partial<FeatureRow>): FeatureRow {
  return {
    market: 'spot',
    symbol,
    openTime: T0 + 10 * MIN,
    windowSize: 60,
    closeZscore: 1,
    closeMinmax: 0.5,
    volumeZscore: 0,
    volumeMinmax: 0,
    logReturn: null,
    spreadBpsZscore: 0,
    takerBuyRatioZscore: 0,
    closeMean: 100,
    closeStd: 1,
    windowCount: 60,
    windowFull: true,
    windowQuoted: 60,
    ...over,
  }
}

for (const kind of pgTargets()) {
  describe(`feature upsert guard on ${kind}`, () => {
    let t: TestDb
    const writers: FeatureWriter[] = []
    before(async () => {
      t = await openTestDb(kind)
    })
    after(async () => {
      for (const w of writers) await w.close()
      await t.cleanup()
    })

    function writer(force = false): FeatureWriter {
      const w = createFeatureWriter({
        db: t.db,
        clock: new ManualClock(),
        intervalMs: 60_000,
        maxRetries: 0,
        force,
      })
      writers.push(w)
      return w
    }

    async function write(w: FeatureWriter, r: FeatureRow): Promise<number> {
      let changed = -1
      w.on('flushed', (i) => {
        changed = i.changed
      })
      w.add([r])
      await w.flush()
      assert.deepEqual(w.takeFailed(), [])
      return changed
    }

    async function stored(symbol: string) {
      const r = await t.db.query<{ z: number; n: number; q: number | null }>(
        'SELECT close_zscore AS z, window_count AS n, window_quoted AS q FROM feature_cache WHERE symbol = $1',
        [symbol],
      )
      assert.equal(r.rows.length, 1)
      return r.rows[0]
    }

    test('a write that saw fewer candles or fewer quotes is refused; one that saw as much wins', async () => {
      const w = writer()
      const sym = 'GUARDUSDT'
      assert.equal(await write(w, row(sym, { closeZscore: 1 })), 1)
      // A delayed live write from before another writer's candle landed: 59 of 60.
      assert.equal(await write(w, row(sym, { closeZscore: 2, windowCount: 59, windowFull: false })), 0)
      assert.deepEqual(await stored(sym), { z: 1, n: 60, q: 60 })
      // As many candles, one quote fewer (a REST candle where the stream's had a quote).
      assert.equal(await write(w, row(sym, { closeZscore: 3, windowQuoted: 59 })), 0)
      assert.deepEqual(await stored(sym), { z: 1, n: 60, q: 60 })
      // Saw as much (a changed candle recomputed): the latest wins.
      assert.equal(await write(w, row(sym, { closeZscore: 4 })), 1)
      assert.deepEqual(await stored(sym), { z: 4, n: 60, q: 60 })
      // A rebuild writes past the guard (candles deleted by hand, retention).
      assert.equal(
        await write(writer(true), row(sym, { closeZscore: 5, windowCount: 58, windowFull: false })),
        1,
      )
      assert.deepEqual(await stored(sym), { z: 5, n: 58, q: 60 })
    })

    test('a row from before migration 011 (no window_quoted) takes a write with fewer quotes', async () => {
      const sym = 'OLDUSDT'
      const w = writer()
      await write(w, row(sym, { closeZscore: 1 }))
      await t.db.query('UPDATE feature_cache SET window_quoted = NULL WHERE symbol = $1', [sym])
      assert.equal(await write(w, row(sym, { closeZscore: 2, windowQuoted: 0 })), 1)
      assert.deepEqual(await stored(sym), { z: 2, n: 60, q: 0 })
    })

    test('writeNow sends the buffered rows at once; rows added during a pass follow right after it', async () => {
      const sym = 'NOWUSDT'
      const clock = new ManualClock()
      const w = createFeatureWriter({ db: t.db, clock, intervalMs: 60_000, maxRetries: 0 })
      writers.push(w)
      const sizes: number[] = []
      w.on('flushed', (i) => sizes.push(i.size))
      w.add([row(sym, { openTime: T0 })])
      w.writeNow()
      // The pass is in flight: these wait for it, then go without the interval passing.
      w.add([row(sym, { openTime: T0 + MIN }), row(sym, { openTime: T0 + 2 * MIN })])
      w.writeNow()
      await until('both passes written', () => sizes.length === 2)
      assert.deepEqual(sizes, [1, 2])
      assert.equal(clock.now(), new ManualClock().now(), 'no time passed on the clock')
      const n = await t.db.query<{ n: string }>(
        'SELECT count(*)::text AS n FROM feature_cache WHERE symbol = $1',
        [sym],
      )
      assert.equal(n.rows[0]?.n, '3')
    })
  })
}
