/**
 * The REST client's contract: what the backfill orchestrator codes against
 * (RestClient), its options, defaults and events. Implementation: rest-client.ts.
 */

import type { Clock } from '../../core/clock.ts'
import type { Candle } from '../../core/records.ts'
import type { MarketModule, RestEndpoint } from '../../markets/market.ts'
import type { RestErrorCode } from './rest-errors.ts'
import type { KlinePage, RowRejection } from './rest-rows.ts'
import type { BudgetWait } from './weight-budget.ts'

export type { RestEndpoint }

export type RestEvent =
  | {
      readonly type: 'request'
      readonly endpoint: RestEndpoint
      /** The query string (public parameters only: there are no secrets to leak). */
      readonly query: string
      readonly weight: number
      readonly attempt: number
    }
  | {
      readonly type: 'weight'
      readonly endpoint: RestEndpoint
      readonly status: number
      /** X-MBX-USED-WEIGHT-1M of this response (null when missing). */
      readonly headerWeight: number | null
      /** The budget's estimate after this response. */
      readonly usedWeight: number
      readonly safeLimit: number
    }
  | {
      readonly type: 'budget_wait'
      readonly reason: BudgetWait['reason']
      readonly waitMs: number
      readonly usedWeight: number
      readonly weight: number
    }
  | {
      readonly type: 'retry'
      readonly endpoint: RestEndpoint
      readonly attempt: number
      readonly delayMs: number
      readonly code: RestErrorCode
      readonly status: number | null
      readonly binanceCode: number | null
    }
  | {
      readonly type: 'rate_limited'
      readonly endpoint: RestEndpoint
      readonly status: 429 | 418 | number
      readonly binanceCode: number | null
      readonly retryAfterMs: number
      /** Nothing is sent by this client before this instant (epoch ms, jitter included). */
      readonly pausedUntil: number
    }
  | { readonly type: 'rejected_rows'; readonly symbol: string; readonly rejections: readonly RowRejection[] }

export interface RestClientOptions {
  /** BINANCE_REST_URL, the host root: https://api.binance.com or http://127.0.0.1:PORT */
  readonly baseUrl: string
  readonly clock: Clock
  /** The exchange's clock, for judging which minutes have closed (default: `clock`). */
  readonly exchangeClock?: Clock
  readonly random?: () => number
  /** Binance's REQUEST_WEIGHT per minute (default 6000); the client uses ≤ safetyFraction of it. */
  readonly weightLimitPerMinute?: number
  readonly safetyFraction?: number
  readonly timeoutMs?: number
  /** Retries after the first attempt (default 5). */
  readonly maxRetries?: number
  readonly backoffBaseMs?: number
  readonly backoffMaxMs?: number
  /** A 429/418 pause longer than this fails the call instead of being waited out (default 10 min). */
  readonly maxPauseWaitMs?: number
  readonly maxInFlight?: number
  /** A minute counts as closed when closeTime < now − closeGraceMs (default 2 s). */
  readonly closeGraceMs?: number
  /** Paths, weights and limits of the market's REST host (default: spot). */
  readonly market?: MarketModule
  readonly onEvent?: (e: RestEvent) => void
}

export const REST_DEFAULTS = Object.freeze({
  timeoutMs: 10_000,
  maxRetries: 5,
  closeGraceMs: 2_000,
  /** 418 without Retry-After: the shortest documented ban. */
  banFallbackMs: 2 * 60_000,
})

export interface KlinesQuery {
  readonly startTime?: number
  readonly endTime?: number
  /** 1…1000 (Binance default 500). */
  readonly limit?: number
}

export interface BackfillResult {
  readonly candles: number
  readonly pages: number
  readonly rejected: number
}

export interface RestClientState {
  readonly usedWeight: number
  readonly inFlight: number
  readonly queued: number
  readonly pausedUntil: number | null
  /** The budget queue sleeps on the clock (window or pause). */
  readonly budgetSleeping: boolean
  /** Calls sleeping on the clock in a retry backoff. */
  readonly backoffSleeping: number
}

export interface RestClient {
  /** One GET /api/v3/klines (interval 1m), validated; retried while the failure is transient. */
  klines(symbol: string, opts: KlinesQuery): Promise<KlinePage>
  /**
   * Every closed minute in [fromOpenTime, toOpenTime] (minute starts), in pages of 1000,
   * ascending; `onPage` is awaited before the next request (backpressure). `toOpenTime` is
   * clamped to the newest closed minute. Minutes Binance has no row for are simply absent.
   */
  closedCandlesBetween(
    symbol: string,
    fromOpenTime: number,
    toOpenTime: number,
    onPage?: (candles: readonly Candle[]) => Promise<void> | void,
  ): Promise<BackfillResult>
  /** Weight 20: call rarely. Unknown symbols → UNKNOWN_SYMBOL. */
  exchangeInfo(symbols?: readonly string[]): Promise<{ symbols: Array<{ symbol: string; status: string }> }>
  serverTime(): Promise<number>
  ping(): Promise<void>
  /** Estimated weight used in the current minute (header-based, plus what is in flight). */
  usedWeight(): number
  /** For health and tests: is the client sending, queued, paused or sleeping? */
  state(): RestClientState
  /** Aborts requests in flight, fails waiting calls with CLOSED. Idempotent. */
  close(): void
}
