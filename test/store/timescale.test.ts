/**
 * The TimescaleDB path against a real TimescaleDB (TEST_TIMESCALE_URL, a server
 * with the extension preloaded; skipped without it). Policies never have to run:
 * what a policy would do is done by calling it.
 *
 * - settings: chunk interval, compression of every table and aggregate,
 *   retention, changed at the next start;
 * - the aggregates equal the plain views row for row after a 30-day backfill
 *   through the CLI, with the newest minutes still above the watermark, after
 *   writes into compressed chunks, and after an upgrade of a plain database
 *   holding 10 days;
 * - an installed but not preloaded server (TEST_TIMESCALE_NOPRELOAD_URL): the
 *   service falls back with a warning, or exits 2 with TIMESCALEDB=on.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { systemClock } from '../../src/core/clock.ts'
import { floorMinute } from '../../src/core/minute-ranges.ts'
import { MINUTE_MS } from '../../src/core/records.ts'
import { scaledClock } from '../../src/simulator/scaled-clock.ts'
import { startSimulator } from '../../src/simulator/server.ts'
import { AggregateRefresher } from '../../src/store/aggregate-refresher.ts'
import { createCandleWriter } from '../../src/store/candle-writer.ts'
import type { Db } from '../../src/store/db.ts'
import { migrate } from '../../src/store/migrate.ts'
import { openDb } from '../../src/store/open-db.ts'
import { DEFAULT_TIMESCALE, refreshAggregates, timescaleStorage } from '../../src/store/timescale-settings.ts'
import { freePort, runCli, startCli } from '../helpers/cli.ts'
import { admin, createTestDatabase, postgresOptions } from '../helpers/db.ts'
import { until } from '../helpers/until.ts'
import { candle } from './candle-fixture.ts'

const TS_URL = process.env.TEST_TIMESCALE_URL
const NOPRELOAD_URL = process.env.TEST_TIMESCALE_NOPRELOAD_URL
const AGGREGATES = ['candles_5m', 'candles_1h', 'candles_1d'] as const
const DAY_MS = 86_400_000

async function timescaleDb(t: { after(fn: () => Promise<void>): void }): Promise<{ db: Db; url: string }> {
  const target = await createTestDatabase(TS_URL)
  const db = await openDb(postgresOptions(target.connectionString))
  t.after(async () => {
    await db.close()
    await target.cleanup()
  })
  return { db, url: target.connectionString }
}

/** The plain views of 009 (its loop, without the "aggregates exist" exit), in schema `plain`. */
async function createPlainViews(db: Db): Promise<void> {
  const sql = readFileSync(
    new URL('../../src/store/migrations/009_candle_view_bounds.sql', import.meta.url),
    'utf8',
  )
  const plain = sql
    .replace(/IF cagg THEN\s*RETURN;\s*END IF;/, '')
    .replace('CREATE OR REPLACE VIEW %I', 'CREATE OR REPLACE VIEW plain.%I')
    .replace('FROM candles_1m', 'FROM public.candles_1m')
  assert.ok(plain.includes('plain.%I') && plain.includes('public.candles_1m') && !plain.includes('RETURN;'))
  await db.exec(`CREATE SCHEMA IF NOT EXISTS plain; ${plain}`)
}

/** Rows in one and not the other, both ways (duplicates counted), and the view's row count. */
async function compare(db: Db, name: string): Promise<{ differing: number; rows: number }> {
  const r = await db.query<{ differing: string; rows: string }>(
    `SELECT (SELECT count(*) FROM ((SELECT * FROM ${name} EXCEPT ALL SELECT * FROM plain.${name})
                                   UNION ALL
                                   (SELECT * FROM plain.${name} EXCEPT ALL SELECT * FROM ${name})) d) AS differing,
            (SELECT count(*) FROM plain.${name}) AS rows`,
  )
  return { differing: Number(r.rows[0]?.differing), rows: Number(r.rows[0]?.rows) }
}

async function assertAggregatesEqualViews(db: Db, what: string): Promise<void> {
  await createPlainViews(db)
  for (const a of AGGREGATES) {
    const c = await compare(db, a)
    assert.ok(c.rows > 0, `${a} is empty ${what}`)
    assert.equal(c.differing, 0, `${a} differs from the plain view ${what}`)
  }
}

/** Buckets materialised (not computed on the fly) in one aggregate. */
async function materialised(db: Db, name: string): Promise<number> {
  const r = await db.query<{ schema: string; table: string }>(
    `SELECT materialization_hypertable_schema AS schema, materialization_hypertable_name AS table
     FROM timescaledb_information.continuous_aggregates WHERE view_name = $1`,
    [name],
  )
  const row = r.rows[0] as { schema: string; table: string }
  const n = await db.query<{ n: string }>(`SELECT count(*) AS n FROM "${row.schema}"."${row.table}"`)
  return Number(n.rows[0]?.n)
}

async function jobs(db: Db): Promise<Map<string, string>> {
  const r = await db.query<{ k: string; v: string }>(
    `SELECT proc_name || ':' || hypertable_name AS k,
            coalesce(config->>'compress_after', config->>'drop_after') AS v
     FROM timescaledb_information.jobs WHERE proc_name IN ('policy_compression', 'policy_retention')`,
  )
  return new Map(r.rows.map((x) => [x.k, x.v]))
}

describe('TimescaleDB', { skip: TS_URL ? false : 'TEST_TIMESCALE_URL is not set' }, () => {
  it('creates hypertables and compression everywhere; chunk, compression and retention settings follow the configuration', async (t) => {
    const { db } = await timescaleDb(t)
    const first = await migrate(db)
    assert.equal(first.timescale.state, 'on')
    const dims = await db.query<{ table: string; iv: string }>(
      `SELECT hypertable_name AS table, time_interval::text AS iv FROM timescaledb_information.dimensions
       WHERE hypertable_name IN ('candles_1m', 'feature_cache') ORDER BY 1`,
    )
    assert.deepEqual(dims.rows, [
      { table: 'candles_1m', iv: '1 day' },
      { table: 'feature_cache', iv: '1 day' },
    ])
    const caggs = await db.query<{
      view_name: string
      materialized_only: boolean
      compression_enabled: boolean
    }>(
      `SELECT view_name, materialized_only, compression_enabled FROM timescaledb_information.continuous_aggregates ORDER BY 1`,
    )
    assert.deepEqual(
      caggs.rows.map((r) => [r.view_name, r.materialized_only, r.compression_enabled]),
      [
        ['candles_1d', false, true],
        ['candles_1h', false, true],
        ['candles_5m', false, true],
      ],
    )
    const seg = await db.query<{ hypertable_name: string; attname: string }>(
      `SELECT hypertable_name, attname FROM timescaledb_information.compression_settings
       WHERE segmentby_column_index IS NOT NULL AND hypertable_name IN ('candles_1m', 'feature_cache') ORDER BY 1, segmentby_column_index`,
    )
    assert.deepEqual(
      seg.rows.map((r) => `${r.hypertable_name}.${r.attname}`),
      ['candles_1m.market', 'candles_1m.symbol', 'feature_cache.market', 'feature_cache.symbol'],
    )
    let j = await jobs(db)
    for (const rel of ['candles_1m', 'feature_cache', ...AGGREGATES])
      assert.equal(j.get(`policy_compression:${rel}`), '7 days', rel)
    assert.equal([...j.keys()].filter((k) => k.startsWith('policy_retention')).length, 0)

    const changed = await migrate(db, {
      timescale: {
        ...DEFAULT_TIMESCALE,
        chunkInterval: '2 hours',
        compressAfter: '2 days',
        retention1m: '400 days',
        retentionAggregates: '5 years',
      },
    })
    assert.deepEqual(changed.applied, [])
    const iv = await db.query<{ iv: string }>(
      `SELECT time_interval::text AS iv FROM timescaledb_information.dimensions WHERE hypertable_name = 'candles_1m'`,
    )
    assert.equal(iv.rows[0]?.iv, '02:00:00')
    j = await jobs(db)
    assert.equal(j.get('policy_compression:candles_1m'), '2 days')
    assert.equal(j.get('policy_compression:feature_cache'), '2 days')
    // An aggregate is compressed only behind its refresh window (1 day + 1 hour for candles_1h).
    assert.equal(j.get('policy_compression:candles_5m'), '2 days')
    assert.equal(j.get('policy_compression:candles_1d'), '4 days')
    assert.equal(j.get('policy_retention:candles_1m'), '400 days')
    assert.equal(j.get('policy_retention:feature_cache'), '400 days')
    for (const a of AGGREGATES) assert.equal(j.get(`policy_retention:${a}`), '5 years', a)
    // A new chunk is cut at the new interval.
    await db.query(
      `INSERT INTO candles_1m (symbol, open_time, close_time, open, high, low, close, volume, quote_volume,
                               trades, taker_buy_base, taker_buy_quote, source)
       VALUES ('BTCUSDT', '2030-01-01T00:00:00Z', '2030-01-01T00:00:59.999Z', 1, 1, 1, 1, 0, 0, 0, 0, 0, 'rest')`,
    )
    const chunk = await db.query<{ span: string }>(
      `SELECT (range_end - range_start)::text AS span FROM timescaledb_information.chunks
       WHERE hypertable_name = 'candles_1m' AND range_start >= timestamptz '2030-01-01' - interval '1 day'`,
    )
    assert.equal(chunk.rows[0]?.span, '02:00:00')
    await migrate(db, { timescale: { ...DEFAULT_TIMESCALE, retention1m: null, retentionAggregates: null } })
    j = await jobs(db)
    assert.equal([...j.keys()].filter((k) => k.startsWith('policy_retention')).length, 0)
  })

  it('the retention policy drops old chunks of candles_1m when it runs', async (t) => {
    const { db } = await timescaleDb(t)
    await migrate(db, { timescale: { ...DEFAULT_TIMESCALE, retention1m: '2 days' } })
    await db.query(
      `INSERT INTO candles_1m (symbol, open_time, close_time, open, high, low, close, volume, quote_volume,
                               trades, taker_buy_base, taker_buy_quote, source)
       SELECT 'BTCUSDT', m, m + interval '59.999 seconds', 1, 1, 1, 1, 0, 0, 0, 0, 0, 'rest'
       FROM generate_series(date_trunc('day', now()) - interval '5 days', date_trunc('minute', now()) - interval '1 minute', interval '1 minute') m`,
    )
    const job = await db.query<{ id: number }>(
      `SELECT job_id AS id FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention' AND hypertable_name = 'candles_1m'`,
    )
    await db.exec(`CALL run_job(${job.rows[0]?.id})`)
    const oldest = await db.query<{ t: Date }>('SELECT min(open_time) AS t FROM candles_1m')
    // Whole chunks (1 day) older than 2 days are gone.
    assert.ok((oldest.rows[0] as { t: Date }).t.getTime() >= Date.now() - 3 * DAY_MS)
  })

  it('aggregates equal the plain views after a 30-day backfill, and after writes into compressed chunks', async (t) => {
    const { db, url } = await timescaleDb(t)
    const sim = await startSimulator({ clock: systemClock })
    t.after(() => sim.close())
    const env = {
      DATABASE_URL: url,
      BINANCE_REST_URL: sim.httpBase,
      LOG_LEVEL: 'warn',
      FEATURE_WINDOWS: '60',
    }
    const last = floorMinute(Date.now() - 10_000) - MINUTE_MS
    const range = [
      '--symbol',
      'btcusdt',
      '--from',
      new Date(last - 30 * DAY_MS).toISOString(),
      '--to',
      new Date(last).toISOString(),
    ]
    const r = await runCli(['backfill', ...range], env)
    assert.equal(r.code, 0, r.stderr)
    const n = await db.query<{ n: string }>('SELECT count(*) AS n FROM candles_1m')
    assert.equal(Number(n.rows[0]?.n), 30 * 1440 + 1)
    await assertAggregatesEqualViews(db, 'after the backfill')
    // History was materialised; the newest minutes are still computed on the fly, and are right.
    for (const a of AGGREGATES) assert.ok((await materialised(db, a)) > 0, a)

    // Holes ten days back, then everything older than a day compressed; the backfill fills the
    // holes and rewrites their features inside compressed chunks.
    const holeFrom = floorMinute(last - 10 * DAY_MS)
    await db.query(
      `DELETE FROM feature_cache WHERE open_time BETWEEN $1 AND $1::timestamptz + interval '2 hours'`,
      [new Date(holeFrom)],
    )
    await db.query(
      `DELETE FROM candles_1m WHERE open_time BETWEEN $1 AND $1::timestamptz + interval '2 hours'`,
      [new Date(holeFrom)],
    )
    await refreshAggregates(db, holeFrom, holeFrom + 2 * 3_600_000, Date.now())
    for (const table of ['candles_1m', 'feature_cache'])
      await db.query(
        `SELECT compress_chunk(c) FROM show_chunks($1::regclass, older_than => interval '1 day') c`,
        [table],
      )
    const compressed = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM timescaledb_information.chunks WHERE hypertable_name = 'candles_1m' AND is_compressed`,
    )
    assert.ok(Number(compressed.rows[0]?.n) >= 28)
    const again = await runCli(['backfill', ...range], env)
    assert.equal(again.code, 0, again.stderr)
    const filled = await db.query<{ c: string; f: string }>(
      `SELECT (SELECT count(*) FROM candles_1m WHERE open_time BETWEEN $1 AND $1::timestamptz + interval '2 hours') AS c,
              (SELECT count(*) FROM feature_cache WHERE open_time BETWEEN $1 AND $1::timestamptz + interval '2 hours') AS f`,
      [new Date(holeFrom)],
    )
    assert.deepEqual(filled.rows[0], { c: '121', f: '121' })
    // A later write of a stored minute (a quote arriving with the stream's copy) updates it in place.
    const stored = await db.query<Record<string, unknown>>(`SELECT * FROM candles_1m WHERE open_time = $1`, [
      new Date(holeFrom - 3 * DAY_MS),
    ])
    const row = stored.rows[0] as Record<string, string | Date>
    const writer = createCandleWriter({ db, clock: systemClock, maxBatch: 10, maxWaitMs: 100, maxRetries: 0 })
    writer.add({
      type: 'candle',
      market: 'spot',
      symbol: 'BTCUSDT',
      openTime: (row.open_time as Date).getTime(),
      closeTime: (row.close_time as Date).getTime(),
      open: row.open as string,
      high: row.high as string,
      low: row.low as string,
      close: row.close as string,
      volume: row.volume as string,
      quoteVolume: row.quote_volume as string,
      trades: Number(row.trades),
      takerBuyBase: row.taker_buy_base as string,
      takerBuyQuote: row.taker_buy_quote as string,
      firstTradeId: null,
      lastTradeId: null,
      bid: row.low as string,
      bidQty: '1.5',
      ask: row.high as string,
      askQty: '2.5',
      quoteTime: (row.close_time as Date).getTime() - 100,
      source: 'ws',
      receivedAt: Date.now(),
    })
    await writer.close()
    assert.equal(writer.takeFailed().length, 0)
    const updated = await db.query<{ bid_qty: string; n: string }>(
      `SELECT bid_qty, (SELECT count(*) FROM candles_1m) AS n FROM candles_1m WHERE open_time = $1`,
      [row.open_time],
    )
    assert.deepEqual(updated.rows[0], { bid_qty: '1.5', n: String(30 * 1440 + 1) })
    await assertAggregatesEqualViews(db, 'after writes into compressed chunks')
    const storage = await timescaleStorage(db)
    const candles = storage.find((s) => s.table === 'candles_1m')
    assert.ok(
      candles !== undefined && candles.compressedBytes > 0 && candles.uncompressedBytes > 0,
      JSON.stringify(storage),
    )
    assert.deepEqual(storage.map((s) => s.table).sort(), [
      'candles_1d',
      'candles_1h',
      'candles_1m',
      'candles_5m',
      'feature_cache',
    ])
  })

  it('the service streaming live minutes: /health says on, the storage gauge is exported, aggregates equal the views', async (t) => {
    const target = await createTestDatabase(TS_URL)
    t.after(() => target.cleanup())
    // The simulator runs 60× fast but two hours behind: a minute closes every second, in the feeder's past,
    // so each closed minute lands under the watermark the first start materialised and must be refreshed.
    const epoch = Math.floor((Date.now() - 2 * 3_600_000) / MINUTE_MS) * MINUTE_MS - 5_000
    const sim = await startSimulator({ clock: scaledClock(60, epoch) })
    t.after(() => sim.close())
    const port = await freePort()
    const p = startCli(['run'], {
      DATABASE_URL: target.connectionString,
      BINANCE_STREAM_URL: sim.wsBase,
      BINANCE_REST_URL: sim.httpBase,
      INITIAL_BACKFILL_MINUTES: '0',
      TRADING_SYMBOLS: 'btcusdt,ethusdt',
      HEALTH_CHECK_HOST: '127.0.0.1',
      HEALTH_CHECK_PORT: String(port),
    })
    t.after(() => p.child.kill('SIGKILL'))
    const db = await openDb(postgresOptions(target.connectionString))
    t.after(() => db.close())
    await until(
      'twenty live minutes per symbol',
      async () => {
        const r = await db
          .query<{ n: string }>(
            "SELECT count(*) AS n FROM candles_1m WHERE source = 'ws' AND symbol = 'ETHUSDT'",
          )
          .catch(() => null)
        return Number(r?.rows[0]?.n ?? 0) >= 20
      },
      90_000,
    )
    const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as {
      details: { timescale: string }
    }
    assert.equal(health.details.timescale, 'on')
    const metrics = await until('the storage gauge', async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
      return text.includes('feeder_timescale_bytes{table="candles_1m",state="uncompressed"}') ? text : null
    })
    assert.match(metrics, /feeder_timescale_bytes\{table="candles_5m",state="compressed"\} \d+/)
    p.child.kill('SIGTERM')
    assert.equal(await p.exited, 0, p.stderr())
    // Only the minutes the service had fully received count: the stop flushed writes and refreshes.
    await assertAggregatesEqualViews(db, 'after live minutes')
    // Buckets that closed over 10 minutes ago are materialised (today's day is not closed yet).
    for (const a of ['candles_5m', 'candles_1h'])
      assert.ok((await materialised(db, a)) > 0, `${a} has materialised buckets`)
  })

  it('an upgrade of a plain database holding 10 days materialises its history and equals the views', async (t) => {
    const { db } = await timescaleDb(t)
    const plain = await migrate(db, { timescale: { ...DEFAULT_TIMESCALE, mode: 'off' } })
    assert.deepEqual(plain.timescale, { state: 'off' })
    await db.query(
      `INSERT INTO candles_1m (symbol, open_time, close_time, open, high, low, close, volume, quote_volume,
                               trades, taker_buy_base, taker_buy_quote, first_trade_id, last_trade_id, source)
       SELECT s, m, m + interval '59.999 seconds', p, p + 2, p - 1, p + 1, v, v * p, i % 7, v / 3, v * p / 3,
              CASE WHEN i % 7 = 0 THEN NULL ELSE i * 10 END, CASE WHEN i % 7 = 0 THEN NULL ELSE i * 10 + i % 7 END, 'rest'
       FROM unnest(ARRAY['BTCUSDT', 'ETHUSDT']) s,
            generate_series(date_trunc('minute', now()) - interval '10 days', date_trunc('minute', now()) - interval '1 minute', interval '1 minute')
              WITH ORDINALITY g(m, i),
            LATERAL (SELECT (100 + (i % 97))::numeric + 0.00000001 * i AS p, (i % 13)::numeric / 7 AS v) x`,
    )
    const upgraded = await migrate(db)
    assert.equal(upgraded.timescale.state, 'on')
    assert.deepEqual(upgraded.applied, ['timescale/001_hypertables', 'timescale/002_realtime_aggregates'])
    await assertAggregatesEqualViews(db, 'after the upgrade')
    // Everything but the last few buckets is materialised, not computed on the fly.
    assert.ok((await materialised(db, 'candles_1h')) >= 2 * 239)
    assert.ok((await materialised(db, 'candles_1d')) >= 2 * 9)

    // The service's refresher: a minute rewritten under the watermark (a replayed spool, a repair)
    // leaves the materialised bucket stale until the refresher has run, and equal after.
    const refresher = new AggregateRefresher({ db, clock: systemClock })
    const writer = createCandleWriter({ db, clock: systemClock, maxBatch: 10, maxWaitMs: 100, maxRetries: 0 })
    writer.on('flushed', (info) => refresher.noteMinutes(info.candles.map((c) => c.openTime)))
    const minute = floorMinute(Date.now() - 5 * DAY_MS)
    writer.add(
      candle({
        openTime: minute,
        open: '150',
        high: '500',
        low: '100',
        close: '499',
        volume: '12345.6789',
        quoteVolume: '1',
        takerBuyBase: '1',
        takerBuyQuote: '0.5',
        trades: 3,
        firstTradeId: 1,
        lastTradeId: 3,
      }),
    )
    await writer.flush()
    const stale = await compare(db, 'candles_1h')
    assert.equal(stale.differing, 2, 'the rewritten hour differs before the refresh')
    await refresher.close()
    for (const a of AGGREGATES) assert.equal((await compare(db, a)).differing, 0, a)
    await writer.close()
  })
})

describe('TimescaleDB installed but not preloaded', {
  skip: NOPRELOAD_URL ? false : 'TEST_TIMESCALE_NOPRELOAD_URL is not set',
}, () => {
  it('auto: one warning, the plain schema, exit 0; on: exit 2 saying what to do; never a crash', async (t) => {
    const target = await createTestDatabase(NOPRELOAD_URL)
    t.after(() => target.cleanup())
    const on = await runCli(['migrate'], { DATABASE_URL: target.connectionString, TIMESCALEDB: 'on' })
    assert.equal(on.code, 2, on.stderr)
    assert.match(
      on.stderr.trim(),
      /^data-feeder: configuration error: TIMESCALEDB: .*not preloaded.*shared_preload_libraries/,
    )
    assert.equal(on.stderr.trim().split('\n').length, 1)
    const auto = await runCli(['migrate'], { DATABASE_URL: target.connectionString })
    assert.equal(auto.code, 0, auto.stderr)
    const warned = auto.stdout
      .split('\n')
      .filter((l) => l.includes('"TIMESCALEDB_NOT_PRELOADED"'))
      .map((l) => JSON.parse(l) as { level: number; msg: string })
    assert.equal(warned.length, 1)
    assert.equal(warned[0]?.level, 40)
    assert.match(warned[0]?.msg ?? '', /shared_preload_libraries/)
  })

  it('a role that may not read shared_preload_libraries: the refused CREATE EXTENSION (FATAL) falls back too', async (t) => {
    const target = await createTestDatabase(NOPRELOAD_URL)
    const role = `tsnopre_${process.pid}_${Date.now().toString(36)}`
    t.after(async () => {
      await target.cleanup()
      await admin(NOPRELOAD_URL as string, `DROP ROLE IF EXISTS ${role}`)
    })
    await admin(NOPRELOAD_URL as string, `CREATE ROLE ${role} LOGIN`)
    // Owner of its database: may create in it, and the extension is trusted.
    await admin(
      NOPRELOAD_URL as string,
      `ALTER DATABASE "${new URL(target.connectionString).pathname.slice(1)}" OWNER TO ${role}`,
    )
    await admin(target.connectionString, `ALTER SCHEMA public OWNER TO ${role}`)
    const asRole = new URL(target.connectionString)
    asRole.username = role
    const db = await openDb(postgresOptions(asRole.toString()))
    try {
      const r = await migrate(db)
      assert.deepEqual(r.timescale, { state: 'unavailable', reason: 'not preloaded' })
      assert.equal(r.warnings[0]?.code, 'TIMESCALEDB_NOT_PRELOADED')
      // The plain schema is there and works.
      await db.query('SELECT * FROM candles_5m LIMIT 1')
      const again = await migrate(db, { timescale: { ...DEFAULT_TIMESCALE, mode: 'on' } }).then(
        () => null,
        (e: unknown) => e as { code?: string; variable?: string },
      )
      assert.equal(again?.variable, 'TIMESCALEDB')
    } finally {
      await db.close()
    }
  })
})
