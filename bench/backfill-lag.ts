/**
 * The first start, as a new user meets it: the real CLI with the start-up backfill of a
 * day (INITIAL_BACKFILL_MINUTES=1440) for 10 symbols from a simulator in its own process,
 * on the embedded database (empty DATA_DIR: creation, migration, backfill, feature
 * warm-up) and, alternating with it, on a real PostgreSQL (a new migrated database). Measured from
 * the feeder's own /metrics, scraped every 250 ms from its spawn until the backfill is
 * done: the event-loop delay maximum (prom-client's, reset at each scrape, so the
 * maximum over scrapes is the maximum over the run) and the p99 of each scrape interval
 * (10 ms resolution); the slowest of those scrapes (an HTTP answer); then VmRSS after the
 * backfill (median of 6 samples over 30 s, `--quick`: 3 s).
 */
import { benchDatabase } from './bench-db.ts'
import {
  metric,
  rssMb,
  scrape,
  sleep,
  startFeeder,
  startLagControl,
  startSimProcess,
  universe,
} from './proc.ts'
import { fmt, fmtSample, type Row, type Sample, summarize } from './stats.ts'

const SYMBOLS = 10

interface Run {
  lagMaxMs: number
  p99s: number[]
  slowestScrapeMs: number
  seconds: number
  rss: number[]
  candles: number
  /** The idle control process's own event-loop delay over the same window. */
  control: { maxMs: number; p99Ms: number }
}

async function firstStart(env: Record<string, string>, minutes: number, quick: boolean): Promise<Run> {
  const lagMax: number[] = []
  const p99s: number[] = []
  let slowest = 0
  const seen = (page: string, ms: number) => {
    slowest = Math.max(slowest, ms)
    lagMax.push(...metric(page, 'feeder_nodejs_eventloop_lag_max_seconds'))
    p99s.push(...metric(page, 'feeder_event_loop_lag_seconds'))
  }
  const t0 = Date.now()
  const control = startLagControl()
  const feeder = await startFeeder(
    { ...env, BACKFILL_ENABLED: 'true', INITIAL_BACKFILL_MINUTES: String(minutes) },
    [],
    seen,
  )
  try {
    const expected = SYMBOLS * (minutes - 2)
    const deadline = Date.now() + (quick ? 120_000 : 600_000)
    let candles = 0
    for (;;) {
      const t = performance.now()
      const page = await scrape(feeder.port)
      seen(page, performance.now() - t)
      candles = metric(page, 'feeder_backfill_candles_total').reduce((a, b) => a + b, 0)
      const pending = metric(page, 'feeder_backfill_pending_jobs')[0] ?? 1
      if (pending === 0 && candles >= expected) break
      if (Date.now() > deadline)
        throw new Error(`backfill not done: ${candles}/${expected} candles, ${pending} jobs`)
      await sleep(250)
    }
    const seconds = (Date.now() - t0) / 1000
    const controlLag = await control.stop()
    const rss: number[] = []
    for (let i = 0; i < 6; i++) {
      await sleep(quick ? 500 : 5_000)
      const t = performance.now()
      seen(await scrape(feeder.port), performance.now() - t)
      rss.push(rssMb(feeder.pid))
    }
    return {
      lagMaxMs: Math.max(...lagMax) * 1000,
      p99s: p99s.map((s) => s * 1000),
      slowestScrapeMs: slowest,
      seconds,
      rss,
      candles,
      control: controlLag,
    }
  } finally {
    await control.stop().catch(() => {})
    await feeder.close()
  }
}

function describe(runs: readonly Run[]): string {
  const max = summarize(runs.map((r) => r.lagMaxMs))
  const p99 = summarize(runs.map((r) => Math.max(...r.p99s)))
  const secs = summarize(runs.map((r) => r.seconds))
  const slowest = Math.max(...runs.map((r) => r.slowestScrapeMs))
  const cMax = summarize(runs.map((r) => r.control.maxMs))
  const cP99 = summarize(runs.map((r) => r.control.p99Ms))
  const typical = summarize(runs.map((r) => summarize(r.p99s).median))
  return `lag max ${fmtSample(max, 'ms', 1)}; p99 per 250-ms scrape interval: worst ${fmtSample(p99, 'ms', 1)}, median ${fmtSample(typical, 'ms', 1)}; slowest /metrics answer ${fmt(slowest)} ms; ${fmt(runs[0]?.candles ?? 0)} candles, spawn to done ${fmtSample(secs, 's', 1)}; idle control process in the same windows: max ${fmtSample(cMax, 'ms', 1)}, p99 ${fmtSample(cP99, 'ms', 1)}`
}

function rssOf(runs: readonly Run[]): Sample {
  return summarize(runs.map((r) => summarize(r.rss).median))
}

export async function runBackfillLagBench({ quick }: { quick: boolean }): Promise<Row[]> {
  const minutes = quick ? 60 : 1440
  const runs = quick ? 1 : 3
  const sim = await startSimProcess({ symbols: SYMBOLS })
  try {
    const env = {
      TRADING_SYMBOLS: universe(SYMBOLS).join(','),
      BINANCE_STREAM_URL: sim.wsBase,
      BINANCE_REST_URL: sim.httpBase,
    }
    const embedded: Run[] = []
    const server: Run[] = []
    for (let i = 0; i < runs; i++) {
      embedded.push(await firstStart(env, minutes, quick)) // a new, empty DATA_DIR each time
      const fresh = await benchDatabase()
      try {
        server.push(await firstStart({ ...env, DATABASE_URL: fresh.url }, minutes, quick))
      } finally {
        await fresh.drop()
      }
    }
    const rssE = rssOf(embedded)
    const rssS = rssOf(server)
    const what = `first start, ${SYMBOLS} symbols, start-up backfill of ${fmt(minutes)} minutes each (embedded: empty DATA_DIR; PostgreSQL: new migrated database); ${runs} runs of each, alternating`
    return [
      {
        metric: `event-loop delay from spawn to the end of the backfill, ${what}`,
        ours: `embedded: ${describe(embedded)}`,
        baseline: `real PostgreSQL: ${describe(server)}`,
        ratio: `max ${fmt(summarize(embedded.map((r) => r.lagMaxMs)).median / summarize(server.map((r) => r.lagMaxMs)).median, 1)}×`,
        goal: 'embedded: never > 100 ms',
        command: 'npm run bench -- backfill',
      },
      {
        metric: `RSS after the backfill (median of 6 samples over ${quick ? 3 : 30} s per run), ${what}`,
        ours: `embedded: ${fmtSample(rssE, 'MB', 1)}`,
        baseline: `real PostgreSQL: ${fmtSample(rssS, 'MB', 1)}`,
        ratio: `+${fmt(rssE.median - rssS.median, 1)} MB`,
        goal: 'embedded: ≤ 200 MB',
        command: 'npm run bench -- backfill',
      },
    ]
  } finally {
    await sim.close()
  }
}
