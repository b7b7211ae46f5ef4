/**
 * Ranges of minutes, by open time (ms), both ends inclusive. Pure helpers for
 * gap bookkeeping: merge overlapping jobs, subtract what is known, count.
 */
import { MINUTE_MS } from './records.ts'

export interface MinuteRange {
  readonly from: number
  readonly to: number
}

export function floorMinute(t: number): number {
  return Math.floor(t / MINUTE_MS) * MINUTE_MS
}

export function minutesIn(r: MinuteRange): number {
  return r.to < r.from ? 0 : (r.to - r.from) / MINUTE_MS + 1
}

/** Sorted, with overlapping or touching ranges joined. */
export function mergeRanges(ranges: readonly MinuteRange[]): MinuteRange[] {
  const sorted = ranges.filter((r) => r.to >= r.from).sort((a, b) => a.from - b.from)
  const out: MinuteRange[] = []
  for (const r of sorted) {
    const last = out.at(-1)
    if (last && r.from <= last.to + MINUTE_MS)
      out[out.length - 1] = { from: last.from, to: Math.max(last.to, r.to) }
    else out.push({ from: r.from, to: r.to })
  }
  return out
}

/** The parts of `ranges` not covered by `remove`. */
export function subtractRanges(
  ranges: readonly MinuteRange[],
  remove: readonly MinuteRange[],
): MinuteRange[] {
  const cuts = mergeRanges(remove)
  const out: MinuteRange[] = []
  for (const r of mergeRanges(ranges)) {
    let from = r.from
    for (const c of cuts) {
      if (c.to < from || c.from > r.to) continue
      if (c.from > from) out.push({ from, to: c.from - MINUTE_MS })
      from = Math.max(from, c.to + MINUTE_MS)
      if (from > r.to) break
    }
    if (from <= r.to) out.push({ from, to: r.to })
  }
  return out
}

export function totalMinutes(ranges: readonly MinuteRange[]): number {
  return ranges.reduce((n, r) => n + minutesIn(r), 0)
}

export function formatRange(r: MinuteRange): string {
  const a = new Date(r.from).toISOString()
  return r.from === r.to ? a : `${a}…${new Date(r.to).toISOString()}`
}
