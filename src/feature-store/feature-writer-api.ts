/** The feature writer's contract: what it takes, what it reports (feature-writer.ts implements it). */
import type { Clock } from '../core/clock.ts'
import type { FeatureRow } from '../features/feature-row.ts'
import type { Db } from '../store/db.ts'

export interface FeatureWriterOptions {
  db: Db
  clock: Clock
  /** A row waits at most this long before its batch is written. */
  intervalMs: number
  maxRetries: number
  /** Rows per statement; default 1 000 (building a statement runs on the event loop: a few ms). */
  maxBatch?: number
  retryBaseMs?: number
  retryMaxMs?: number
  random?: () => number
  /** Rows kept for a later retry while the database fails; default 200 000. */
  maxKeptRows?: number
  /** Write over whatever is stored, past the guard of what rows were computed from (`features --rebuild`). */
  force?: boolean
}

export interface FeatureFlushInfo {
  size: number
  attempts: number
  durationMs: number
  /** Rows inserted or changed; identical rewrites and rows the guard refused count 0. */
  changed: number
  /** The rows of the statement (inserted, changed, identical or refused). */
  rows: readonly FeatureRow[]
}

export interface FeatureRetryInfo {
  attempt: number
  delayMs: number
  error: unknown
}

export interface FeatureFailure {
  rows: readonly FeatureRow[]
  error: unknown
  /**
   * True: the rows are given up (refused by the database, dropped over the
   * kept bound, or still failing at close). False: they are kept and written
   * later, unless a newer row for the same key replaces them first.
   */
  final: boolean
  /** When not final: in how many ms the kept rows are tried again. */
  retryInMs?: number
}

export type FeatureWriterEvents = {
  flushed: FeatureFlushInfo
  retry: FeatureRetryInfo
  failed: FeatureFailure
}

export interface FeatureWriter {
  add(rows: readonly FeatureRow[]): void
  /** Writes the buffered rows now, or right after the pass in flight. */
  writeNow(): void
  /** Rows buffered, in flight, or kept for a later retry. */
  readonly bufferSize: number
  /** Writes everything handed in so far now, kept rows included; resolves when it is written, kept again or failed. */
  flush(): Promise<void>
  /** Flushes, stops the timers; what still fails is final, later rows are failed loudly. Idempotent. */
  close(): Promise<void>
  /** Rows given up since the last call (except those dropped over the kept bound); the list is emptied. */
  takeFailed(): FeatureRow[]
  on<K extends keyof FeatureWriterEvents>(event: K, fn: (info: FeatureWriterEvents[K]) => void): void
}
