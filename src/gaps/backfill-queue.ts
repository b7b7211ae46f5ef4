/**
 * The backfill runner's queue, per symbol: minute ranges merged as they
 * arrive, each remembering why it was queued. Pure.
 */
import { type MinuteRange, subtractRanges } from '../core/minute-ranges.ts'
import { MINUTE_MS } from '../core/records.ts'
import type { GapCause } from './gap-detector.ts'

/** A queued range and why it was queued. */
export interface Job extends MinuteRange {
  readonly cause: GapCause
  /** A retry after a failure: its gap_detected is already recorded. */
  readonly announced: boolean
}

export interface Pending {
  ranges: Job[]
  notBefore: number
  failures: number
}

/**
 * Adds jobs to a symbol's queue. A minute already queued keeps the job that
 * queued it first (its cause is the one recorded); only the minutes new to
 * the queue take the incoming job's cause. Touching jobs of the same kind join.
 */
export function addJobs(queued: readonly Job[], incoming: readonly Job[]): Job[] {
  let all = [...queued]
  for (const job of incoming) {
    const fresh = subtractRanges([job], all).map((r) => ({
      ...r,
      cause: job.cause,
      announced: job.announced,
    }))
    all = [...all, ...fresh]
  }
  all.sort((a, b) => a.from - b.from)
  const out: Job[] = []
  for (const j of all) {
    const last = out.at(-1)
    if (last && last.cause === j.cause && last.announced === j.announced && j.from <= last.to + MINUTE_MS)
      out[out.length - 1] = { ...last, to: Math.max(last.to, j.to) }
    else out.push(j)
  }
  return out
}
