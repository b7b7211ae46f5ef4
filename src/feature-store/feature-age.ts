/**
 * How far each (symbol, window)'s committed feature rows trail its candles:
 * the open time of the newest candle the engine took in minus that of the
 * newest feature row committed, in seconds (0 when up to date). Fed by the
 * engine; read by /metrics as feeder_feature_age_seconds.
 */
import type { FeatureRow } from '../features/feature-row.ts'

export interface FeatureAge {
  readonly symbol: string
  readonly window: number
  readonly seconds: number
}

export class FeatureAgeTracker {
  private readonly candle = new Map<string, number>()
  private readonly first = new Map<string, number>()
  private readonly written = new Map<string, Map<number, number>>()
  private readonly windows: readonly number[]

  constructor(windows: readonly number[]) {
    this.windows = windows
  }

  noteCandle(symbol: string, openTime: number): void {
    if (openTime > (this.candle.get(symbol) ?? Number.NEGATIVE_INFINITY)) this.candle.set(symbol, openTime)
    if (!this.first.has(symbol)) this.first.set(symbol, openTime)
  }

  noteRow(symbol: string, window: number, openTime: number): void {
    let w = this.written.get(symbol)
    if (w === undefined) {
      w = new Map()
      this.written.set(symbol, w)
    }
    if (openTime > (w.get(window) ?? Number.NEGATIVE_INFINITY)) w.set(window, openTime)
  }

  noteWritten(rows: readonly FeatureRow[]): void {
    for (const r of rows) this.noteRow(r.symbol, r.windowSize, r.openTime)
  }

  /**
   * One entry per symbol with a candle and window. A window without any row
   * yet counts as one minute behind the first candle noted, so it grows while
   * rows fail to appear.
   */
  ages(): FeatureAge[] {
    const out: FeatureAge[] = []
    for (const [symbol, newest] of this.candle) {
      const w = this.written.get(symbol)
      for (const window of this.windows) {
        const row = w?.get(window)
        const since = row ?? (this.first.get(symbol) as number) - 60_000
        const lag = Math.max(0, newest - since)
        out.push({ symbol, window, seconds: lag / 1000 })
      }
    }
    return out
  }
}
