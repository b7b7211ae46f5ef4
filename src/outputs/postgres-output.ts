/**
 * The PostgreSQL output: live candles go through a group-committing writer
 * (store/candle-writer.ts) made durable by the spool (spool/durable-sink.ts);
 * batches go through a second writer in large set-based statements, so a big
 * backfill never delays a live commit. Acknowledged = committed, or fsynced to
 * the spool in DATA_DIR (replayed, fill-only, when the database answers).
 */
import type { Clock } from '../core/clock.ts'
import type { Candle } from '../core/records.ts'
import { createDurableSink, type DurableSink } from '../spool/durable-sink.ts'
import { openSpool, type Spool, type SpoolEvent, spoolDir } from '../spool/spool.ts'
import { type CandleWriter, createCandleWriter, type WriteResult } from '../store/candle-writer.ts'
import { acquireDataDirLock, type DataDirLock } from '../store/data-dir-lock.ts'
import type { Db } from '../store/db.ts'
import type { CandleOutput, HistorySpan, OutputCloseResult } from './output.ts'

/** Closed candles that arrive while a write is in flight go out together, up to this many. */
const LIVE_GROUP = 1_000
/** Backfill writes go through their own writer, in large set-based batches. */
const BULK_BATCH = 1_000
/** The spool replay period while anything is spooled (the first row of `spool.replay`). */
const SPOOL_REPLAY_MS = 5_000

export interface PostgresOutputOptions {
  readonly db: Db
  readonly clock: Clock
  readonly random?: () => number
  /** DATA_DIR: the spool lives in it; locked here unless the embedded database holds it already. */
  readonly dataDir: string
  readonly lockDataDir: boolean
  readonly spoolMaxBytes: number
  readonly batchMaxCandles: number
  readonly batchMaxWaitMs: number
  readonly dbMaxRetries: number
  readonly onSpoolEvent?: (e: SpoolEvent) => void
}

/** The writer for batches (gap repair, the backfill command). */
export function createBulkWriter(
  o: Pick<PostgresOutputOptions, 'db' | 'clock' | 'random' | 'batchMaxWaitMs' | 'dbMaxRetries'>,
): CandleWriter {
  return createCandleWriter({
    db: o.db,
    clock: o.clock,
    maxBatch: BULK_BATCH,
    maxWaitMs: o.batchMaxWaitMs,
    maxRetries: o.dbMaxRetries,
    ...(o.random ? { random: o.random } : {}),
  })
}

export class PostgresOutput implements CandleOutput {
  readonly name = 'postgres'
  readonly live: CandleWriter
  readonly bulk: CandleWriter
  readonly spool: Spool
  readonly sink: DurableSink
  private readonly lock: DataDirLock | null

  constructor(o: PostgresOutputOptions) {
    const random = o.random ? { random: o.random } : {}
    this.live = createCandleWriter({
      db: o.db,
      clock: o.clock,
      maxBatch: o.batchMaxCandles,
      maxGroup: LIVE_GROUP,
      maxWaitMs: o.batchMaxWaitMs,
      maxRetries: o.dbMaxRetries,
      ...random,
    })
    this.lock = o.lockDataDir ? acquireDataDirLock(o.dataDir) : null
    this.spool = openSpool({
      dir: spoolDir(o.dataDir),
      maxBytes: o.spoolMaxBytes,
      clock: o.clock,
      ...(o.onSpoolEvent ? { onEvent: o.onSpoolEvent } : {}),
    })
    this.sink = createDurableSink({
      writer: this.live,
      spool: this.spool,
      db: o.db,
      clock: o.clock,
      replayIntervalMs: SPOOL_REPLAY_MS,
      ...random,
    })
    this.bulk = createBulkWriter(o)
  }

  start(): void {
    this.sink.start()
  }

  add(c: Candle): void {
    this.sink.add(c)
  }

  write(batch: readonly Candle[]): Promise<WriteResult> {
    return this.bulk.write(batch)
  }

  get bufferSize(): number {
    return this.sink.bufferSize
  }

  onHistoryChanged(fn: (span: HistorySpan) => void): void {
    this.sink.on('replayed', (e) => {
      for (const s of e.spans) fn(s)
    })
  }

  async close(opts: { timeoutMs?: number }): Promise<OutputCloseResult> {
    const r = await this.sink.close(opts)
    this.spool.close()
    await this.bulk.close()
    // The spool is closed: its directory is free for another process.
    this.lock?.release()
    return { kept: r.spooled, lost: r.lost, timedOut: r.timedOut }
  }
}
