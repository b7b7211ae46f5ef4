/**
 * Writes feature rows to feature_cache in batches, at most `intervalMs` after a
 * row is handed in (FEATURE_UPDATE_INTERVAL), with the candle writer's discipline:
 * - one set-based upsert per batch (cut at maxBatch rows), never two in flight,
 *   batches in arrival order, the latest row for a key wins;
 * - transient errors (isTransientDbError) retried with jittered exponential
 *   backoff on the injected clock; rows arriving meanwhile wait for the next batch;
 * - a non-transient error is not retried: the batch is halved until the bad rows
 *   are isolated, so good ones are still written;
 * - what still fails is emitted as 'failed' and kept for takeFailed().
 * It never logs; the composition root listens to its events.
 */

import type { Clock, TimerHandle } from '../core/clock.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import { type FeatureRow, featureKey } from '../features/feature-row.ts'
import { backoffMs, writeWithRetries } from './batch-retry.ts'
import type { Db } from './db.ts'
import { StoreError } from './errors.ts'
import { buildFeatureUpsert } from './feature-sql.ts'

export interface FeatureWriterOptions {
  db: Db
  clock: Clock
  /** A row waits at most this long before its batch is written. */
  intervalMs: number
  maxRetries: number
  /** Rows per statement; default 5 000 (1 000 on PGlite, which blocks the event loop while it works). */
  maxBatch?: number
  retryBaseMs?: number
  retryMaxMs?: number
  random?: () => number
}

export interface FeatureFlushInfo {
  size: number
  attempts: number
  durationMs: number
  /** Rows inserted or changed; identical rewrites count 0. */
  changed: number
}

export interface FeatureRetryInfo {
  attempt: number
  delayMs: number
  error: unknown
}

export interface FeatureFailure {
  rows: readonly FeatureRow[]
  error: unknown
}

type Events = { flushed: FeatureFlushInfo; retry: FeatureRetryInfo; failed: FeatureFailure }

export interface FeatureWriter {
  add(rows: readonly FeatureRow[]): void
  /** Rows buffered plus in flight. */
  readonly bufferSize: number
  /** Writes everything handed in so far now; resolves when it is written or failed. */
  flush(): Promise<void>
  /** Flushes, stops the timer; later rows are failed loudly. Idempotent. */
  close(): Promise<void>
  /** Rows of every failed batch since the last call; the list is emptied. */
  takeFailed(): FeatureRow[]
  on<K extends keyof Events>(event: K, fn: (info: Events[K]) => void): void
}

export function createFeatureWriter(opts: FeatureWriterOptions): FeatureWriter {
  return new IntervalFeatureWriter(opts)
}

class IntervalFeatureWriter extends TypedEmitter<Events> implements FeatureWriter {
  private readonly opts: FeatureWriterOptions
  private readonly cap: number
  private buffer = new Map<string, FeatureRow>()
  private inFlight = 0
  private timer: TimerHandle | null = null
  private running: Promise<void> | null = null
  private closed = false
  private closing: Promise<void> | null = null
  private failed: FeatureRow[] = []

  constructor(opts: FeatureWriterOptions) {
    super()
    this.opts = opts
    const max = Math.max(1, Math.floor(opts.maxBatch ?? 5_000))
    this.cap = opts.db.kind === 'pglite' ? Math.min(max, 1_000) : max
  }

  get bufferSize(): number {
    return this.buffer.size + this.inFlight
  }

  add(rows: readonly FeatureRow[]): void {
    if (rows.length === 0) return
    if (this.closed) {
      this.fail(rows, new StoreError('WRITER_CLOSED', 'feature rows added after the writer was closed'))
      return
    }
    for (const r of rows) {
      const key = featureKey(r)
      // Re-inserting moves the key to the end: batches keep the order rows were last handed in.
      this.buffer.delete(key)
      this.buffer.set(key, r)
    }
    if (this.timer === null && this.running === null) {
      this.timer = this.opts.clock.setTimeout(() => {
        this.timer = null
        void this.pump()
      }, this.opts.intervalMs)
    }
  }

  async flush(): Promise<void> {
    // The batch in flight, then what was buffered when it ended, until nothing is left.
    while (this.running !== null || this.buffer.size > 0) {
      if (this.running !== null) await this.running
      else await this.pump()
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true
      this.timer?.cancel()
      this.timer = null
      await this.flush()
    })()
    return this.closing
  }

  takeFailed(): FeatureRow[] {
    const out = this.failed
    this.failed = []
    return out
  }

  /** Writes what is buffered now, batch by batch. Rows added meanwhile wait for the next interval. */
  private pump(): Promise<void> {
    if (this.running !== null) return this.running
    this.timer?.cancel()
    this.timer = null
    const rows = [...this.buffer.values()]
    this.buffer = new Map()
    this.inFlight = rows.length
    this.running = (async () => {
      try {
        for (let i = 0; i < rows.length; i += this.cap) {
          await this.writeBatch(rows.slice(i, i + this.cap))
          if (this.opts.db.kind === 'pglite' && i + this.cap < rows.length) {
            await new Promise<void>((resolve) => setImmediate(resolve))
          }
        }
      } finally {
        this.inFlight = 0
        this.running = null
        if (this.buffer.size > 0 && this.timer === null && !this.closed) {
          this.timer = this.opts.clock.setTimeout(() => {
            this.timer = null
            void this.pump()
          }, this.opts.intervalMs)
        }
      }
    })()
    return this.running
  }

  /** Writes one batch to the end: success, split, or failure. Never throws. */
  private writeBatch(batch: readonly FeatureRow[]): Promise<void> {
    const started = this.opts.clock.now()
    return writeWithRetries(batch, {
      maxRetries: this.opts.maxRetries,
      write: async (rows) => (await this.opts.db.query(buildFeatureUpsert(rows))).rowCount ?? 0,
      delayFor: (attempt) => backoffMs(attempt, this.opts),
      sleep: (ms) => new Promise<void>((resolve) => this.opts.clock.setTimeout(resolve, ms)),
      written: (rows, attempts, changed) => {
        this.inFlight -= rows.length
        this.emit('flushed', {
          size: rows.length,
          attempts,
          durationMs: this.opts.clock.now() - started,
          changed,
        })
      },
      retrying: (info) => this.emit('retry', info),
      failed: (rows, error) => this.fail(rows, error),
    })
  }

  private fail(rows: readonly FeatureRow[], error: unknown): void {
    this.inFlight = Math.max(0, this.inFlight - rows.length)
    for (const r of rows) this.failed.push(r)
    this.emit('failed', { rows, error })
  }
}
