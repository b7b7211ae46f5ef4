/**
 * Idle RSS with a real PostgreSQL: the real CLI (4 symbols from a simulator in
 * its own process) after 5 min (`--quick`: 10 s), sampled from
 * /proc/<pid>/status VmRSS beside baselines running at the same time — a bare
 * `node` timer, and node importing only the runtime libraries. The CLI runs
 * twice side by side: from dist/ (what `npm ci` builds and `npm start` runs)
 * and from the TypeScript sources through tsx (what runs after an edit). Then two
 * short probe runs with bench/module-probe.mjs record every module resolved:
 * PGlite must be absent with DATABASE_URL, and present in the control run
 * with the embedded database (so the probe is shown to see it).
 */
import { readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { benchDatabase } from './bench-db.ts'
import { type Child, REPO, rssMb, sleep, startFeeder, startNode, startSimProcess, universe } from './proc.ts'
import { fmt, fmtSample, type Row, summarize } from './stats.ts'

const IMPORTS = `for (const m of ['ws', 'pg', 'pino', 'prom-client', 'zod']) await import(m);
setInterval(() => {}, 1000)`
const WITH_TSX = `import { register } from 'tsx/esm/api'; register();\n${IMPORTS}`

async function probe(env: Record<string, string>): Promise<number> {
  const file = join(tmpdir(), `df-modules-${process.pid}-${Date.now()}.log`)
  const f = await startFeeder({ ...env, DF_MODULE_LOG: file }, [
    '--import',
    resolve(REPO, 'bench/module-probe.mjs'),
  ])
  await sleep(2_000)
  await f.close()
  const urls = new Set(readFileSync(file, 'utf8').split('\n'))
  rmSync(file, { force: true })
  if (urls.size < 20) throw new Error('module probe recorded nothing')
  return [...urls].filter((u) => u.includes('@electric-sql/pglite')).length
}

export async function runIdleRssBench({ quick }: { quick: boolean }): Promise<Row[]> {
  const waitMs = quick ? 10_000 : 5 * 60_000
  const sampleMs = quick ? 1_000 : 10_000
  const samples = 6
  const bench = await benchDatabase()
  // The default start (INITIAL_BACKFILL_MINUTES=1440 from REST) needs a database with no candles yet.
  const fresh = await benchDatabase()
  const sim = await startSimProcess({ symbols: 4 })
  const env = {
    TRADING_SYMBOLS: universe(4).join(','),
    BINANCE_STREAM_URL: sim.wsBase,
    BINANCE_REST_URL: sim.httpBase,
  }
  try {
    // Started one after another: one that fails to start must not leave the others running.
    const started: Child[] = []
    const track = async <C extends Child>(p: Promise<C>): Promise<C> => {
      const c = await p.catch(async (e: unknown) => {
        await Promise.all(started.map((x) => x.close()))
        throw e
      })
      started.push(c)
      return c
    }
    const feeder = await track(startFeeder({ ...env, DATABASE_URL: bench.url }))
    const fromSource = await track(
      startFeeder({ ...env, DATABASE_URL: bench.url, DATA_FEEDER_FROM_SOURCE: '1' }),
    )
    // As configured by default: the day of history fetched at start, then live.
    const defaults = { BACKFILL_ENABLED: 'true', INITIAL_BACKFILL_MINUTES: '1440' }
    const withBackfill = await track(startFeeder({ ...env, ...defaults, DATABASE_URL: fresh.url }))
    const bare = startNode(['-e', 'setInterval(() => {}, 1000)'])
    const libs = startNode(['--input-type=module', '-e', IMPORTS])
    const libsTsx = startNode(['--input-type=module', '-e', WITH_TSX])
    const procs = { feeder, fromSource, withBackfill, bare, libs, libsTsx }
    const r = {
      feeder: [],
      fromSource: [],
      withBackfill: [],
      bare: [],
      libs: [],
      libsTsx: [],
    } as Record<keyof typeof procs, number[]>
    try {
      await sleep(waitMs - samples * sampleMs)
      for (let i = 0; i < samples; i++) {
        await sleep(sampleMs)
        for (const [k, p] of Object.entries(procs)) r[k as keyof typeof procs].push(rssMb(p.pid))
      }
    } finally {
      await Promise.all(Object.values(procs).map((p) => p.close()))
    }
    const withPg = await probe({ ...env, DATABASE_URL: bench.url })
    const control = await probe(env) // no DATABASE_URL: the embedded database in a temp DATA_DIR
    const f = summarize(r.feeder)
    const l = summarize(r.libs)
    const src = summarize(r.fromSource)
    return [
      {
        metric: `idle RSS after ${fmt(waitMs / 60_000, quick ? 2 : 0)} min, real PostgreSQL, 4 symbols (kline + bookTicker), start-up backfill off; ${samples} samples over the last ${fmt((samples * sampleMs) / 1000)} s`,
        ours: `dist/ ${fmtSample(f, 'MB', 1)} (from sources via tsx: ${fmtSample(src, 'MB', 1)}); PGlite modules loaded: ${withPg} (control run with the embedded DB: ${control})`,
        baseline: `node + ws/pg/pino/prom-client/zod ${fmtSample(l, 'MB', 1)}; the same + tsx register ${fmtSample(summarize(r.libsTsx), 'MB', 1)}; bare node ${fmtSample(summarize(r.bare), 'MB', 1)}`,
        ratio: `${f.median >= l.median ? '+' : '−'}${fmt(Math.abs(f.median - l.median), 1)} MB vs libraries`,
        goal: '≤ 75 MB, PGlite never loaded',
        command: 'npm run bench -- rss',
      },
      {
        metric: `idle RSS after ${fmt(waitMs / 60_000, quick ? 2 : 0)} min as configured by default: the same 4 symbols after the start-up backfill of 1 440 minutes each from REST (BACKFILL_ENABLED=true, INITIAL_BACKFILL_MINUTES=1440); same samples`,
        ours: `dist/ ${fmtSample(summarize(r.withBackfill), 'MB', 1)}`,
        baseline: `node + ws/pg/pino/prom-client/zod ${fmtSample(l, 'MB', 1)}`,
        ratio: `+${fmt(summarize(r.withBackfill).median - l.median, 1)} MB vs libraries`,
        goal: '≤ 75 MB',
        command: 'npm run bench -- rss',
      },
    ]
  } finally {
    await sim.close()
    await bench.drop()
    await fresh.drop()
  }
}
