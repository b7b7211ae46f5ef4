/**
 * Feature update cost per closed candle (SPEC §8: ≤ 5 µs, O(1) in the window),
 * for windows 60, 1 440 and 10 080, beside a naive O(window) recomputation in
 * the same run. Measures parse + rolling update + the row of every feature; no
 * database. Run: node --import tsx bench/features.ts [--quick]
 */
import { availableParallelism, cpus } from 'node:os'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { candlePoint } from '../src/core/candle-point.ts'
import type { Candle } from '../src/core/records.ts'
import type { FeatureRow } from '../src/features/feature-row.ts'
import { SymbolState } from '../src/features/symbol-state.ts'
import { series } from '../test/features/series.ts'

export interface Row {
  impl: 'rolling' | 'naive'
  window: number
  updates: number
  medianUs: number
  minUs: number
  maxUs: number
}

const WINDOWS = [60, 1_440, 10_080]

/** Naive baseline: mean, population std and min/max of close and volume over the whole window, every update. */
function naiveUpdate(closes: Float64Array, volumes: Float64Array, end: number, n: number): number {
  let acc = 0
  for (const xs of [closes, volumes]) {
    let s = 0
    let min = Number.POSITIVE_INFINITY
    let max = Number.NEGATIVE_INFINITY
    const from = Math.max(0, end - n + 1)
    for (let i = from; i <= end; i++) {
      const x = xs[i] as number
      s += x
      if (x < min) min = x
      if (x > max) max = x
    }
    const mean = s / (end - from + 1)
    let v = 0
    for (let i = from; i <= end; i++) v += ((xs[i] as number) - mean) ** 2
    const std = Math.sqrt(v / (end - from + 1))
    const x = xs[end] as number
    acc += (std > 0 ? (x - mean) / std : 0) + (max > min ? (x - min) / (max - min) : 0)
  }
  return acc
}

function stats(samples: number[]): Pick<Row, 'medianUs' | 'minUs' | 'maxUs'> {
  const s = [...samples].sort((a, b) => a - b)
  const r = (x: number) => Math.round(x * 1000) / 1000
  return {
    medianUs: r(s[Math.floor(s.length / 2)] as number),
    minUs: r(s[0] as number),
    maxUs: r(s.at(-1) as number),
  }
}

export async function runFeatureBench(opts: { quick?: boolean } = {}): Promise<Row[]> {
  const quick = opts.quick === true
  const runs = quick ? 3 : 7
  const updates = quick ? 20_000 : 100_000
  const naiveUpdates = quick ? 500 : 2_000
  const maxW = WINDOWS.at(-1) as number
  const candles: Candle[] = series({ symbol: 'BENCHUSDT', length: maxW + updates, seed: 42 })
  const closes = Float64Array.from(candles, (c) => Number(c.close))
  const volumes = Float64Array.from(candles, (c) => Number(c.volume))
  const rows: Row[] = []
  let sink = 0
  for (const w of WINDOWS) {
    const samples: number[] = []
    for (let run = 0; run < runs; run++) {
      const state = new SymbolState('spot', 'BENCHUSDT', [w])
      for (let i = 0; i < maxW; i++) state.push(candlePoint(candles[i] as Candle))
      const out: FeatureRow[] = []
      const t0 = performance.now()
      for (let i = maxW; i < maxW + updates; i++) {
        state.push(candlePoint(candles[i] as Candle), out)
        if (out.length > 1024) out.length = 0
      }
      samples.push(((performance.now() - t0) * 1000) / updates)
      sink += out.length
    }
    rows.push({ impl: 'rolling', window: w, updates, ...stats(samples) })
    const naive: number[] = []
    for (let run = 0; run < runs; run++) {
      const t0 = performance.now()
      for (let i = maxW; i < maxW + naiveUpdates; i++) sink += naiveUpdate(closes, volumes, i, w)
      naive.push(((performance.now() - t0) * 1000) / naiveUpdates)
    }
    rows.push({ impl: 'naive', window: w, updates: naiveUpdates, ...stats(naive) })
  }
  if (sink === 42) console.log('') // keeps the work observable to the optimiser
  return rows
}

export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown cpu'
  return `${availableParallelism()} cores (${cpu}), node ${process.version}`
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await runFeatureBench({ quick: process.argv.includes('--quick') })
  console.log(`feature update per closed candle — ${machine()}`)
  console.log('impl     window  updates  median µs   min µs   max µs')
  for (const r of rows) {
    console.log(
      `${r.impl.padEnd(8)} ${String(r.window).padStart(6)} ${String(r.updates).padStart(8)} ${r.medianUs
        .toFixed(3)
        .padStart(10)} ${r.minUs.toFixed(3).padStart(8)} ${r.maxUs.toFixed(3).padStart(8)}`,
    )
  }
}
