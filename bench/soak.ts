/**
 * RSS over a long run: the real CLI, 100 symbols from a simulator in its own
 * process, a real PostgreSQL. Samples VmRSS and fits a line: a leak shows as a
 * slope. 30 min (`--quick`: 20 s). Not in the default set: `npm run bench -- soak`.
 */
import { benchDatabase } from './bench-db.ts'
import {
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

export async function runSoakBench({ quick }: { quick: boolean }): Promise<Row[]> {
  const durationMs = quick ? 20_000 : 30 * 60_000
  const everyMs = quick ? 2_000 : 30_000
  const warmupMs = quick ? 4_000 : 3 * 60_000
  const bench = await benchDatabase()
  const sim = await startSimProcess({ symbols: SYMBOLS })
  try {
    const feeder = await startFeeder({
      DATABASE_URL: bench.url,
      TRADING_SYMBOLS: universe(SYMBOLS).join(','),
      BINANCE_STREAM_URL: sim.wsBase,
      BINANCE_REST_URL: sim.httpBase,
    })
    const t0 = Date.now()
    const cpu0 = cpuSeconds(feeder.pid)
    const xs: number[] = []
    const ys: number[] = []
    try {
      while (Date.now() - t0 < durationMs) {
        await sleep(everyMs)
        const t = Date.now() - t0
        const rss = rssMb(feeder.pid)
        if (!quick) process.stderr.write(`  soak t=${Math.round(t / 1000)} s rss=${fmt(rss, 1)} MB\n`)
        if (t >= warmupMs) {
          xs.push(t / 600_000)
          ys.push(rss)
        }
      }
      const cpu = (cpuSeconds(feeder.pid) - cpu0) / ((Date.now() - t0) / 1000)
      const page = await scrape(feeder.port)
      const written = metric(page, 'feeder_db_candles_written_total')[0] ?? 0
      const s = summarize(ys)
      // A leak grows linearly; a heap settling to its size decelerates: compare the last third.
      const k = Math.floor((xs.length * 2) / 3)
      const late = slope(xs.slice(k), ys.slice(k))
      const mins = fmt(durationMs / 60_000, quick ? 1 : 0)
      return [
        {
          metric: `RSS over ${mins} min, ${SYMBOLS} symbols (kline + bookTicker), real PostgreSQL, after ${fmt(warmupMs / 60_000, 1)} min warm-up`,
          ours: `${fmtSample(s, 'MB', 1)}; slope ${fmt(slope(xs, ys), 2)} MB/10 min, last third ${fmt(late, 2)} MB/10 min (${fmt(ys[0] ?? 0, 1)} → ${fmt(ys.at(-1) ?? 0, 1)} MB)`,
          baseline: `CPU ${fmt(cpu * 100, 1)} % of a core; ${fmt(written)} candles written`,
          ratio: '—',
          goal: 'flat: no growth trend (last-third slope ≈ 0)',
          command: `npm run bench -- soak${quick ? ' --quick' : ''}`,
        },
      ]
    } finally {
      await feeder.close()
    }
  } finally {
    await sim.close()
    await bench.drop()
  }
}
