/**
 * An output is where closed candles go. PostgreSQL (postgres-output.ts) is the
 * first; a message-bus publisher or a second database is another module with
 * the same contract, and the app hands each candle to every output it built.
 *
 * - What it takes: closed candles (`Candle`: decimal strings, the exchange's
 *   and our receive time), live one at a time (`add`) or as a batch (`write`,
 *   gap repair and the backfill command).
 * - When it acknowledges: a live candle once it is durable — stored, or kept
 *   in the output's own spool to be delivered later; a batch when `write`
 *   resolves, every candle in either `written` or `failed`.
 * - How it fails: never by throwing. What it cannot deliver now it keeps and
 *   retries by itself (its schedule is a row of core/retry.ts); a candle the
 *   destination refuses as invalid is reported and dropped; `write` reports
 *   its failures so the caller can fetch the range again later.
 */
import type { Candle, Market } from '../core/records.ts'
import type { WriteResult } from '../store/candle-writer.ts'

export type { WriteResult }

/** Minutes an output stored out of order (a replay): views built on them must be repaired. */
export interface HistorySpan {
  readonly market: Market
  readonly symbol: string
  readonly fromOpenTime: number
  readonly toOpenTime: number
}

export interface OutputCloseResult {
  /** Candles kept for the next start (spooled) during close. */
  readonly kept: number
  /** Candles neither delivered nor kept. Non-zero → exit 1. */
  readonly lost: number
  readonly timedOut: boolean
}

export interface CandleOutput {
  readonly name: string
  /** Starts delivering what an earlier run kept. */
  start(): void
  /** A closed candle from the stream; acknowledged later, asynchronously. */
  add(c: Candle): void
  /** A batch (backfill): resolves when each candle is written or failed; never rejects. */
  write(batch: readonly Candle[]): Promise<WriteResult>
  /** Candles taken and not yet acknowledged. */
  readonly bufferSize: number
  onHistoryChanged(fn: (span: HistorySpan) => void): void
  /** Delivers or keeps what it holds, within `timeoutMs` when given. Idempotent. */
  close(opts: { timeoutMs?: number }): Promise<OutputCloseResult>
}

/**
 * Writes a batch and throws unless every candle of it was written: gap repair
 * must not count a minute as filled that did not land. Resolves to the written ones.
 */
export async function writeAll(
  out: Pick<CandleOutput, 'write'>,
  batch: readonly Candle[],
): Promise<readonly Candle[]> {
  const r = await out.write(batch)
  const failed = r.failed.reduce((n, f) => n + f.candles.length, 0)
  if (failed > 0) throw new Error(`${failed} of ${batch.length} candles could not be written`)
  return r.written
}
