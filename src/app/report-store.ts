/**
 * How the output (writers, durable sink, spool) and the feature engine are
 * reported: logs, metrics, data_quality_logs rows.
 */
import type { FeatureEngine } from '../feature-store/feature-engine.ts'
import type { DurableSink } from '../spool/durable-sink.ts'
import type { SpoolEvent } from '../spool/spool-errors.ts'
import type { CandleWriter } from '../store/candle-writer.ts'
import type { WiringContext } from './reporting.ts'

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
    const first = e.candles[0]
    metrics.invalidFrames.inc({ market: first?.market ?? 'spot', reason: 'db_rejected' }, e.candles.length)
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
      market: first?.market ?? 'spot',
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
