/**
 * Frame handling: decodeFrame + CandleAssembler.accept per frame, next to
 * JSON.parse of the same frames in the same run (SPEC §8: ≤ 2×). Runs
 * alternate ours/baseline so machine noise hits both alike.
 */
import { performance } from 'node:perf_hooks'
import { decodeFrame } from '../src/binance/ws/decode.ts'
import { CandleAssembler } from '../src/candles/candle-assembler.ts'
import type { MarketModule } from '../src/markets/market.ts'
import { SPOT } from '../src/markets/spot.ts'
import { USDM } from '../src/markets/usdm.ts'
import { type FrameMix, frameMix, futuresFrameMix } from './frame-mix.ts'
import { fmt, fmtSample, type Row, summarize } from './stats.ts'

let sink = 0

function ours(mix: FrameMix, passes: number, market: MarketModule): number {
  const frames = mix.frames
  const t0 = performance.now()
  for (let p = 0; p < passes; p++) {
    const a = new CandleAssembler(mix.symbols, market.id)
    for (let i = 0; i < frames.length; i++) {
      const at = mix.times[i] as number
      const r = decodeFrame(frames[i] as string, at, market.decode)
      if (!r.ok) throw new Error(`rejected ${r.reason}: ${r.detail}`)
      // Received at its time: books fill the per-minute quote slots, closes look them up.
      const x = a.accept(r.event, at)
      if (x.kind === 'rejected') throw new Error(`rejected ${x.reason}: ${x.detail}`)
      if (x.kind === 'candle' && x.candle.bid !== null) sink++
    }
  }
  return ((performance.now() - t0) * 1e6) / (passes * frames.length)
}

function jsonParse(mix: FrameMix, passes: number): number {
  const frames = mix.frames
  const t0 = performance.now()
  for (let p = 0; p < passes; p++) {
    for (let i = 0; i < frames.length; i++) {
      const v = JSON.parse(frames[i] as string) as { stream?: string }
      if (v.stream !== undefined) sink++
    }
  }
  return ((performance.now() - t0) * 1e6) / (passes * frames.length)
}

export async function runFrameBench({ quick }: { quick: boolean }): Promise<Row[]> {
  const spot = frameMix(quick ? 10 : 100, quick ? 1 : 3)
  const futures = futuresFrameMix(quick ? 10 : 100, 1)
  return [
    measure(spot, SPOT, quick, '2/3 bookTicker, 1/3 kline'),
    measure(futures, USDM, quick, 'USD-M: 1/5 bookTicker with E/T, 4/5 kline every 250 ms'),
  ]
}

function measure(mix: FrameMix, market: MarketModule, quick: boolean, shape: string): Row {
  const runs = quick ? 3 : 11
  const passes = quick ? 1 : 5
  // Warm-up: let both reach optimised code before anything is timed.
  ours(mix, passes, market)
  jsonParse(mix, passes)
  const a: number[] = []
  const b: number[] = []
  const ratios: number[] = []
  for (let i = 0; i < runs; i++) {
    const x = ours(mix, passes, market)
    const y = jsonParse(mix, passes)
    a.push(x)
    b.push(y)
    ratios.push(x / y)
  }
  if (sink < 0) process.stderr.write('')
  const o = summarize(a)
  const j = summarize(b)
  const r = summarize(ratios)
  const kb = mix.bytes / mix.frames.length
  return {
    metric: `frame handling (decodeFrame + CandleAssembler.accept), ${fmt(mix.frames.length)} combined frames (${fmt(kb)} B avg; ${shape}, ${fmt(mix.closed)} closed)`,
    ours: fmtSample(o, 'ns/frame'),
    baseline: `JSON.parse ${fmtSample(j, 'ns/frame')}`,
    ratio: `${fmt(r.median, 2)}× (${fmt(r.min, 2)}–${fmt(r.max, 2)})`,
    goal: '≤ 2×',
    command: 'npm run bench -- frames',
  }
}
