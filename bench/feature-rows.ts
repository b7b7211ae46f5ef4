/**
 * Adapts bench/features.ts (owned by the features work) to the common table:
 * per window, the rolling update next to the naive recomputation of the same run.
 */
import { runFeatureBench } from './features.ts'
import { fmt, type Row } from './stats.ts'

interface FeatureSample {
  readonly impl: string
  readonly window: number
  readonly medianUs: number
  readonly minUs: number
  readonly maxUs: number
}

const us = (r: FeatureSample) => `${fmt(r.medianUs, 3)} µs (${fmt(r.minUs, 3)}–${fmt(r.maxUs, 3)})`

export async function runFeatureRows({ quick }: { quick: boolean }): Promise<Row[]> {
  const rows: readonly FeatureSample[] = await runFeatureBench({ quick })
  const out: Row[] = []
  for (const r of rows) {
    if (r.impl !== 'rolling') continue
    const naive = rows.find((x) => x.impl === 'naive' && x.window === r.window)
    out.push({
      metric: `feature update per closed candle (parse + rolling update + feature row), window ${fmt(r.window)}`,
      ours: us(r),
      baseline: naive ? `naive recomputation ${us(naive)}` : '—',
      ratio: naive ? `naive/rolling ${fmt(naive.medianUs / r.medianUs, 1)}×` : '—',
      goal: '≤ 5 µs, O(1) in the window',
      command: 'npm run bench -- features',
    })
  }
  return out
}
