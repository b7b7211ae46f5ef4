/**
 * How the stream, gap repair, the REST client and the gap webhook are
 * reported: logs, metrics, data_quality_logs rows.
 */
import type { RestEvent } from '../binance/rest/rest-api.ts'
import type { BinanceFeed } from '../binance/ws/feed.ts'
import { formatRange } from '../core/minute-ranges.ts'
import type { GapService } from '../gaps/gap-service.ts'
import type { WebhookEvent } from '../gaps/gap-webhook.ts'
import type { MarketContext, WiringContext } from './reporting.ts'

export function wireFeed(f: BinanceFeed, ctx: MarketContext, gaps: GapService | null): void {
  const { metrics, logger, market } = ctx
  const openCount = () => f.status().filter((c) => c.connected).length
  f.on('connected', (info) => {
    metrics.connectionsOpen.set({ market }, openCount())
    logger.info(
      { market, connection: info.connectionId, streams: info.streams, rotation: info.rotation },
      'stream connected',
    )
  })
  f.on('subscribe_retry', (e) => {
    logger.warn(
      {
        code: 'STREAM_SUBSCRIBE_RETRY',
        connection: e.connectionId,
        attempt: e.attempt,
        action: e.action,
        delay_ms: e.delayMs,
        streams: e.streams.length,
        error_code: e.code,
        msg: e.msg,
      },
      e.action === 'replace'
        ? 'SUBSCRIBE refused again; replacing the connection'
        : 'SUBSCRIBE refused; sending it again',
    )
  })
  f.on('rotating', (e) => logger.info({ connection: e.connectionId, reason: e.reason }, 'stream rotating'))
  f.on('reconnecting', (info) => {
    metrics.reconnects.inc({ market, reason: info.reason })
    logger.warn(
      {
        code: 'STREAM_RECONNECT',
        market,
        connection: info.connectionId,
        attempt: info.attempt,
        delay_ms: info.delayMs,
        reason: info.reason,
      },
      `stream reconnect attempt ${info.attempt} in ${info.delayMs} ms`,
    )
  })
  f.on('disconnected', (info) => {
    metrics.connectionsOpen.set({ market }, openCount())
    logger.warn(
      { code: 'STREAM_DISCONNECTED', market, connection: info.connectionId, reason: info.reason },
      'stream disconnected',
    )
    ctx.quality({
      eventType: 'ws_disconnected',
      market,
      symbol: null,
      source: 'ws',
      errorMessage: info.reason,
      details: { connection: info.connectionId },
    })
  })
  f.on('healthy', (info) => {
    if (!info.afterReconnect) return
    const window = info.resumedAfter
    // `from` is null when the socket before never delivered data: start-up catch-up covers that.
    const from = window?.from ?? window?.to ?? null
    ctx.quality({
      eventType: 'ws_reconnected',
      market,
      symbol: null,
      source: 'ws',
      errorMessage: null,
      details: {
        connection: info.connectionId,
        ...(window && from !== null
          ? { silent_from: new Date(from).toISOString(), silent_to: new Date(window.to).toISOString() }
          : {}),
      },
    })
    if (window && from !== null && gaps) gaps.onResumed(from, window.to)
  })
}

export function wireGaps(g: GapService, ctx: MarketContext): void {
  const { metrics, logger, market } = ctx
  g.runner.on('gap_detected', (e) => {
    metrics.gapsDetected.inc({ market, cause: e.cause }, e.ranges.length)
    const level = e.cause === 'initial' ? 'info' : 'warn'
    logger[level](
      {
        code: 'GAP_DETECTED',
        market,
        symbol: e.symbol,
        cause: e.cause,
        missing: e.missing,
        ranges: e.ranges.map(formatRange),
      },
      e.cause === 'initial' ? 'initial backfill' : 'missing minutes detected; backfilling',
    )
  })
  g.runner.on('gap_filled', (e) => {
    metrics.gapsFilled.inc({ market })
    logger.info(
      {
        code: 'GAP_FILLED',
        market,
        symbol: e.symbol,
        cause: e.cause,
        recovered: e.recovered,
        range: formatRange(e.range),
      },
      'gap filled from REST',
    )
  })
  g.runner.on('gap_unfillable', (e) => {
    metrics.gapsUnfillable.inc({ market })
    logger.warn(
      { code: 'GAP_UNFILLABLE', market, symbol: e.symbol, missing: e.missing, range: formatRange(e.range) },
      'Binance has no data for these minutes; recorded as unfillable',
    )
  })
  g.runner.on('job_failed', (e) => {
    ctx.noteError()
    logger.warn(
      {
        code: 'BACKFILL_RETRY',
        market,
        symbol: e.symbol,
        range: formatRange(e.range),
        retry_in_ms: e.retryInMs,
        err: e.error,
      },
      'backfill failed; it will be retried',
    )
  })
}

export function onRestEvent(ctx: MarketContext): (e: RestEvent) => void {
  const { metrics, logger, market } = ctx
  return (e) => {
    switch (e.type) {
      case 'weight':
        metrics.restWeightUsed.set({ market }, e.usedWeight)
        break
      case 'rate_limited':
        metrics.restRateLimited.inc({ market, status: String(e.status) })
        logger.warn(
          { code: `REST_HTTP_${e.status}`, market, endpoint: e.endpoint, retry_after_ms: e.retryAfterMs },
          `Binance REST rate limit: every ${market} request paused`,
        )
        break
      case 'retry':
        if (e.code === 'BAD_RESPONSE') {
          // A broken page (not JSON, wrong shape, an HTML error page) is bad input like a bad frame.
          metrics.invalidFrames.inc({ market, reason: 'rest_response' })
          logger.warn(
            { code: 'INVALID_REST_RESPONSE', market, endpoint: e.endpoint, attempt: e.attempt },
            'Binance REST answered with a malformed response; retrying',
          )
          break
        }
        logger.debug(
          { code: 'REST_RETRY', endpoint: e.endpoint, attempt: e.attempt, error_code: e.code },
          'REST retry',
        )
        break
      case 'rejected_rows':
        metrics.invalidFrames.inc({ market, reason: 'rest_row' }, e.rejections.length)
        logger.warn(
          { code: 'INVALID_REST_ROWS', market, symbol: e.symbol, rejected: e.rejections.slice(0, 5) },
          'REST rows rejected',
        )
        ctx.quality({
          eventType: 'invalid_message',
          market,
          symbol: e.symbol,
          source: 'rest',
          errorMessage: e.rejections[0]
            ? `${e.rejections[0].reason}: ${e.rejections[0].detail}`.slice(0, 500)
            : null,
          details: { rejected: e.rejections.length },
        })
        break
      default:
        break
    }
  }
}

export function onWebhookEvent(ctx: WiringContext): (e: WebhookEvent) => void {
  return (e) => {
    if (e.type === 'delivered') return
    ctx.logger.warn(
      {
        code: 'GAP_WEBHOOK_FAILED',
        symbol: e.notice.symbol,
        outcome: e.type,
        ...('error' in e ? { error: e.error } : {}),
      },
      'gap handler did not take a notice',
    )
  }
}
