/**
 * `data-feeder backfill` repairs feature_cache: the CLI, spawned, fills a hole
 * in the past from the simulator's REST, and afterwards every feature row of the
 * symbol equals the SQL oracle over candles_1m — the rows of the new candles and
 * of the later candles whose windows now hold them, and nothing more is rewritten.
 */
import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import { createRestClient } from '../../src/binance/rest/rest-client.ts'
import { systemClock } from '../../src/core/clock.ts'
import { floorMinute } from '../../src/core/minute-ranges.ts'
import type { Candle } from '../../src/core/records.ts'
import { MINUTE_MS } from '../../src/core/records.ts'
import { startSimulator } from '../../src/simulator/server.ts'
import { migrate } from '../../src/store/migrate.ts'
import {
  assertMatchesOracle,
  type Expected,
  oracle,
  storeCandles,
  storedFeatures,
  warmEngine,
} from '../features/oracle.ts'
import { startCli } from '../helpers/cli.ts'
import { type DbKind, pgTargets } from '../helpers/db.ts'
import { feederTarget } from '../helpers/feeder-target.ts'

const SYMBOL = 'ETHUSDT'
const WINDOWS = [2, 30]

/**
 * The service's state before a backfill: 200 minutes of candles_1m with a hole of 20 (and minute
 * 95 missing), feature_cache computed over it. With `holeCommitted`, the hole's candles are in
 * candles_1m too, without their features: a backfill stopped between its commit and its rewrite.
 */
async function historyWithHole(kind: DbKind, t: TestContext, holeCommitted: boolean) {
  const sim = await startSimulator({ clock: systemClock })
  const target = await feederTarget(kind)
  t.after(async () => {
    await sim.close()
    await target.cleanup()
  })
  // Clear of the backfill's settle margin: a minute closed seconds ago is left for later.
  const last = floorMinute(Date.now() - 10_000) - MINUTE_MS
  const first = last - 199 * MINUTE_MS
  const at = (m: number) => first + m * MINUTE_MS
  const hole = { from: at(60), to: at(79) }
  const stillMissing = at(95) // inside the rewritten span, outside the backfill's range
  const inHole = (c: Candle) => c.openTime >= hole.from && c.openTime <= hole.to
  const db = await target.open()
  try {
    await migrate(db)
    const rest = createRestClient({ baseUrl: sim.httpBase, clock: systemClock })
    const candles: Candle[] = []
    await rest.closedCandlesBetween(SYMBOL, first, last, (page) => {
      for (const c of page) if (c.openTime !== stillMissing) candles.push(c)
    })
    rest.close()
    const around = candles.filter((c) => !inHole(c))
    assert.equal(around.length, 200 - 20 - 1)
    await storeCandles(db, around)
    await (await warmEngine(db, SYMBOL, WINDOWS, { from: first, to: last })).close()
    for (const w of WINDOWS) assert.equal(await assertMatchesOracle(db, SYMBOL, w), around.length)
    const before = await storedFeatures(db, SYMBOL, 30)
    if (holeCommitted) await storeCandles(db, candles.filter(inHole))
    const env = {
      ...target.env,
      BINANCE_REST_URL: sim.httpBase,
      LOG_LEVEL: 'info',
      FEATURE_WINDOWS: WINDOWS.join(','),
    }
    return { target, env, at, hole, before }
  } finally {
    await db.close()
  }
}

for (const kind of pgTargets()) {
  describe(`backfill command and feature_cache on ${kind}`, () => {
    it('after a backfill into the past, the rows of the new candles and of the next (largest window − 1) minutes equal the oracle', async (t) => {
      const { target, env, at, hole, before } = await historyWithHole(kind, t, false)
      const range = ['--from', new Date(at(55)).toISOString(), '--to', new Date(at(85)).toISOString()]
      const cli = startCli(['backfill', '--symbol', SYMBOL.toLowerCase(), ...range], env)
      assert.equal(await cli.exited, 0, cli.stderr())

      const after = await target.open()
      try {
        const n = await after.query<{ n: string }>(
          'SELECT count(*)::text AS n FROM candles_1m WHERE symbol = $1',
          [SYMBOL],
        )
        assert.equal(n.rows[0]?.n, '199', 'the hole filled')
        // The rows after the hole that see it were stale: their window now holds the new candles.
        const now = new Map((await storedFeatures(after, SYMBOL, 30)).map((r) => [r.openTime, r.closeMean]))
        const stale = before.filter((r) => r.openTime > hole.to && now.get(r.openTime) !== r.closeMean)
        assert.deepEqual(
          stale.map((r) => r.openTime),
          before.filter((r) => r.openTime > hole.to && r.openTime <= at(108)).map((r) => r.openTime),
          'exactly the rows of the next 29 minutes changed',
        )
        for (const w of WINDOWS) {
          const inSpan = (r: Expected) => r.openTime >= hole.from && r.openTime <= at(108)
          const want = (await oracle(after, SYMBOL, w)).filter(inSpan)
          const got = (await storedFeatures(after, SYMBOL, w)).filter(inSpan)
          assert.equal(want.length, 48)
          assert.deepEqual(
            got.map((r) => r.openTime),
            want.map((r) => r.openTime),
            'one row per candle of the span',
          )
          // Every row equals the oracle over the filled history: the span's, and those around it.
          assert.equal(await assertMatchesOracle(after, SYMBOL, w), 199)
        }
      } finally {
        await after.close()
      }
      const rewritten = cli.lines.find((l) => l.msg === 'features rewritten')
      assert.ok(rewritten, cli.stdout())
      // The command says what it rewrote: the hole and the 29 minutes after it,
      // for the candles that exist (minute 95 does not), per window.
      assert.deepEqual(rewritten.spans, [
        `${new Date(hole.from).toISOString()}…${new Date(at(108)).toISOString()}`,
      ])
      assert.equal(rewritten.rows, (49 - 1) * WINDOWS.length)
    })

    it('a rerun after a backfill stopped before its feature rewrite rewrites the rows it left stale', async (t) => {
      const { target, env, at, hole } = await historyWithHole(kind, t, true)
      const range = ['--from', new Date(at(55)).toISOString(), '--to', new Date(at(85)).toISOString()]
      const cli = startCli(['backfill', '--symbol', SYMBOL.toLowerCase(), ...range], env)
      assert.equal(await cli.exited, 0, cli.stderr())
      assert.equal(cli.lines.find((l) => l.msg === 'backfill starting')?.missing, 0, 'no candle to fetch')
      const rewritten = cli.lines.find((l) => l.msg === 'features rewritten')
      assert.deepEqual(rewritten?.spans, [
        `${new Date(hole.from).toISOString()}…${new Date(at(108)).toISOString()}`,
      ])
      const after = await target.open()
      try {
        for (const w of WINDOWS) assert.equal(await assertMatchesOracle(after, SYMBOL, w), 199)
      } finally {
        await after.close()
      }
    })
  })
}
