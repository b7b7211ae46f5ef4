/**
 * Batches closed candles into set-based upserts (group commit).
 *
 * Policy:
 * - Idle (nothing in flight): candles are written at once, on the next
 *   microtask, so one synchronous burst becomes one batch and a lone candle
 *   never waits for a timer.
 * - Busy: candles accumulate; when the write in flight ends, the accumulated
 *   ones go out as the next batch (cut at maxBatch; at most 1 000 on PGlite,
 *   with a setImmediate between batches so the event loop breathes).
 * - Never two writes in flight, and batches leave in arrival order, so a later
 *   candle for a key is never overwritten by an earlier batch.
 * - Transient errors are retried with jittered exponential backoff (injected
 *   clock). Each retry takes in the candles that arrived meanwhile (merged,
 *   later wins), and maxWaitMs bounds how long a backoff may hold a buffered
 *   candle: when the oldest has waited that long, the retry runs now.
 * - A non-transient error (a CHECK violation…) is not retried: the batch is
 *   halved until the bad candles are isolated, so good ones are still written.
 * - Whatever still fails is emitted as 'failed' and kept for takeFailed():
 *   nothing vanishes silently.
 * The writer never logs; the composition root listens to its events.
 */

import type { Clock, TimerHandle } from '../core/clock.ts'
import { nextTurn } from '../core/next-turn.ts'
import type { Candle } from '../core/records.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import { backoffMs, writeWithRetries } from './batch-retry.ts'
import { buildCandleUpsert, candleKey, dedupeCandles } from './candle-sql.ts'
import type { Db } from './db.ts'
import { StoreError } from './errors.ts'

export interface CandleWriterOptions {
  db: Db
  clock: Clock
  maxBatch: number
  /**
   * The largest batch that gathers behind a write in flight (default: maxBatch).
   * A burst of closed candles (every symbol at the minute) then costs one round trip
   * after the current one instead of a queue of maxBatch-sized ones.
   */
  maxGroup?: number
  maxWaitMs: number
  maxRetries: number
  retryBaseMs?: number
  retryMaxMs?: number
  random?: () => number
}

export interface FlushInfo {
  size: number
  attempts: number
  durationMs: number
  candles: readonly Candle[]
  /** Rows inserted or changed; identical replays count 0. */
  changed: number
}

export interface RetryInfo {
  attempt: number
  delayMs: number
  error: unknown
}

export interface FailedBatch {
  candles: readonly Candle[]
  error: unknown
}

/** What a write(batch) became: each candle is in exactly one of the two lists. */
export interface WriteResult {
  readonly written: readonly Candle[]
  readonly failed: readonly FailedBatch[]
}

export interface CandleWriter {
  add(c: Candle): void
  /** Adds the batch and resolves once every candle of it is written or failed (never rejects). */
  write(candles: readonly Candle[]): Promise<WriteResult>
  /** Candles buffered plus in flight. */
  readonly bufferSize: number
  /** Resolves when every candle added before the call is written or failed. */
  flush(): Promise<void>
  /** Stops accepting candles, flushes, stops timers. Idempotent. */
  close(): Promise<void>
  /** Candles of every failed batch since the last call, in order; the list is emptied. */
  takeFailed(): Candle[]
  on(event: 'flushed', fn: (info: FlushInfo) => void): void
  on(event: 'retry', fn: (info: RetryInfo) => void): void
  on(event: 'failed', fn: (info: FailedBatch) => void): void
}

/** PGlite blocks the event loop while it works: ~7–10 ms per 1 000 rows. */
export const PGLITE_MAX_BATCH = 1_000

export function createCandleWriter(opts: CandleWriterOptions): CandleWriter {
  return new BatchingCandleWriter(opts)
}

interface Entry {
  candle: Candle
  seq: number
  at: number
}

type Events = { flushed: FlushInfo; retry: RetryInfo; failed: FailedBatch }

class BatchingCandleWriter extends TypedEmitter<Events> implements CandleWriter {
  private readonly cap: number
  private queue: Entry[] = []
  private inFlight = 0
  private running = false
  private scheduled = false
  private closed = false
  private closing: Promise<void> | null = null
  private addedSeq = 0
  private takenSeq = 0
  private doneSeq = 0
  private failed: Candle[] = []
  private waitTimer: TimerHandle | null = null
  private wake: (() => void) | null = null
  private waiters: Array<{ seq: number; resolve: () => void }> = []

  private readonly opts: CandleWriterOptions

  constructor(opts: CandleWriterOptions) {
    super()
    this.opts = opts
    const max = Math.max(1, Math.floor(opts.maxBatch), Math.floor(opts.maxGroup ?? 0))
    this.cap = opts.db.kind === 'pglite' ? Math.min(max, PGLITE_MAX_BATCH) : max
  }

  get bufferSize(): number {
    return this.queue.length + this.inFlight
  }

  add(c: Candle): void {
    if (this.closed) {
      this.fail([c], new StoreError('WRITER_CLOSED', 'candle added after the writer was closed'))
      return
    }
    this.queue.push({ candle: c, seq: ++this.addedSeq, at: this.opts.clock.now() })
    if (!this.running) this.schedule()
    else if (this.waitTimer === null) this.armWaitTimer()
  }

  async write(candles: readonly Candle[]): Promise<WriteResult> {
    const mine = new Set(candles.map(candleKey))
    const failed: FailedBatch[] = []
    const stopListening = this.on('failed', (f) => {
      const ours = f.candles.filter((c) => mine.has(candleKey(c)))
      if (ours.length > 0) failed.push({ candles: ours, error: f.error })
    })
    try {
      for (const c of candles) this.add(c)
      await this.flush()
    } finally {
      stopListening()
    }
    if (failed.length === 0) return { written: candles, failed }
    const lost = new Set(failed.flatMap((f) => f.candles.map(candleKey)))
    return { written: candles.filter((c) => !lost.has(candleKey(c))), failed }
  }

  flush(): Promise<void> {
    const seq = this.addedSeq
    if (this.doneSeq >= seq) return Promise.resolve()
    if (!this.running) this.schedule()
    return new Promise((resolve) => this.waiters.push({ seq, resolve }))
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true
      await this.flush()
      this.waitTimer?.cancel()
      this.waitTimer = null
    })()
    return this.closing
  }

  takeFailed(): Candle[] {
    const out = this.failed
    this.failed = []
    return out
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      void this.pump()
    })
  }

  private async pump(): Promise<void> {
    if (this.running) return
    this.running = true
    try {
      while (this.queue.length > 0) {
        const batch = this.take(this.cap)
        this.inFlight = batch.length
        this.armWaitTimer()
        await this.writeBatch(batch)
        this.doneSeq = this.takenSeq
        this.resolveWaiters()
        if (this.opts.db.kind === 'pglite' && this.queue.length > 0) {
          await nextTurn()
        }
      }
    } finally {
      this.running = false
      this.inFlight = 0
      this.waitTimer?.cancel()
      this.waitTimer = null
      this.doneSeq = this.takenSeq
      this.resolveWaiters()
    }
  }

  private take(n: number): Candle[] {
    const entries = this.queue.splice(0, n)
    const last = entries[entries.length - 1]
    if (last !== undefined) this.takenSeq = last.seq
    return entries.map((e) => e.candle)
  }

  private resolveWaiters(): void {
    if (this.waiters.length === 0) return
    const ready = this.waiters.filter((w) => w.seq <= this.doneSeq)
    this.waiters = this.waiters.filter((w) => w.seq > this.doneSeq)
    for (const w of ready) w.resolve()
  }

  /** Writes one batch to the end: success, split, or failure. Never throws. */
  private async writeBatch(initial: readonly Candle[]): Promise<void> {
    const started = this.opts.clock.now()
    await writeWithRetries(initial, {
      maxRetries: this.opts.maxRetries,
      write: async (batch) => (await this.opts.db.query(buildCandleUpsert(batch))).rowCount ?? 0,
      delayFor: (attempt) => backoffMs(attempt, this.opts),
      sleep: (ms) => this.sleep(ms),
      written: (batch, attempts, changed) => {
        this.inFlight -= batch.length
        const durationMs = this.opts.clock.now() - started
        this.emit('flushed', { size: batch.length, attempts, durationMs, candles: batch, changed })
      },
      retrying: (info) => this.emit('retry', info),
      failed: (batch, error) => this.fail(batch, error),
      // Candles that arrived during the backoff join the retry (the later value of a key wins).
      regroup: (batch) => {
        const room = this.cap - batch.length
        if (room <= 0 || this.queue.length === 0) return batch
        const merged = dedupeCandles([...batch, ...this.take(room)])
        this.inFlight += merged.length - batch.length
        this.armWaitTimer()
        return merged
      },
    })
  }

  /** Backoff sleep on the injected clock; the maxWait timer may end it early. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.opts.clock.setTimeout(() => done(), ms)
      const done = () => {
        timer.cancel()
        this.wake = null
        resolve()
      }
      this.wake = done
    })
  }

  private armWaitTimer(): void {
    this.waitTimer?.cancel()
    this.waitTimer = null
    const oldest = this.queue[0]
    if (oldest === undefined) return
    const delay = Math.max(0, oldest.at + this.opts.maxWaitMs - this.opts.clock.now())
    this.waitTimer = this.opts.clock.setTimeout(() => {
      this.waitTimer = null
      // Only a backoff can be cut short; a query in progress is bounded by statement_timeout.
      this.wake?.()
    }, delay)
  }

  private fail(candles: readonly Candle[], error: unknown): void {
    this.inFlight = Math.max(0, this.inFlight - candles.length)
    for (const c of candles) this.failed.push(c)
    this.emit('failed', { candles, error })
  }
}
