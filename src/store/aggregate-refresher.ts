/**
 * Keeps the TimescaleDB aggregates equal to their minutes when a write lands
 * under the watermark (a backfill, a spool replay, an import): the minutes
 * written are noted, merged into one range, and the buckets holding them are
 * refreshed shortly after (one refresh at a time). Live minutes are above the
 * watermark (see REFRESH_MARGIN_MS) and cost nothing here.
 * Core module: it never logs; failures go to `onError` and are retried.
 */
import { type Clock, type TimerHandle, within } from '../core/clock.ts'
import type { Db } from './db.ts'
import { REFRESH_MARGIN_MS, refreshAggregates, refreshAllAggregates } from './timescale-settings.ts'

export interface AggregateRefresherOptions {
  readonly db: Pick<Db, 'execLong' | 'query'>
  readonly clock: Clock
  /** How long notes gather before a refresh (default 1 000 ms). */
  readonly delayMs?: number
  /** After a failed refresh (default 30 000 ms). */
  readonly retryMs?: number
  readonly onError?: (err: unknown) => void
  readonly onRefreshed?: (range: { fromMs: number; toMs: number }) => void
  readonly onMaterialised?: (ms: number) => void
}

export class AggregateRefresher {
  private pending: { fromMs: number; toMs: number } | null = null
  private timer: TimerHandle | null = null
  private running: Promise<void> | null = null
  private closed = false
  private readonly opts: AggregateRefresherOptions

  constructor(opts: AggregateRefresherOptions) {
    this.opts = opts
  }

  /** Minutes written (open times); the live edge is skipped at once. */
  noteMinutes(openTimes: Iterable<number>): void {
    let from = Number.POSITIVE_INFINITY
    let to = Number.NEGATIVE_INFINITY
    for (const t of openTimes) {
      if (t < from) from = t
      if (t > to) to = t
    }
    if (from <= to) this.note(from, to)
  }

  note(fromMs: number, toMs: number): void {
    // No bucket that holds a minute this young is materialised: nothing to refresh.
    if (fromMs > this.opts.clock.now() - REFRESH_MARGIN_MS) return
    const p = this.pending
    this.pending =
      p === null ? { fromMs, toMs } : { fromMs: Math.min(p.fromMs, fromMs), toMs: Math.max(p.toMs, toMs) }
    this.schedule(this.opts.delayMs ?? 1_000)
  }

  /**
   * Materialises all history up to the margin, in the background: on a first start over a
   * large plain database this takes minutes (about 40 s per symbol-year on 2 cores), and the
   * aggregates are right meanwhile (computed on the fly), only slower. Noted writes wait for it.
   */
  materialiseAll(retention1m: string | null): Promise<void> {
    const after = this.running ?? Promise.resolve()
    const started = this.opts.clock.now()
    const run = after
      .then(() => refreshAllAggregates(this.opts.db, this.opts.clock.now(), retention1m, this.opts.clock))
      .then(() => this.opts.onMaterialised?.(this.opts.clock.now() - started))
      .catch((err: unknown) => this.opts.onError?.(err))
      .finally(() => {
        if (this.running === run) this.running = null
        if (this.pending !== null) this.schedule(this.opts.delayMs ?? 1_000)
      })
    this.running = run
    return run
  }

  /** Runs what is pending now and waits for it. */
  async flush(): Promise<void> {
    this.timer?.cancel()
    this.timer = null
    while (this.running !== null) await this.running
    await this.run()
  }

  /**
   * Runs what is pending and waits for it at most `timeoutMs` (default 3 000): a stop is not
   * held up by a long refresh. What is cut short stays in TimescaleDB's invalidation log and
   * is materialised by the next start's refresh.
   */
  async close(timeoutMs = 3_000): Promise<void> {
    this.closed = true
    await within(this.opts.clock, this.flush(), timeoutMs)
    this.timer?.cancel()
    this.timer = null
  }

  private schedule(ms: number): void {
    if (this.timer !== null || this.closed) return
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = null
      void this.run()
    }, ms)
  }

  private run(): Promise<void> {
    if (this.running !== null) return this.running
    const range = this.pending
    if (range === null) return Promise.resolve()
    this.pending = null
    this.running = refreshAggregates(
      this.opts.db,
      range.fromMs,
      range.toMs,
      this.opts.clock.now(),
      this.opts.clock,
    )
      .then(() => this.opts.onRefreshed?.(range))
      .catch((err: unknown) => {
        this.opts.onError?.(err)
        this.note(range.fromMs, range.toMs)
        this.timer?.cancel()
        this.timer = null
        this.schedule(this.opts.retryMs ?? 30_000)
      })
      .finally(() => {
        this.running = null
        if (this.pending !== null) this.schedule(this.opts.delayMs ?? 1_000)
      })
    return this.running
  }
}
