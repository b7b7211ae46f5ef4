/**
 * minute_coverage over a year of one symbol (525 600 minutes, two feature windows
 * per minute, 100 holes and one confirmed-empty range), beside a baseline in the
 * same run on the same database: `SELECT count(*)` over the same candle range.
 * On the benchmark's PostgreSQL, on the embedded PGlite, and on TimescaleDB
 * (BENCH_TIMESCALE_URL; chunks older than 7 days compressed, as the policy would).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { withoutJit } from '../src/store/coverage-queries.ts'
import type { Db, Queryable } from '../src/store/db.ts'
import { migrate } from '../src/store/migrate.ts'
import { openDb } from '../src/store/open-db.ts'
import { benchDatabase } from './bench-db.ts'
import { fmt, fmtSample, type Row, summarize } from './stats.ts'

const cmd = 'npm run bench -- coverage'
const FROM = '2025-01-01T00:00:00Z'

async function load(db: Db, days: number): Promise<void> {
  const to = `timestamptz '${FROM}' + interval '${days} days'`
  const fill = `
    INSERT INTO candles_1m (symbol, open_time, close_time, open, high, low, close, volume, quote_volume, trades,
                            taker_buy_base, taker_buy_quote, source)
    SELECT 'BTCUSDT', m, m + interval '59.999 seconds', 100, 101, 99, 100.5, 10, 1000, 5, 4, 400,
           CASE WHEN i % 7 = 0 THEN 'rest' ELSE 'ws' END
      FROM generate_series(timestamptz '${FROM}', ${to} - interval '1 minute', interval '1 minute') WITH ORDINALITY g(m, i)
     WHERE i % ${Math.max(2, Math.floor((days * 1440) / 100))} <> 0;
    INSERT INTO feature_cache (symbol, open_time, window_size, close_zscore, window_count, window_full)
    SELECT symbol, open_time, w, 0, 1, false FROM candles_1m, unnest(ARRAY[60, 1440]) AS w;
    INSERT INTO data_quality_logs (symbol, event_type, gap_start, gap_end, candles_missing)
    VALUES ('BTCUSDT', 'gap_unfillable', timestamptz '${FROM}' + interval '1 day', timestamptz '${FROM}' + interval '1 day 10 minutes', 11);`
  // VACUUM as autovacuum would have by the time a year is stored: index-only scans skip the heap.
  const settle = ['VACUUM ANALYZE candles_1m', 'VACUUM ANALYZE feature_cache']
  for (const sql of [fill, ...settle]) {
    if (db.kind === 'pglite') await db.exec(sql)
    else await db.execLong(sql)
  }
}

const coverageSql = (days: number) =>
  `SELECT count(*) AS n, count(source) AS stored, sum(cardinality(feature_windows)) AS features,
          count(*) FILTER (WHERE status = 'missing') AS missing
     FROM minute_coverage('spot', 'BTCUSDT', timestamptz '${FROM}', timestamptz '${FROM}' + interval '${days} days')`
const baselineSql = (days: number) =>
  `SELECT count(*) AS n FROM candles_1m WHERE market = 'spot' AND symbol = 'BTCUSDT'
      AND open_time >= timestamptz '${FROM}' AND open_time < timestamptz '${FROM}' + interval '${days} days'`

async function ms(q: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now()
  await q()
  return performance.now() - t0
}

async function measure(db: Db, days: number, runs: number, label: string, noJit: boolean): Promise<Row> {
  const run = (sql: string) => (noJit ? withoutJit(db, (q: Queryable) => q.query(sql)) : db.query(sql))
  const check = (await db.query<{ n: string; missing: string }>(coverageSql(days))).rows[0]
  if (Number(check?.n) !== days * 1440) throw new Error(`minute_coverage returned ${check?.n} rows`)
  // Alternate the two so that the machine's load falls on both alike.
  const ours: number[] = []
  const base: number[] = []
  await run(baselineSql(days)) // plan and cache, as the check did for minute_coverage
  for (let i = 0; i < runs; i++) {
    ours.push(await ms(() => run(coverageSql(days))))
    base.push(await ms(() => run(baselineSql(days))))
  }
  const o = summarize(ours)
  const b = summarize(base)
  return {
    metric: `minute_coverage, ${fmt(days * 1440)} minutes of one symbol (${label}; ${check?.missing} missing, 2 feature windows a minute)`,
    ours: fmtSample(o, 'ms'),
    baseline: `${fmtSample(b, 'ms')} \`SELECT count(*)\` over the same candle range`,
    ratio: `${fmt(o.median / b.median, 1)}×`,
    goal: 'well under 1 s on PostgreSQL',
    command: cmd,
  }
}

export async function runCoverageBench({ quick }: { quick: boolean }): Promise<Row[]> {
  const days = quick ? 7 : 365
  const runs = quick ? 3 : 7
  const rows: Row[] = []
  const pg = await benchDatabase()
  try {
    await load(pg.db, days)
    rows.push(await measure(pg.db, days, runs, 'PostgreSQL, server defaults (jit on)', false))
    rows.push(
      await measure(pg.db, days, runs, 'PostgreSQL, jit off in the transaction, as `gaps` runs it', true),
    )
  } finally {
    await pg.drop()
  }
  const server = process.env.BENCH_TIMESCALE_URL
  if (server) {
    const ts = await benchDatabase({ server })
    try {
      await load(ts.db, days)
      await ts.db.execLong(
        `SELECT count(compress_chunk(c, true)) FROM show_chunks('candles_1m', older_than => now() - interval '7 days') c`,
      )
      rows.push(await measure(ts.db, days, runs, 'TimescaleDB, compressed, jit off in the transaction', true))
    } finally {
      await ts.drop()
    }
  } else process.stderr.write('  coverage: TimescaleDB skipped (BENCH_TIMESCALE_URL is not set)\n')
  const dir = mkdtempSync(join(tmpdir(), 'df-bench-coverage-'))
  const embedded = await openDb({ kind: 'pglite', dataDir: dir })
  try {
    await migrate(embedded)
    await load(embedded, days)
    rows.push(await measure(embedded, days, Math.min(runs, 3), 'embedded PGlite', false))
  } finally {
    await embedded.close()
    rmSync(dir, { recursive: true, force: true })
  }
  return rows
}
