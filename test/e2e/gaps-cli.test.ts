/**
 * The backfill and gaps commands as a black box, against the simulator's REST
 * (real time) and a real database; and the start-up symbol check.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { systemClock } from '../../src/core/clock.ts'
import { floorMinute } from '../../src/core/minute-ranges.ts'
import { MINUTE_MS } from '../../src/core/records.ts'
import { simulatedKline } from '../../src/simulator/market.ts'
import { simKey } from '../../src/simulator/profile.ts'
import { startSimulator } from '../../src/simulator/server.ts'
import { freePort, runCli } from '../helpers/cli.ts'
import { pgTargets } from '../helpers/db.ts'
import { feederTarget } from '../helpers/feeder-target.ts'

interface Report {
  missing: number
  unexplained: number
  in_progress: number
  ranges: { from: string; to: string; missing: number; status: string; confirmed_empty: boolean }[]
}

/** Minutes with no candle: missing, or (the newest, closed less than GAP_DETECTION_THRESHOLD ago) still in progress. */
const candleless = (r: Report): number => r.missing + r.in_progress

/** The 30 minutes that closed last (clear of the backfill's settle margin), as --from/--to. */
function lastThirtyMinutes(): { last: number; args: string[] } {
  const last = floorMinute(Date.now() - 10_000) - MINUTE_MS
  return {
    last,
    args: ['--from', new Date(last - 29 * MINUTE_MS).toISOString(), '--to', new Date(last).toISOString()],
  }
}

for (const kind of pgTargets()) {
  describe(`backfill and gaps commands on ${kind}`, () => {
    it('gaps exits 3 on a hole and 0 after backfill; Binance-confirmed holes are explained; reruns change nothing', async (t) => {
      const sim = await startSimulator({ clock: systemClock })
      const target = await feederTarget(kind)
      t.after(async () => {
        await sim.close()
        await target.cleanup()
      })
      const env = { ...target.env, BINANCE_REST_URL: sim.httpBase, LOG_LEVEL: 'info' }
      // Clear of the backfill's settle margin: a minute closed seconds ago is left for later.
      const last = floorMinute(Date.now() - 10_000) - MINUTE_MS
      const from = new Date(last - 59 * MINUTE_MS).toISOString()
      const to = new Date(last).toISOString()
      const range = ['--symbol', 'ethusdt', '--from', from, '--to', to]

      const empty = await runCli(['gaps', ...range, '--json'], env)
      assert.equal(empty.code, 3, empty.stderr)
      assert.equal(candleless(JSON.parse(empty.stdout) as Report), 60)

      // Binance has no data for three minutes (an exchange outage), long enough ago to be final.
      const outFrom = last - 40 * MINUTE_MS
      sim.hooks.rest.outage('ETHUSDT', outFrom, outFrom + 2 * MINUTE_MS)
      const fill = await runCli(['backfill', ...range], env)
      assert.equal(fill.code, 0, fill.stderr)
      assert.match(fill.stdout, /backfill done/)

      const after = await runCli(['gaps', ...range, '--json'], env)
      assert.equal(after.code, 0, after.stdout)
      const report = JSON.parse(after.stdout) as Report
      assert.equal(report.missing, 3)
      assert.equal(report.unexplained, 0)
      assert.deepEqual(report.ranges, [
        {
          from: new Date(outFrom).toISOString(),
          to: new Date(outFrom + 2 * MINUTE_MS).toISOString(),
          missing: 3,
          status: 'confirmed_empty',
          confirmed_empty: true,
        },
      ])
      const text = await runCli(['gaps', ...range], env)
      assert.equal(text.code, 0)
      assert.match(text.stdout, /Binance has no data/)

      const again = await runCli(['backfill', ...range], env)
      assert.equal(again.code, 0)
      const db = await target.open()
      try {
        const r = await db.query<{ open_time: Date; close: string; n: string }>(
          "SELECT open_time, close::text, count(*) OVER ()::text AS n FROM candles_1m WHERE symbol = 'ETHUSDT' ORDER BY open_time",
        )
        assert.equal(r.rows[0]?.n, '57', 'sixty minutes less the three Binance has not, once each')
        for (const row of r.rows)
          assert.equal(row.close, simulatedKline('ETHUSDT', row.open_time.getTime()).close)
        const unfillable = await db.query<{ n: string }>(
          "SELECT count(*)::text AS n FROM data_quality_logs WHERE event_type = 'gap_unfillable'",
        )
        assert.equal(unfillable.rows[0]?.n, '1', 'the second run did not record the confirmed hole again')
        // A hole we made ourselves is unexplained.
        await db.query("DELETE FROM candles_1m WHERE symbol = 'ETHUSDT' AND open_time = $1", [
          new Date(last - 10 * MINUTE_MS),
        ])
      } finally {
        await db.close()
      }
      const holed = await runCli(['gaps', ...range, '--json'], env)
      assert.equal(holed.code, 3)
      assert.equal((JSON.parse(holed.stdout) as Report).unexplained, 1)
    })

    it('--market: backfill fills a futures symbol from /fapi or /dapi, gaps reports per market', async (t) => {
      const sim = await startSimulator({ clock: systemClock })
      const target = await feederTarget(kind)
      t.after(async () => {
        await sim.close()
        await target.cleanup()
      })
      const env = {
        ...target.env,
        BINANCE_REST_URL: sim.httpBase,
        BINANCE_USDM_REST_URL: sim.httpBase,
        BINANCE_COINM_REST_URL: sim.httpBase,
        LOG_LEVEL: 'info',
      }
      const { last, args: window } = lastThirtyMinutes()
      const outFrom = last - 20 * MINUTE_MS
      sim.hooks.restOf('usdm').outage('ETHUSDT', outFrom, outFrom + MINUTE_MS)
      for (const [market, symbol] of [
        ['usdm', 'ethusdt'],
        ['coinm', 'ethusd_perp'],
      ] as const) {
        const fill = await runCli(['backfill', '--market', market, '--symbol', symbol, ...window], env)
        assert.equal(fill.code, 0, fill.stderr)
      }
      assert.ok((sim.hooks.restOf('usdm').stats().byPath['/fapi/v1/klines'] ?? 0) >= 1)
      assert.ok((sim.hooks.restOf('coinm').stats().byPath['/dapi/v1/klines'] ?? 0) >= 1)
      assert.equal(sim.hooks.rest.stats().byPath['/api/v3/klines'] ?? 0, 0, 'spot REST untouched')
      const usdm = await runCli(['gaps', '--market', 'usdm', '--symbol', 'ethusdt', ...window, '--json'], env)
      assert.equal(usdm.code, 0, usdm.stdout)
      const report = JSON.parse(usdm.stdout) as Report & { market: string }
      assert.equal(report.market, 'usdm')
      assert.equal(report.missing, 2)
      assert.equal(report.unexplained, 0)
      // The spot namesake has nothing: its own history, its own gaps.
      const spot = await runCli(['gaps', '--symbol', 'ethusdt', ...window, '--json'], env)
      assert.equal(spot.code, 3)
      assert.equal(candleless(JSON.parse(spot.stdout) as Report), 30)
      const db = await target.open()
      try {
        const r = await db.query<{ open_time: Date; close: string }>(
          "SELECT open_time, close::text FROM candles_1m WHERE market = 'coinm' AND symbol = 'ETHUSD_PERP' ORDER BY open_time",
        )
        assert.equal(r.rows.length, 30)
        for (const row of r.rows)
          assert.equal(
            row.close,
            simulatedKline(simKey('coinm', 'ETHUSD_PERP'), row.open_time.getTime()).close,
          )
      } finally {
        await db.close()
      }
      const bad = await runCli(['gaps', '--market', 'xyz', '--symbol', 'ethusdt'], env)
      assert.equal(bad.code, 2)
      assert.match(bad.stderr, /--market: "xyz" is not a market/)
    })
  })
}

describe('backfill and gaps as a user meets them', () => {
  it('without --symbol they cover every configured symbol; an unlisted symbol is exit 2 and leaves no record', async (t) => {
    const sim = await startSimulator({ clock: systemClock })
    const target = await feederTarget('pglite')
    t.after(async () => {
      await sim.close()
      await target.cleanup()
    })
    const env = {
      ...target.env,
      BINANCE_REST_URL: sim.httpBase,
      LOG_LEVEL: 'info',
      TRADING_SYMBOLS: 'btcusdt,ethusdt',
      FEATURE_WINDOWS: '5',
    }
    const { args: range } = lastThirtyMinutes()

    for (const command of ['backfill', 'gaps']) {
      const unknown = await runCli([command, '--symbol', 'notacoin', ...range], env)
      assert.equal(unknown.code, 2, unknown.stderr)
      assert.match(unknown.stderr, /^data-feeder: --symbol NOTACOIN: Binance does not list it\n/)
      const configured = await runCli([command, ...range], { ...env, TRADING_SYMBOLS: 'btcusdt,notacoin' })
      assert.equal(configured.code, 2, configured.stderr)
      assert.match(configured.stderr, /TRADING_SYMBOLS: unknown on Binance: NOTACOIN/)
    }
    const all = await runCli(['gaps', ...range, '--json'], env)
    assert.equal(all.code, 3)
    const before = JSON.parse(all.stdout) as Report[]
    assert.deepEqual(
      before.map((r) => [(r as unknown as { symbol: string }).symbol, candleless(r)]),
      [
        ['BTCUSDT', 30],
        ['ETHUSDT', 30],
      ],
    )
    const fill = await runCli(['backfill', ...range], env)
    assert.equal(fill.code, 0, fill.stderr)
    // Off a terminal, progress is logged: the feature rewrite is a phase of its own.
    assert.match(fill.stdout, /"phase":"rewriting features \(windows 5\)"/)
    assert.equal((await runCli(['gaps', ...range], env)).code, 0)
    const db = await target.open()
    try {
      const r = await db.query<{ symbol: string; n: number }>(
        'SELECT symbol, count(*)::int AS n FROM candles_1m GROUP BY symbol ORDER BY symbol',
      )
      assert.deepEqual(r.rows, [
        { symbol: 'BTCUSDT', n: 30 },
        { symbol: 'ETHUSDT', n: 30 },
      ])
      const records = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM data_quality_logs WHERE symbol = 'NOTACOIN'",
      )
      assert.equal(records.rows[0]?.n, 0, 'the refused symbol left no record')
    } finally {
      await db.close()
    }
  })

  it('each command has help of its own', async () => {
    const texts = new Set<string>()
    for (const command of ['run', 'migrate', 'backfill', 'gaps', 'simulate']) {
      const r = await runCli([command, '--help'])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, new RegExp(`^Usage: data-feeder ${command === 'run' ? '\\[run\\]' : command}`))
      texts.add(r.stdout)
      assert.equal((await runCli(['help', command])).stdout, r.stdout)
    }
    assert.equal(texts.size, 5)
    assert.match((await runCli(['--help'])).stdout, /COMMAND --help/)
  })
})

describe('start-up symbol check', () => {
  it('an unknown symbol stops the service with exit 2 and a clear line', async (t) => {
    const sim = await startSimulator({ clock: systemClock })
    t.after(() => sim.close())
    const r = await runCli(['run'], {
      DATA_DIR: '/nonexistent/never-opened',
      TRADING_SYMBOLS: 'btcusdt,notacoin',
      BINANCE_REST_URL: sim.httpBase,
      BINANCE_STREAM_URL: sim.wsBase,
      HEALTH_CHECK_HOST: '127.0.0.1',
      HEALTH_CHECK_PORT: String(await freePort()),
    })
    assert.equal(r.code, 2)
    assert.match(
      r.stderr,
      /^data-feeder: configuration error: TRADING_SYMBOLS: unknown on Binance: NOTACOIN \(example: TRADING_SYMBOLS=btcusdt\)\n$/,
    )
  })

  it('a futures symbol its market does not list stops the service with exit 2, naming it and its market', async (t) => {
    const sim = await startSimulator({ clock: systemClock })
    t.after(() => sim.close())
    const r = await runCli(['run'], {
      DATA_DIR: '/nonexistent/never-opened',
      TRADING_SYMBOLS: 'btcusdt,usdm:btcusdt,usdm:notacoin,coinm:btcusd_perp',
      BINANCE_REST_URL: sim.httpBase,
      BINANCE_STREAM_URL: sim.wsBase,
      BINANCE_USDM_REST_URL: sim.httpBase,
      BINANCE_USDM_STREAM_URL: sim.wsHostOf('usdm'),
      BINANCE_COINM_REST_URL: sim.httpBase,
      BINANCE_COINM_STREAM_URL: sim.wsHostOf('coinm'),
      HEALTH_CHECK_HOST: '127.0.0.1',
      HEALTH_CHECK_PORT: String(await freePort()),
    })
    assert.equal(r.code, 2)
    assert.match(
      r.stderr,
      /^data-feeder: configuration error: TRADING_SYMBOLS: unknown on Binance USD-M futures \(market usdm\): usdm:NOTACOIN \(example: TRADING_SYMBOLS=usdm:btcusdt\)\n$/,
    )
  })
})
