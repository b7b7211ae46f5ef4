/**
 * Keeps the ExchangeClock in step with Binance: a sample of the exchange's time
 * at start (two, a second apart, when the first says the clocks differ: a
 * second sample measures whether the exchange runs faster, as the simulator
 * does for demos), then one every minute (every 10 s while the rate is not 1).
 * Reports the offset as a metric, on /health, and warns when the host's clock
 * is more than a second off. A failed sample changes nothing: the last
 * estimate (or the local clock) stays in use.
 */
import type { RestClient } from '../binance/rest/rest-api.ts'
import { type Clock, type TimerHandle, within } from '../core/clock.ts'
import type { ExchangeClock } from '../core/exchange-clock.ts'
import type { Logger } from '../observability/logger.ts'
import type { Metrics } from '../observability/metrics.ts'

/** Beyond this the host's clock is called off (and every minute judgement would be). */
export const OFFSET_WARN_MS = 1_000
const REFRESH_MS = 60_000
const REFRESH_FAST_MS = 10_000
/** A start does not wait longer than this for the exchange's time. */
const FIRST_SAMPLE_MS = 2_000
/** Warnings about the same offset are repeated at most this often. */
const WARN_EVERY_MS = 10 * 60_000

export interface ExchangeTimeOptions {
  readonly rest: () => Pick<RestClient, 'serverTime'> | null
  readonly local: Clock
  readonly exchange: ExchangeClock
  readonly logger: Logger
  readonly metrics: Metrics
}

export class ExchangeTime {
  private timer: TimerHandle | null = null
  private stopped = false
  private lastWarn = Number.NEGATIVE_INFINITY
  private saidRate = false
  private readonly o: ExchangeTimeOptions

  constructor(o: ExchangeTimeOptions) {
    this.o = o
  }

  /** Takes the first sample(s); never fails the start. */
  async start(): Promise<void> {
    const first = await within(this.o.local, this.sample(), FIRST_SAMPLE_MS)
    if (first.inTime && first.value && Math.abs(this.o.exchange.offsetMs()) > OFFSET_WARN_MS) {
      // Clocks apart: is the exchange's also running at another rate? A second sample says.
      await new Promise<void>((resolve) => {
        this.timer = this.o.local.setTimeout(resolve, 1_000)
      })
      if (!this.stopped) await within(this.o.local, this.sample(), FIRST_SAMPLE_MS)
    }
    this.report()
    this.schedule()
  }

  stop(): void {
    this.stopped = true
    this.timer?.cancel()
    this.timer = null
  }

  /** Offset (ms) for /health, null before the first sample. */
  offsetMs(): number | null {
    return this.o.exchange.synchronised() ? Math.round(this.o.exchange.offsetMs()) : null
  }

  private schedule(): void {
    if (this.stopped) return
    const every = this.o.exchange.rate() === 1 ? REFRESH_MS : REFRESH_FAST_MS
    this.timer = this.o.local.setTimeout(() => {
      void this.sample().then(() => {
        this.report()
        this.schedule()
      })
    }, every)
  }

  /** One sample; true when it arrived. */
  private async sample(): Promise<boolean> {
    const rest = this.o.rest()
    if (rest === null) return false
    const sentAt = this.o.local.now()
    try {
      const serverTime = await rest.serverTime()
      this.o.exchange.addSample({ sentAt, receivedAt: this.o.local.now(), serverTime })
      return true
    } catch (err) {
      this.o.logger.debug({ code: 'EXCHANGE_TIME_FAILED', err }, 'could not read the exchange time')
      return false
    }
  }

  private report(): void {
    const { exchange, metrics, logger, local } = this.o
    if (!exchange.synchronised()) return
    const offset = exchange.offsetMs()
    metrics.exchangeClockOffset.set(offset / 1000)
    const rate = exchange.rate()
    if (rate !== 1) {
      if (!this.saidRate) {
        this.saidRate = true
        logger.info(
          { code: 'EXCHANGE_CLOCK_RATE', rate: Math.round(rate * 100) / 100 },
          `the exchange's clock runs ${Math.round(rate)}× faster than this host's (a sped-up simulator); minutes are judged on its clock`,
        )
      }
      return
    }
    if (Math.abs(offset) > OFFSET_WARN_MS && local.now() - this.lastWarn >= WARN_EVERY_MS) {
      this.lastWarn = local.now()
      logger.warn(
        { code: 'CLOCK_OFFSET', offset_ms: Math.round(offset), uncertainty_ms: exchange.uncertaintyMs() },
        `this host's clock is ${(Math.abs(offset) / 1000).toFixed(1)} s ${offset > 0 ? 'behind' : 'ahead of'} Binance's; minutes are judged on Binance's clock, but fix the host's time synchronisation (NTP)`,
      )
    }
  }
}
