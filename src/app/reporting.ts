/**
 * Reporting: where core events become logs, metrics and data_quality_logs
 * rows. The modules that emit them never log; report-store.ts and
 * report-stream.ts decide how each is reported, through this context.
 */
import type { Clock } from '../core/clock.ts'
import type { Market } from '../core/records.ts'
import { type Logger, LogRateLimiter } from '../observability/logger.ts'
import type { Metrics } from '../observability/metrics.ts'
import type { QualityEvent } from '../store/quality-log.ts'

export interface WiringContext {
  readonly logger: Logger
  readonly metrics: Metrics
  readonly clock: Clock
  /** Records a data_quality_logs row (fire and forget). */
  quality(event: QualityEvent): void
  /** Counts an error for errors_24h. */
  noteError(): void
  setDbConnected(up: boolean): void
}

/** The context of one market's parts: what they report is labelled with it. */
export interface MarketContext extends WiringContext {
  readonly market: Market
}

const DAY_MS = 86_400_000

/** Errors of the last 24 hours, for /health's errors_24h. */
export class ErrorWindow {
  private readonly times: number[] = []
  private readonly clock: Clock
  constructor(clock: Clock) {
    this.clock = clock
  }
  note(): void {
    const now = this.clock.now()
    this.times.push(now)
    while (this.times.length > 0 && (this.times[0] as number) < now - DAY_MS) this.times.shift()
  }
  count(): number {
    const now = this.clock.now()
    return this.times.filter((t) => t >= now - DAY_MS).length
  }
}

/**
 * A message that was refused (a bad frame, an impossible candle): counted,
 * logged once per kind per minute, and recorded as invalid_message.
 */
export function rejectionReporter(
  ctx: MarketContext,
): (reason: string, detail: string, symbol: string | null) => void {
  const { market } = ctx
  const limiter = new LogRateLimiter()
  return (reason, detail, symbol) => {
    ctx.metrics.invalidFrames.inc({ market, reason })
    ctx.noteError()
    const suppressed = limiter.admit(reason, ctx.clock.now())
    if (suppressed === null) return
    ctx.logger.warn(
      { code: 'INVALID_MESSAGE', market, reason, detail, suppressed },
      'rejected a stream message',
    )
    ctx.quality({
      eventType: 'invalid_message',
      market,
      symbol,
      source: 'ws',
      errorMessage: `${reason}: ${detail}`.slice(0, 500),
      details: { reason, suppressed_since_last: suppressed },
    })
  }
}
