/**
 * Live features: each closed candle gives one feature_cache row per window,
 * computed in O(1) from per-symbol rolling state and written in batches by the
 * feature writer. Warm-up fills the state from candles_1m; a history change (a
 * backfill into the past, a late or changed candle) recomputes from scratch
 * every row whose window saw it, and rebuilds the live state when it is touched,
 * so that feature_cache equals a full recomputation over candles_1m.
 *
 * Feature rows carry no foreign key: a live row may be committed before its
 * candle (the candle writer is asynchronous too). Never logs: listen to events.
 */

import { type CandlePoint, candlePoint, samePoint } from '../core/candle-point.ts'
import type { Clock, TimerHandle } from '../core/clock.ts'
import { type Candle, type Market, MINUTE_MS } from '../core/records.ts'
import { retry, schedule } from '../core/retry.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import type { FeatureRow } from '../features/feature-row.ts'
import { mergePoints, recomputeFeatures, recomputeFeaturesInSteps } from '../features/recompute.ts'
import type { SymbolState } from '../features/symbol-state.ts'
import { latestCandleTime } from '../store/candle-queries.ts'
import type { Db } from '../store/db.ts'
import { isTransientDbError } from '../store/errors.ts'
import { readCandleSpan, readLatestFeatureTimes } from './feature-sql.ts'
import {
  createFeatureWriter,
  type FeatureFailure,
  type FeatureFlushInfo,
  type FeatureRetryInfo,
  type FeatureWriter,
} from './feature-writer.ts'

export interface FeatureEngineOptions {
  db: Db
  clock: Clock
  market?: Market
  symbols: readonly string[]
  /** Window sizes in candles (FEATURE_WINDOWS). */
  windows: readonly number[]
  /** FEATURE_UPDATE_INTERVAL in ms: a row is written at most this long after its candle. */
  updateIntervalMs: number
  maxRetries: number
  random?: () => number
  retryBaseMs?: number
  retryMaxMs?: number
  maxBatch?: number
}

export interface HistorySpan {
  symbol: string
  fromOpenTime: number
  toOpenTime: number
}

/**
 * Rows that could not be written (kept for later, or given up: `final`), or a
 * repair whose candles could not be read (`repair` set; retried later unless
 * the engine is closed, then final).
 */
export interface FeatureEngineFailure extends FeatureFailure {
  repair?: HistorySpan
}

type Events = { flushed: FeatureFlushInfo; retry: FeatureRetryInfo; failed: FeatureEngineFailure }

export interface FeatureEngine {
  /** Fills every symbol's windows from candles_1m and writes rows its stored candles lack. */
  warmUp(): Promise<void>
  /** A closed candle, in any order: a newer one is computed at once, an older or changed one repairs history. */
  onCandle(c: Candle): void
  /** Candles with open time in [from, to] were inserted or changed in candles_1m (and committed). */
  onHistoryChanged(symbol: string, fromOpenTime: number, toOpenTime: number): Promise<void>
  /** True when every (symbol, window) window holds window_size candles. */
  warmedUp(): boolean
  /** Finishes pending repairs and writes every row computed so far. */
  flush(): Promise<void>
  /** Flushes and stops; idempotent. */
  close(): Promise<void>
  /** Rows given up since the last call (emitted as 'failed' with `final: true` too). */
  takeFailed(): FeatureRow[]
  on<K extends keyof Events>(event: K, fn: (info: Events[K]) => void): void
}

export function createFeatureEngine(opts: FeatureEngineOptions): FeatureEngine {
  return new LiveFeatureEngine(opts)
}

/** Late candles stay in the repair overlay this long: the candle writer has committed them by then. */
const OVERLAY_TTL_MS = 15 * MINUTE_MS

class LiveFeatureEngine extends TypedEmitter<Events> implements FeatureEngine {
  private readonly opts: FeatureEngineOptions
  private readonly market: Market
  private readonly symbols: readonly string[]
  private readonly windows: readonly number[]
  /** Minutes before a candle that its largest window reaches back. */
  private readonly reachMs: number
  private readonly writer: FeatureWriter
  private readonly states = new Map<string, SymbolState>()
  /** Candles handed to onCandle out of order, which candles_1m may not hold yet. */
  private readonly overlay = new Map<string, Map<number, { point: CandlePoint; at: number }>>()
  private readonly timers = new Set<TimerHandle>()
  private warming: Promise<void> | null = null
  private warm = false
  private early: Candle[] = []
  private repairs: Promise<void> = Promise.resolve()
  private closed = false
  private closing: Promise<void> | null = null

  constructor(opts: FeatureEngineOptions) {
    super()
    this.opts = opts
    this.market = opts.market ?? 'spot'
    this.symbols = [...new Set(opts.symbols.map((s) => s.toUpperCase()))]
    this.windows = [...new Set(opts.windows)].sort((a, b) => a - b)
    if (this.windows.length === 0 || this.windows.some((w) => !Number.isInteger(w) || w < 1)) {
      throw new RangeError(`window sizes must be positive integers, got ${opts.windows.join(',')}`)
    }
    this.reachMs = ((this.windows.at(-1) as number) - 1) * MINUTE_MS
    this.writer = createFeatureWriter({
      db: opts.db,
      clock: opts.clock,
      intervalMs: opts.updateIntervalMs,
      maxRetries: opts.maxRetries,
      ...(opts.random === undefined ? {} : { random: opts.random }),
      ...(opts.retryBaseMs === undefined ? {} : { retryBaseMs: opts.retryBaseMs }),
      ...(opts.retryMaxMs === undefined ? {} : { retryMaxMs: opts.retryMaxMs }),
      ...(opts.maxBatch === undefined ? {} : { maxBatch: opts.maxBatch }),
    })
    this.writer.on('flushed', (i) => this.emit('flushed', i))
    this.writer.on('retry', (i) => this.emit('retry', i))
    this.writer.on('failed', (i) => this.emit('failed', i))
  }

  warmUp(): Promise<void> {
    this.warming ??= (async () => {
      for (const symbol of this.symbols) {
        const newest = await this.withRetries(() => latestCandleTime(this.opts.db, this.market, symbol))
        if (newest === null) continue
        const latest = await this.withRetries(() =>
          readLatestFeatureTimes(this.opts.db, this.market, symbol, this.windows),
        )
        // Rows lost with a crash (computed, not yet written) are rewritten for the candles of the
        // last window; older gaps in feature_cache are repaired through onHistoryChanged.
        let missingAfter = Number.POSITIVE_INFINITY
        for (const w of this.windows)
          missingAfter = Math.min(missingAfter, latest.get(w) ?? Number.NEGATIVE_INFINITY)
        const emitFrom = Math.max(missingAfter + MINUTE_MS, newest - this.reachMs)
        const readFrom = Math.min(newest, emitFrom) - this.reachMs
        const stored = await this.withRetries(() =>
          readCandleSpan(this.opts.db, this.market, symbol, readFrom, newest),
        )
        // In steps: live candles wait in `early` meanwhile.
        const points = stored.map(candlePoint)
        const r = await recomputeFeaturesInSteps(this.market, symbol, this.windows, points, emitFrom)
        this.states.set(symbol, r.state)
        this.writer.add(r.rows)
      }
      this.warm = true
      const early = this.early
      this.early = []
      for (const c of early) this.onCandle(c)
    })()
    return this.warming
  }

  onCandle(c: Candle): void {
    if (this.closed) {
      this.emit('failed', {
        rows: [],
        error: new Error('feature engine closed'),
        final: true,
        repair: span(c),
      })
      return
    }
    if (!this.warm) {
      this.early.push(c)
      return
    }
    const p = candlePoint(c)
    const state = this.stateOf(c.symbol)
    if (p.openTime > state.newest) {
      const rows: FeatureRow[] = []
      state.push(p, rows)
      this.writer.add(rows)
      return
    }
    const seq = state.ring.find(p.openTime)
    if (seq >= 0 && samePoint(state.ring.point(seq), p)) return // a replay: nothing changed
    const late = this.overlay.get(c.symbol) ?? new Map<number, { point: CandlePoint; at: number }>()
    this.overlay.set(c.symbol, late)
    late.set(p.openTime, { point: p, at: this.opts.clock.now() })
    void this.onHistoryChanged(c.symbol, p.openTime, p.openTime)
  }

  onHistoryChanged(symbol: string, fromOpenTime: number, toOpenTime: number): Promise<void> {
    const s: HistorySpan = { symbol: symbol.toUpperCase(), fromOpenTime, toOpenTime }
    // A repair asked for during warm-up (a spool replayed at start) runs once the windows are filled.
    const run = this.repairs.then(() => this.warming?.catch(() => {})).then(() => this.repairOrReschedule(s))
    this.repairs = run
    return run
  }

  warmedUp(): boolean {
    return this.warm && this.symbols.every((s) => this.states.get(s)?.isFull() === true)
  }

  async flush(): Promise<void> {
    await this.warming
    await this.repairs
    await this.writer.flush()
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.flush()
      this.closed = true
      for (const t of this.timers) t.cancel()
      this.timers.clear()
      await this.writer.close()
    })()
    return this.closing
  }

  takeFailed(): FeatureRow[] {
    return this.writer.takeFailed()
  }

  private stateOf(symbol: string): SymbolState {
    let s = this.states.get(symbol)
    if (s === undefined) {
      s = recomputeFeatures(this.market, symbol, this.windows, [], 0).state
      this.states.set(symbol, s)
    }
    return s
  }

  private async repairOrReschedule(s: HistorySpan): Promise<void> {
    try {
      await this.repair(s)
    } catch (error) {
      // Never lost: reported, and tried again an interval later (until close).
      this.emit('failed', { rows: [], error, final: this.closed, repair: s })
      if (this.closed) return
      const t = this.opts.clock.setTimeout(() => {
        this.timers.delete(t)
        void this.onHistoryChanged(s.symbol, s.fromOpenTime, s.toOpenTime)
      }, this.opts.updateIntervalMs)
      this.timers.add(t)
    }
  }

  /**
   * Rows of candles in [from, to + reach] see the change. Their windows reach back
   * to from − reach, so that span is read, merged with what the engine holds but
   * candles_1m may not yet (the live ring, late candles), and recomputed.
   */
  private async repair(s: HistorySpan): Promise<void> {
    const lo = s.fromOpenTime - this.reachMs
    const hi = s.toOpenTime + this.reachMs
    const stored = await this.withRetries(() => readCandleSpan(this.opts.db, this.market, s.symbol, lo, hi))
    const state = this.stateOf(s.symbol)
    const touchesLive = state.newest <= hi
    const live = state.ring.points().filter((p) => p.openTime >= lo && (touchesLive || p.openTime <= hi))
    const points = mergePoints(live, stored.map(candlePoint), this.lateCandles(s.symbol, lo, hi))
    const last = points.at(-1)
    if (last === undefined || last.openTime < s.fromOpenTime) return
    // In steps (a day of history is thousands of points): live candles keep arriving meanwhile.
    const r = await recomputeFeaturesInSteps(this.market, s.symbol, this.windows, points, s.fromOpenTime)
    if (touchesLive) {
      // Synchronous from here: the new state takes in what the live state got during the steps, then replaces it.
      for (const p of this.stateOf(s.symbol).ring.points())
        if (p.openTime > last.openTime) r.state.push(p, r.rows)
      this.states.set(s.symbol, r.state)
    }
    this.writer.add(r.rows)
  }

  private lateCandles(symbol: string, lo: number, hi: number): CandlePoint[] {
    const late = this.overlay.get(symbol)
    if (late === undefined) return []
    const now = this.opts.clock.now()
    const out: CandlePoint[] = []
    for (const [t, e] of late) {
      if (now - e.at > OVERLAY_TTL_MS) late.delete(t)
      else if (t >= lo && t <= hi) out.push(e.point)
    }
    return out.sort((a, b) => a.openTime - b.openTime)
  }

  private withRetries<T>(fn: () => Promise<T>): Promise<T> {
    return retry(fn, {
      schedule: schedule('db.write', { baseMs: this.opts.retryBaseMs, maxMs: this.opts.retryMaxMs }),
      clock: this.opts.clock,
      random: this.opts.random ?? Math.random,
      maxRetries: this.opts.maxRetries,
      retryable: isTransientDbError,
      onRetry: (info) => this.emit('retry', info),
    })
  }
}

function span(c: Candle): HistorySpan {
  return { symbol: c.symbol, fromOpenTime: c.openTime, toOpenTime: c.openTime }
}
