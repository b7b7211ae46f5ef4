/**
 * Completeness, assembled: start-up catch-up, live detection (sequence jumps,
 * overdue closes, disconnect windows) and repair through the backfill
 * runner, with the optional webhook. The app feeds it candles and reconnect
 * windows and turns its events into logs and metrics.
 */
import type { RestClient } from '../binance/rest/rest-api.ts'
import type { Clock, TimerHandle } from '../core/clock.ts'
import { floorMinute } from '../core/minute-ranges.ts'
import type { Candle, Market } from '../core/records.ts'
import { MINUTE_MS } from '../core/records.ts'
import { latestCandleTime } from '../store/candle-queries.ts'
import type { Queryable } from '../store/db.ts'
import { BackfillRunner } from './backfill-runner.ts'
import { type DetectedGap, GapDetector } from './gap-detector.ts'
import { createGapWebhook, type GapWebhook, type WebhookEvent } from './gap-webhook.ts'

export interface GapServiceOptions {
  readonly db: Queryable
  readonly rest: Pick<RestClient, 'closedCandlesBetween'>
  readonly clock: Clock
  /** The market whose symbols these are (default spot). */
  readonly market?: Market
  readonly symbols: readonly string[]
  readonly thresholdMs: number
  readonly initialBackfillMinutes: number
  readonly webhookUrl: string | null
  readonly write: (candles: readonly Candle[]) => Promise<void>
  readonly random?: () => number
  readonly onWebhookEvent?: (e: WebhookEvent) => void
  /** How often overdue minutes are looked for. */
  readonly checkEveryMs?: number
}

export interface GapService {
  readonly runner: BackfillRunner
  /** Queues each symbol's catch-up (or initial backfill). Returns without waiting for it. */
  start(): Promise<void>
  onCandle(c: Candle): void
  onResumed(fromMs: number, toMs: number): void
  pendingBackfills(): number
  gapCheckLast(): number | null
  stop(): void
}

export function createGapService(opts: GapServiceOptions): GapService {
  const { clock } = opts
  const market = opts.market ?? 'spot'
  const detector = new GapDetector(opts.symbols, opts.thresholdMs)
  const runner = new BackfillRunner({
    db: opts.db,
    rest: opts.rest,
    clock,
    market,
    write: opts.write,
    ...(opts.random ? { random: opts.random } : {}),
  })
  const webhook: GapWebhook | null = opts.webhookUrl
    ? createGapWebhook({
        url: opts.webhookUrl,
        clock,
        ...(opts.random ? { random: opts.random } : {}),
        ...(opts.onWebhookEvent ? { onEvent: opts.onWebhookEvent } : {}),
      })
    : null
  const checkEveryMs = opts.checkEveryMs ?? 10_000
  let timer: TimerHandle | null = null
  let windowTimer: TimerHandle | null = null
  let lastCheck: number | null = null
  let stopped = false
  // The earliest candle the stream delivered per symbol: start() must not mistake it for history.
  const firstLive = new Map<string, number>()

  runner.on('gap_detected', (e) => {
    if (webhook === null || e.cause === 'initial') return
    for (const r of e.ranges) {
      webhook.notify({
        symbol: e.symbol,
        market,
        from: new Date(r.from).toISOString(),
        to: new Date(r.to).toISOString(),
        missing: (r.to - r.from) / MINUTE_MS + 1,
      })
    }
  })

  const enqueue = (gaps: readonly DetectedGap[]) => {
    for (const g of gaps) runner.enqueue(g)
  }

  function tick(): void {
    if (stopped) return
    lastCheck = clock.now()
    enqueue(detector.overdue(lastCheck))
    timer = clock.setTimeout(tick, checkEveryMs)
  }

  // A held disconnect window is released on the dot, not at the next tick.
  function armWindowTimer(): void {
    windowTimer?.cancel()
    windowTimer = null
    const at = detector.nextDueAt()
    if (at === null || stopped) return
    windowTimer = clock.setTimeout(
      () => {
        windowTimer = null
        if (stopped) return
        enqueue(detector.overdue(clock.now()))
        armWindowTimer()
      },
      Math.max(0, at - clock.now()),
    )
  }

  return {
    runner,
    async start() {
      const now = clock.now()
      const lastClosed = floorMinute(now) - MINUTE_MS
      const windowStart = lastClosed - (opts.initialBackfillMinutes - 1) * MINUTE_MS
      for (const symbol of opts.symbols) {
        let latest = await latestCandleTime(opts.db, market, symbol)
        // The stream runs already, and may have stored a symbol's first live candle before
        // this lookup: what counts is what was stored before it (a new symbol stays new).
        const live = firstLive.get(symbol)
        if (latest !== null && live !== undefined && latest >= live)
          latest = await latestCandleTime(opts.db, market, symbol, live)
        // A restart also re-checks the whole initial window, so a repair that did not
        // finish before a stop is found again.
        const from = latest === null ? windowStart : Math.min(latest + MINUTE_MS, windowStart)
        if (opts.initialBackfillMinutes > 0 || latest !== null) {
          runner.enqueue({ symbol, from, to: lastClosed, cause: latest === null ? 'initial' : 'catch_up' })
        }
        detector.settle(symbol, lastClosed)
      }
      lastCheck = now
      timer = clock.setTimeout(tick, checkEveryMs)
    },
    onCandle(c) {
      const seen = firstLive.get(c.symbol)
      if (seen === undefined || c.openTime < seen) firstLive.set(c.symbol, c.openTime)
      const gap = detector.onCandle(c.symbol, c.openTime)
      if (gap) runner.enqueue(gap)
    },
    onResumed(fromMs, toMs) {
      // Each minute is queued once its close + threshold has passed, as a late close is:
      // the new socket may still deliver it, and REST does not depend on the socket.
      enqueue(detector.onDisconnect(fromMs, toMs, clock.now()))
      armWindowTimer()
    },
    pendingBackfills: () => runner.pendingJobs(),
    gapCheckLast: () => lastCheck,
    stop() {
      stopped = true
      timer?.cancel()
      windowTimer?.cancel()
      runner.close()
      webhook?.close()
    },
  }
}
