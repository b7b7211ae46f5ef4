/**
 * The first start, as a new user meets it: the real CLI with the start-up backfill of a
 * day (INITIAL_BACKFILL_MINUTES=1440) for 10 symbols from a simulator in its own process,
 * on the embedded database (empty DATA_DIR: creation, migration, backfill, feature
 * warm-up) and, in the same run, on a real PostgreSQL (fresh database). Measured from
 * the feeder's own /metrics, scraped every 250 ms from its spawn until the backfill is
 * done: the event-loop delay maximum (prom-client's, reset at each scrape, so the
 * maximum over scrapes is the maximum over the run) and the p99 of each scrape interval
 * (10 ms resolution); the slowest of those scrapes (an HTTP answer); then VmRSS after the
 * backfill (median of 6 samples over 30 s, `--quick`: 3 s).
 */
import { benchDatabase } from './bench-db.ts'
import { metric, rssMb, scrape, sleep, startFeeder, startSimProcess, universe } from './proc.ts'
import { fmt, type Row, summarize } from './stats.ts'

const SYMBOLS = 10

interface Run {
  lagMaxMs: number
  p99s: number[]
  slowestScrapeMs: number
  seconds: number
  rss: number[]
  candles: number
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
    }
  } finally {
    await feeder.close()
  }
}

function describe(r: Run): string {
  const p = summarize(r.p99s)
  return `lag max ${fmt(r.lagMaxMs, 1)} ms; p99 per 250-ms scrape: worst ${fmt(p.max, 1)} ms, median ${fmt(p.median, 1)} ms (n=${p.runs}); slowest /metrics answer ${fmt(r.slowestScrapeMs)} ms; ${fmt(r.candles)} candles in ${fmt(r.seconds, 1)} s`
}

export async function runBackfillLagBench({ quick }: { quick: boolean }): Promise<Row[]> {
  const minutes = quick ? 60 : 1440
  const sim = await startSimProcess({ symbols: SYMBOLS })
  const fresh = await benchDatabase()
  try {
    const env = {
      TRADING_SYMBOLS: universe(SYMBOLS).join(','),
      BINANCE_STREAM_URL: sim.wsBase,
      BINANCE_REST_URL: sim.httpBase,
    }
    const embedded = await firstStart(env, minutes, quick)
    const server = await firstStart({ ...env, DATABASE_URL: fresh.url }, minutes, quick)
    const rssE = summarize(embedded.rss)
    const rssS = summarize(server.rss)
    const what = `first start, ${SYMBOLS} symbols, start-up backfill of ${fmt(minutes)} minutes each (empty DATA_DIR / fresh database)`
    return [
      {
        metric: `event-loop delay from spawn to the end of the backfill, ${what}`,
        ours: `embedded: ${describe(embedded)}`,
        baseline: `real PostgreSQL: ${describe(server)}`,
        ratio: `max ${fmt(embedded.lagMaxMs / server.lagMaxMs, 1)}×`,
        goal: 'embedded: never > 100 ms',
        command: 'npm run bench -- backfill',
      },
      {
        metric: `RSS after the backfill, ${what}; 6 samples over ${quick ? 3 : 30} s`,
        ours: `embedded: ${fmt(rssE.median, 1)} MB (${fmt(rssE.min, 1)}–${fmt(rssE.max, 1)}, n=${rssE.runs})`,
        baseline: `real PostgreSQL: ${fmt(rssS.median, 1)} MB (${fmt(rssS.min, 1)}–${fmt(rssS.max, 1)}, n=${rssS.runs})`,
        ratio: `+${fmt(rssE.median - rssS.median, 1)} MB`,
        goal: 'embedded: ≤ 200 MB',
        command: 'npm run bench -- backfill',
      },
    ]
  } finally {
    await sim.close()
    await fresh.drop()
  }
}
