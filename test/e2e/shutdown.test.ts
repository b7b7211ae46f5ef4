/**
 * SIGTERM while candles are buffered: they end up in the database and the
 * process exits 0. The buffer is made real by holding a lock on candles_1m in
 * the test's own session, so the feeder's write waits while candles pile up.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import pg from 'pg'
import { MINUTE_MS } from '../../src/core/records.ts'
import { simulatedKline } from '../../src/simulator/market.ts'
import { scaledClock } from '../../src/simulator/scaled-clock.ts'
import { startSimulator } from '../../src/simulator/server.ts'
import { migrate } from '../../src/store/migrate.ts'
import { freePort, startCli } from '../helpers/cli.ts'
import { feederTarget } from '../helpers/feeder-target.ts'
import { until } from '../helpers/until.ts'

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text()
  // Summed over the series of every label set (e.g. one per market).
  let sum = 0
  for (const line of text.split('\n'))
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.split(' ').at(-1))
  return sum
}

describe('graceful shutdown', {
  skip: process.env.TEST_DATABASE_URL ? false : 'needs TEST_DATABASE_URL',
}, () => {
  it('SIGTERM with candles buffered writes them all and exits 0', async (t) => {
    // The simulator runs 60× fast but two hours behind, so every candle it closes is in the feeder's past.
    const epoch = Math.floor((Date.now() - 2 * 3_600_000) / MINUTE_MS) * MINUTE_MS - 5_000
    const sim = await startSimulator({ clock: scaledClock(60, epoch) })
    const target = await feederTarget('postgres')
    const db = await target.open()
    await migrate(db)
    const url = target.env.DATABASE_URL as string
    const blocker = new pg.Client({ connectionString: url })
    blocker.on('error', () => {})
    await blocker.connect()
    t.after(async () => {
      await blocker.end().catch(() => {})
      await db.close()
      await sim.close()
      await target.cleanup()
    })
    const port = await freePort()
    const p = startCli(['run'], {
      DATABASE_URL: url,
      BINANCE_STREAM_URL: sim.wsBase,
      BINANCE_REST_URL: sim.httpBase,
      INITIAL_BACKFILL_MINUTES: '0',
      TRADING_SYMBOLS: 'btcusdt,ethusdt',
      HEALTH_CHECK_HOST: '127.0.0.1',
      HEALTH_CHECK_PORT: String(port),
      BATCH_MAX_CANDLES: '500',
      SHUTDOWN_TIMEOUT_MS: '20000',
    })
    t.after(() => p.child.kill('SIGKILL'))
    const base = `http://127.0.0.1:${port}`
    await until('streaming', () => p.lines.some((l) => l.msg === 'streaming'), 60_000)
    await blocker.query('BEGIN')
    await blocker.query('LOCK TABLE candles_1m IN ACCESS EXCLUSIVE MODE')
    await until(
      'six closed candles received while writes wait',
      async () => (await metric(base, 'feeder_candles_closed_total')) >= 6,
      30_000,
    )
    assert.ok((await metric(base, 'feeder_buffer_candles')) >= 1, 'candles are buffered')
    const seen = await metric(base, 'feeder_candles_closed_total')
    p.child.kill('SIGTERM')
    await until('shutdown begun', () => p.lines.some((l) => l.msg === 'shutting down'))
    await blocker.query('COMMIT')
    assert.equal(await p.exited, 0, p.stderr())
    const stopped = p.lines.find((l) => l.msg === 'stopped')
    assert.equal(stopped?.flushed, true)
    const r = await db.query<{ symbol: string; open_time: Date; close: string }>(
      'SELECT symbol, open_time, close::text FROM candles_1m ORDER BY symbol, open_time',
    )
    assert.ok(r.rows.length >= seen, `stored ${r.rows.length}, received ${seen}`)
    for (const row of r.rows)
      assert.equal(row.close, simulatedKline(row.symbol, row.open_time.getTime()).close)
  })
})
