/**
 * Binance REST client, one per market host, for public market data (klines, exchangeInfo, time,
 * ping) with manners: one weight budget for every caller, Retry-After obeyed
 * for all requests at once, jittered exponential backoff on transient failures,
 * every response validated before use. No API key: public data only.
 *
 * Effects live here (HTTP, clock); parsing is in rest-rows.ts and
 * rest-response.ts, the budget in weight-budget.ts. Emits events, never logs.
 */
import type { Clock } from '../../core/clock.ts'
import type { Candle } from '../../core/records.ts'
import { MINUTE_MS } from '../../core/records.ts'
import {
  delayFor,
  type ExponentialSchedule,
  offsetJitter,
  retry,
  SCHEDULES,
  schedule,
} from '../../core/retry.ts'
import type { MarketModule } from '../../markets/market.ts'
import { SPOT } from '../../markets/spot.ts'
import { pageClosedCandles } from './closed-candles.ts'
import { httpGet } from './http-get.ts'
import {
  type BackfillResult,
  type KlinesQuery,
  REST_DEFAULTS,
  type RestClient,
  type RestClientOptions,
  type RestClientState,
  type RestEndpoint,
  type RestEvent,
} from './rest-api.ts'
import { isRetryableRestError, RestError } from './rest-errors.ts'
import {
  exchangeInfoParams,
  klinesParams,
  readExchangeInfo,
  readServerTime,
  refusalWait,
  restBase,
} from './rest-requests.ts'
import { expectObject, interpretResponse } from './rest-response.ts'
import { type KlinePage, parseKlineRows } from './rest-rows.ts'
import { WeightBudget } from './weight-budget.ts'

export * from './rest-api.ts'
export {
  isRateLimitError,
  isRestError,
  isRetryableRestError,
  RestError,
  type RestErrorCode,
} from './rest-errors.ts'
export { type KlinePage, parseKlineRows, type RowRejection } from './rest-rows.ts'

interface Answer {
  readonly body: unknown
  readonly receivedAt: number
}

export class BinanceRestClient implements RestClient {
  private readonly base: string
  private readonly clock: Clock
  /** What a minute's being closed is judged by; the budget and retries keep to `clock`. */
  private readonly exchangeClock: Clock
  private readonly random: () => number
  private readonly budget: WeightBudget
  private readonly timeoutMs: number
  private readonly maxRetries: number
  /** `rest.request`, with the options' numbers. */
  private readonly backoff: ExponentialSchedule
  private readonly closeGraceMs: number
  private readonly onEvent: ((e: RestEvent) => void) | undefined
  private readonly market: MarketModule
  private readonly closer = new AbortController()
  private backoffSleeping = 0

  constructor(opts: RestClientOptions) {
    this.base = restBase(opts.baseUrl)
    this.clock = opts.clock
    this.exchangeClock = opts.exchangeClock ?? opts.clock
    this.random = opts.random ?? Math.random
    this.timeoutMs = opts.timeoutMs ?? REST_DEFAULTS.timeoutMs
    this.maxRetries = Math.max(0, opts.maxRetries ?? REST_DEFAULTS.maxRetries)
    this.backoff = schedule('rest.request', { baseMs: opts.backoffBaseMs, maxMs: opts.backoffMaxMs })
    this.closeGraceMs = opts.closeGraceMs ?? REST_DEFAULTS.closeGraceMs
    this.onEvent = opts.onEvent
    this.market = opts.market ?? SPOT
    this.budget = new WeightBudget({
      clock: opts.clock,
      random: this.random,
      limitPerMinute: opts.weightLimitPerMinute ?? this.market.rest.weightLimitPerMinute,
      ...(opts.safetyFraction !== undefined && { safetyFraction: opts.safetyFraction }),
      ...(opts.maxPauseWaitMs !== undefined && { maxPauseWaitMs: opts.maxPauseWaitMs }),
      ...(opts.maxInFlight !== undefined && { maxInFlight: opts.maxInFlight }),
      onWait: (w) => this.emit({ type: 'budget_wait', ...w }),
    })
  }

  async klines(symbol: string, q: KlinesQuery): Promise<KlinePage> {
    const params = klinesParams(symbol, q, this.market)
    const page = await this.call('klines', params, ({ body, receivedAt }) =>
      parseKlineRows(body, symbol, this.exchangeClock.now() - this.closeGraceMs, {
        ...q,
        receivedAt,
        market: this.market.id,
      }),
    )
    if (page.rejected.length > 0) this.emit({ type: 'rejected_rows', symbol, rejections: page.rejected })
    return page
  }

  closedCandlesBetween(
    symbol: string,
    fromOpenTime: number,
    toOpenTime: number,
    onPage?: (candles: readonly Candle[]) => Promise<void> | void,
  ): Promise<BackfillResult> {
    // Never ask for minutes that have not closed: the newest closed one opened ≥ 1 min + grace ago.
    const lastClosed =
      Math.floor((this.exchangeClock.now() - this.closeGraceMs - MINUTE_MS) / MINUTE_MS) * MINUTE_MS
    const pages = { limit: this.market.rest.klinesPageLimit, lastClosed, market: this.market }
    return pageClosedCandles((q) => this.klines(symbol, q), symbol, fromOpenTime, toOpenTime, pages, onPage)
  }

  async exchangeInfo(
    symbols?: readonly string[],
  ): Promise<{ symbols: Array<{ symbol: string; status: string }> }> {
    return this.call('exchangeInfo', exchangeInfoParams(symbols, this.market), ({ body }) =>
      readExchangeInfo(body),
    )
  }

  serverTime(): Promise<number> {
    return this.call('time', new URLSearchParams(), ({ body }) => readServerTime(body))
  }

  async ping(): Promise<void> {
    await this.call('ping', new URLSearchParams(), ({ body }) => {
      expectObject(body, 'ping')
    })
  }

  usedWeight(): number {
    return this.budget.used()
  }

  state(): RestClientState {
    const b = this.budget.state()
    return {
      usedWeight: b.usedWeight,
      inFlight: b.inFlight,
      queued: b.queued,
      pausedUntil: b.pausedUntil,
      budgetSleeping: b.sleeping,
      backoffSleeping: this.backoffSleeping,
    }
  }

  /** Aborts requests in flight and fails every waiting call with CLOSED. Idempotent. */
  close(): void {
    if (this.closer.signal.aborted) return
    this.closer.abort()
    this.budget.close()
  }

  /** One logical call: budget turn, request, validation; retried while the failure is transient. */
  private call<T>(endpoint: RestEndpoint, params: URLSearchParams, decode: (a: Answer) => T): Promise<T> {
    const limited = (e: unknown) => e instanceof RestError && (e.code === 'HTTP_429' || e.code === 'HTTP_418')
    return retry(
      async (attempt) => {
        try {
          return decode(await this.send(endpoint, params, attempt))
        } catch (e) {
          if (this.closer.signal.aborted) throw new RestError('CLOSED', 'REST client closed', { cause: e })
          throw e
        }
      },
      {
        schedule: this.backoff,
        clock: this.clock,
        random: this.random,
        maxRetries: this.maxRetries,
        retryable: (e) => {
          // A bug, not a bad answer (not a RestError), or the client closed: do not retry it away.
          if (!(e instanceof RestError) || e.code === 'CLOSED') return false
          // A pause too long to wait out (a ban of hours): fail now, the caller comes back later.
          if (limited(e)) return this.budget.pausedUntilMs() - this.clock.now() <= this.budget.maxPauseWaitMs
          return isRetryableRestError(e)
        },
        // 429/418: the budget holds every request until the pause ends; others back off alone.
        delay: (attempt, e) =>
          limited(e)
            ? 0
            : Math.max(delayFor(this.backoff, attempt, this.random), (e as RestError).retryAfterMs ?? 0),
        onRetry: ({ attempt, delayMs, error }) => {
          const err = error as RestError
          this.emit({
            type: 'retry',
            endpoint,
            attempt,
            delayMs,
            code: err.code,
            status: err.status ?? null,
            binanceCode: err.binanceCode ?? null,
          })
        },
        sleep: (ms) => this.sleep(ms),
      },
    )
  }

  private async send(endpoint: RestEndpoint, params: URLSearchParams, attempt: number): Promise<Answer> {
    const limit = params.get('limit')
    const weight = this.market.rest.weightOf(endpoint, limit === null ? undefined : Number(limit))
    const ticket = await this.budget.acquire(weight)
    let header: number | undefined
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      this.budget.release(ticket, header)
    }
    try {
      if (this.closer.signal.aborted) throw new RestError('CLOSED', 'REST client closed')
      const qs = params.toString()
      this.emit({ type: 'request', endpoint, query: qs, weight, attempt })
      const url = `${this.base}${this.market.rest.paths[endpoint]}${qs === '' ? '' : `?${qs}`}`
      const raw = await httpGet(url, {
        clock: this.clock,
        timeoutMs: this.timeoutMs,
        closed: this.closer.signal,
        what: endpoint,
        onUsedWeight: (w) => {
          header = w
        },
      })
      const receivedAt = this.clock.now()
      release()
      this.emit({
        type: 'weight',
        endpoint,
        status: raw.status,
        headerWeight: header ?? null,
        usedWeight: this.budget.used(),
        safeLimit: this.budget.safeLimit,
      })
      try {
        return { body: interpretResponse(raw, receivedAt), receivedAt }
      } catch (e) {
        if (e instanceof RestError) this.onRefusal(endpoint, e, raw.retryAfter, receivedAt)
        throw e
      }
    } finally {
      release()
    }
  }

  /** 429 / 418 / -1003: stop every request of this client until Binance says it is safe (+ jitter). */
  private onRefusal(endpoint: RestEndpoint, e: RestError, retryAfter: string | null, now: number): void {
    const wait = refusalWait(e, retryAfter, now)
    if (wait === null) return
    const { retryAfterMs, status } = wait
    const pausedUntil = now + retryAfterMs + offsetJitter(SCHEDULES['rest.pause'], this.random)
    this.budget.pause(pausedUntil, status)
    this.emit({
      type: 'rate_limited',
      endpoint,
      status: e.status ?? 0,
      binanceCode: e.binanceCode ?? null,
      retryAfterMs,
      pausedUntil,
    })
  }

  /** Backoff sleep on the injected clock; ends early (CLOSED) when the client closes. */
  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.backoffSleeping++
      const onAbort = (): void => {
        timer.cancel()
        this.backoffSleeping--
        reject(new RestError('CLOSED', 'REST client closed'))
      }
      const timer = this.clock.setTimeout(() => {
        this.closer.signal.removeEventListener('abort', onAbort)
        this.backoffSleeping--
        resolve()
      }, ms)
      this.closer.signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  private emit(e: RestEvent): void {
    try {
      this.onEvent?.(e)
    } catch {
      // a listener's failure is not the client's
    }
  }
}

export function createRestClient(opts: RestClientOptions): RestClient {
  return new BinanceRestClient(opts)
}
