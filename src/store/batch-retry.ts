/**
 * The write discipline every batch writer shares: one set-based statement per
 * batch; transient errors (by SQLSTATE) retried with jittered exponential
 * backoff; a batch the database refuses as such (isRowRejection) is halved
 * until the refused rows stand alone, so the good rows are still written. Any
 * other failure (read-only after a failover, a missing privilege or table) is
 * about the database, not the rows: the whole batch fails at once, for the
 * caller to keep (spool, retry later) rather than reject.
 */
import { delayFor, schedule } from '../core/retry.ts'
import { isRowRejection, isTransientDbError } from './errors.ts'

/** The `db.write` schedule (tests shorten it with retryBaseMs / retryMaxMs). */
export function backoffMs(
  attempt: number,
  opts: { retryBaseMs?: number; retryMaxMs?: number; random?: () => number },
): number {
  const s = schedule('db.write', { baseMs: opts.retryBaseMs, maxMs: opts.retryMaxMs })
  return delayFor(s, attempt, opts.random ?? Math.random)
}

export interface RetryingWrite<T> {
  readonly maxRetries: number
  /** Runs the statement; resolves with the rows it changed. */
  write(batch: readonly T[]): Promise<number>
  /** Default: the `db.write` schedule. */
  delayFor?(attempt: number): number
  sleep(ms: number): Promise<void>
  written?(batch: readonly T[], attempts: number, changed: number): void
  retrying?(info: { attempt: number; delayMs: number; error: unknown }): void
  failed?(batch: readonly T[], error: unknown): void
  /** After a backoff: the batch to try next (e.g. joined by what arrived meanwhile). */
  regroup?(batch: readonly T[]): readonly T[]
}

/** What became of a batch: the rows written, and the rows that failed with their error. */
export interface WriteOutcome<T> {
  readonly written: T[]
  readonly failed: { rows: readonly T[]; error: unknown }[]
}

/** Writes one batch to the end: success, split, or failure. Never throws. */
export async function writeWithRetries<T>(
  initial: readonly T[],
  w: RetryingWrite<T>,
  outcome: WriteOutcome<T> = { written: [], failed: [] },
): Promise<WriteOutcome<T>> {
  const fail = (batch: readonly T[], error: unknown): WriteOutcome<T> => {
    outcome.failed.push({ rows: batch, error })
    w.failed?.(batch, error)
    return outcome
  }
  let batch = initial
  for (let attempt = 1; ; attempt++) {
    try {
      const changed = await w.write(batch)
      for (const r of batch) outcome.written.push(r)
      w.written?.(batch, attempt, changed)
      return outcome
    } catch (error) {
      if (isRowRejection(error)) {
        if (batch.length <= 1) return fail(batch, error)
        const mid = Math.ceil(batch.length / 2)
        await writeWithRetries(batch.slice(0, mid), w, outcome)
        return writeWithRetries(batch.slice(mid), w, outcome)
      }
      if (!isTransientDbError(error) || attempt > w.maxRetries) return fail(batch, error)
      const delayMs = w.delayFor ? w.delayFor(attempt) : backoffMs(attempt, {})
      w.retrying?.({ attempt, delayMs, error })
      await w.sleep(delayMs)
      if (w.regroup) batch = w.regroup(batch)
    }
  }
}
