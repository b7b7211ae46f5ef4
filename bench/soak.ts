/**
 * RSS over a long run: the real CLI against a simulator in its own process and
 * a real PostgreSQL, two feeders side by side — 100 symbols, and 4 symbols as
 * configured by default (the start-up backfill of a day each). Samples VmRSS
 * and fits a line: a leak shows as a slope. 30 min (`--quick`: 20 s). Not in
 * the default set: `npm run bench -- soak`.
 */
import { benchDatabase } from './bench-db.ts'
import {
  type Child,
  cpuSeconds,
  metric,
  rssMb,
  scrape,
  sleep,
  slope,
  startFeeder,
  startSimProcess,
  universe,
} from './proc.ts'
import { fmt, fmtSample, type Row, summarize } from './stats.ts'

const SYMBOLS = 100
const DEFAULT_SYMBOLS = 4

interface Soaked {
  readonly what: string
  readonly feeder: Child & { port: number }
  readonly xs: number[]
  readonly ys: number[]
}

export async function runSoakBench({ quick }: { quick: boolean }): Promise<Row[]> {
  const durationMs = quick ? 20_000 : 30 * 60_000
  const everyMs = quick ? 2_000 : 30_000
  const warmupMs = quick ? 4_000 : 3 * 60_000
  const bench = await benchDatabase()
  const fresh = await benchDatabase()
  const sim = await startSimProcess({ symbols: SYMBOLS })
  const soaked: Soaked[] = []
  try {
    const env = { BINANCE_STREAM_URL: sim.wsBase, BINANCE_REST_URL: sim.httpBase }
    const many = await startFeeder({
      ...env,
      DATABASE_URL: bench.url,
      TRADING_SYMBOLS: universe(SYMBOLS).join(','),
    })
    soaked.push({ what: `${SYMBOLS} symbols (kline + bookTicker)`, feeder: many, xs: [], ys: [] })
    const defaults = await startFeeder({
      ...env,
      DATABASE_URL: fresh.url,
      TRADING_SYMBOLS: universe(DEFAULT_SYMBOLS).join(','),
      BACKFILL_ENABLED: 'true',
      INITIAL_BACKFILL_MINUTES: '1440',
    })
    soaked.push({
      what: `${DEFAULT_SYMBOLS} symbols as configured by default (start-up backfill of 1 440 minutes each)`,
      feeder: defaults,
      xs: [],
      ys: [],
    })
    const t0 = Date.now()
    const cpu0 = soaked.map((s) => cpuSeconds(s.feeder.pid))
    while (Date.now() - t0 < durationMs) {
      await sleep(everyMs)
      const t = Date.now() - t0
      const rss = soaked.map((s) => rssMb(s.feeder.pid))
      if (!quick)
        process.stderr.write(
          `  soak t=${Math.round(t / 1000)} s rss=${rss.map((r) => fmt(r, 1)).join(' / ')} MB\n`,
        )
      if (t < warmupMs) continue
      soaked.forEach((s, i) => {
        s.xs.push(t / 600_000)
        s.ys.push(rss[i] as number)
      })
    }
    const seconds = (Date.now() - t0) / 1000
    const rows: Row[] = []
    for (const [i, s] of soaked.entries()) {
      const cpu = (cpuSeconds(s.feeder.pid) - (cpu0[i] as number)) / seconds
      const page = await scrape(s.feeder.port)
      const written = metric(page, 'feeder_db_candles_written_total')[0] ?? 0
      const sum = summarize(s.ys)
      // A leak grows linearly; a heap settling to its size decelerates: compare the last third.
      const k = Math.floor((s.xs.length * 2) / 3)
      const late = slope(s.xs.slice(k), s.ys.slice(k))
      const mins = fmt(durationMs / 60_000, quick ? 1 : 0)
      rows.push({
        metric: `RSS over ${mins} min, ${s.what}, real PostgreSQL, after ${fmt(warmupMs / 60_000, 1)} min warm-up`,
        ours: `${fmtSample(sum, 'MB', 1)}; slope ${fmt(slope(s.xs, s.ys), 2)} MB/10 min, last third ${fmt(late, 2)} MB/10 min (${fmt(s.ys[0] ?? 0, 1)} → ${fmt(s.ys.at(-1) ?? 0, 1)} MB)`,
        baseline: `CPU ${fmt(cpu * 100, 1)} % of a core; ${fmt(written)} candles written`,
        ratio: '—',
        goal: 'flat: no growth trend (last-third slope ≈ 0)',
        command: `npm run bench -- soak${quick ? ' --quick' : ''}`,
      })
    }
    return rows
  } finally {
    await Promise.all(soaked.map((s) => s.feeder.close()))
    await sim.close()
    await bench.drop()
    await fresh.drop()
  }
}
