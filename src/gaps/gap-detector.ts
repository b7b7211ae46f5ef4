/**
 * Live gap detection, pure: closed candles and the clock in, missing minute
 * ranges out. Three ways a minute goes missing:
 *  - a jump in a symbol's closed-candle sequence;
 *  - a minute whose closed frame is more than `thresholdMs` past its close
 *    (illiquid symbols, lost frames);
 *  - a disconnect window: every minute whose close fell inside it.
 * Each becomes a range to check and repair; the repair itself looks at the
 * database first, so a minute reported twice costs a query, not a duplicate.
 */
import { MINUTE_MS } from '../core/records.ts'
import { floorMinute, type MinuteRange } from './minute-ranges.ts'

/** `initial`: a symbol with no history yet; `catch_up`: the time the feeder was not running. */
export type GapCause = 'sequence_jump' | 'late_close' | 'disconnect' | 'catch_up' | 'initial'

export interface DetectedGap extends MinuteRange {
  readonly symbol: string
  readonly cause: GapCause
}

export class GapDetector {
  /** Per symbol: every minute up to this open time is received or already reported. */
  private readonly watermark = new Map<string, number>()
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

  /** Minutes whose closed frame is overdue at `now`. */
  overdue(now: number): DetectedGap[] {
    // The newest minute whose close (open + 60 s) is more than the threshold ago.
    const due = floorMinute(now - this.thresholdMs) - MINUTE_MS
    const out: DetectedGap[] = []
    for (const [symbol, w] of this.watermark) {
      if (w === Number.NEGATIVE_INFINITY || due <= w) continue
      out.push({ symbol, from: w + MINUTE_MS, to: due, cause: 'late_close' })
      this.watermark.set(symbol, due)
    }
    return out
  }

  /** Minutes whose close fell between the last data before a disconnect and the first after it. */
  disconnectWindow(fromMs: number, toMs: number): DetectedGap[] {
    const from = floorMinute(fromMs) - MINUTE_MS
    const to = floorMinute(toMs) - MINUTE_MS
    if (to < from) return []
    return [...this.watermark.keys()].map((symbol) => ({ symbol, from, to, cause: 'disconnect' as const }))
  }
}
