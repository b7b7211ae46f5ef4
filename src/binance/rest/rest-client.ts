/**
 * Binance spot REST client for public market data (klines, exchangeInfo, time,
 * ping) with manners: one weight budget for every caller, Retry-After obeyed
 * for all requests at once, jittered exponential backoff on transient failures,
 * every response validated before use. No API key: public data only.
 *
 * Effects live here (fetch, clock); parsing is in rest-rows.ts and
 * rest-response.ts, the budget in weight-budget.ts. Emits events, never logs.
 */
import type { Clock } from '../../core/clock.ts'
import type { Candle } from '../../core/records.ts'
import { MINUTE_MS } from '../../core/records.ts'
import { delayFor, offsetJitter, SCHEDULES, schedule } from '../../core/retry.ts'
import type { MarketModule } from '../../markets/market.ts'
import { SPOT } from '../../markets/spot.ts'
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
  checkMinute,
  checkSymbol,
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
  private readonly backoffBaseMs: number
  private readonly backoffMaxMs: number
  private readonly closeGraceMs: number
  private readonly fetchImpl: typeof fetch
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
    this.backoffBaseMs = opts.backoffBaseMs ?? REST_DEFAULTS.backoffBaseMs
    this.backoffMaxMs = opts.backoffMaxMs ?? REST_DEFAULTS.backoffMaxMs
    this.closeGraceMs = opts.closeGraceMs ?? REST_DEFAULTS.closeGraceMs
    this.fetchImpl = opts.fetchImpl ?? fetch
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
    const params = klinesParams(symbol, q, this.market.rest.klinesPageLimit)
    const page = await this.call('klines', params, ({ body, receivedAt }) =>
      parseKlineRows(body, symbol, this.exchangeClock.now() - this.closeGraceMs, { ...q, receivedAt }),
    )
    if (page.rejected.length > 0) this.emit({ type: 'rejected_rows', symbol, rejections: page.rejected })
    return page
  }

  async closedCandlesBetween(
    symbol: string,
    fromOpenTime: number,
    toOpenTime: number,
    onPage?: (candles: readonly Candle[]) => Promise<void> | void,
  ): Promise<BackfillResult> {
    checkSymbol(symbol)
    checkMinute('fromOpenTime', fromOpenTime)
    checkMinute('toOpenTime', toOpenTime)
    // Never ask for minutes that have not closed: the newest closed one opened ≥ 1 min + grace ago.
    const lastClosed =
      Math.floor((this.exchangeClock.now() - this.closeGraceMs - MINUTE_MS) / MINUTE_MS) * MINUTE_MS
    const to = Math.min(toOpenTime, lastClosed)
    const limit = this.market.rest.klinesPageLimit
    let cursor = fromOpenTime
    let candles = 0
    let pages = 0
    let rejected = 0
    while (cursor <= to) {
      const page = await this.klines(symbol, { startTime: cursor, endTime: to + MINUTE_MS - 1, limit })
      pages++
      candles += page.candles.length
      rejected += page.rejected.length
      if (page.candles.length > 0 && onPage) await onPage(page.candles)
      // Empty: Binance has nothing in [cursor, end] (outage, before listing, delisted).
      if (page.rawCount === 0 || page.lastOpenTime === null || page.lastOpenTime >= to) break
      // rows are verified to lie in [cursor, end], so this always moves forward
      cursor = page.lastOpenTime + MINUTE_MS
    }
    return { candles, pages, rejected }
  }

  async exchangeInfo(
    symbols?: readonly string[],
  ): Promise<{ symbols: Array<{ symbol: string; status: string }> }> {
    return this.call('exchangeInfo', exchangeInfoParams(symbols), ({ body }) => readExchangeInfo(body))
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
  private async call<T>(
    endpoint: RestEndpoint,
    params: URLSearchParams,
    decode: (a: Answer) => T,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return decode(await this.send(endpoint, params, attempt))
      } catch (e) {
        if (this.closer.signal.aborted) throw new RestError('CLOSED', 'REST client closed', { cause: e })
        if (!(e instanceof RestError)) throw e // a bug, not a bad answer: do not retry it away
        const err = e
        const limited = err.code === 'HTTP_429' || err.code === 'HTTP_418'
        // A pause too long to wait out (a ban of hours): fail now, the caller comes back later.
        if (limited && this.budget.pausedUntilMs() - this.clock.now() > this.budget.maxPauseWaitMs) throw err
        if (attempt > this.maxRetries || !(limited || isRetryableRestError(err))) throw err
        // 429/418: the budget holds every request until the pause ends; others back off alone.
        const delayMs = limited ? 0 : Math.max(this.backoff(attempt), err.retryAfterMs ?? 0)
        this.emit({
          type: 'retry',
          endpoint,
          attempt,
          delayMs,
          code: err.code,
          status: err.status ?? null,
          binanceCode: err.binanceCode ?? null,
        })
        if (delayMs > 0) await this.sleep(delayMs)
      }
    }
  }

  /** Equal jitter: [nominal/2, nominal), nominal = base·2^(attempt−1) capped. */
  private backoff(attempt: number): number {
    const s = schedule('rest.request', { baseMs: this.backoffBaseMs, maxMs: this.backoffMaxMs })
    return delayFor(s, attempt, this.random)
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
        fetchImpl: this.fetchImpl,
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
