/** Medians with min/max over repeated runs, and a markdown table. */
import { cpus } from 'node:os'

export interface Sample {
  readonly median: number
  readonly min: number
  readonly max: number
  readonly runs: number
}

export function summarize(values: readonly number[]): Sample {
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  const median = s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
  return { median, min: s[0] as number, max: s.at(-1) as number, runs: s.length }
}

export interface Row {
  readonly metric: string
  readonly ours: string
  readonly baseline: string
  readonly ratio: string
  readonly goal: string
  readonly command: string
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
}

export function fmtSample(s: Sample, unit: string, digits = 0): string {
  return `${fmt(s.median, digits)} ${unit} (${fmt(s.min, digits)}–${fmt(s.max, digits)}, n=${s.runs})`
}

export function table(rows: readonly Row[]): string {
  const head =
    '| metric | data-feeder | baseline (same run) | ratio | goal | reproduce |\n|---|---|---|---|---|---|'
  return [
    head,
    ...rows.map(
      (r) => `| ${r.metric} | ${r.ours} | ${r.baseline} | ${r.ratio} | ${r.goal} | \`${r.command}\` |`,
    ),
  ].join('\n')
}

export function machine(): string {
  const c = cpus()
  return `${c.length} × ${c[0]?.model.trim() ?? 'cpu'}, Node ${process.version}`
}
