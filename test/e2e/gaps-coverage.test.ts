/**
 * `data-feeder gaps --json` as a process over a database holding thirty closed
 * minutes with one minute missing and one Binance confirmed empty: the single
 * missing minute is a range of its own, the report counts every status, and the
 * exit code says so.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { systemClock } from '../../src/core/clock.ts'
import { floorMinute } from '../../src/core/minute-ranges.ts'
import { MINUTE_MS } from '../../src/core/records.ts'
import { startSimulator } from '../../src/simulator/server.ts'
import { migrate } from '../../src/store/migrate.ts'
import { insertQualityLog } from '../../src/store/quality-log.ts'
import { runCli } from '../helpers/cli.ts'
import { pgTargets } from '../helpers/db.ts'
import { feederTarget } from '../helpers/feeder-target.ts'
import { insertCandles, simCandle } from '../ops/status-data.ts'

const iso = (t: number) => new Date(t).toISOString()

for (const kind of pgTargets()) {
  describe(`gaps --json over minute_coverage on ${kind}`, () => {
    it('a single missing minute is its own range; a confirmed-empty one is explained', async (t) => {
      const sim = await startSimulator({ clock: systemClock })
      const target = await feederTarget(kind, { migrated: true })
      t.after(async () => {
        await sim.close()
        await target.cleanup()
      })
      // Thirty minutes that closed more than GAP_DETECTION_THRESHOLD ago: none can be in progress.
      const last = floorMinute(Date.now() - 90_000) - MINUTE_MS
      const first = last - 29 * MINUTE_MS
      const hole = last - 12 * MINUTE_MS
      const empty = last - 20 * MINUTE_MS
      const db = await target.open()
      try {
        await migrate(db)
        const candles = []
        for (let at = first; at <= last; at += MINUTE_MS)
          if (at !== hole && at !== empty) candles.push(simCandle('ETHUSDT', at))
        await insertCandles(db, candles)
        await insertQualityLog(db, {
          eventType: 'gap_unfillable',
          symbol: 'ETHUSDT',
          gapStart: empty,
          gapEnd: empty,
          candlesMissing: 1,
          source: 'rest',
        })
      } finally {
        await db.close()
      }
      const env = { ...target.env, BINANCE_REST_URL: sim.httpBase, LOG_LEVEL: 'warn' }
      const range = ['--symbol', 'ethusdt', '--from', iso(first), '--to', iso(last)]
      const r = await runCli(['gaps', ...range, '--json'], env)
      assert.equal(r.code, 3, r.stderr)
      assert.deepEqual(JSON.parse(r.stdout), {
        symbol: 'ETHUSDT',
        market: 'spot',
        from: iso(first),
        to: iso(last),
        minutes: 30,
        stored: 28,
        missing: 2,
        confirmed_empty: 1,
        unexplained: 1,
        in_progress: 0,
        grace_seconds: 70,
        ranges: [
          { from: iso(empty), to: iso(empty), missing: 1, status: 'confirmed_empty', confirmed_empty: true },
          { from: iso(hole), to: iso(hole), missing: 1, status: 'missing', confirmed_empty: false },
        ],
      })
      const text = await runCli(['gaps', ...range], env)
      assert.equal(text.code, 3)
      assert.match(text.stdout, /30 minutes, 2 missing, 1 unexplained\n/)
      assert.match(text.stdout, new RegExp(`${iso(hole)} … ${iso(hole)} +1 missing\\n`))

      // A minute that closed moments ago, with no candle yet, is in progress: reported, not unexplained.
      const now = floorMinute(Date.now())
      const recent = await runCli(
        ['gaps', '--symbol', 'ethusdt', '--from', iso(now - MINUTE_MS), '--to', iso(now), '--json'],
        { ...env, GAP_DETECTION_THRESHOLD: '3600' },
      )
      assert.equal(recent.code, 0, recent.stdout)
      const report = JSON.parse(recent.stdout) as {
        minutes: number
        in_progress: number
        unexplained: number
        grace_seconds: number
      }
      assert.ok(report.minutes >= 1, recent.stdout)
      assert.deepEqual(
        [report.in_progress, report.unexplained, report.grace_seconds],
        [report.minutes, 0, 3600],
      )
    })
  })
}
