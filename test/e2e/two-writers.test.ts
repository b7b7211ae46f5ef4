/**
 * Two writers of candles_1m on one PostgreSQL: the service (spawned, streaming
 * from the simulator, its own gap repair off) and `data-feeder backfill` in
 * another process, filling a hole inside the service's live feature window
 * while it streams. Afterwards, with no manual step, every feature_cache row
 * equals the SQL oracle over the candles stored — the rows the service writes
 * after the backfill too, which it can only get right by taking the backfilled
 * candles into its live window (the backfill's notice), and the rows the
 * backfill rewrote, which the service's delayed writes must not overwrite.
 */
import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import { createRestClient } from '../../src/binance/rest/rest-client.ts'
import type { Candle } from '../../src/core/records.ts'
import { MINUTE_MS } from '../../src/core/records.ts'
import { scaledClock } from '../../src/simulator/scaled-clock.ts'
import { startSimulator } from '../../src/simulator/server.ts'
import { migrate } from '../../src/store/migrate.ts'
import { assertMatchesOracle, storeCandles, warmEngine } from '../features/oracle.ts'
import { freePort, startCli } from '../helpers/cli.ts'
import { feederTarget } from '../helpers/feeder-target.ts'
import { until } from '../helpers/until.ts'

const SYMBOL = 'BTCUSDT'
const WINDOWS = [5, 30]
const SPEED = 30

async function newest(db: { query: <R>(s: string, p: unknown[]) => Promise<{ rows: R[] }> }, table: string) {
  const r = await db.query<{ t: Date | null }>(`SELECT max(open_time) AS t FROM ${table} WHERE symbol = $1`, [
    SYMBOL,
  ])
  return r.rows[0]?.t?.getTime() ?? null
}

async function allMatch(db: Parameters<typeof assertMatchesOracle>[0]): Promise<boolean> {
  try {
    for (const w of WINDOWS) await assertMatchesOracle(db, SYMBOL, w)
    return true
  } catch {
    return false
  }
}

/**
 * The service (its own gap repair off) streaming on a PostgreSQL whose last 40 minutes have a
 * two-minute hole 4 minutes back, inside its live windows, with complete feature rows.
 */
async function streamingOverHole(t: TestContext) {
  // The simulator runs 30× fast, three hours behind: every minute it closes is in the feeder's past.
  const epoch = Math.floor((Date.now() - 3 * 3_600_000) / MINUTE_MS) * MINUTE_MS - 5_000
  const clock = scaledClock(SPEED, epoch)
  const sim = await startSimulator({ clock, symbols: [SYMBOL] })
  const target = await feederTarget('postgres')
  t.after(async () => {
    await sim.close()
    await target.cleanup()
  })
  const db = await target.open()
  t.after(() => db.close())
  await migrate(db)

  // History before the service: 40 minutes with a two-minute hole 4 minutes back, features complete.
  // Two minutes back: a minute that closed a moment ago may be left out by REST's settle margin.
  const last = Math.floor(clock.now() / MINUTE_MS) * MINUTE_MS - 2 * MINUTE_MS
  const first = last - 39 * MINUTE_MS
  const hole = { from: last - 4 * MINUTE_MS, to: last - 3 * MINUTE_MS }
  const rest = createRestClient({ baseUrl: sim.httpBase, clock })
  const history: Candle[] = []
  const holeCandles: Candle[] = []
  await rest.closedCandlesBetween(SYMBOL, first, last, (page) => {
    for (const c of page) (c.openTime < hole.from || c.openTime > hole.to ? history : holeCandles).push(c)
  })
  rest.close()
  assert.equal(history.length, 38)
  await storeCandles(db, history)
  await (await warmEngine(db, SYMBOL, WINDOWS, { from: first, to: last })).close()
  assert.ok(await allMatch(db), 'the history starts right')

  const env = {
    ...target.env,
    BINANCE_STREAM_URL: sim.wsBase,
    BINANCE_REST_URL: sim.httpBase,
    TRADING_SYMBOLS: SYMBOL,
    FEATURE_WINDOWS: WINDOWS.join(','),
    // The service does not repair the hole itself: the other process does.
    BACKFILL_ENABLED: 'false',
    HEALTH_CHECK_HOST: '127.0.0.1',
    HEALTH_CHECK_PORT: String(await freePort()),
  }
  const service = startCli(['run'], env)
  t.after(() => service.child.kill('SIGKILL'))
  await until('the service streams', () => service.lines.some((l) => l.msg === 'streaming'), 60_000)
  const streamedFrom = await until(
    'two live candles stored',
    async () => {
      const n = await newest(db, 'candles_1m')
      return n !== null && n >= last + 2 * MINUTE_MS ? n : null
    },
    60_000,
  )

  return { db, target, sim, service, hole, holeCandles, streamedFrom }
}

describe('two writers and feature_cache', {
  skip: process.env.TEST_DATABASE_URL ? false : 'needs TEST_DATABASE_URL',
}, () => {
  it('the service streaming while backfill fills a hole in its live window: every row ends equal to the oracle', async (t) => {
    const { db, target, sim, service, hole, streamedFrom } = await streamingOverHole(t)

    // The other writer, in another process, over the hole and whatever the service's start missed.
    const backfill = startCli(
      [
        'backfill',
        '--symbol',
        SYMBOL,
        '--from',
        new Date(hole.from).toISOString(),
        '--to',
        new Date(streamedFrom).toISOString(),
      ],
      { ...target.env, BINANCE_REST_URL: sim.httpBase, FEATURE_WINDOWS: WINDOWS.join(',') },
    )
    assert.equal(await backfill.exited, 0, backfill.stderr())
    const filled = await db.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM candles_1m WHERE symbol = $1 AND open_time BETWEEN $2 AND $3',
      [SYMBOL, new Date(hole.from), new Date(hole.to)],
    )
    assert.equal(filled.rows[0]?.n, '2', 'the backfill filled the hole')
    const backfilledAt = (await newest(db, 'candles_1m')) as number

    // Live minutes go on; their windows hold the backfilled candles.
    await until(
      'three live minutes after the backfill, with their feature rows',
      async () => ((await newest(db, 'feature_cache')) ?? 0) >= backfilledAt + 3 * MINUTE_MS,
      60_000,
    )
    await until('every feature row equals the oracle', () => allMatch(db), 30_000)
    service.child.kill('SIGTERM')
    assert.equal(await service.exited, 0, service.stderr())
    // Everything flushed at the stop: the strict check, with its detailed message if it fails.
    for (const w of WINDOWS) await assertMatchesOracle(db, SYMBOL, w)
    assert.ok(
      service.lines.every((l) => l.code !== 'FEATURE_WRITE_FAILED'),
      'no feature write failed in the service',
    )
  })
  it('after its listening session is cut, the service reads its live windows again: candles committed without a notice are taken in', async (t) => {
    const { db, service, holeCandles } = await streamingOverHole(t)
    // A writer that sends no notice (an older version, a hand-made INSERT): only a reload finds it.
    await storeCandles(db, holeCandles)
    const cut = await db.query<{ n: string }>(
      `SELECT count(pg_terminate_backend(pid))::text AS n FROM pg_stat_activity
        WHERE datname = current_database() AND query = 'LISTEN candles_committed'`,
      [],
    )
    assert.equal(cut.rows[0]?.n, '1', 'the service listens on one session')
    await until(
      'listening again',
      () => service.lines.some((l) => l.code === 'CANDLE_NOTICES_LISTENING'),
      30_000,
    )
    assert.ok(service.lines.some((l) => l.code === 'CANDLE_NOTICES_LOST'))
    const reloadedAt = (await newest(db, 'candles_1m')) as number
    await until(
      'two live minutes after the reload, with their feature rows',
      async () => ((await newest(db, 'feature_cache')) ?? 0) >= reloadedAt + 2 * MINUTE_MS,
      60_000,
    )
    await until('every feature row equals the oracle', () => allMatch(db), 30_000)
    service.child.kill('SIGTERM')
    assert.equal(await service.exited, 0, service.stderr())
    for (const w of WINDOWS) await assertMatchesOracle(db, SYMBOL, w)
  })
})
