/**
 * The writer made durable: whatever the database cannot take goes to the
 * spool, and the spool is replayed when the database answers again.
 *
 * - add() hands candles to the writer. Live data keeps flowing to it while
 *   the spool is non-empty; the spool is never a queue in front of the writer.
 * - Writer 'failed' → the batch is appended to the spool ('spooled'): the
 *   retries ran out, or the database cannot take writes for now (read-only
 *   after a failover, a revoked privilege). Only a row the database refuses as
 *   such (isRowRejection: SQLSTATE classes 22/23) is not spooled, where it
 *   would fail forever: it is reported as 'rejected'.
 * - Spool full or unwritable → the batch is held in memory ('full') and moved
 *   to the spool, or back to the writer, as soon as there is room.
 * - Replay runs at start() and then on a jittered timer (injected clock) while
 *   anything is spooled or held, backing off while the database stays away. It
 *   writes straight to the Db with the fill-only upsert (candle-sql.ts), not
 *   through the writer: a replayed batch is old, so it must never overwrite a
 *   newer row, and the writer's rule is "latest wins". Fill-only also makes
 *   replay commute with live writes, so it runs beside them.
 * - close(): the writer flushes; what it cannot write lands in the spool. With a
 *   timeout, what is still unconfirmed when it expires is spooled as is (a batch
 *   that lands in both places is harmless: replay is idempotent).
 */
import { type Clock, type TimerHandle, within } from '../core/clock.ts'
import type { Candle } from '../core/records.ts'
import { delayFor, schedule } from '../core/retry.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import { candleKey } from '../store/candle-sql.ts'
import type { CandleWriter } from '../store/candle-writer.ts'
import type { Db } from '../store/db.ts'
import { isRowRejection } from '../store/errors.ts'
import type { Spool } from './spool.ts'
import { type ReplayedSpan, replaySpool } from './spool-replay.ts'

export interface DurableSinkOptions {
  readonly writer: CandleWriter
  readonly spool: Spool
  /** Replay writes here directly (fill-only upsert). */
  readonly db: Db
  readonly clock: Clock
  /** Base replay period while something is spooled; jittered ×0.5–1.5, up to ×8 while the DB stays away. */
  readonly replayIntervalMs: number
  readonly random?: () => number
}

export type { ReplayedSpan }

export type SpoolReason = 'write_failed' | 'shutdown' | 'held'

export interface DurableSinkEvents {
  /** Candles went to the spool: log as db_write_failed. */
  spooled: { candles: number; bytes: number; records: number; reason: SpoolReason; error: unknown }
  /** Spooled candles reached the database: data_quality_logs spool_replayed. */
  replayed: { records: number; candles: number; remaining: number; spans: readonly ReplayedSpan[] }
  /** A replay attempt stopped at a write failure; the rest stays spooled. */
  replay_failed: { records: number; candles: number; remaining: number; error: unknown }
  /** The database refused these rows as such (not transient): never spooled. */
  rejected: { candles: readonly Candle[]; error: unknown }
  /** The spool refused a batch (full or I/O error): it is held in memory meanwhile. */
  full: { candles: number; held: number; error: unknown }
}

export interface SinkCloseResult {
  /** Candles spooled during close. */
  readonly spooled: number
  /** Candles neither written nor spooled (spool full at exit). Non-zero → exit 1. */
  readonly lost: number
  readonly timedOut: boolean
}

/** Candles per spool record: large batches are split so a nearly full spool still takes part of them. */
const SPOOL_RECORD_CANDLES = 1_000

export class DurableSink extends TypedEmitter<DurableSinkEvents> {
  private readonly opts: DurableSinkOptions
  private readonly random: () => number
  /** Candles given to the writer and not yet reported flushed or failed, by key. */
  private readonly pending = new Map<string, Candle>()
  private held: Candle[] = []
  private spooledCount = 0
  private timer: TimerHandle | null = null
  private replaying: Promise<void> | null = null
  private failures = 0
  private started = false
  private closing = false
  private abandoned = false
  private closed: Promise<SinkCloseResult> | null = null

  constructor(opts: DurableSinkOptions) {
    super()
    this.opts = opts
    this.random = opts.random ?? Math.random
    opts.writer.on('flushed', (info) => this.settle(info.candles))
    opts.writer.on('failed', (info) => this.onFailed(info.candles, info.error))
  }

  /** Candles in the writer plus candles held in memory because the spool refused them. */
  get bufferSize(): number {
    return this.opts.writer.bufferSize + this.held.length
  }

  get heldCandles(): number {
    return this.held.length
  }

  add(c: Candle): void {
    this.pending.set(candleKey(c), c)
    this.opts.writer.add(c)
  }

  /** Replays what an earlier run left at once, then keeps the replay loop going. Idempotent. */
  start(): void {
    if (this.started) return
    this.started = true
    void this.replayNow()
  }

  /** One replay pass now (shared with one already running). */
  replayNow(): Promise<void> {
    this.timer?.cancel()
    this.timer = null
    this.replaying ??= this.tick().finally(() => {
      this.replaying = null
      this.schedule()
    })
    return this.replaying
  }

  close(opts: { timeoutMs?: number } = {}): Promise<SinkCloseResult> {
    this.closed ??= this.shutdown(opts.timeoutMs)
    return this.closed
  }

  private async shutdown(timeoutMs: number | undefined): Promise<SinkCloseResult> {
    this.closing = true
    this.timer?.cancel()
    this.timer = null
    const spooledBefore = this.spooledCount
    const drained = Promise.all([this.opts.writer.close(), this.replaying ?? Promise.resolve()])
    const timedOut = await this.expires(drained, timeoutMs)
    if (timedOut) {
      // The writer is still busy: spool everything it has not confirmed. Events it
      // emits later change nothing (those candles are in the spool already).
      this.abandoned = true
      const left = [...this.pending.values()]
      this.pending.clear()
      this.toSpool(left, 'shutdown', new Error(`shutdown timeout of ${timeoutMs} ms`))
    }
    this.opts.writer.takeFailed()
    if (this.held.length > 0) this.toSpool(this.takeHeld(), 'held', null)
    return { spooled: this.spooledCount - spooledBefore, lost: this.held.length, timedOut }
  }

  /** True when `work` has not settled within `ms` on the injected clock. */
  private async expires(work: Promise<unknown>, ms: number | undefined): Promise<boolean> {
    if (ms === undefined) {
      await work
      return false
    }
    return !(await within(this.opts.clock, work, ms)).inTime
  }

  private onFailed(candles: readonly Candle[], error: unknown): void {
    this.opts.writer.takeFailed() // handled here; do not let the writer's copy grow
    if (this.abandoned) return
    this.settle(candles)
    if (isRowRejection(error)) {
      this.emit('rejected', { candles, error })
      return
    }
    this.toSpool(candles, this.closing ? 'shutdown' : 'write_failed', error)
  }

  private settle(candles: readonly Candle[]): void {
    for (const c of candles) {
      const key = candleKey(c)
      const p = this.pending.get(key)
      if (p !== undefined && p.receivedAt <= c.receivedAt) this.pending.delete(key)
    }
  }

  /**
   * Appends in records of at most SPOOL_RECORD_CANDLES, so that what is held can
   * move into whatever room the spool has; the first record that does not fit
   * and everything after it are held in memory.
   */
  private toSpool(candles: readonly Candle[], reason: SpoolReason, error: unknown): void {
    if (candles.length === 0) return
    const { spool } = this.opts
    let written = 0
    for (let i = 0; i < candles.length; i += SPOOL_RECORD_CANDLES) {
      const record = candles.slice(i, i + SPOOL_RECORD_CANDLES)
      try {
        spool.append(record)
      } catch (err) {
        for (const c of candles.slice(i)) this.held.push(c)
        this.emit('full', { candles: candles.length - i, held: this.held.length, error: err })
        break
      }
      written += record.length
    }
    if (written > 0) {
      this.spooledCount += written
      this.emit('spooled', {
        candles: written,
        bytes: spool.bytes,
        records: spool.records,
        reason,
        error,
      })
    }
    this.schedule()
  }

  private rewriteHeld(): void {
    if (this.closing) return
    for (const c of this.takeHeld()) this.add(c)
  }

  private takeHeld(): Candle[] {
    const h = this.held
    this.held = []
    return h
  }

  private async tick(): Promise<void> {
    const { spool } = this.opts
    if (spool.records === 0) {
      this.rewriteHeld()
      return
    }
    const { result: r, spans: written } = await replaySpool(spool, this.opts.db, (candles, error) =>
      this.emit('rejected', { candles, error }),
    )
    // The database took the whole spool: what is held goes back to the writer (which spools
    // what it still cannot write). Otherwise it moves into whatever room the replay made.
    if (spool.records === 0) this.rewriteHeld()
    else if (this.held.length > 0) this.toSpool(this.takeHeld(), 'held', null)
    if (r.done || r.error === null) {
      this.failures = 0
      if (r.records > 0)
        this.emit('replayed', {
          records: r.records,
          candles: r.candles,
          remaining: spool.candles,
          spans: written,
        })
    } else {
      this.failures++
      if (r.records > 0)
        this.emit('replayed', {
          records: r.records,
          candles: r.candles,
          remaining: spool.candles,
          spans: written,
        })
      this.emit('replay_failed', {
        records: r.records,
        candles: r.candles,
        remaining: spool.candles,
        error: r.error,
      })
    }
  }

  private schedule(): void {
    if (this.closing || !this.started || this.timer !== null || this.replaying !== null) return
    if (this.opts.spool.records === 0 && this.held.length === 0) return
    const base = this.opts.replayIntervalMs
    const delay = delayFor(
      schedule('spool.replay', { baseMs: base, maxMs: 8 * base }),
      this.failures + 1,
      this.random,
    )
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = null
      void this.replayNow()
    }, delay)
  }
}

export function createDurableSink(opts: DurableSinkOptions): DurableSink {
  return new DurableSink(opts)
}
