/**
 * Feature latency: a closed candle's commit → its feature rows' commit, with
 * the default FEATURE_UPDATE_INTERVAL (60 s). The app runs in this process
 * against a real PostgreSQL, the simulator in its own process 10× fast with
 * live frame rates (latency.ts's rig). Measured in the database itself:
 * feature_cache.computed_at − candles_1m.ingested_at, both now() of their
 * writing transaction, for every live candle's row of window 60. Baseline, same
 * run: the candle batch's own write (feeder_db_write_duration_seconds).
 */
import { liveBenchApp, SPEED } from './latency.ts'
import { sleep } from './proc.ts'
import { fmt, type Row } from './stats.ts'

export async function runFeatureLatencyBench({ quick }: { quick: boolean }): Promise<Row[]> {
  const symbols = quick ? 10 : 100
  const seconds = quick ? 10 : 60
  const { app, db, close } = await liveBenchApp(symbols)
  const writes: number[] = []
  const w = app.metrics.dbWriteSeconds
  const observe = w.observe.bind(w)
  w.observe = ((v: number) => {
    writes.push(v * 1000)
    observe(v)
  }) as typeof w.observe
  try {
    await app.start()
    await sleep(seconds * 1000)
    await app.stop('bench end') // everything written before the database is read
    const r = await db.query<{ n: string; p50: number; p99: number; max: number }>(
      `SELECT count(*)::text AS n,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY d) * 1000 AS p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY d) * 1000 AS p99,
              max(d) * 1000 AS max
         FROM (SELECT extract(epoch FROM f.computed_at - c.ingested_at)::float8 AS d
                 FROM feature_cache f JOIN candles_1m c USING (market, symbol, open_time)
                WHERE f.window_size = 60) x`,
    )
    const s = r.rows[0]
    if (s === undefined || s.n === '0') throw new Error('no feature row was written')
    const sorted = writes.sort((a, b) => a - b)
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN
    return [
      {
        metric: `feature rows, candle committed → its rows committed (real PostgreSQL, FEATURE_UPDATE_INTERVAL=60 default), ${symbols} symbols, closes in bursts every ${60 / SPEED} s, ${fmt(Number(s.n))} candles`,
        ours: `p50 ${fmt(s.p50, 1)} ms; p99 ${fmt(s.p99, 1)} ms; max ${fmt(s.max, 1)} ms`,
        baseline: `candle batch write p50 ${fmt(q(0.5), 1)} ms, p99 ${fmt(q(0.99), 1)} ms (same run); before: up to the 60 s interval`,
        ratio: '—',
        goal: 'p99 ≤ 1 s',
        command: 'npm run bench -- feature-latency',
      },
    ]
  } finally {
    await close()
  }
}
