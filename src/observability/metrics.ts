/**
 * Prometheus metrics on the service's own registry. Core modules never touch
 * these; the composition root wires their events here.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

export function createMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'feeder_' })
  // prom-client exposes these three gauges with a `_total` suffix, which Prometheus reserves
  // for counters (promtool flags them); the process metrics say the same in other words.
  for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) {
    registry.removeSingleMetric(`feeder_nodejs_${name}`)
  }
  const m = {
    registry,
    framesReceived: new Counter({
      name: 'feeder_ws_frames_received_total',
      help: 'Stream frames received, by decoded type',
      labelNames: ['market', 'type'] as const,
      registers: [registry],
    }),
    invalidFrames: new Counter({
      name: 'feeder_ws_invalid_frames_total',
      help: 'Frames or candles rejected, by reason',
      labelNames: ['market', 'reason'] as const,
      registers: [registry],
    }),
    reconnects: new Counter({
      name: 'feeder_ws_reconnects_total',
      help: 'Stream reconnect attempts, by reason',
      labelNames: ['market', 'reason'] as const,
      registers: [registry],
    }),
    connectionsOpen: new Gauge({
      name: 'feeder_ws_connections_open',
      help: 'Stream connections currently open',
      labelNames: ['market'] as const,
      registers: [registry],
    }),
    candlesClosed: new Counter({
      name: 'feeder_candles_closed_total',
      help: 'Closed candles received from the stream',
      labelNames: ['market'] as const,
      registers: [registry],
    }),
    candlesWritten: new Counter({
      name: 'feeder_db_candles_written_total',
      help: 'Candles committed to the database',
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'feeder_db_batch_candles',
      help: 'Candles per database write',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000],
      registers: [registry],
    }),
    dbWriteSeconds: new Histogram({
      name: 'feeder_db_write_duration_seconds',
      help: 'Duration of one batch write, retries included',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    pipelineSeconds: new Histogram({
      name: 'feeder_pipeline_latency_seconds',
      help: 'Closed kline received to committed in the database',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    dbRetries: new Counter({
      name: 'feeder_db_retries_total',
      help: 'Batch write retries after transient errors',
      registers: [registry],
    }),
    dbFailedCandles: new Counter({
      name: 'feeder_db_failed_candles_total',
      help: 'Candles whose batch still failed after every retry',
      registers: [registry],
    }),
    gapsDetected: new Counter({
      name: 'feeder_gaps_detected_total',
      help: 'Missing minute ranges detected, by cause',
      labelNames: ['market', 'cause'] as const,
      registers: [registry],
    }),
    gapsFilled: new Counter({
      name: 'feeder_gaps_filled_total',
      help: 'Missing minute ranges filled from REST',
      labelNames: ['market'] as const,
      registers: [registry],
    }),
    gapsUnfillable: new Counter({
      name: 'feeder_gaps_unfillable_total',
      help: 'Missing minute ranges Binance has no data for',
      labelNames: ['market'] as const,
      registers: [registry],
    }),
    backfillCandles: new Counter({
      name: 'feeder_backfill_candles_total',
      help: 'Candles written by backfill',
      registers: [registry],
    }),
    restWeightUsed: new Gauge({
      name: 'feeder_rest_weight_used',
      help: 'REST request weight used in the current minute (X-MBX-USED-WEIGHT-1M)',
      labelNames: ['market'] as const,
      registers: [registry],
    }),
    restRateLimited: new Counter({
      name: 'feeder_rest_rate_limited_total',
      help: 'REST responses 429 or 418, by status',
      labelNames: ['market', 'status'] as const,
      registers: [registry],
    }),
    pendingBackfills: new Gauge({
      name: 'feeder_backfill_pending_jobs',
      help: 'Backfill ranges queued or running',
      registers: [registry],
    }),
    connectionAge: new Gauge({
      name: 'feeder_ws_connection_age_seconds',
      help: 'Age of each open stream connection (rotated before 24 h)',
      labelNames: ['market', 'connection'] as const,
      registers: [registry],
    }),
    lastCandleAge: new Gauge({
      name: 'feeder_last_candle_age_seconds',
      help: "Seconds since the close of each symbol's newest closed candle",
      labelNames: ['market', 'symbol'] as const,
      registers: [registry],
    }),
    featureAge: new Gauge({
      name: 'feeder_feature_age_seconds',
      help: "Open time of each symbol's newest candle minus that of its newest committed feature row, per window",
      labelNames: ['market', 'symbol', 'window'] as const,
      registers: [registry],
    }),
    eventLoopLag: new Gauge({
      name: 'feeder_event_loop_lag_seconds',
      help: 'Event-loop delay p99 over the last scrape interval',
      registers: [registry],
    }),
    dbUp: new Gauge({
      name: 'feeder_db_up',
      help: '1 when the database answered its last check, else 0',
      registers: [registry],
    }),
    spoolBytes: new Gauge({
      name: 'feeder_spool_bytes',
      help: 'Bytes of candle batches waiting in the on-disk spool',
      registers: [registry],
    }),
    spoolFull: new Counter({
      name: 'feeder_spool_refused_batches_total',
      help: 'Batches the spool refused at its size bound (held in memory instead)',
      registers: [registry],
    }),
    featureRowsWritten: new Counter({
      name: 'feeder_feature_rows_written_total',
      help: 'feature_cache rows written',
      registers: [registry],
    }),
    exchangeClockOffset: new Gauge({
      name: 'feeder_exchange_clock_offset_seconds',
      help: "Binance's clock minus this host's, from the latest sample of the exchange's time",
      registers: [registry],
    }),
    timescaleBytes: new Gauge({
      name: 'feeder_timescale_bytes',
      help: 'TimescaleDB storage by table and aggregate: compressed chunks (after compression) and the rest',
      labelNames: ['table', 'state'] as const,
      registers: [registry],
    }),
    bufferSize: new Gauge({
      name: 'feeder_buffer_candles',
      help: 'Candles waiting to be written',
      registers: [registry],
    }),
  }
  return m
}

export type Metrics = ReturnType<typeof createMetrics>
