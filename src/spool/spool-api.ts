/** The spool's contract (spool.ts implements it on files). */
import type { Clock } from '../core/clock.ts'
import type { Candle } from '../core/records.ts'
import type { SpoolEvent } from './spool-errors.ts'

export const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024
/** Candles handed to one replay write (PGlite takes at most 1 000 per statement). */
export const DEFAULT_REPLAY_BATCH = 1_000

export interface SpoolOptions {
  /** The spool's own directory, normally `spoolDir(DATA_DIR)`. Created if missing. */
  readonly dir: string
  /** Bytes on disk past which append() refuses (SpoolFullError). */
  readonly maxBytes: number
  readonly clock: Clock
  readonly segmentBytes?: number
  readonly replayBatchCandles?: number
  /** torn_tail and quarantined are found while opening, so the listener is given here. */
  readonly onEvent?: (e: SpoolEvent) => void
}

export interface ReplayResult {
  readonly records: number
  readonly candles: number
  /** True when the spool was emptied; false when a write failed (the rest is kept). */
  readonly done: boolean
  readonly error: unknown
}

export interface Spool {
  /** Appends one batch, durable on return. Throws SpoolFullError / SpoolWriteError; then nothing was added. */
  append(candles: readonly Candle[]): void
  /** Bytes of the segment files on disk (what counts against maxBytes). */
  readonly bytes: number
  /** Records not yet replayed. */
  readonly records: number
  /** Candles in those records. */
  readonly candles: number
  /**
   * Replays oldest first, a few records per `write`, advancing the marker only
   * after each write resolved and deleting each segment once it is replayed.
   * Stops at the first write that throws, keeping that batch and everything
   * after it. Concurrent calls share one run; appends during a run are
   * replayed by it too.
   */
  replay(write: (candles: readonly Candle[]) => Promise<void>): Promise<ReplayResult>
  /** Idempotent. A replay in progress stops after its current write. */
  close(): void
}
