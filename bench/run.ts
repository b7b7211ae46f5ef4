/**
 * `npm run bench [-- --quick] [--all] [names…]`: every benchmark, each next to
 * its baseline measured in the same run, printed as a markdown table for
 * docs/PERFORMANCE.md. `--quick` runs the same code on tiny sizes (CI keeps
 * the benchmarks working with it; it asserts nothing about speed). The 30-min
 * soak runs only when named or with `--all`.
 */

import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { runBackfillLagBench } from './backfill-lag.ts'
import { serverVersion } from './bench-db.ts'
import { runBulkBench } from './bulk-upsert.ts'
import { runCoverageBench } from './coverage.ts'
import { runExportBench } from './export.ts'
import { runFeatureLatencyBench } from './feature-latency.ts'
import { runFeatureRows } from './feature-rows.ts'
import { runFrameBench } from './frames.ts'
import { runLatencyBench } from './latency.ts'
import { runPeerBench } from './peer.ts'
import { REPO } from './proc.ts'
import { runIdleRssBench } from './rss.ts'
import { runSoakBench } from './soak.ts'
import { machine, type Row, table } from './stats.ts'
import { runSymbolsBench } from './symbols.ts'
import { runTimescaleBench } from './timescale.ts'

type Bench = (o: { quick: boolean }) => Promise<Row[]>

const BENCHES: Record<string, Bench> = {
  frames: runFrameBench,
  peer: runPeerBench,
  latency: runLatencyBench,
  features: runFeatureRows,
  'feature-latency': runFeatureLatencyBench,
  rss: runIdleRssBench,
  symbols: runSymbolsBench,
  bulk: runBulkBench,
  soak: runSoakBench,
  backfill: runBackfillLagBench,
  timescale: runTimescaleBench,
  coverage: runCoverageBench,
  export: runExportBench,
}
/** Too long for the default set. */
const OPT_IN = new Set(['soak'])

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const all = args.includes('--all')
const names = args.filter((a) => !a.startsWith('--'))
const unknown = names.filter((n) => !(n in BENCHES))
if (unknown.length > 0) {
  process.stderr.write(
    `unknown benchmark: ${unknown.join(', ')} (known: ${Object.keys(BENCHES).join(', ')})\n`,
  )
  process.exit(2)
}
// The spawned CLI runs dist/ when it matches src/: build it, so every bench measures the code as it is.
// BENCH_NO_BUILD=1 measures dist/ as it is (e.g. while other processes run from it).
if (process.env.BENCH_NO_BUILD !== '1') {
  const built = spawnSync(process.execPath, [join(REPO, 'scripts/build.mjs')], { encoding: 'utf8' })
  if (built.status !== 0) {
    process.stderr.write(`build failed: ${built.stderr}\n`)
    process.exit(1)
  }
}
const rows: Row[] = []
for (const [name, run] of Object.entries(BENCHES)) {
  if (names.length > 0 ? !names.includes(name) : OPT_IN.has(name) && !all) continue
  process.stderr.write(`running ${name}${quick ? ' (quick)' : ''}…\n`)
  const t0 = Date.now()
  rows.push(...(await run({ quick })))
  process.stderr.write(`  ${name} took ${Math.round((Date.now() - t0) / 1000)} s\n`)
}
process.stdout.write(
  `Machine: ${machine()}, PostgreSQL ${await serverVersion()}${quick ? ' — QUICK RUN, sizes too small to mean anything' : ''}\n\n`,
)
process.stdout.write(`${table(rows)}\n`)
