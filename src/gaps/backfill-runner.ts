/**
 * Gap repair: a queue of minute ranges per symbol, merged as they arrive,
 * worked through one at a time against the shared REST client. Each job
 * looks at the database first (only minutes really missing are fetched),
 * writes what Binance returns, then looks again: what is still missing long
 * after its close is recorded as unfillable (Binance has no data), what is
 * merely recent is tried again later. Each finding is recorded in
 * data_quality_logs before the runner moves on (later jobs read the
 * `gap_unfillable` rows back); events are emitted for logs, metrics and the
 * webhook. Never logs.
 */
import type { RestClient } from '../binance/rest/rest-api.ts'
import { isRestError } from '../binance/rest/rest-errors.ts'
import type { Clock, TimerHandle } from '../core/clock.ts'
import { floorMinute, type MinuteRange, minutesIn, totalMinutes } from '../core/minute-ranges.ts'
import type { Candle, Market } from '../core/records.ts'
import { MINUTE_MS } from '../core/records.ts'
import { delayFor, SCHEDULES } from '../core/retry.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import { insertQualityLog } from '../store/candle-queries.ts'
import type { Queryable } from '../store/db.ts'
import { unexplainedMissing } from '../store/gap-queries.ts'
import { addJobs, type Job, type Pending } from './backfill-queue.ts'
import type { DetectedGap, GapCause } from './gap-detector.ts'

export interface BackfillRunnerOptions {
  readonly db: Queryable
  readonly rest: Pick<RestClient, 'closedCandlesBetween'>
  readonly clock: Clock
  readonly market: Market
  /** Commits candles; resolves once they are in the database. */
  readonly write: (candles: readonly Candle[]) => Promise<void>
  /** A minute still missing this long after its close is declared unfillable. */
  readonly unfillableAfterMs?: number
  /** Minutes closed less than this ago are left to the stream for now. */
  readonly settleMs?: number
  readonly random?: () => number
}

export interface BackfillRunnerEvents {
  gap_detected: { symbol: string; ranges: MinuteRange[]; missing: number; cause: GapCause }
  gap_filled: { symbol: string; range: MinuteRange; recovered: number; cause: GapCause }
  gap_unfillable: { symbol: string; range: MinuteRange; missing: number }
  page: { symbol: string; candles: number }
  job_failed: { symbol: string; range: MinuteRange; error: unknown; retryInMs: number }
  history_changed: { symbol: string; from: number; to: number }
  idle: { at: number }
}

const DEFAULT_UNFILLABLE_AFTER_MS = 10 * MINUTE_MS
const DEFAULT_SETTLE_MS = 5_000
const MAX_JOB_MINUTES = 7 * 1440

export class BackfillRunner extends TypedEmitter<BackfillRunnerEvents> {
  private readonly opts: BackfillRunnerOptions
  private readonly pending = new Map<string, Pending>()
  private running = false
  private closed = false
  private current: string | null = null
  private wakeTimer: TimerHandle | null = null
  private idleWaiters: (() => void)[] = []
  private lastCheck: number | null = null

  constructor(opts: BackfillRunnerOptions) {
    super()
    this.opts = opts
  }

  /** Queued ranges plus the one being worked on. */
  pendingJobs(): number {
    let n = this.current === null ? 0 : 1
    for (const p of this.pending.values()) n += p.ranges.length
    return n
  }

  /** When the runner last finished looking at a range (ms), or null. */
  lastCheckAt(): number | null {
    return this.lastCheck
  }

  enqueue(gap: DetectedGap): void {
    if (this.closed || gap.to < gap.from) return
    const job: Job = { from: gap.from, to: gap.to, cause: gap.cause, announced: false }
    const p = this.pending.get(gap.symbol)
    if (p) p.ranges = addJobs(p.ranges, [job])
    else this.pending.set(gap.symbol, { ranges: [job], notBefore: 0, failures: 0 })
    this.kick()
  }

  /** Resolves when nothing is queued that is due now (tests and the backfill command). */
  idle(): Promise<void> {
    if (!this.running && this.dueSymbol() === null) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  close(): void {
    this.closed = true
    this.wakeTimer?.cancel()
    this.pending.clear()
    this.settleIdle()
  }

  private kick(): void {
    if (this.running || this.closed) return
    this.running = true
    void this.loop().finally(() => {
      this.running = false
      this.settleIdle()
    })
  }

  private settleIdle(): void {
    if (this.running || (this.dueSymbol() !== null && !this.closed)) return
    this.emit('idle', { at: this.opts.clock.now() })
    const w = this.idleWaiters
    this.idleWaiters = []
    for (const f of w) f()
  }

  private dueSymbol(): string | null {
    const now = this.opts.clock.now()
    for (const [symbol, p] of this.pending) if (p.notBefore <= now && p.ranges.length > 0) return symbol
    return null
  }

  private schedule(): void {
    this.wakeTimer?.cancel()
    this.wakeTimer = null
    let next = Number.POSITIVE_INFINITY
    for (const p of this.pending.values()) if (p.ranges.length > 0) next = Math.min(next, p.notBefore)
    if (!Number.isFinite(next) || this.closed) return
    this.wakeTimer = this.opts.clock.setTimeout(() => this.kick(), Math.max(0, next - this.opts.clock.now()))
  }

  private async loop(): Promise<void> {
    for (let symbol = this.dueSymbol(); symbol !== null && !this.closed; symbol = this.dueSymbol()) {
      const p = this.pending.get(symbol) as Pending
      let range = p.ranges.shift() as Job
      if (minutesIn(range) > MAX_JOB_MINUTES) {
        // One step looks at a bounded span, so a year of history is many small, resumable steps.
        p.ranges.unshift({ ...range, from: range.from + MAX_JOB_MINUTES * MINUTE_MS })
        range = { ...range, to: range.from + (MAX_JOB_MINUTES - 1) * MINUTE_MS }
      }
      if (p.ranges.length === 0 && p.failures === 0) this.pending.delete(symbol)
      this.current = symbol
      // Set once this step has recorded the gap (gap_detected, webhook): a retry must not record it
      // again, and a step that failed before recording it must record it on the retry.
      const step = { announced: range.announced }
      try {
        const { unsettled, recent } = await this.repair(symbol, range, range.cause, step)
        // Not yet closed long enough to look at (never recorded): due the instant it is.
        if (unsettled) {
          const job: Job = { ...unsettled, cause: range.cause, announced: false }
          this.requeue(symbol, [job], this.settlesAt(unsettled.from), 0)
        }
        // Still missing but recent (recorded just now): Binance may not have it yet.
        if (recent.length > 0) {
          const jobs = recent.map((r): Job => ({ ...r, cause: range.cause, announced: true }))
          this.requeue(symbol, jobs, this.opts.clock.now() + MINUTE_MS, 0)
        }
        // Only if `p` is still this symbol's entry: while the repair ran, `p` may have been
        // dropped and a new entry created for jobs that arrived meanwhile; those must stay.
        if (!unsettled && recent.length === 0 && this.pending.get(symbol) === p && p.ranges.length === 0)
          this.pending.delete(symbol)
        p.failures = 0
      } catch (error) {
        const failures = p.failures + 1
        const hinted = isRestError(error) ? (error.retryAfterMs ?? 0) : 0
        const retryInMs = Math.max(
          hinted,
          delayFor(SCHEDULES['gaps.backfill'], failures, this.opts.random ?? Math.random),
        )
        this.emit('job_failed', { symbol, range, error, retryInMs })
        this.requeue(
          symbol,
          [{ ...range, announced: step.announced }],
          this.opts.clock.now() + retryInMs,
          failures,
        )
      } finally {
        this.current = null
        this.lastCheck = this.opts.clock.now()
      }
    }
    this.schedule()
  }

  private requeue(symbol: string, jobs: Job[], notBefore: number, failures: number): void {
    if (this.closed) return
    const p = this.pending.get(symbol)
    if (p) {
      // The job comes back ahead of what was queued meanwhile: it was there first.
      p.ranges = addJobs(jobs, p.ranges)
      p.notBefore = Math.max(p.notBefore, notBefore)
      p.failures = failures
    } else this.pending.set(symbol, { ranges: addJobs([], jobs), notBefore, failures })
  }

  /** When the minute opening at `openTime` has been closed for the settle time. */
  private settlesAt(openTime: number): number {
    return openTime + MINUTE_MS + (this.opts.settleMs ?? DEFAULT_SETTLE_MS)
  }

  /**
   * Repairs one range; returns the parts to try again later: `unsettled`, the
   * minutes too recently closed to look at yet, and `recent`, minutes still
   * missing but too recent to be declared unfillable.
   */
  private async repair(
    symbol: string,
    range: MinuteRange,
    cause: GapCause,
    step: { announced: boolean },
  ): Promise<{ unsettled: MinuteRange | null; recent: MinuteRange[] }> {
    const { db, market, clock } = this.opts
    const now = clock.now()
    const lastClosed = floorMinute(now - (this.opts.settleMs ?? DEFAULT_SETTLE_MS)) - MINUTE_MS
    const unsettled: MinuteRange | null =
      range.to > lastClosed ? { from: Math.max(range.from, lastClosed + MINUTE_MS), to: range.to } : null
    const later: MinuteRange[] = []
    const r: MinuteRange = { from: range.from, to: Math.min(range.to, lastClosed) }
    if (r.to < r.from) return { unsettled, recent: later }
    const missing = await this.missingIn(symbol, r)
    if (missing.length === 0) return { unsettled, recent: later }
    const announced = step.announced
    for (const m of announced ? [] : missing) {
      await insertQualityLog(db, {
        eventType: 'gap_detected',
        market,
        symbol,
        gapStart: m.from,
        gapEnd: m.to,
        candlesMissing: minutesIn(m),
        source: 'ws',
        details: { cause },
      })
    }
    if (!announced) {
      step.announced = true
      this.emit('gap_detected', { symbol, ranges: missing, missing: totalMinutes(missing), cause })
    }
    for (const m of missing) {
      await this.opts.rest.closedCandlesBetween(symbol, m.from, m.to, async (candles) => {
        if (candles.length === 0) return
        await this.opts.write(candles)
        this.emit('page', { symbol, candles: candles.length })
      })
    }
    const unfillableBefore = now - (this.opts.unfillableAfterMs ?? DEFAULT_UNFILLABLE_AFTER_MS)
    for (const m of missing) {
      const still = await this.missingIn(symbol, m)
      const recovered = minutesIn(m) - totalMinutes(still)
      if (recovered > 0) {
        await insertQualityLog(db, {
          eventType: 'gap_filled',
          market,
          symbol,
          gapStart: m.from,
          gapEnd: m.to,
          candlesMissing: minutesIn(m),
          candlesRecovered: recovered,
          source: 'rest',
          resolved: totalMinutes(still) === 0,
          resolvedAt: clock.now(),
          details: { cause },
        })
        this.emit('gap_filled', { symbol, range: m, recovered, cause })
        this.emit('history_changed', { symbol, from: m.from, to: m.to })
      }
      for (const s of still) {
        // Only minutes long closed can be declared empty; Binance may still be catching up on recent ones.
        const old: MinuteRange = {
          from: s.from,
          to: Math.min(s.to, floorMinute(unfillableBefore) - MINUTE_MS),
        }
        if (old.to >= old.from) {
          await insertQualityLog(db, {
            eventType: 'gap_unfillable',
            market,
            symbol,
            gapStart: old.from,
            gapEnd: old.to,
            candlesMissing: minutesIn(old),
            source: 'rest',
            resolved: true,
            resolvedAt: clock.now(),
            details: { cause, confirmed_by: 'binance_rest_returned_no_rows' },
          })
          this.emit('gap_unfillable', { symbol, range: old, missing: minutesIn(old) })
        }
        if (s.to > old.to) later.push({ from: Math.max(s.from, old.to + MINUTE_MS), to: s.to })
      }
    }
    return { unsettled, recent: later }
  }

  private missingIn(symbol: string, r: MinuteRange): Promise<MinuteRange[]> {
    return unexplainedMissing(this.opts.db, this.opts.market, symbol, r)
  }
}
