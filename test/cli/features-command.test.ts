/**
 * `data-feeder features --verify|--rebuild`, spawned: --verify finds a planted
 * wrong row, a missing row and a row without a candle (exit 3, each named),
 * --rebuild puts them right past the guard, and --verify then passes (exit 0).
 * Bad arguments exit 2 with one clear line.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MINUTE_MS } from '../../src/core/records.ts'
import { migrate } from '../../src/store/migrate.ts'
import { assertMatchesOracle, storeCandles, warmEngine } from '../features/oracle.ts'
import { MIN, series, T0 } from '../features/series.ts'
import { runCli } from '../helpers/cli.ts'
import { pgTargets } from '../helpers/db.ts'
import { feederTarget } from '../helpers/feeder-target.ts'

const SYMBOL = 'ETHUSDT'
const WINDOWS = [5, 30]
const iso = (m: number) => new Date(T0 + m * MIN).toISOString()

describe('features command arguments', () => {
  for (const [args, message] of [
    [['features', '--from', '-1d', '--to', '-1m'], /give one of --verify or --rebuild/],
    [
      ['features', '--verify', '--rebuild', '--from', '-1d', '--to', '-1m'],
      /give one of --verify or --rebuild/,
    ],
    [['features', '--verify', '--to', '-1m'], /--from and --to are required/],
    [['features', '--verify', '--from', 'yesterday', '--to', '-1m'], /--from: "yesterday" is not a time/],
    [['features', '--verify', '--from', '-1d', '--to', '-1m', '--json'], /features does not take --json/],
    [
      ['features', '--verify', '--from', '-1d', '--to', '-1m', '--symbol', 'eth-usdt'],
      /not a symbol of spot/,
    ],
  ] as const) {
    it(`${args.slice(1).join(' ')} → exit 2`, async () => {
      const r = await runCli([...args], { DATA_DIR: '/nonexistent-never-opened' })
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, message)
    })
  }

  it('--help names the modes, the required range and exit code 3', async () => {
    const r = await runCli(['features', '--help'])
    assert.equal(r.code, 0)
    assert.match(r.stdout, /--verify\|--rebuild/)
    assert.match(r.stdout, /3 some rows\s+differ/)
  })
})

for (const kind of pgTargets()) {
  describe(`features --verify and --rebuild on ${kind}`, () => {
    it('verify finds planted wrong rows, rebuild fixes them, verify then passes', async (t) => {
      const target = await feederTarget(kind)
      t.after(() => target.cleanup())
      const db = await target.open()
      try {
        await migrate(db)
        const cs = series({ symbol: SYMBOL, length: 120, seed: 7 })
        await storeCandles(db, cs)
        await (await warmEngine(db, SYMBOL, WINDOWS, { from: T0, to: T0 + 119 * MIN })).close()
        for (const w of WINDOWS) await assertMatchesOracle(db, SYMBOL, w)
        // A wrong value the guard lets through (same window), a missing row, a row without a candle.
        await db.query(
          `UPDATE feature_cache SET close_zscore = close_zscore + 0.5
            WHERE symbol = $1 AND window_size = 30 AND open_time = $2`,
          [SYMBOL, iso(70)],
        )
        await db.query('DELETE FROM feature_cache WHERE symbol = $1 AND window_size = 5 AND open_time = $2', [
          SYMBOL,
          iso(80),
        ])
        await db.query(
          `INSERT INTO feature_cache (market, symbol, open_time, window_size, close_zscore, close_minmax,
                                      volume_zscore, volume_minmax, window_count, window_full, window_quoted)
           VALUES ('spot', $1, $2, 5, 0, 0, 0, 0, 5, true, 0)`,
          [SYMBOL, new Date(T0 + 500 * MINUTE_MS).toISOString()],
        )
      } finally {
        await db.close()
      }
      const env = { ...target.env, FEATURE_WINDOWS: WINDOWS.join(','), LOG_LEVEL: 'warn' }
      const range = ['--symbol', SYMBOL, '--from', iso(0), '--to', iso(600)]

      const bad = await runCli(['features', '--verify', ...range], env)
      assert.equal(bad.code, 3, bad.stderr)
      assert.match(
        bad.stdout,
        /ETHUSDT window 5: 120 candles, 0 rows differ, 1 rows missing, 1 rows without a candle/,
      )
      assert.match(
        bad.stdout,
        /ETHUSDT window 30: 120 candles, 1 rows differ, 0 rows missing, 0 rows without a candle/,
      )
      assert.match(bad.stdout, new RegExp(`${iso(70)} window 30 differs: closeZscore: got `))
      assert.match(bad.stdout, new RegExp(`${iso(80)} window 5 missing`))
      assert.match(bad.stdout, new RegExp(`${iso(500)} window 5 no candle`))

      const fix = await runCli(['features', '--rebuild', ...range], env)
      assert.equal(fix.code, 0, fix.stderr)
      assert.match(fix.stdout, /ETHUSDT: 240 rows rewritten, 1 rows without a candle deleted/)

      const good = await runCli(['features', '--verify', ...range], env)
      assert.equal(good.code, 0, good.stdout + good.stderr)
      assert.match(
        good.stdout,
        /window 30: 120 candles, 0 rows differ, 0 rows missing, 0 rows without a candle/,
      )

      // Without --symbol: every configured symbol.
      const all = await runCli(['features', '--verify', '--from', iso(0), '--to', iso(600)], {
        ...env,
        TRADING_SYMBOLS: 'ethusdt,btcusdt',
      })
      assert.equal(all.code, 0, all.stdout + all.stderr)
      assert.match(all.stdout, /^ETHUSDT window 5: 120 candles, 0 rows differ/m)
      assert.match(
        all.stdout,
        /^BTCUSDT window 30: 0 candles, 0 rows differ, 0 rows missing, 0 rows without a candle/m,
      )

      const after = await target.open()
      try {
        for (const w of WINDOWS) assert.equal(await assertMatchesOracle(after, SYMBOL, w), 120)
      } finally {
        await after.close()
      }
    })
  })
}
