/**
 * A measured alternative Parquet route, not the one the CLI takes: `data-feeder export
 * --format csv` to a file, then DuckDB (`bench/duck-conv.mjs`, its own process) converts
 * that CSV to Parquet with explicit column types (DECIMAL(p,s) from the export's own
 * decimal shape pass). Beside it in the same run: `psql \copy` and the CLI's Parquet route.
 * `node --import tsx bench/export-duckdb.ts [minutes=1000000] [repetitions=3]`; one JSON
 * line per repetition. Figures: docs/PERFORMANCE.md, "Parquet through DuckDB".
 */
import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { decimalPrecision, decimalShapes, exportColumns } from '../src/store/export-queries.ts'
import { benchDatabase } from './bench-db.ts'
import { BASELINE_SELECT, exportArgs, measure, seed, T0 } from './export.ts'
import { tempDir } from './proc.ts'

const n = Number(process.argv[2] ?? 1_000_000)
const reps = Number(process.argv[3] ?? 3)
const DUCK_TYPE = {
  text: 'VARCHAR',
  time: 'TIMESTAMPTZ',
  int64: 'BIGINT',
  int32: 'INTEGER',
  double: 'DOUBLE',
}

const bench = await benchDatabase()
const dir = tempDir()
try {
  await seed(bench.db, n)
  const to = T0 + (n - 1) * 60_000
  const cols = exportColumns([60], true)
  const t0 = performance.now()
  const shapes = await decimalShapes(bench.db, cols, 'spot', 'BTCUSDT', T0, to)
  const shapesS = (performance.now() - t0) / 1000
  const types = cols.map((c) => {
    if (c.kind !== 'decimal') return [c.name, DUCK_TYPE[c.kind]]
    const s = shapes.get(c.name) ?? { intDigits: 1, scale: 0 }
    return [c.name, `DECIMAL(${Math.max(decimalPrecision(s), s.scale)},${s.scale})`]
  })
  const cli = (format: string, out: string) => exportArgs(format, to, out)
  const env = { DATABASE_URL: bench.url, DATA_DIR: dir, LOG_LEVEL: 'warn' }
  const rate = (s: number) => Math.round(n / s)
  for (let i = 0; i < reps; i++) {
    const tc = performance.now()
    const copyTo = `TO '${join(dir, 'copy.csv')}' WITH (FORMAT csv, HEADER)`
    const r = spawnSync('psql', [
      bench.url,
      '-v',
      'ON_ERROR_STOP=1',
      '-qc',
      `\\copy (${BASELINE_SELECT.replace(/\s+/g, ' ')}) ${copyTo}`,
    ])
    if (r.status !== 0) throw new Error(`psql \\copy failed: ${r.stderr}`)
    const copyS = (performance.now() - tc) / 1000
    const csvFile = join(dir, 'out.csv')
    // The shape pass again, on its own connection while the CSV is written (what a route in
    // the CLI could do): the pair's wall time.
    const tp = performance.now()
    const [csv] = await Promise.all([
      measure(process.execPath, cli('csv', csvFile), env),
      decimalShapes(bench.db, cols, 'spot', 'BTCUSDT', T0, to),
    ])
    const pairS = (performance.now() - tp) / 1000
    const conv = await measure(
      process.execPath,
      ['bench/duck-conv.mjs', csvFile, join(dir, 'duck.parquet'), JSON.stringify(types), '{}'],
      {},
    )
    const pq = await measure(process.execPath, cli('parquet', join(dir, 'out.parquet')), env)
    const routeS = shapesS + csv.s + conv.s
    const pct = (s: number) => Math.round((copyS / s) * 100)
    console.log(
      JSON.stringify({
        load: readFileSync('/proc/loadavg', 'utf8').trim(),
        copy: { s: copyS, rowsPerS: rate(copyS) },
        csv: { s: csv.s, rowsPerS: rate(csv.s), pct: pct(csv.s), rssMb: Math.round(csv.rssMb) },
        duckConversion: { s: conv.s, rssMb: Math.round(conv.rssMb), inner: conv.stderr.trim() },
        duckRoute: {
          s: routeS,
          rowsPerS: rate(routeS),
          pct: pct(routeS),
          shapesS,
          parquetBytes: statSync(join(dir, 'duck.parquet')).size,
          csvBytes: statSync(csvFile).size,
        },
        overlappedRoute: { s: pairS + conv.s, rowsPerS: rate(pairS + conv.s), pct: pct(pairS + conv.s) },
        parquetNow: {
          s: pq.s,
          rowsPerS: rate(pq.s),
          pct: pct(pq.s),
          rssMb: Math.round(pq.rssMb),
          bytes: statSync(join(dir, 'out.parquet')).size,
        },
      }),
    )
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
  await bench.drop()
}
