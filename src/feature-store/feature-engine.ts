/**
 * Live features: each closed candle gives one feature_cache row per window,
 * computed in O(1) from per-symbol rolling state and written in batches by the
 * feature writer. Warm-up fills the state from candles_1m; a history change (a
 * backfill into the past, a late or changed candle) recomputes from scratch
 * every row whose window saw it, and rebuilds the live state when it is touched,
 * so that feature_cache equals a full recomputation over candles_1m.
 *
 * A live row waits for its candle's commit (candlesCommitted, at most the
 * update interval: commit-gate.ts), then is written at once; reloadLive reads
 * the live windows again when another process may have written into them.
 * Never logs: listen to events.
 */

import { candlePoint, samePoint } from '../core/candle-point.ts'
import type { TimerHandle } from '../core/clock.ts'
import { type Candle, type Market, MINUTE_MS } from '../core/records.ts'
import { retry, schedule } from '../core/retry.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import type { FeatureRow } from '../features/feature-row.ts'
import { mergePoints, recomputeFeatures, recomputeFeaturesInSteps } from '../features/recompute.ts'
import type { SymbolState } from '../features/symbol-state.ts'
import { latestCandleTime } from '../store/candle-queries.ts'
import { isTransientDbError } from '../store/errors.ts'
import { CommitGate } from './commit-gate.ts'
import { type FeatureAge, FeatureAgeTracker } from './feature-age.ts'
import type {
  FeatureEngine,
  FeatureEngineEvents,
  FeatureEngineOptions,
  HistorySpan,
} from './feature-engine-api.ts'
import { readCandleSpan, readLatestFeatureTimes } from './feature-sql.ts'
import { createFeatureWriter, type FeatureWriter } from './feature-writer.ts'
import { LateCandles } from './late-candles.ts'

export * from './feature-engine-api.ts'

export function createFeatureEngine(opts: FeatureEngineOptions): FeatureEngine {
  return new LiveFeatureEngine(opts)
}

/** Late candles stay in the repair overlay this long: the candle writer has committed them by then. */
const OVERLAY_TTL_MS = 15 * MINUTE_MS

class LiveFeatureEngine extends TypedEmitter<FeatureEngineEvents> implements FeatureEngine {
  private readonly opts: FeatureEngineOptions
  private readonly market: Market
  private readonly symbols: readonly string[]
  private readonly windows: readonly number[]
  /** Minutes before a candle that its largest window reaches back. */
  private readonly reachMs: number
  private readonly writer: FeatureWriter
  private readonly states = new Map<string, SymbolState>()
  private readonly late = new LateCandles(OVERLAY_TTL_MS)
  private readonly age: FeatureAgeTracker
  /** Live rows wait here for their candle's commit (at most the update interval). */
  private readonly gate: CommitGate
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
    this.age = new FeatureAgeTracker(this.windows)
    this.gate = new CommitGate(opts.clock, opts.updateIntervalMs, (rows) => {
      this.writer.add(rows)
      this.writer.writeNow()
    })
    this.writer.on('flushed', (i) => {
      this.age.noteWritten(i.rows)
      this.emit('flushed', i)
    })
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
        this.age.noteCandle(symbol, newest)
        for (const w of this.windows) {
          const t = latest.get(w) ?? null
          if (t !== null) this.age.noteRow(symbol, w, t)
          missingAfter = Math.min(missingAfter, t ?? Number.NEGATIVE_INFINITY)
        }
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
    this.age.noteCandle(c.symbol, p.openTime)
    const state = this.stateOf(c.symbol)
    if (p.openTime > state.newest) {
      const rows: FeatureRow[] = []
      state.push(p, rows)
      this.gate.hold(rows)
      return
    }
    const seq = state.ring.find(p.openTime)
    if (seq >= 0 && samePoint(state.ring.point(seq), p)) return // a replay: nothing changed
    this.late.add(c.symbol, p, this.opts.clock.now())
    void this.onHistoryChanged(c.symbol, p.openTime, p.openTime)
  }

  onHistoryChanged(symbol: string, fromOpenTime: number, toOpenTime: number): Promise<void> {
    const s: HistorySpan = { symbol: symbol.toUpperCase(), fromOpenTime, toOpenTime }
    // A repair asked for during warm-up (a spool replayed at start) runs once the windows are filled.
    const run = this.repairs.then(() => this.warming?.catch(() => {})).then(() => this.repairOrReschedule(s))
    this.repairs = run
    return run
  }

  async reloadLive(only?: { symbol: string; to: number }): Promise<void> {
    await this.warming?.catch(() => {})
    const spans = [...this.states].filter(
      ([sym, st]) =>
        Number.isFinite(st.newest) &&
        (only === undefined || (only.symbol === sym && only.to >= st.newest - this.reachMs)),
    )
    await Promise.all(
      spans.map(([sym, st]) => this.onHistoryChanged(sym, st.newest - this.reachMs, st.newest)),
    )
  }

  candlesCommitted(candles: readonly Candle[]): void {
    this.gate.committed(candles)
  }

  ages(): FeatureAge[] {
    return this.age.ages()
  }

  warmedUp(): boolean {
    return this.warm && this.symbols.every((s) => this.states.get(s)?.isFull() === true)
  }

  async flush(): Promise<void> {
    await this.warming
    await this.repairs
    this.gate.releaseAll()
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
    const late = this.late.between(s.symbol, lo, hi, this.opts.clock.now())
    const points = mergePoints(live, stored.map(candlePoint), late)
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
    // Rows of committed candles, recomputed: written now (another writer's candles are stored).
    this.writer.add(this.gate.take(r.rows))
    this.writer.writeNow()
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
