/**
 * `data-feeder export` as a black box on both databases: the Parquet file is read
 * back by DuckDB (a reader the export does not use) and compared value for value
 * with the database, decimals exactly; CSV likewise as text. Missing minutes are
 * rows; --require-complete, atomic output, stdout and bad arguments.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DuckDBInstance } from '@duckdb/node-api'
import type { Db } from '../../src/store/db.ts'
import { hasQuoteTimeColumn } from '../../src/store/export-queries.ts'
import { migrate } from '../../src/store/migrate.ts'
import { runCli, startCli } from '../helpers/cli.ts'
import { pgTargets } from '../helpers/db.ts'
import { type FeederTarget, feederTarget } from '../helpers/feeder-target.ts'
import { until } from '../helpers/until.ts'

const T0 = Date.parse('2024-03-01T00:00:00Z')
const MIN = 60_000
const N = 150
const HOLE = [40, 41, 42]
const CONFIRMED_EMPTY = 90
const EMPTY_MINUTE = 10
const iso = (i: number) => new Date(T0 + i * MIN).toISOString()

/** Minutes with decimals of varied scales, one needing more than 18 digits, an empty minute, a hole. */
async function seed(db: Db): Promise<void> {
  await db.query(
    `INSERT INTO candles_1m (market, symbol, open_time, close_time, open, high, low, close, volume, quote_volume,
       trades, taker_buy_base, taker_buy_quote, first_trade_id, last_trade_id, bid, bid_qty, ask, ask_qty, source)
     SELECT 'spot', 'BTCUSDT', t, t + interval '59.999 seconds',
       CASE WHEN i = $2 THEN 61000.5 ELSE 61000.12345678 + i * 0.00000001 END, 61010.5 + i, 60990, 61005.1 + i * 0.001,
       CASE WHEN i = $2 THEN 0 ELSE 12.5 + i * 0.000001 END,
       CASE WHEN i = $2 THEN 0 ELSE 987654321098.123456789 + i END,
       CASE WHEN i = $2 THEN 0 ELSE 100 + i END,
       CASE WHEN i = $2 THEN 0 ELSE 6.25 END, CASE WHEN i = $2 THEN 0 ELSE 500000.5 END,
       CASE WHEN i = $2 THEN NULL ELSE 9000000000 + i * 1000 END,
       CASE WHEN i = $2 THEN NULL ELSE 9000000000 + i * 1000 + 99 + i END,
       CASE WHEN i % 7 = 0 THEN NULL ELSE 61005.09 END, CASE WHEN i % 7 = 0 THEN NULL ELSE 0.00012 END,
       CASE WHEN i % 7 = 0 THEN NULL ELSE 61005.11 END, CASE WHEN i % 7 = 0 THEN NULL ELSE 3 END,
       CASE WHEN i % 2 = 0 THEN 'ws' ELSE 'rest' END
       FROM generate_series(0, $3::int - 1) i, LATERAL (SELECT $1::timestamptz + i * interval '1 minute' AS t) x
      WHERE i <> ALL ($4::int[]) AND i <> $5`,
    [new Date(T0).toISOString(), EMPTY_MINUTE, N, HOLE, CONFIRMED_EMPTY],
  )
  await db.query(
    `INSERT INTO feature_cache (market, symbol, open_time, window_size, close_zscore, close_minmax, volume_zscore,
       volume_minmax, window_count, window_full)
     SELECT market, symbol, open_time, w, 0.1 * extract(minute FROM open_time) - 2.5, 1.0 / 3, -1e-300, 0, least(w, 60), least(w, 60) = w
       FROM candles_1m, unnest(ARRAY[5, 60]) w WHERE symbol = 'BTCUSDT' AND extract(minute FROM open_time)::int % 3 <> 1`,
  )
  if (await hasQuoteTimeColumn(db))
    await db.query(`UPDATE candles_1m SET quote_time = close_time - interval '0.25 seconds' * (extract(minute FROM open_time)::int % 4)
                     WHERE bid IS NOT NULL`)
  // Rows a TimescaleDB migration could not rewrite keep Binance's -1 for a minute without trades.
  await db.query(`UPDATE candles_1m SET first_trade_id = -1, last_trade_id = -1 WHERE open_time = $1`, [
    iso(EMPTY_MINUTE),
  ])
  await db.query(
    `INSERT INTO data_quality_logs (market, symbol, event_type, gap_start, gap_end, candles_missing, source)
     VALUES ('spot', 'BTCUSDT', 'gap_unfillable', $1, $1, 1, 'rest')`,
    [iso(CONFIRMED_EMPTY)],
  )
  // A value no Parquet DECIMAL holds (numeric NaN passes the price checks): the export fails midway.
  await db.query(
    `INSERT INTO candles_1m (market, symbol, open_time, close_time, open, high, low, close, volume, quote_volume,
       trades, taker_buy_base, taker_buy_quote, source)
     SELECT 'spot', 'NANUSDT', t, t + interval '59.999 seconds', CASE WHEN i = 30 THEN 'NaN'::numeric ELSE 1 END,
       CASE WHEN i = 30 THEN 'NaN'::numeric ELSE 1 END, CASE WHEN i = 30 THEN 'NaN'::numeric ELSE 1 END, CASE WHEN i = 30 THEN 'NaN'::numeric ELSE 1 END,
       1, 1, 1, 0, 0, 'rest'
       FROM generate_series(0, 59) i, LATERAL (SELECT $1::timestamptz + i * interval '1 minute' AS t) x`,
    [new Date(T0).toISOString()],
  )
}

const DECIMALS = [
  'open',
  'high',
  'low',
  'close',
  'volume',
  'quote_volume',
  'taker_buy_base',
  'taker_buy_quote',
]
const QUOTE = ['bid', 'bid_qty', 'ask', 'ask_qty', 'mid_price']
const FEATURES = ['close_zscore', 'close_minmax', 'volume_zscore', 'volume_minmax', 'window_count']

/** The exact value of a decimal text, for comparison: no trailing zeros, no bare point. */
const exact = (v: unknown) =>
  v === null
    ? null
    : String(v)
        .replace(/(\.\d*?)0+$/, '$1')
        .replace(/\.$/, '')

/** What the database holds for every minute of the range, read without the export's SQL. */
async function expected(db: Db, last: number): Promise<Record<string, unknown>[]> {
  const cols = [...DECIMALS, ...QUOTE].map((c) => `c.${c}::text AS ${c}`)
  const feats = [5, 60].flatMap((w) => FEATURES.map((f) => `f${w}.${f} AS ${f}_${w}`))
  // quote_time arrives with migration 012; until then the export writes the column empty.
  const quoteTime = (await hasQuoteTimeColumn(db))
    ? '(extract(epoch FROM c.quote_time) * 1000000)::int8::text'
    : 'NULL::text'
  const r = await db.query<Record<string, unknown>>(
    `SELECT (extract(epoch FROM g.t) * 1000000)::int8::text AS open_time, ${cols.join(', ')}, ${quoteTime} AS quote_time,
            c.trades::text AS trades, nullif(c.first_trade_id, -1)::text AS first_trade_id,
            nullif(c.last_trade_id, -1)::text AS last_trade_id,
            c.spread_bps, c.taker_buy_ratio, c.range_bps, c.source, (extract(epoch FROM c.ingested_at) * 1000000)::int8::text AS ingested_at,
            ${feats.join(', ')}
       FROM generate_series($1::timestamptz, $2::timestamptz, interval '1 minute') g(t)
       LEFT JOIN candles_1m c ON c.market = 'spot' AND c.symbol = 'BTCUSDT' AND c.open_time = g.t
       LEFT JOIN feature_cache f5 ON f5.symbol = 'BTCUSDT' AND f5.open_time = g.t AND f5.window_size = 5
       LEFT JOIN feature_cache f60 ON f60.symbol = 'BTCUSDT' AND f60.open_time = g.t AND f60.window_size = 60
      ORDER BY g.t`,
    [iso(0), iso(last)],
  )
  return r.rows.map((row, i) => ({
    ...row,
    status: HOLE.includes(i) ? 'missing' : i === CONFIRMED_EMPTY ? 'confirmed_empty' : 'stored',
  }))
}

for (const kind of pgTargets()) {
  describe(`export on ${kind}`, () => {
    let target: FeederTarget
    let dir: string
    let want: Record<string, unknown>[]
    const range = ['--symbol', 'btcusdt', '--from', iso(0), '--to', iso(N - 1)]
    const env = () => ({ ...target.env, LOG_LEVEL: 'info' })

    before(async () => {
      target = await feederTarget(kind, { migrated: true })
      dir = mkdtempSync(join(tmpdir(), 'feeder-export-'))
      const db = await target.open()
      try {
        await migrate(db)
        await seed(db)
        want = await expected(db, N - 1)
      } finally {
        await db.close()
      }
    })
    after(async () => {
      await target.cleanup()
      rmSync(dir, { recursive: true, force: true })
    })

    it('Parquet, read back by DuckDB, holds every minute exactly as stored (decimals to the last digit)', async () => {
      const file = join(dir, 'btc.parquet')
      const r = await runCli(['export', ...range, '--windows', '60,5', '--out', file], env())
      assert.equal(r.code, 0, r.stderr)
      const con = await (await DuckDBInstance.create(':memory:')).connect()
      const types = await con.runAndReadAll(
        `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '${file}')`,
      )
      const type = new Map(types.getRows().map(([n, t]) => [String(n), String(t)]))
      assert.match(
        type.get('quote_volume') ?? '',
        /^DECIMAL\(2\d,9\)$/,
        'a 21-digit column keeps its 9 decimals',
      )
      assert.match(type.get('open') ?? '', /^DECIMAL\(\d+,8\)$/)
      assert.equal(type.get('open_time'), 'TIMESTAMP WITH TIME ZONE')
      const text = [...DECIMALS, ...QUOTE, 'trades', 'first_trade_id', 'last_trade_id'].map(
        (c) => `${c}::VARCHAR AS ${c}`,
      )
      const read = await con.runAndReadAll(
        `SELECT market, symbol, epoch_us(open_time)::VARCHAR AS open_time, epoch_us(close_time) - epoch_us(open_time) AS span,
                ${text.join(', ')}, spread_bps, taker_buy_ratio, range_bps, source, epoch_us(ingested_at)::VARCHAR AS ingested_at,
                epoch_us(quote_time)::VARCHAR AS quote_time,
                ${[5, 60].flatMap((w) => FEATURES.map((f) => `${f}_${w}`)).join(', ')}, status
           FROM '${file}'`,
      )
      const rows = read.getRowObjectsJS()
      assert.equal(rows.length, N, 'one row per minute, missing ones included')
      for (const [i, got] of rows.entries()) {
        const w = want[i] as Record<string, unknown>
        assert.equal(got.market, 'spot')
        assert.equal(got.symbol, 'BTCUSDT')
        assert.equal(got.open_time, w.open_time, `minute ${i}`)
        assert.equal(got.span, 59_999_000n)
        for (const c of [...DECIMALS, ...QUOTE])
          assert.equal(exact(got[c]), exact(w[c]), `${c} of minute ${i}`)
        for (const c of [
          'trades',
          'first_trade_id',
          'last_trade_id',
          'source',
          'ingested_at',
          'quote_time',
          'status',
        ])
          assert.equal(got[c] ?? null, w[c] ?? null, `${c} of minute ${i}`)
        for (const c of [
          'spread_bps',
          'taker_buy_ratio',
          'range_bps',
          ...[5, 60].flatMap((x) => FEATURES.map((f) => `${f}_${x}`)),
        ])
          assert.equal(got[c] ?? null, w[c] ?? null, `${c} of minute ${i}`)
      }
      assert.deepEqual(
        rows.flatMap((r, i) => (r.status === 'missing' ? [i] : [])),
        HOLE,
      )
      const empty = rows[EMPTY_MINUTE] as Record<string, unknown>
      assert.deepEqual([empty.trades, empty.first_trade_id, empty.last_trade_id], ['0', null, null])
    })

    it('CSV holds the decimal text as stored; --out - writes the same bytes to stdout', async () => {
      const file = join(dir, 'btc.csv')
      const r = await runCli(['export', ...range, '--windows', '5,60', '--out', file], env())
      assert.equal(r.code, 0, r.stderr)
      const body = readFileSync(file, 'utf8')
      const [header, ...lines] = body.trimEnd().split('\n')
      const names = (header as string).split(',')
      assert.equal(lines.length, N)
      for (const [i, line] of lines.entries()) {
        const got = Object.fromEntries(line.split(',').map((v, k) => [names[k], v === '' ? null : v]))
        const w = want[i] as Record<string, unknown>
        assert.equal(Date.parse(got.open_time as string) * 1000, Number(w.open_time))
        for (const c of [
          ...DECIMALS,
          ...QUOTE,
          'trades',
          'first_trade_id',
          'last_trade_id',
          'source',
          'status',
        ])
          assert.equal(got[c], w[c] ?? null, `${c} of minute ${i}`)
        for (const c of ['spread_bps', 'close_zscore_60', 'volume_zscore_5'])
          assert.equal(got[c] === null ? null : Number(got[c]), w[c] ?? null, `${c} of minute ${i}`)
      }
      const piped = await runCli(
        ['export', ...range, '--windows', '5,60', '--format', 'csv', '--out', '-'],
        env(),
      )
      assert.equal(piped.code, 0, piped.stderr)
      assert.equal(piped.stdout, body)
    })

    it('--require-complete exits 3 and writes nothing when a minute is missing; 0 on a complete range', async () => {
      const file = join(dir, 'incomplete.parquet')
      const r = await runCli(['export', ...range, '--require-complete', '--out', file], env())
      assert.equal(r.code, 3, r.stderr)
      assert.match(r.stderr, /3 missing/)
      assert.match(r.stderr, new RegExp(`missing +${iso(40)} … ${iso(42)}`))
      assert.equal(existsSync(file), false)
      const okRange = ['--symbol', 'BTCUSDT', '--from', iso(50), '--to', iso(100), '--require-complete']
      const ok = await runCli(['export', ...okRange, '--out', file], env())
      assert.equal(ok.code, 0, ok.stderr)
      assert.equal(existsSync(file), true)
    })

    it('a failing export leaves no file and no temporary file', async () => {
      const sub = mkdtempSync(join(dir, 'fail-'))
      const r = await runCli(
        [
          'export',
          '--symbol',
          'NANUSDT',
          '--from',
          iso(0),
          '--to',
          iso(59),
          '--out',
          join(sub, 'nan.parquet'),
        ],
        env(),
      )
      assert.equal(r.code, 1)
      assert.match(r.stderr, /EXPORT_VALUE: not a finite decimal: "NaN"/)
      assert.deepEqual(readdirSync(sub), [])
    })

    it('SIGINT stops an export midway and removes its temporary file', async () => {
      const sub = mkdtempSync(join(dir, 'int-'))
      // A year of minutes (almost all missing): long enough to be interrupted while writing.
      const p = startCli(
        [
          'export',
          '--symbol',
          'BTCUSDT',
          '--from',
          '2024-01-01',
          '--to',
          '2024-12-31T23:59Z',
          '--out',
          join(sub, 'year.csv'),
        ],
        env(),
      )
      await until('the temporary file', () => readdirSync(sub).some((f) => f.endsWith('.partial')), 60_000)
      p.child.kill('SIGINT')
      assert.equal(await p.exited, 1, p.stderr())
      assert.match(p.stderr(), /EXPORT_INTERRUPTED/)
      assert.deepEqual(readdirSync(sub), [])
    })

    it('bad arguments exit 2 with one line', async () => {
      const cases: [string[], RegExp][] = [
        [[...range, '--format', 'xlsx'], /--format: "xlsx" is not a format/],
        [['--symbol', 'BTCUSDT', '--from', iso(10), '--to', iso(0)], /--from is after --to/],
        [[...range, '--windows', '60,1'], /--windows: "1" is not a window/],
        [['--symbol', 'BTCUSDT', '--from', iso(0)], /export needs --to/],
        [['--symbol', 'NOPEUSDT', '--from', iso(0), '--to', iso(5)], /no candle of spot NOPEUSDT is stored/],
      ]
      for (const [args, message] of cases) {
        const r = await runCli(['export', ...args, '--out', join(dir, 'bad.parquet')], env())
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
        assert.match(r.stderr.split('\n')[0] as string, message)
      }
      assert.equal(existsSync(join(dir, 'bad.parquet')), false)
    })
  })
}
