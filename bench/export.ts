/**
 * `data-feeder export` throughput and memory: the CLI, spawned, writes n minutes
 * (candles with a quote and window-60 features) to Parquet and to CSV; beside it,
 * in the same run, `psql \copy (SELECT …) TO` the same rows as CSV. Peak RSS is the
 * child's VmHWM, at n and at n/4: a flat figure is one that does not grow with n.
 */
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { benchDatabase } from './bench-db.ts'
import { REPO, tempDir } from './proc.ts'
import { fmt, fmtSample, type Row, summarize } from './stats.ts'

export const T0 = Date.UTC(2022, 0, 1)
const iso = (t: number) => new Date(t).toISOString()

/** In slices: one statement per 100 000 minutes stays within the pool's statement timeout. */
export async function seed(db: Awaited<ReturnType<typeof benchDatabase>>['db'], n: number): Promise<void> {
  const slice = 100_000
  for (let a = 0; a < n; a += slice) {
    const params = [iso(T0), a, Math.min(n, a + slice) - 1]
    await db.query(
      `INSERT INTO candles_1m (market, symbol, open_time, close_time, open, high, low, close, volume, quote_volume,
         trades, taker_buy_base, taker_buy_quote, first_trade_id, last_trade_id, bid, bid_qty, ask, ask_qty, source)
       SELECT 'spot', 'BTCUSDT', t, t + interval '59.999 seconds', p, p + 5.5, p - 4.25, p + 0.01,
              12.34567 + i % 1000, (12.34567 + i % 1000) * p, 100 + i % 900, 6.1, 6.1 * p, 3000000000 + i * 1000,
              3000000000 + i * 1000 + 99 + i % 900, p - 0.01, 1.234, p + 0.01, 0.5, 'ws'
         FROM generate_series($2::int, $3::int) i,
              LATERAL (SELECT $1::timestamptz + i * interval '1 minute' AS t, round(40000 + (i % 5000) * 0.37, 2) AS p) x`,
      params,
    )
    await db.query(
      `INSERT INTO feature_cache (market, symbol, open_time, window_size, close_zscore, close_minmax, volume_zscore,
         volume_minmax, window_count, window_full)
       SELECT market, symbol, open_time, 60, random() * 4 - 2, random(), random() * 4 - 2, random(), 60, true
         FROM candles_1m WHERE open_time BETWEEN $1::timestamptz + $2::int * interval '1 minute'
                                             AND $1::timestamptz + $3::int * interval '1 minute'`,
      params,
    )
  }
  await db.exec('ANALYZE')
}

/** Wall time and peak RSS (VmHWM, sampled until exit) of one command. */
export async function measure(
  cmd: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ s: number; rssMb: number; stderr: string }> {
  const t0 = performance.now()
  const child = spawn(cmd, args, {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let err = ''
  child.stderr.on('data', (d: Buffer) => {
    err = (err + d.toString('utf8')).slice(-2000)
  })
  let hwm = 0
  const sample = () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
      hwm = Math.max(hwm, Number(m?.[1] ?? 0) / 1024)
    } catch {
      // exited
    }
  }
  const timer = setInterval(sample, 25)
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)))
  clearInterval(timer)
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`)
  return { s: (performance.now() - t0) / 1000, rssMb: hwm, stderr: err }
}

/** The CLI's arguments for an export of BTCUSDT, window 60, from T0 to `to` (ms). */
export const exportArgs = (format: string, to: number, out: string) => [
  join(REPO, 'bin/data-feeder.js'),
  'export',
  '--symbol',
  'BTCUSDT',
  '--from',
  iso(T0),
  '--to',
  iso(to),
  '--windows',
  '60',
  '--format',
  format,
  '--out',
  out,
]

export const BASELINE_SELECT = `SELECT c.market, c.symbol, c.open_time, c.close_time, c.open, c.high, c.low, c.close, c.volume,
  c.quote_volume, c.trades, c.taker_buy_base, c.taker_buy_quote, c.first_trade_id, c.last_trade_id, c.taker_buy_ratio,
  c.range_bps, c.bid, c.bid_qty, c.ask, c.ask_qty, c.mid_price, c.spread_bps, f.close_zscore, f.close_minmax,
  f.volume_zscore, f.volume_minmax, f.window_count, c.source, c.ingested_at
  FROM candles_1m c LEFT JOIN feature_cache f ON f.market = c.market AND f.symbol = c.symbol
   AND f.open_time = c.open_time AND f.window_size = 60
  WHERE c.market = 'spot' AND c.symbol = 'BTCUSDT' ORDER BY c.open_time`

export async function runExportBench({ quick }: { quick: boolean }): Promise<Row[]> {
  const n = quick ? 5_000 : 1_000_000
  const runs = quick ? 1 : 3
  const bench = await benchDatabase()
  const dir = tempDir()
  try {
    await seed(bench.db, n)
    const env = { DATABASE_URL: bench.url, DATA_DIR: dir, LOG_LEVEL: 'warn' }
    const cli = (format: string, minutes: number) =>
      exportArgs(format, T0 + (minutes - 1) * 60_000, join(dir, `out.${format}`))
    const copy: number[] = []
    const pq: number[] = []
    const csv: number[] = []
    const rss = { parquet: [] as number[], csv: [] as number[], parquetQuarter: 0 }
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now()
      const r = spawnSync(
        'psql',
        [
          bench.url,
          '-v',
          'ON_ERROR_STOP=1',
          '-qc',
          `\\copy (${BASELINE_SELECT.replace(/\s+/g, ' ')}) TO '${join(dir, 'copy.csv')}' WITH (FORMAT csv, HEADER)`,
        ],
        { encoding: 'utf8' },
      )
      if (r.status !== 0) throw new Error(`psql \\copy failed: ${r.stderr}`)
      copy.push(n / ((performance.now() - t0) / 1000))
      const p = await measure(process.execPath, cli('parquet', n), env)
      pq.push(n / p.s)
      rss.parquet.push(p.rssMb)
      const c = await measure(process.execPath, cli('csv', n), env)
      csv.push(n / c.s)
      rss.csv.push(c.rssMb)
    }
    rss.parquetQuarter = (await measure(process.execPath, cli('parquet', Math.ceil(n / 4)), env)).rssMb
    const base = summarize(copy)
    const cmd = 'npm run bench -- export'
    const row = (format: string, s: number[], r: number[]) => {
      const sample = summarize(s)
      return {
        metric: `export ${fmt(n)} minutes to ${format} (CLI process incl. start; window 60)`,
        ours: `${fmtSample(sample, 'rows/s')}, peak RSS ${fmt(Math.max(...r))} MB`,
        baseline: `psql \\copy (SELECT …) TO csv ${fmtSample(base, 'rows/s')}`,
        ratio: `${fmt((sample.median / base.median) * 100)} %`,
        goal: '≥ 50 % of \\copy, RSS flat',
        command: cmd,
      }
    }
    return [
      row('Parquet', pq, rss.parquet),
      row('CSV', csv, rss.csv),
      {
        metric: `export peak RSS, Parquet, ${fmt(Math.ceil(n / 4))} vs ${fmt(n)} minutes`,
        ours: `${fmt(rss.parquetQuarter)} MB vs ${fmt(Math.max(...rss.parquet))} MB`,
        baseline: '—',
        ratio: '—',
        goal: 'flat',
        command: cmd,
      },
    ]
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await bench.drop()
  }
}
