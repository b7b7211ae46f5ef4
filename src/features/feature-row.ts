/** One feature_cache row: the features of the candle at `openTime` over one window. See docs/FEATURES.md. */
import type { Market } from '../core/records.ts'

export interface FeatureRow {
  readonly market: Market
  readonly symbol: string
  readonly openTime: number
  readonly windowSize: number
  readonly closeZscore: number
  readonly closeMinmax: number
  readonly volumeZscore: number
  readonly volumeMinmax: number
  /** ln(close / close of the previous minute); null when that minute has no candle. */
  readonly logReturn: number | null
  /** Over the window's candles that have a spread; null when this candle has none. */
  readonly spreadBpsZscore: number | null
  /** Over the window's candles that have a ratio (volume > 0); null when this candle has none. */
  readonly takerBuyRatioZscore: number | null
  readonly closeMean: number
  /** Population standard deviation of close over the window. */
  readonly closeStd: number
  /** Candles actually in the window (fewer than windowSize for a young symbol or across a hole). */
  readonly windowCount: number
  readonly windowFull: boolean
  /** Candles of the window that carry a spread (a quote): with windowCount, what the row was computed from. */
  readonly windowQuoted: number
}

export function featureKey(r: Pick<FeatureRow, 'market' | 'symbol' | 'openTime' | 'windowSize'>): string {
  return `${r.market}\u0000${r.symbol}\u0000${r.openTime}\u0000${r.windowSize}`
}
