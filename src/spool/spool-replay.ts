/**
 * One replay pass over the spool: oldest records first, written with the
 * fill-only upsert (store/candle-sql.ts) through the writers' one
 * retry-and-bisect (store/batch-retry.ts). Rows the database refuses as such
 * are reported and skipped; any other failure stops the pass (the rest stays
 * spooled). No retry here: the sink's replay timer is the retry.
 */
import type { Candle, Market } from '../core/records.ts'
import { writeWithRetries } from '../store/batch-retry.ts'
import { buildCandleUpsert } from '../store/candle-sql.ts'
import type { Db } from '../store/db.ts'
import { isRowRejection } from '../store/errors.ts'
import type { ReplayResult, Spool } from './spool-api.ts'

/** Open times of the candles a replay wrote, per symbol: history that changed under the features. */
export interface ReplayedSpan {
  readonly market: Market
  readonly symbol: string
  readonly fromOpenTime: number
  readonly toOpenTime: number
}

export async function replaySpool(
  spool: Spool,
  db: Db,
  rejected: (candles: readonly Candle[], error: unknown) => void,
): Promise<{ result: ReplayResult; spans: ReplayedSpan[] }> {
  const spans = new Map<
    string,
    { market: Market; symbol: string; fromOpenTime: number; toOpenTime: number }
  >()
  const result = await spool.replay(async (batch) => {
    await writeFill(db, batch, rejected)
    for (const c of batch) {
      // One span per market and symbol: the same symbol on spot and futures is two histories.
      const key = `${c.market}:${c.symbol}`
      const s = spans.get(key)
      if (s === undefined)
        spans.set(key, {
          market: c.market,
          symbol: c.symbol,
          fromOpenTime: c.openTime,
          toOpenTime: c.openTime,
        })
      else {
        s.fromOpenTime = Math.min(s.fromOpenTime, c.openTime)
        s.toOpenTime = Math.max(s.toOpenTime, c.openTime)
      }
    }
  })
  return { result, spans: [...spans.values()] }
}

async function writeFill(
  db: Db,
  batch: readonly Candle[],
  rejected: (candles: readonly Candle[], error: unknown) => void,
): Promise<void> {
  let stop: { error: unknown } | null = null
  const r = await writeWithRetries(batch, {
    maxRetries: 0,
    write: async (rows) => {
      if (stop !== null) throw stop.error
      try {
        return (await db.query(buildCandleUpsert(rows, 'fill'))).rowCount ?? 0
      } catch (error) {
        if (!isRowRejection(error)) stop ??= { error }
        throw error
      }
    },
    sleep: async () => {},
  })
  for (const f of r.failed) if (isRowRejection(f.error)) rejected(f.rows, f.error)
  if (stop !== null) throw (stop as { error: unknown }).error
}
