/**
 * Holds a live candle's feature rows until the candle itself is committed, so
 * that feature_cache never shows a row whose candle is not in candles_1m yet
 * (nor a window counting it): the candle writer's `flushed` releases them at
 * once. FEATURE_UPDATE_INTERVAL bounds the hold: rows whose candle is not
 * committed by then (the database is down, the candle went to the spool) are
 * released anyway, as before.
 */
import type { Clock, TimerHandle } from '../core/clock.ts'
import type { FeatureRow } from '../features/feature-row.ts'

const candleKey = (c: { market: string; symbol: string; openTime: number }) =>
  `${c.market}\u0000${c.symbol}\u0000${c.openTime}`

export class CommitGate {
  private readonly held = new Map<string, { rows: FeatureRow[]; at: number }>()
  private readonly clock: Clock
  private readonly intervalMs: number
  private readonly release: (rows: FeatureRow[]) => void
  private timer: TimerHandle | null = null

  constructor(clock: Clock, intervalMs: number, release: (rows: FeatureRow[]) => void) {
    this.clock = clock
    this.intervalMs = intervalMs
    this.release = release
  }

  /** One candle's rows (all windows), until the candle is committed or the interval passes. */
  hold(rows: FeatureRow[]): void {
    const first = rows[0]
    if (first === undefined) return
    this.held.set(candleKey(first), { rows, at: this.clock.now() })
    this.timer ??= this.clock.setTimeout(() => this.expire(), this.intervalMs)
  }

  /** These candles are committed: their rows go out now. */
  committed(candles: readonly { market: string; symbol: string; openTime: number }[]): void {
    const out: FeatureRow[] = []
    for (const c of candles) {
      const key = candleKey(c)
      const h = this.held.get(key)
      if (h === undefined) continue
      this.held.delete(key)
      for (const r of h.rows) out.push(r)
    }
    if (out.length > 0) this.release(out)
  }

  /**
   * Rows a repair recomputed from a fuller view: those of held candles replace the held
   * ones (and still wait for their candle); the rest are returned, to be written.
   */
  take(rows: readonly FeatureRow[]): FeatureRow[] {
    if (this.held.size === 0) return [...rows]
    const free: FeatureRow[] = []
    const fresh = new Map<string, FeatureRow[]>()
    for (const r of rows) {
      const key = candleKey(r)
      if (!this.held.has(key)) free.push(r)
      else fresh.set(key, [...(fresh.get(key) ?? []), r])
    }
    for (const [key, rs] of fresh) (this.held.get(key) as { rows: FeatureRow[] }).rows = rs
    return free
  }

  /** Everything held goes out (flush, close). */
  releaseAll(): void {
    this.timer?.cancel()
    this.timer = null
    const out: FeatureRow[] = []
    for (const h of this.held.values()) for (const r of h.rows) out.push(r)
    this.held.clear()
    if (out.length > 0) this.release(out)
  }

  private expire(): void {
    this.timer = null
    const now = this.clock.now()
    const out: FeatureRow[] = []
    let next = Number.POSITIVE_INFINITY
    for (const [key, h] of this.held) {
      if (now - h.at >= this.intervalMs) {
        this.held.delete(key)
        for (const r of h.rows) out.push(r)
      } else next = Math.min(next, h.at + this.intervalMs)
    }
    if (Number.isFinite(next)) this.timer = this.clock.setTimeout(() => this.expire(), next - now)
    if (out.length > 0) this.release(out)
  }
}
