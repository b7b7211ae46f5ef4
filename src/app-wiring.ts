/**
 * Where core events become logs, metrics and data_quality_logs rows. The
 * modules that emit them never log; this is the one place that decides how
 * each is reported.
 */

import type { RestEvent } from './binance/rest/rest-api.ts'
import type { BinanceFeed } from './binance/ws/feed.ts'
import type { Clock } from './core/clock.ts'
import { formatRange } from './core/minute-ranges.ts'
import type { FeatureEngine } from './feature-store/feature-engine.ts'
import type { GapService } from './gaps/gap-service.ts'
import type { WebhookEvent } from './gaps/gap-webhook.ts'
import type { Logger } from './observability/logger.ts'
import type { Metrics } from './observability/metrics.ts'
import type { DurableSink } from './spool/durable-sink.ts'
import type { SpoolEvent } from './spool/spool-errors.ts'
import type { QualityEvent } from './store/candle-queries.ts'
import type { CandleWriter } from './store/candle-writer.ts'

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

export function wireWriter(w: CandleWriter, ctx: WiringContext, kind: 'live' | 'backfill'): void {
  const { metrics, logger, clock } = ctx
  w.on('flushed', (info) => {
    metrics.candlesWritten.inc(info.size)
    metrics.batchSize.observe(info.size)
    metrics.dbWriteSeconds.observe(info.durationMs / 1000)
    if (kind === 'live') {
      const now = clock.now()
      for (const c of info.candles) metrics.pipelineSeconds.observe((now - c.receivedAt) / 1000)
      metrics.bufferSize.set(w.bufferSize)
    } else metrics.backfillCandles.inc(info.size)
    ctx.setDbConnected(true)
    logger.debug(
      { writer: kind, size: info.size, attempts: info.attempts, ms: info.durationMs },
      'batch written',
    )
  })
  w.on('retry', (info) => {
    metrics.dbRetries.inc()
    logger.warn(
      {
        code: 'DB_WRITE_RETRY',
        writer: kind,
        attempt: info.attempt,
        delay_ms: info.delayMs,
        err: info.error,
      },
      'batch write failed; retrying',
    )
  })
  w.on('failed', (info) => {
    metrics.dbFailedCandles.inc(info.candles.length)
    ctx.noteError()
    if (kind === 'live') return // the durable sink spools the batch and reports it
    ctx.setDbConnected(false)
    const first = info.candles[0]
    logger.error(
      {
        code: 'DB_WRITE_FAILED',
        writer: kind,
        candles: info.candles.length,
        first: first ? `${first.symbol}@${new Date(first.openTime).toISOString()}` : null,
        err: info.error,
      },
      'backfill batch failed after every retry; the range will be fetched again',
    )
  })
}

export function wireSink(sink: DurableSink, ctx: WiringContext): void {
  const { logger, metrics } = ctx
  sink.on('spooled', (e) => {
    ctx.setDbConnected(false)
    metrics.spoolBytes.set(e.bytes)
    logger.error(
      { code: 'DB_WRITE_FAILED', candles: e.candles, reason: e.reason, spool_bytes: e.bytes, err: e.error },
      'candles could not be written; kept in the on-disk spool',
    )
    ctx.quality({
      eventType: 'db_write_failed',
      market: 'spot',
      source: 'ws',
      errorMessage: String((e.error as { code?: string } | null)?.code ?? e.reason),
      details: { candles: e.candles, reason: e.reason, spool_bytes: e.bytes },
    })
  })
  sink.on('replayed', (e) => {
    ctx.setDbConnected(true)
    logger.info(
      { code: 'SPOOL_REPLAYED', candles: e.candles, records: e.records, remaining: e.remaining },
      'spooled candles written',
    )
    ctx.quality({
      eventType: 'spool_replayed',
      market: 'spot',
      source: 'spool',
      candlesRecovered: e.candles,
      resolved: true,
      resolvedAt: ctx.clock.now(),
      details: { records: e.records, remaining: e.remaining },
    })
  })
  sink.on('replay_failed', (e) => {
    logger.warn(
      { code: 'SPOOL_REPLAY_FAILED', remaining: e.remaining, err: e.error },
      'spool replay waits for the database',
    )
  })
  sink.on('rejected', (e) => {
    metrics.invalidFrames.inc({ reason: 'db_rejected' }, e.candles.length)
    const first = e.candles[0]
    logger.error(
      {
        code: 'DB_REJECTED_ROWS',
        candles: e.candles.length,
        first: first ? `${first.symbol}@${first.openTime}` : null,
        err: e.error,
      },
      'the database refused these candles as invalid; they are not retried',
    )
    ctx.quality({
      eventType: 'db_write_failed',
      market: 'spot',
      symbol: first?.symbol ?? null,
      source: 'ws',
      errorMessage: String((e.error as { code?: string } | null)?.code ?? 'rejected'),
      details: { rejected: true, candles: e.candles.length },
    })
  })
  sink.on('full', (e) => {
    metrics.spoolFull.inc()
    logger.error(
      { code: 'SPOOL_FULL', candles: e.candles, held_in_memory: e.held, err: e.error },
      'the spool is full (SPOOL_MAX_BYTES); newest candles are held in memory',
    )
  })
}

export function onSpoolEvent(ctx: WiringContext): (e: SpoolEvent) => void {
  return (e) => {
    if (e.type === 'full') return // the sink reports it
    ctx.logger[e.type === 'torn_tail' ? 'warn' : 'error'](
      {
        code: e.type === 'torn_tail' ? 'SPOOL_TORN_TAIL' : 'SPOOL_QUARANTINED',
        segment: e.segment,
        offset: e.offset,
        bytes: e.bytes,
        moved_to: e.quarantinedTo,
      },
      e.type === 'torn_tail'
        ? 'the last spool record was cut short by a crash; it was set aside'
        : 'damaged spool data was moved aside unread',
    )
  }
}

export function wireFeatures(f: FeatureEngine, ctx: WiringContext): void {
  const { logger, metrics } = ctx
  f.on('flushed', (e) => {
    metrics.featureRowsWritten.inc(e.size)
    logger.debug({ rows: e.size, changed: e.changed, ms: e.durationMs }, 'features written')
  })
  f.on('retry', (e) => {
    metrics.dbRetries.inc()
    logger.warn(
      { code: 'FEATURE_WRITE_RETRY', attempt: e.attempt, delay_ms: e.delayMs, err: e.error },
      'feature write failed; retrying',
    )
  })
  f.on('failed', (e) => {
    ctx.noteError()
    logger.error(
      {
        code: 'FEATURE_WRITE_FAILED',
        rows: e.rows.length,
        repair: e.repair ?? null,
        final: e.final,
        err: e.error,
      },
      e.final
        ? 'feature rows could not be written and are given up (see FEATURE_WRITE_FAILED in docs/OPERATIONS.md)'
        : 'feature rows could not be written; they are kept and tried again',
    )
  })
}

export function wireFeed(f: BinanceFeed, ctx: WiringContext, gaps: GapService | null): void {
  const { metrics, logger } = ctx
  const openCount = () => f.status().filter((c) => c.connected).length
  f.on('connected', (info) => {
    metrics.connectionsOpen.set(openCount())
    logger.info(
      { connection: info.connectionId, streams: info.streams, rotation: info.rotation },
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
    metrics.reconnects.inc({ reason: info.reason })
    logger.warn(
      {
        code: 'STREAM_RECONNECT',
        connection: info.connectionId,
        attempt: info.attempt,
        delay_ms: info.delayMs,
        reason: info.reason,
      },
      `stream reconnect attempt ${info.attempt} in ${info.delayMs} ms`,
    )
  })
  f.on('disconnected', (info) => {
    metrics.connectionsOpen.set(openCount())
    logger.warn(
      { code: 'STREAM_DISCONNECTED', connection: info.connectionId, reason: info.reason },
      'stream disconnected',
    )
    ctx.quality({
      eventType: 'ws_disconnected',
      market: 'spot',
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
      market: 'spot',
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

export function wireGaps(g: GapService, ctx: WiringContext): void {
  const { metrics, logger } = ctx
  g.runner.on('gap_detected', (e) => {
    metrics.gapsDetected.inc({ cause: e.cause }, e.ranges.length)
    const level = e.cause === 'initial' ? 'info' : 'warn'
    logger[level](
      {
        code: 'GAP_DETECTED',
        symbol: e.symbol,
        cause: e.cause,
        missing: e.missing,
        ranges: e.ranges.map(formatRange),
      },
      e.cause === 'initial' ? 'initial backfill' : 'missing minutes detected; backfilling',
    )
  })
  g.runner.on('gap_filled', (e) => {
    metrics.gapsFilled.inc()
    logger.info(
      {
        code: 'GAP_FILLED',
        symbol: e.symbol,
        cause: e.cause,
        recovered: e.recovered,
        range: formatRange(e.range),
      },
      'gap filled from REST',
    )
  })
  g.runner.on('gap_unfillable', (e) => {
    metrics.gapsUnfillable.inc()
    logger.warn(
      { code: 'GAP_UNFILLABLE', symbol: e.symbol, missing: e.missing, range: formatRange(e.range) },
      'Binance has no data for these minutes; recorded as unfillable',
    )
  })
  g.runner.on('job_failed', (e) => {
    ctx.noteError()
    logger.warn(
      {
        code: 'BACKFILL_RETRY',
        symbol: e.symbol,
        range: formatRange(e.range),
        retry_in_ms: e.retryInMs,
        err: e.error,
      },
      'backfill failed; it will be retried',
    )
  })
}

export function onRestEvent(ctx: WiringContext): (e: RestEvent) => void {
  const { metrics, logger } = ctx
  return (e) => {
    switch (e.type) {
      case 'weight':
        metrics.restWeightUsed.set(e.usedWeight)
        break
      case 'rate_limited':
        metrics.restRateLimited.inc({ status: String(e.status) })
        logger.warn(
          { code: `REST_HTTP_${e.status}`, endpoint: e.endpoint, retry_after_ms: e.retryAfterMs },
          'Binance REST rate limit: every request paused',
        )
        break
      case 'retry':
        if (e.code === 'BAD_RESPONSE') {
          // A broken page (not JSON, wrong shape, an HTML error page) is bad input like a bad frame.
          metrics.invalidFrames.inc({ reason: 'rest_response' })
          logger.warn(
            { code: 'INVALID_REST_RESPONSE', endpoint: e.endpoint, attempt: e.attempt },
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
        metrics.invalidFrames.inc({ reason: 'rest_row' }, e.rejections.length)
        logger.warn(
          { code: 'INVALID_REST_ROWS', symbol: e.symbol, rejected: e.rejections.slice(0, 5) },
          'REST rows rejected',
        )
        ctx.quality({
          eventType: 'invalid_message',
          market: 'spot',
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
