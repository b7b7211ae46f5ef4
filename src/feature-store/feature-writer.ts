/**
 * Writes feature rows to feature_cache in batches, at most `intervalMs` after a
 * row is handed in (FEATURE_UPDATE_INTERVAL), or at once on writeNow() (the
 * engine calls it when the rows' candles are committed), with the candle
 * writer's discipline:
 * - one set-based upsert per batch (cut at maxBatch rows), never two in flight,
 *   batches in arrival order, the latest row for a key wins;
 * - transient errors (isTransientDbError) retried with jittered exponential
 *   backoff on the injected clock; rows arriving meanwhile wait for the next batch;
 * - rows the database refuses as such (isRowRejection: SQLSTATE classes 22/23)
 *   are isolated by halving the batch, so good ones are still written; they are
 *   final: emitted as 'failed' with `final: true` and kept for takeFailed();
 * - any other failure is the database's, not the rows': the batch, and whatever
 *   of the pass is not sent yet, is kept and handed back to the buffer after a
 *   backoff on the clock (intervalMs doubling up to a minute, jittered, reset by
 *   a successful write), or as soon as a batch is written again. A row handed in
 *   later for the same key replaces the kept one. Emitted as 'failed' with
 *   `final: false`. At most maxKeptRows are kept; beyond, the longest waiting
 *   are dropped and emitted with `final: true`;
 * - close() tries the kept rows once more; what still fails is final.
 * It never logs; the composition root listens to its events.
 */

import type { TimerHandle } from '../core/clock.ts'
import { nextTurn } from '../core/next-turn.ts'
import { clockSleep, delayFor, schedule } from '../core/retry.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import { type FeatureRow, featureKey } from '../features/feature-row.ts'
import { backoffMs, writeWithRetries } from '../store/batch-retry.ts'
import { isRowRejection, isTransientDbError, StoreError } from '../store/errors.ts'
import { buildFeatureUpsert } from './feature-sql.ts'
import type { FeatureWriter, FeatureWriterEvents, FeatureWriterOptions } from './feature-writer-api.ts'

export * from './feature-writer-api.ts'

export function createFeatureWriter(opts: FeatureWriterOptions): FeatureWriter {
  return new IntervalFeatureWriter(opts)
}

/** About 100 MB of rows: 100 symbols × 3 windows for 11 hours of outage. */
const DEFAULT_MAX_KEPT_ROWS = 200_000

/**
 * Thrown instead of a query once the pass is blocked. Neither transient nor a
 * row rejection: the retry helper neither waits nor queries for it, it only
 * splits the batch down to rows, which the pass then keeps.
 */
const NOT_SENT = new StoreError(
  'FEATURE_WRITE_NOT_SENT',
  'not sent: the database failed earlier in this pass',
)

/** One pump: once the database has failed it (not its rows), nothing more of it is sent. */
interface Pass {
  blocked: { error: unknown } | null
  deferred: FeatureRow[]
  wrote: boolean
}

class IntervalFeatureWriter extends TypedEmitter<FeatureWriterEvents> implements FeatureWriter {
  private readonly opts: FeatureWriterOptions
  private readonly cap: number
  private readonly maxKept: number
  private buffer = new Map<string, FeatureRow>()
  /** Rows waiting for the database to come back, longest waiting first; no key is both here and in `buffer`. */
  private kept = new Map<string, FeatureRow>()
  private inFlight = 0
  private timer: TimerHandle | null = null
  private keptTimer: TimerHandle | null = null
  private keptRetryAt = 0
  /** The kept timer fired while a pass was running. */
  private keptDue = false
  /** Kept-row retries since the last successful write. */
  private laterRound = 0
  private running: Promise<void> | null = null
  private closed = false
  /** close()'s last pass: a failure now is final. */
  private lastChance = false
  private closing: Promise<void> | null = null
  private failed: FeatureRow[] = []
  /** writeNow() was called while a pass ran: the next pass starts as soon as it ends. */
  private soon = false

  constructor(opts: FeatureWriterOptions) {
    super()
    this.opts = opts
    this.cap = Math.max(1, Math.floor(opts.maxBatch ?? 1_000)) // a few ms to build: the loop stays free
    this.maxKept = Math.max(1, Math.floor(opts.maxKeptRows ?? DEFAULT_MAX_KEPT_ROWS))
  }

  get bufferSize(): number {
    return this.buffer.size + this.inFlight + this.kept.size
  }

  add(rows: readonly FeatureRow[]): void {
    if (rows.length === 0) return
    if (this.closed) {
      this.giveUp(rows, new StoreError('WRITER_CLOSED', 'feature rows added after the writer was closed'))
      return
    }
    for (const r of rows) {
      const key = featureKey(r)
      // A newer row supersedes a kept one: the stale row is never written over it.
      this.kept.delete(key)
      // Re-inserting moves the key to the end: batches keep the order rows were last handed in.
      this.buffer.delete(key)
      this.buffer.set(key, r)
    }
    if (this.timer === null && this.running === null) this.armTimer()
  }

  writeNow(): void {
    if (this.closed || this.buffer.size === 0) return
    if (this.running !== null) this.soon = true
    else void this.pump()
  }

  async flush(): Promise<void> {
    // The batch in flight, then what was buffered when it ended (kept rows once), until nothing is left.
    let requeued = false
    while (this.running !== null || this.buffer.size > 0 || (!requeued && this.kept.size > 0)) {
      if (this.running !== null) await this.running
      else {
        if (!requeued) this.requeueKept()
        requeued = true
        await this.pump()
      }
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true
      this.timer?.cancel()
      this.timer = null
      this.keptTimer?.cancel()
      this.keptTimer = null
      if (this.running !== null) await this.running
      this.lastChance = true
      await this.flush()
    })()
    return this.closing
  }

  takeFailed(): FeatureRow[] {
    const out = this.failed
    this.failed = []
    return out
  }

  private armTimer(): void {
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = null
      void this.pump()
    }, this.opts.intervalMs)
  }

  /** Writes what is buffered now, batch by batch. Rows added meanwhile wait for the next interval. */
  private pump(): Promise<void> {
    if (this.running !== null) return this.running
    this.timer?.cancel()
    this.timer = null
    this.soon = false
    const rows = [...this.buffer.values()]
    this.buffer = new Map()
    this.inFlight = rows.length
    const pass: Pass = { blocked: null, deferred: [], wrote: false }
    this.running = (async () => {
      try {
        for (let i = 0; i < rows.length; i += this.cap) {
          if (pass.blocked !== null) {
            for (let j = i; j < rows.length; j++) pass.deferred.push(rows[j] as FeatureRow)
            break
          }
          await this.writeBatch(rows.slice(i, i + this.cap), pass)
          if (this.opts.db.kind === 'pglite' && i + this.cap < rows.length) {
            await nextTurn()
          }
        }
      } finally {
        this.inFlight = 0
        this.running = null
        this.endPass(pass)
      }
    })()
    return this.running
  }

  private endPass(pass: Pass): void {
    if (pass.deferred.length > 0) {
      this.keptDue = false
      this.keep(pass.deferred, pass.blocked?.error)
    } else if (this.keptDue || pass.wrote) {
      // The retry is due, or the database took a batch again: kept rows go out with the next one.
      this.keptDue = false
      this.requeueKept()
    }
    if (this.buffer.size === 0 || this.closed) return
    if (this.soon) void this.pump()
    else if (this.timer === null) this.armTimer()
  }

  /** Writes one batch to the end: success, split, rejection, or deferral. Never throws. */
  private async writeBatch(batch: readonly FeatureRow[], pass: Pass): Promise<void> {
    const started = this.opts.clock.now()
    await writeWithRetries(batch, {
      maxRetries: this.opts.maxRetries,
      write: async (rows) => {
        if (pass.blocked !== null) throw NOT_SENT
        try {
          return (await this.opts.db.query(buildFeatureUpsert(rows, this.opts.force))).rowCount ?? 0
        } catch (error) {
          // Not transient and not about these rows (read-only, privilege, missing table…):
          // every split would fail alike, so the rest of the pass waits instead.
          if (!isTransientDbError(error) && !isRowRejection(error)) pass.blocked ??= { error }
          throw error
        }
      },
      delayFor: (attempt) => backoffMs(attempt, this.opts),
      sleep: (ms) => clockSleep(this.opts.clock, ms).done,
      written: (rows, attempts, changed) => {
        this.inFlight -= rows.length
        pass.wrote = true
        this.laterRound = 0
        const durationMs = this.opts.clock.now() - started
        this.emit('flushed', { size: rows.length, attempts, durationMs, changed, rows })
      },
      retrying: (info) => this.emit('retry', info),
      failed: (rows, error) => {
        if (isRowRejection(error)) {
          this.inFlight = Math.max(0, this.inFlight - rows.length)
          this.giveUp(rows, error)
          return
        }
        // Still counted in flight until the pass ends and they are kept.
        pass.blocked ??= { error }
        for (const r of rows) pass.deferred.push(r)
      },
    })
  }

  /** Keeps rows of a pass the database failed, for a retry after a backoff. */
  private keep(rows: readonly FeatureRow[], error: unknown): void {
    if (this.lastChance) {
      this.giveUp(rows, error)
      return
    }
    const kept: FeatureRow[] = []
    for (const r of rows) {
      const key = featureKey(r)
      if (this.buffer.has(key)) continue // a newer row for the key arrived while this one was in flight
      this.kept.delete(key)
      this.kept.set(key, r)
      kept.push(r)
    }
    if (kept.length > 0)
      this.emit('failed', { rows: kept, error, final: false, retryInMs: this.armKeptTimer() })
    if (this.kept.size <= this.maxKept) return
    const dropped: FeatureRow[] = []
    for (const [key, r] of this.kept) {
      if (this.kept.size <= this.maxKept) break
      this.kept.delete(key)
      dropped.push(r)
    }
    const overflow = new StoreError(
      'FEATURE_RETRY_OVERFLOW',
      `more than ${this.maxKept} feature rows wait for the database; the longest waiting are dropped`,
      { cause: error },
    )
    this.giveUp(dropped, overflow, false)
  }

  /** Arms the retry of kept rows unless it is armed already; returns its delay from now. */
  private armKeptTimer(): number {
    const now = this.opts.clock.now()
    if (this.closed) return 0
    if (this.keptTimer === null) {
      this.laterRound++
      const later = schedule('db.features_later', { baseMs: this.opts.intervalMs })
      const delay = delayFor(later, this.laterRound, this.opts.random ?? Math.random)
      this.keptRetryAt = now + delay
      this.keptTimer = this.opts.clock.setTimeout(() => {
        this.keptTimer = null
        if (this.running !== null) {
          this.keptDue = true
          return
        }
        this.requeueKept()
        void this.pump()
      }, delay)
    }
    return Math.max(0, this.keptRetryAt - now)
  }

  /** Kept rows back into the buffer, ahead of what is buffered (the keys are disjoint). */
  private requeueKept(): void {
    this.keptTimer?.cancel()
    this.keptTimer = null
    if (this.kept.size === 0) return
    const merged = this.kept
    for (const [key, r] of this.buffer) merged.set(key, r)
    this.buffer = merged
    this.kept = new Map()
  }

  private giveUp(rows: readonly FeatureRow[], error: unknown, retain = true): void {
    if (retain) for (const r of rows) this.failed.push(r)
    this.emit('failed', { rows, error, final: true })
  }
}
