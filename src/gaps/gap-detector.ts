/**
 * Live gap detection, pure: closed candles and the clock in, missing minute
 * ranges out. Three ways a minute goes missing:
 *  - a jump in a symbol's closed-candle sequence;
 *  - a minute whose closed frame is more than `thresholdMs` past its close
 *    (illiquid symbols, lost frames);
 *  - a disconnect window: every minute whose close fell inside it.
 * Each becomes a range to check and repair; the repair itself looks at the
 * database first, so a minute reported twice costs a query, not a duplicate.
 * A minute is reported when its close + `thresholdMs` has passed, whichever
 * way it went missing: until then the stream may still deliver it (the
 * x=true frame comes after the close, and a new connection's first frames
 * can carry it), and a minute fetched too early is fetched from REST before
 * Binance is done with it.
 */

import { floorMinute, type MinuteRange } from '../core/minute-ranges.ts'
import { MINUTE_MS } from '../core/records.ts'

/** `initial`: a symbol with no history yet; `catch_up`: the time the feeder was not running. */
export type GapCause = 'sequence_jump' | 'late_close' | 'disconnect' | 'catch_up' | 'initial'

export interface DetectedGap extends MinuteRange {
  readonly symbol: string
  readonly cause: GapCause
}

export class GapDetector {
  /** Per symbol: every minute up to this open time is received or already reported. */
  private readonly watermark = new Map<string, number>()
  /** Disconnect-window minutes not yet overdue, per symbol, oldest first. */
  private readonly held = new Map<string, DetectedGap[]>()
  private readonly thresholdMs: number

  constructor(symbols: readonly string[], thresholdMs: number) {
    this.thresholdMs = thresholdMs
    for (const s of symbols) this.watermark.set(s, Number.NEGATIVE_INFINITY)
  }

  /** Everything up to `openTime` is accounted for (stored, or being backfilled). */
  settle(symbol: string, openTime: number): void {
    const w = this.watermark.get(symbol)
    if (w !== undefined && openTime > w) this.watermark.set(symbol, openTime)
  }

  /** A closed candle arrived. Returns the hole it reveals, if any. */
  onCandle(symbol: string, openTime: number): DetectedGap | null {
    const w = this.watermark.get(symbol)
    if (w === undefined) return null
    if (openTime <= w) return null
    this.watermark.set(symbol, openTime)
    if (w === Number.NEGATIVE_INFINITY || openTime === w + MINUTE_MS) return null
    return { symbol, from: w + MINUTE_MS, to: openTime - MINUTE_MS, cause: 'sequence_jump' }
  }

  /** The newest minute whose close (open + 60 s) is at least the threshold ago. */
  private dueMinute(now: number): number {
    return floorMinute(now - this.thresholdMs) - MINUTE_MS
  }

  /** Minutes whose closed frame is overdue at `now`, including held disconnect-window minutes. */
  overdue(now: number): DetectedGap[] {
    const due = this.dueMinute(now)
    // Held windows first: where both cover a minute, the disconnect is the better cause.
    const out = this.releaseHeld(due)
    for (const [symbol, w] of this.watermark) {
      if (w === Number.NEGATIVE_INFINITY || due <= w) continue
      out.push({ symbol, from: w + MINUTE_MS, to: due, cause: 'late_close' })
      this.watermark.set(symbol, due)
    }
    return out
  }

  /**
   * A socket resumed after an outage. Returns the window's minutes that are
   * overdue already; the rest are held and come out of `overdue` once they are
   * (`nextDueAt` says when).
   */
  onDisconnect(fromMs: number, toMs: number, now: number): DetectedGap[] {
    for (const g of this.disconnectWindow(fromMs, toMs)) {
      const list = this.held.get(g.symbol) ?? []
      list.push(g)
      this.held.set(g.symbol, list)
    }
    return this.releaseHeld(this.dueMinute(now))
  }

  /** When the oldest held disconnect-window minute becomes overdue, or null if none is held. */
  nextDueAt(): number | null {
    let next: number | null = null
    for (const list of this.held.values())
      for (const g of list) {
        const at = g.from + MINUTE_MS + this.thresholdMs
        if (next === null || at < next) next = at
      }
    return next
  }

  /** Minutes whose close fell between the last data before a disconnect and the first after it. */
  disconnectWindow(fromMs: number, toMs: number): DetectedGap[] {
    const from = floorMinute(fromMs) - MINUTE_MS
    const to = floorMinute(toMs) - MINUTE_MS
    if (to < from) return []
    return [...this.watermark.keys()].map((symbol) => ({ symbol, from, to, cause: 'disconnect' as const }))
  }

  /** Takes the held minutes up to `due` out; what they report no longer needs a late-close report. */
  private releaseHeld(due: number): DetectedGap[] {
    const out: DetectedGap[] = []
    for (const [symbol, list] of this.held) {
      const keep: DetectedGap[] = []
      for (const g of list) {
        if (g.from > due) {
          keep.push(g)
          continue
        }
        const part = { ...g, to: Math.min(g.to, due) }
        out.push(part)
        if (g.to > due) keep.push({ ...g, from: due + MINUTE_MS })
        const w = this.watermark.get(symbol)
        if (w !== undefined && w !== Number.NEGATIVE_INFINITY && part.from <= w + MINUTE_MS && part.to > w)
          this.watermark.set(symbol, part.to)
      }
      if (keep.length > 0) this.held.set(symbol, keep)
      else this.held.delete(symbol)
    }
    return out
  }
}
