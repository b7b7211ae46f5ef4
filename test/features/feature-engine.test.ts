/**
 * The engine end to end on PGlite (and real PostgreSQL with TEST_DATABASE_URL):
 * every stored row equals the SQL oracle, after live updates, history repairs,
 * late candles and a restart (warm-up).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Candle } from '../../src/core/records.ts'
import { createFeatureEngine, type FeatureEngineOptions } from '../../src/feature-store/feature-engine.ts'
import { openTestDb, pgTargets, type TestDb } from '../helpers/db.ts'
import { ManualClock } from '../helpers/manual-clock.ts'
import { candle } from '../store/candle-fixture.ts'
import { assertMatchesOracle, storeCandles, storedFeatures } from './oracle.ts'
import { MIN, series, T0 } from './series.ts'

for (const kind of pgTargets()) {
  describe(`feature engine on ${kind}`, () => {
    let t: TestDb
    before(async () => {
      t = await openTestDb(kind)
    })
    after(async () => {
      await t.cleanup()
    })

    const make = (over: Partial<FeatureEngineOptions> & { symbols: string[]; windows: number[] }) =>
      createFeatureEngine({
        db: t.db,
        clock: new ManualClock(),
        updateIntervalMs: 60_000,
        maxRetries: 3,
        random: () => 0.5,
        ...over,
      })

    /** Live path: candles stored and handed to the engine as they close. */
    async function runLive(symbols: string[], windows: number[], data: Candle[][]): Promise<void> {
      const e = make({ symbols, windows })
      await e.warmUp()
      for (const cs of data) {
        await storeCandles(t.db, cs)
        for (const c of cs) e.onCandle(c)
      }
      await e.close()
      assert.deepEqual(e.takeFailed(), [])
    }

    test('random walks, holes and adversarial series (1e-8 moves at 60 000, constant runs, spikes, zero volumes) equal the oracle, windows 2/60/1440', async () => {
      const windows = [2, 60, 1440]
      const data = [
        series({ symbol: 'RWUSDT', length: 3200, seed: 1, holes: 0.01 }),
        series({ symbol: 'ADVUSDT', length: 3200, seed: 2, step: 1, adversarial: true }),
        series({ symbol: 'SPIKEUSDT', length: 1600, seed: 3, adversarial: true, holes: 0.002 }),
        series({ symbol: 'YOUNGUSDT', length: 30, seed: 4 }),
      ]
      await runLive(
        data.map((d) => d[0]?.symbol as string),
        windows,
        data,
      )
      let rows = 0
      for (const d of data)
        for (const w of windows) rows += await assertMatchesOracle(t.db, d[0]?.symbol as string, w)
      assert.ok(rows > 20_000)
      const young = await storedFeatures(t.db, 'YOUNGUSDT', 60)
      assert.deepEqual(
        young.map((r) => r.windowCount),
        Array.from({ length: 30 }, (_, i) => i + 1),
      )
    })

    test('a backfill into a hole and changed past values are repaired: every row equals the oracle, live ones after too', async () => {
      const sym = 'HISTUSDT'
      const all = series({ symbol: sym, length: 400, seed: 5 })
      const holes = new Set([100, 101, 102, 103, 104, 300, 395])
      const e = make({ symbols: [sym], windows: [2, 60] })
      await e.warmUp()
      const firstPass = all.filter((_, i) => !holes.has(i))
      await storeCandles(t.db, firstPass)
      for (const c of firstPass) e.onCandle(c)
      await e.flush()
      assert.equal(e.warmedUp(), false) // minute 395 is missing from the live window
      // The backfill commits the missing minutes and corrects two past candles (one inside the live ring).
      const fixed = [
        ...all.filter((_, i) => holes.has(i)),
        {
          ...(all[200] as Candle),
          close: '61000.12345678',
          high: '61000.12345678',
          volume: '0.00000000',
          takerBuyBase: '0.00000000',
        },
        { ...(all[390] as Candle), close: '59000.00000001', low: '59000.00000001' },
      ]
      await storeCandles(t.db, fixed)
      await e.onHistoryChanged(sym, T0 + 100 * MIN, T0 + 104 * MIN)
      await e.onHistoryChanged(sym, T0 + 200 * MIN, T0 + 200 * MIN)
      await e.onHistoryChanged(sym, T0 + 300 * MIN, T0 + 300 * MIN)
      await e.onHistoryChanged(sym, T0 + 390 * MIN, T0 + 395 * MIN)
      await e.flush()
      assert.equal(e.warmedUp(), true)
      for (const w of [2, 60]) await assertMatchesOracle(t.db, sym, w)
      // The live ring was rebuilt: the next candles see the repaired history.
      const more = series({ symbol: sym, length: 30, seed: 6, firstMinute: 400 })
      await storeCandles(t.db, more)
      for (const c of more) e.onCandle(c)
      await e.close()
      for (const w of [2, 60]) await assertMatchesOracle(t.db, sym, w)
    })

    test('a late candle handed to onCandle before the candle writer commits it is taken in at once', async () => {
      const sym = 'LATEUSDT'
      const all = series({ symbol: sym, length: 120, seed: 8 })
      const e = make({ symbols: [sym], windows: [2, 60] })
      await e.warmUp()
      const live = all.filter((_, i) => i !== 50)
      await storeCandles(t.db, live)
      for (const c of live) e.onCandle(c)
      e.onCandle(all[50] as Candle) // not in candles_1m yet
      await e.flush()
      await storeCandles(t.db, [all[50] as Candle]) // the candle writer catches up
      for (const w of [2, 60]) await assertMatchesOracle(t.db, sym, w)
      // A replay of a candle the engine holds changes nothing and triggers no repair.
      let flushed = 0
      e.on('flushed', () => flushed++)
      e.onCandle(all[119] as Candle)
      await e.close()
      assert.equal(flushed, 0)
    })

    test('warm-up: a restarted engine gives the next candle the same features as one that ran throughout', async () => {
      const sym = 'WARMUSDT'
      const all = series({ symbol: sym, length: 200, seed: 9 })
      const a = make({ symbols: [sym], windows: [2, 60] })
      await a.warmUp()
      await storeCandles(t.db, all)
      for (const c of all) a.onCandle(c)
      await a.close()
      const ran = await Promise.all([2, 60].map((w) => storedFeatures(t.db, sym, w)))
      // The restarted engine lost the rows of its last 4 candles (a crash before the flush) and never saw the 200th.
      await t.db.query(`DELETE FROM feature_cache WHERE symbol = $1 AND open_time >= $2`, [
        sym,
        new Date(T0 + 196 * MIN).toISOString(),
      ])
      await t.db.query(`DELETE FROM candles_1m WHERE symbol = $1 AND open_time = $2`, [
        sym,
        new Date(T0 + 199 * MIN).toISOString(),
      ])
      const b = make({ symbols: [sym], windows: [2, 60] })
      assert.equal(b.warmedUp(), false)
      await b.warmUp()
      assert.equal(b.warmedUp(), true)
      await storeCandles(t.db, [all[199] as Candle])
      b.onCandle(all[199] as Candle)
      await b.close()
      for (const [k, w] of [2, 60].entries()) {
        const restarted = await storedFeatures(t.db, sym, w)
        assert.equal(restarted.length, 200)
        for (let i = 190; i < 200; i++) {
          const x = restarted[i] as unknown as Record<string, unknown>
          const y = ran[k]?.[i] as unknown as Record<string, unknown>
          for (const f of Object.keys(y)) {
            const d = Math.abs((x[f] as number) - (y[f] as number))
            assert.ok(x[f] === y[f] || d <= 1e-12 * Math.max(1, Math.abs(y[f] as number)), `${w} ${i} ${f}`)
          }
        }
        await assertMatchesOracle(t.db, sym, w)
      }
    })

    test('a day repaired in steps takes in the live candles that arrive while it runs', async () => {
      const sym = 'STEPUSDT'
      const all = series({ symbol: sym, length: 1600, seed: 11 })
      const hole = (i: number) => i >= 200 && i < 1390
      const e = make({ symbols: [sym], windows: [2, 60] })
      await e.warmUp()
      const before = all.slice(0, 1400).filter((_, i) => !hole(i))
      await storeCandles(t.db, before)
      for (const c of before) e.onCandle(c)
      await e.flush()
      // The backfill commits the hole: ~1 250 points to recompute, reaching the live window.
      await storeCandles(t.db, all.slice(200, 1390))
      let stepping = true
      const repaired = e.onHistoryChanged(sym, T0 + 200 * MIN, T0 + 1389 * MIN).finally(() => {
        stepping = false
      })
      // Live candles keep closing, a turn of the event loop apart, while the repair runs its steps.
      let during = 0
      for (const c of all.slice(1400)) {
        await storeCandles(t.db, [c])
        if (stepping) during++
        e.onCandle(c)
        await new Promise<void>((r) => setImmediate(r))
      }
      await repaired
      await e.close()
      assert.ok(during > 0, 'no live candle arrived during the repair')
      for (const w of [2, 60]) await assertMatchesOracle(t.db, sym, w)
    })

    test('warmedUp is false for a young symbol and for a symbol without candles', async () => {
      await storeCandles(t.db, series({ symbol: 'NEWUSDT', length: 30, seed: 10 }))
      const e = make({ symbols: ['NEWUSDT'], windows: [60] })
      await e.warmUp()
      assert.equal(e.warmedUp(), false)
      await e.close()
      const f = make({ symbols: ['NONEUSDT'], windows: [2] })
      await f.warmUp()
      assert.equal(f.warmedUp(), false)
      f.onCandle(candle({ symbol: 'NONEUSDT', minute: 0 }))
      assert.equal(f.warmedUp(), false)
      f.onCandle(candle({ symbol: 'NONEUSDT', minute: 1 }))
      assert.equal(f.warmedUp(), true)
      await f.close()
    })
  })
}
