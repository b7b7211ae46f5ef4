/**
 * TimescaleDB against plain PostgreSQL, the same rows in the same run, on the
 * same server (BENCH_TIMESCALE_URL; one database migrated with TIMESCALEDB=off,
 * one with TimescaleDB): storage with compression (chunks older than 7 days
 * compressed, as the policy would), and two user queries — a year of 1h bars
 * for one symbol, and 30 days of 1m bars with their features.
 */
import { performance } from 'node:perf_hooks'
import type { Db } from '../src/store/db.ts'
import { DEFAULT_TIMESCALE, refreshAllAggregates } from '../src/store/timescale-settings.ts'
import { benchDatabase } from './bench-db.ts'
import { fmt, fmtSample, type Row, summarize } from './stats.ts'

const cmd = 'BENCH_TIMESCALE_URL=postgres://… npm run bench -- timescale'

/** One symbol, `days` of minutes up to the last full hour, and a feature row (window 60) per minute. */
async function load(db: Db, days: number): Promise<void> {
  // Outside the pool's statement timeout: a year of rows takes a while on a busy machine.
  await db.execLong(
    `INSERT INTO candles_1m (symbol, open_time, close_time, open, high, low, close, volume, quote_volume,
                             trades, taker_buy_base, taker_buy_quote, first_trade_id, last_trade_id,
                             bid, bid_qty, ask, ask_qty, source)
     SELECT 'BTCUSDT', m, m + interval '59.999 seconds', p, p + 7.5, p - 6.25, p + 1.01, v, v * p, 100 + i % 900,
            v / 2, v * p / 2, i * 1000, i * 1000 + 99 + i % 900, p + 1, 0.5, p + 1.01, 0.25, 'ws'
     FROM generate_series(date_trunc('hour', now()) - ${Math.trunc(days)} * interval '1 day', date_trunc('hour', now()) - interval '1 minute',
                          interval '1 minute') WITH ORDINALITY g(m, i),
          LATERAL (SELECT round((60000 + 500 * sin(i / 720.0) + (i % 97))::numeric, 2) AS p,
                          round(((i % 1000) / 37.0)::numeric, 8) AS v) x`,
  )
  await db.execLong(
    `INSERT INTO feature_cache (symbol, open_time, window_size, close_zscore, close_minmax, volume_zscore,
                                volume_minmax, log_return, close_mean, close_std, window_count, window_full)
     SELECT symbol, open_time, 60, sin(extract(epoch FROM open_time) / 3600), 0.5, cos(extract(epoch FROM open_time) / 7200),
            0.25, 0.0001, close::float8, 12.5, 60, true
     FROM candles_1m`,
  )
}

async function bytes(db: Db, timescale: boolean): Promise<number> {
  const sql = timescale
    ? `SELECT sum(hypertable_size(format('%I.%I', hypertable_schema, hypertable_name)::regclass)) AS n
       FROM timescaledb_information.hypertables`
    : `SELECT pg_total_relation_size('candles_1m') + pg_total_relation_size('feature_cache') AS n`
  const r = await db.query<{ n: string }>(sql)
  return Number(r.rows[0]?.n)
}

async function timeQuery(db: Db, sql: string, runs: number): Promise<{ ms: number[]; rows: number }> {
  let rows = (await db.query(sql)).rows.length // warm the cache and plan
  const ms: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    rows = (await db.query(sql)).rows.length
    ms.push(performance.now() - t0)
  }
  return { ms, rows }
}

const YEAR_OF_HOURS = `SELECT * FROM candles_1h WHERE market = 'spot' AND symbol = 'BTCUSDT'
  AND open_time >= date_trunc('hour', now()) - interval '365 days' ORDER BY open_time`
const MONTH_WITH_FEATURES = `SELECT c.*, f.close_zscore, f.close_minmax, f.volume_zscore, f.volume_minmax, f.log_return
  FROM candles_1m c LEFT JOIN feature_cache f
    ON f.market = c.market AND f.symbol = c.symbol AND f.open_time = c.open_time AND f.window_size = 60
  WHERE c.market = 'spot' AND c.symbol = 'BTCUSDT' AND c.open_time >= date_trunc('hour', now()) - interval '30 days'
  ORDER BY c.open_time`

export async function runTimescaleBench({ quick }: { quick: boolean }): Promise<Row[]> {
  const server = process.env.BENCH_TIMESCALE_URL
  if (!server) {
    process.stderr.write('  timescale: skipped (BENCH_TIMESCALE_URL is not set)\n')
    return []
  }
  const days = quick ? 8 : 365
  const runs = quick ? 3 : 9
  const plain = await benchDatabase({ server, timescale: { ...DEFAULT_TIMESCALE, mode: 'off' } })
  const ts = await benchDatabase({ server })
  try {
    for (const db of [plain.db, ts.db]) await load(db, days)
    // What the policies would have done by now: compress what is older than 7 days, materialise.
    for (const table of ['candles_1m', 'feature_cache'])
      await ts.db.execLong(
        `SELECT compress_chunk(c, if_not_compressed => true) FROM show_chunks('${table}', older_than => interval '7 days') c`,
      )
    let t0 = performance.now()
    await refreshAllAggregates(ts.db, Date.now(), null)
    const materialiseMs = performance.now() - t0
    t0 = performance.now()
    await refreshAllAggregates(ts.db, Date.now(), null) // what every later start does
    const againMs = performance.now() - t0
    for (const db of [plain.db, ts.db]) await db.exec('ANALYZE')
    const plainBytes = await bytes(plain.db, false)
    const tsBytes = await bytes(ts.db, true)
    const q1p = await timeQuery(plain.db, YEAR_OF_HOURS, runs)
    const q1t = await timeQuery(ts.db, YEAR_OF_HOURS, runs)
    const q2p = await timeQuery(plain.db, MONTH_WITH_FEATURES, runs)
    const q2t = await timeQuery(ts.db, MONTH_WITH_FEATURES, runs)
    if (q1p.rows !== q1t.rows || q2p.rows !== q2t.rows)
      throw new Error(`row counts differ: ${q1p.rows}/${q1t.rows}, ${q2p.rows}/${q2t.rows}`)
    const mb = (n: number) => `${fmt(n / 1048576, 1)} MB`
    const s1t = summarize(q1t.ms)
    const s1p = summarize(q1p.ms)
    const s2t = summarize(q2t.ms)
    const s2p = summarize(q2p.ms)
    return [
      {
        metric: `storage, ${days} days of 1m candles + features (1 symbol), chunks > 7 days compressed`,
        ours: `TimescaleDB ${mb(tsBytes)}`,
        baseline: `plain ${mb(plainBytes)}`,
        ratio: `${fmt((tsBytes / plainBytes) * 100)} %`,
        goal: 'recorded',
        command: cmd,
      },
      {
        metric: `materialise ${days} days of one symbol into the three aggregates (first start)`,
        ours: `${fmt(materialiseMs / 1000, 1)} s`,
        baseline: `the next start's refresh ${fmt(againMs, 0)} ms`,
        ratio: '—',
        goal: 'recorded',
        command: cmd,
      },
      {
        metric: `query: ${fmt(q1t.rows)} 1h bars of one symbol (candles_1h)`,
        ours: `aggregate ${fmtSample(s1t, 'ms', 1)}`,
        baseline: `plain view ${fmtSample(s1p, 'ms', 1)}`,
        ratio: `${fmt(s1t.median / s1p.median, 3)}×`,
        goal: 'recorded',
        command: cmd,
      },
      {
        metric: `query: 30 days of 1m bars with features, one symbol (${fmt(q2t.rows)} rows)`,
        ours: `hypertables ${fmtSample(s2t, 'ms', 1)}`,
        baseline: `plain ${fmtSample(s2p, 'ms', 1)}`,
        ratio: `${fmt(s2t.median / s2p.median, 2)}×`,
        goal: 'recorded',
        command: cmd,
      },
    ]
  } finally {
    await plain.drop()
    await ts.drop()
  }
}
