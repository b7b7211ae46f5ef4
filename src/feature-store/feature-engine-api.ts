/** The feature engine's contract: what it takes, what it reports (feature-engine.ts implements it). */
import type { Clock } from '../core/clock.ts'
import type { Candle, Market } from '../core/records.ts'
import type { FeatureRow } from '../features/feature-row.ts'
import type { Db } from '../store/db.ts'
import type { FeatureAge } from './feature-age.ts'
import type { FeatureFailure, FeatureFlushInfo, FeatureRetryInfo } from './feature-writer-api.ts'

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

export type FeatureEngineEvents = {
  flushed: FeatureFlushInfo
  retry: FeatureRetryInfo
  failed: FeatureEngineFailure
}

export interface FeatureEngine {
  /** Fills every symbol's windows from candles_1m and writes rows its stored candles lack. */
  warmUp(): Promise<void>
  /** A closed candle, in any order: a newer one is computed at once, an older or changed one repairs history. */
  onCandle(c: Candle): void
  /** Candles with open time in [from, to] were inserted or changed in candles_1m (and committed). */
  onHistoryChanged(symbol: string, fromOpenTime: number, toOpenTime: number): Promise<void>
  /**
   * Reads every symbol's live window again from candles_1m and recomputes its rows
   * (another writer may have inserted candles the engine was not told of). With
   * `only`: that symbol's, if candles up to `to` reach into it (older ones do not).
   */
  reloadLive(only?: { symbol: string; to: number }): Promise<void>
  /**
   * Live candles were committed (the candle writer's `flushed`): their rows, computed and
   * held until then, are written now. Rows of candles never reported wait at most the interval.
   */
  candlesCommitted(candles: readonly Candle[]): void
  /** Per symbol and window, how far committed rows trail the newest candle. */
  ages(): FeatureAge[]
  /** True when every (symbol, window) window holds window_size candles. */
  warmedUp(): boolean
  /** Finishes pending repairs and writes every row computed so far. */
  flush(): Promise<void>
  /** Flushes and stops; idempotent. */
  close(): Promise<void>
  /** Rows given up since the last call (emitted as 'failed' with `final: true` too). */
  takeFailed(): FeatureRow[]
  on<K extends keyof FeatureEngineEvents>(event: K, fn: (info: FeatureEngineEvents[K]) => void): void
}
