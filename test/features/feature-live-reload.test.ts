/**
 * The live window learns of candles another writer committed: a candle lands
 * in candles_1m behind the engine's back, inside its live window. Until told,
 * the engine's next row misses it (window_count 29 of 30, unlike the oracle);
 * reloadLive() (a notice from another process, a reconnect of the listening
 * session) or onHistoryChanged() (gap repair and spool replay in-process) read
 * the window again, and every row, those after it included, equals the oracle.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Candle } from '../../src/core/records.ts'
import type { FeatureEngine } from '../../src/feature-store/feature-engine.ts'
import { openTestDb, pgTargets, type TestDb } from '../helpers/db.ts'
import { assertMatchesOracle, oracle, storeCandles, storedFeatures, warmEngine } from './oracle.ts'
import { MIN, series, T0 } from './series.ts'

const WINDOWS = [5, 30]

for (const kind of pgTargets()) {
  describe(`live window reload on ${kind}`, () => {
    let t: TestDb
    before(async () => {
      t = await openTestDb(kind)
    })
    after(async () => {
      await t.cleanup()
    })

    for (const [how, tell] of [
      [
        'reloadLive (another process)',
        (e: FeatureEngine, s: string) => e.reloadLive({ symbol: s, to: T0 + 30 * MIN }),
      ],
      [
        'onHistoryChanged (in-process repair)',
        (e: FeatureEngine, s: string) => e.onHistoryChanged(s, T0 + 30 * MIN, T0 + 30 * MIN),
      ],
    ] as const) {
      test(`a candle committed behind the engine's back reaches its live window through ${how}`, async () => {
        const sym = how.startsWith('reload') ? 'RELOADUSDT' : 'REPAIRUSDT'
        const cs = series({ symbol: sym, length: 43, seed: 3 })
        const at = (m: number) => cs[m] as Candle
        await storeCandles(
          t.db,
          cs.slice(0, 40).filter((c) => c.openTime !== T0 + 30 * MIN),
        )
        const engine = await warmEngine(t.db, sym, WINDOWS, { from: T0, to: T0 + 39 * MIN })
        // Another writer commits minute 30; the stream goes on with minute 40.
        await storeCandles(t.db, [at(30), at(40)])
        engine.onCandle(at(40))
        await engine.flush()
        const row40 = (await storedFeatures(t.db, sym, 30)).find((r) => r.openTime === T0 + 40 * MIN)
        const want40 = (await oracle(t.db, sym, 30)).find((r) => r.openTime === T0 + 40 * MIN)
        assert.deepEqual([row40?.windowCount, want40?.windowCount], [29, 30], 'stale until told')

        await tell(engine, sym)
        await engine.flush()
        for (const w of WINDOWS) assert.equal(await assertMatchesOracle(t.db, sym, w), 41)
        // The live state itself took the candle in: the next minutes are right as they come.
        await storeCandles(t.db, [at(41), at(42)])
        engine.onCandle(at(41))
        engine.onCandle(at(42))
        await engine.close()
        for (const w of WINDOWS) assert.equal(await assertMatchesOracle(t.db, sym, w), 43)
      })
    }

    test('reloadLive for a span older than the live window reads nothing', async () => {
      const sym = 'OLDSPANUSDT'
      const cs = series({ symbol: sym, length: 100, seed: 4 })
      await storeCandles(t.db, cs)
      const engine = await warmEngine(t.db, sym, WINDOWS)
      let written = 0
      engine.on('flushed', (i) => {
        written += i.size
      })
      await engine.reloadLive({ symbol: sym, to: T0 + 69 * MIN }) // newest 99, reach 29: 70 is the first it sees
      await engine.flush()
      assert.equal(written, 0)
      await engine.reloadLive({ symbol: sym, to: T0 + 70 * MIN })
      await engine.close()
      assert.equal(written, 30 * WINDOWS.length, 'the live window: its 30 rows per window')
    })
  })
}
