/**
 * The upsert used to replay spooled candles: insert what is missing, and on a
 * row that exists only fill what it lacks (bid/ask, trade ids); never change a
 * value it has.
 *
 * Why replay must not follow the writer's "latest write wins":
 * - A spooled batch is old by construction: live candles keep flowing to the
 *   writer while the spool waits, so by the time a batch is replayed the same
 *   minute may have been written again (by the stream after a reconnect, or by
 *   REST gap repair). Replaying with "latest wins" would put the older
 *   observation back on top of the newer one.
 * - Every spooled candle is a closed minute. Binance's values for a closed
 *   minute are final, so any stored row for the key carries the same OHLCV,
 *   trades and volumes; the only legitimate differences are the columns a
 *   source may lack (REST rows have no bid/ask and no trade ids) and the book
 *   snapshot (bid/ask), where the stored one is the newer observation.
 * So "fill, never overwrite" loses nothing the spool holds, keeps every newer
 * value, and makes replay commute with live writes: replay may run beside the
 * writer, in any interleaving, and re-replaying a record (a crash between the
 * commit and the marker) changes nothing.
 */
import { createHash } from 'node:crypto'
import type { Candle } from '../core/records.ts'
import { buildCandleUpsert, CANDLE_CONFLICT_CLAUSE, CANDLE_UPSERT_SQL } from '../store/candle-sql.ts'
import type { QuerySpec } from '../store/db.ts'

export const REPLAY_CONFLICT_CLAUSE = `ON CONFLICT (market, symbol, open_time) DO UPDATE SET
    first_trade_id = CASE WHEN c.first_trade_id IS NULL THEN excluded.first_trade_id ELSE c.first_trade_id END,
    last_trade_id = CASE WHEN c.first_trade_id IS NULL THEN excluded.last_trade_id ELSE c.last_trade_id END,
    bid = CASE WHEN c.bid IS NULL THEN excluded.bid ELSE c.bid END,
    bid_qty = CASE WHEN c.bid IS NULL THEN excluded.bid_qty ELSE c.bid_qty END,
    ask = CASE WHEN c.bid IS NULL THEN excluded.ask ELSE c.ask END,
    ask_qty = CASE WHEN c.bid IS NULL THEN excluded.ask_qty ELSE c.ask_qty END,
    updated_at = now()
  WHERE (c.first_trade_id IS NULL AND excluded.first_trade_id IS NOT NULL)
     OR (c.bid IS NULL AND excluded.bid IS NOT NULL)`

export const REPLAY_UPSERT_SQL = CANDLE_UPSERT_SQL.replace(CANDLE_CONFLICT_CLAUSE, REPLAY_CONFLICT_CLAUSE)
if (REPLAY_UPSERT_SQL === CANDLE_UPSERT_SQL) {
  throw new Error('replay-upsert: the writer upsert no longer ends with CANDLE_CONFLICT_CLAUSE')
}

const STATEMENT_NAME = `candles_replay_${createHash('sha1').update(REPLAY_UPSERT_SQL).digest('hex').slice(0, 12)}`

/** Same parameters as the writer's upsert (deduplicated, exact decimal strings), fill-only conflict rule. */
export function buildReplayUpsert(candles: readonly Candle[]): QuerySpec & { values: unknown[] } {
  return { name: STATEMENT_NAME, text: REPLAY_UPSERT_SQL, values: buildCandleUpsert(candles).values }
}
