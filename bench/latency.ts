/**
 * Pipeline latency, closed kline received → committed in a real PostgreSQL,
 * exact per candle: the app runs in this process (systemClock, default batch
 * settings) and its feeder_pipeline_latency_seconds observe() is wrapped to
 * keep every value. The simulator runs in its own process on a clock 10×
 * faster, with kline/book update intervals scaled back so frames arrive at
 * live rates (a forming kline every 2 s, a bookTicker every 1 s per symbol)
 * and all 100 symbols' closed klines arrive together every 6 s, as they do
 * after each minute on Binance.
 */

import { rmSync } from 'node:fs'
import { Writable } from 'node:stream'
import { createApp } from '../src/app/app.ts'
import { loadConfig } from '../src/config/config.ts'
import { systemClock } from '../src/core/clock.ts'
import { createLogger } from '../src/observability/logger.ts'
import { benchDatabase } from './bench-db.ts'
import { sleep, startSimProcess, tempDir, universe } from './proc.ts'
import { fmt, fmtSample, type Row, summarize } from './stats.ts'

export const SPEED = 10

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN
}

/** The app in this process on a new PostgreSQL database, the simulator 10× fast in its own, at live frame rates. */
export async function liveBenchApp(symbols: number, extra: Record<string, string> = {}) {
  const epoch = Math.floor(Date.now() / 60_000) * 60_000 - 86_400_000 - 2_000
  const sim = await startSimProcess({
    symbols,
    speed: SPEED,
    epoch,
    klineUpdateMs: 2_000 * SPEED,
    bookUpdateMs: 1_000 * SPEED,
  })
  const bench = await benchDatabase()
  const dataDir = tempDir()
  const sink = new Writable({ write: (_c, _e, cb) => cb() })
  const config = loadConfig({
    DATABASE_URL: bench.url,
    TRADING_SYMBOLS: universe(symbols).join(','),
    BINANCE_STREAM_URL: sim.wsBase,
    BINANCE_REST_URL: sim.httpBase,
    BACKFILL_ENABLED: 'false',
    INITIAL_BACKFILL_MINUTES: '0',
    HEALTH_CHECK_HOST: '127.0.0.1',
    HEALTH_CHECK_PORT: '0',
    DATA_DIR: dataDir,
    ...extra,
  })
  const app = createApp({
    config,
    clock: systemClock,
    logger: createLogger({ level: 'warn', format: 'json', destination: sink }),
  })
  return {
    app,
    db: bench.db,
    async close() {
      await app.stop('bench end')
      await sim.close()
      await bench.drop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

async function latencyRun(
  symbols: number,
  seconds: number,
  extra: Record<string, string>,
): Promise<{ ms: number[]; writes: number[] }> {
  const { app, close } = await liveBenchApp(symbols, extra)
  const ms: number[] = []
  const writes: number[] = []
  let recording = false
  const w = app.metrics.dbWriteSeconds
  const observeWrite = w.observe.bind(w)
  w.observe = ((v: number) => {
    if (recording) writes.push(v * 1000)
    observeWrite(v)
  }) as typeof w.observe
  const h = app.metrics.pipelineSeconds
  const observe = h.observe.bind(h)
  h.observe = ((v: number) => {
    if (recording) ms.push(v * 1000)
    observe(v)
  }) as typeof h.observe
  try {
    await app.start()
    await sleep(5_000) // connect, subscribe, first minute
    recording = true
    await sleep(seconds * 1000)
    recording = false
  } finally {
    await close()
  }
  return { ms, writes }
}

/** The default batching, then a cap large enough for a whole burst (the proposed fix, as configuration). */
const VARIANTS: ReadonlyArray<{ label: string; env: Record<string, string> }> = [
  { label: 'default batching (BATCH_MAX_CANDLES=10)', env: {} },
  { label: 'BATCH_MAX_CANDLES=1000', env: { BATCH_MAX_CANDLES: '1000' } },
]

export async function runLatencyBench({ quick }: { quick: boolean }): Promise<Row[]> {
  const symbols = quick ? 10 : 100
  const runs = quick ? 1 : 3
  const seconds = quick ? 8 : 30
  const rows: Row[] = []
  for (const v of VARIANTS) {
    const p50: number[] = []
    const p99: number[] = []
    const max: number[] = []
    const wr: number[] = []
    let n = 0
    let batches = 0
    for (let i = 0; i < runs; i++) {
      const r = await latencyRun(symbols, seconds, v.env)
      const ms = r.ms.sort((a, b) => a - b)
      batches += r.writes.length
      wr.push(
        quantile(
          r.writes.sort((a, b) => a - b),
          0.5,
        ),
      )
      if (ms.length === 0) throw new Error('no candle was committed')
      n += ms.length
      p50.push(quantile(ms, 0.5))
      p99.push(quantile(ms, 0.99))
      max.push(ms.at(-1) as number)
    }
    rows.push({
      metric: `pipeline latency, closed kline received → committed (real PostgreSQL), ${symbols} symbols, closes in bursts of ${symbols} every ${60 / SPEED} s, ${v.label}, ${fmt(n)} candles`,
      ours: `p50 ${fmtSample(summarize(p50), 'ms', 1)}; p99 ${fmtSample(summarize(p99), 'ms', 1)}`,
      baseline: `max ${fmtSample(summarize(max), 'ms', 1)}; ${fmt(batches / (n / symbols), 1)} batches per burst, median batch write ${fmtSample(summarize(wr), 'ms', 1)}`,
      ratio: '—',
      goal: 'p99 ≤ 25 ms',
      command: 'npm run bench -- latency',
    })
  }
  return rows
}
