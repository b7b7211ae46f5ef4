/**
 * Symbols per process: the real CLI (real PostgreSQL) fed by a simulator in
 * its own process (its CPU is not counted) with 100, 500 and 1 000 symbols,
 * each a kline stream (update every 2 s) and a bookTicker stream (every 1 s);
 * then 500 spot + 500 USD-M symbols in one process (USD-M klines every 250 ms
 * on /market, books on /public).
 * CPU share of one core from /proc/<pid>/stat over 10-s windows for a minute
 * after a warm-up; lag from the feeder's own metrics.
 */
import { benchDatabase } from './bench-db.ts'
import {
  bucketQuantile,
  buckets,
  cpuSeconds,
  metric,
  rssMb,
  scrape,
  sleep,
  startFeeder,
  startSimProcess,
  universe,
} from './proc.ts'
import { fmt, fmtSample, type Row, summarize } from './stats.ts'

const LATENCY = 'feeder_pipeline_latency_seconds'

async function sizeRun(n: number, quick: boolean, usdm = 0): Promise<Row> {
  const windowMs = quick ? 2_000 : 10_000
  const windows = quick ? 2 : 6
  const bench = await benchDatabase()
  const sim = await startSimProcess({ symbols: n, usdm })
  try {
    const feeder = await startFeeder({
      DATABASE_URL: bench.url,
      TRADING_SYMBOLS: [...universe(n), ...universe(usdm).map((s) => `usdm:${s}`)].join(','),
      BINANCE_STREAM_URL: sim.wsBase,
      BINANCE_REST_URL: sim.httpBase,
      BINANCE_USDM_STREAM_URL: sim.usdmBase,
      BINANCE_USDM_REST_URL: sim.httpBase,
    })
    try {
      await sleep(quick ? 2_000 : 15_000)
      const before = await scrape(feeder.port)
      const frames0 = metric(before, 'feeder_ws_frames_received_total').reduce((a, b) => a + b, 0)
      const t0 = Date.now()
      const cpu: number[] = []
      const lag: number[] = []
      for (let i = 0; i < windows; i++) {
        const c0 = cpuSeconds(feeder.pid)
        const w0 = Date.now()
        await sleep(windowMs)
        cpu.push(((cpuSeconds(feeder.pid) - c0) / ((Date.now() - w0) / 1000)) * 100)
        lag.push(Math.max(0, ...metric(await scrape(feeder.port), 'feeder_event_loop_lag_seconds')) * 1000)
      }
      const after = await scrape(feeder.port)
      const secs = (Date.now() - t0) / 1000
      const frames = metric(after, 'feeder_ws_frames_received_total').reduce((a, b) => a + b, 0) - frames0
      const ages = metric(after, 'feeder_last_candle_age_seconds')
      const fresh = ages.filter((a) => a <= 61).length
      const p99 = bucketQuantile(buckets(before, LATENCY), buckets(after, LATENCY), 0.99)
      const candles =
        ages.length === 0
          ? 'no minute closed in the window'
          : `${fresh}/${n + usdm} symbols with a candle ≤ 61 s old (max age ${fmt(Math.max(...ages), 1)} s)`
      const c = summarize(cpu)
      const what = usdm > 0 ? `${fmt(n)} spot + ${fmt(usdm)} USD-M symbols` : `${fmt(n)} symbols`
      return {
        metric: `symbols per process: ${what} (${fmt(2 * (n + usdm))} streams), ${fmt(frames / secs)} frames/s, CPU share of one core over ${windows} × ${windowMs / 1000} s`,
        ours: `${fmtSample(c, '%', 1)}; RSS ${fmt(rssMb(feeder.pid), 1)} MB`,
        baseline: `lag: pipeline p99 ≤ ${Number.isNaN(p99) ? '—' : `${fmt(p99 * 1000)} ms`} (bucket bound), event-loop p99 ≤ ${fmt(Math.max(...lag), 1)} ms, ${candles}`,
        ratio: '—',
        goal:
          usdm > 0
            ? '500 spot + 500 USD-M at < 5 % of a core, every symbol fresh'
            : '≥ 500 symbols at < 50 % of a core',
        command: 'npm run bench -- symbols',
      }
    } finally {
      await feeder.close()
    }
  } finally {
    await sim.close()
    await bench.drop()
  }
}

export async function runSymbolsBench({ quick }: { quick: boolean }): Promise<Row[]> {
  const rows: Row[] = []
  for (const n of quick ? [20] : [100, 500, 1_000]) rows.push(await sizeRun(n, quick))
  rows.push(quick ? await sizeRun(10, quick, 10) : await sizeRun(500, quick, 500))
  return rows
}
