/**
 * Pure SQL-parameter building for the candle upsert: one set-based statement per
 * batch, `INSERT … SELECT FROM unnest(arrays) ON CONFLICT … DO UPDATE`
 * (see unnest-insert.ts), in one of two modes:
 * - `latest` (the live and backfill writers): the latest write wins;
 * - `fill` (spool replay): insert what is missing, and on a row that exists only
 *   fill what it lacks; never change a value it has.
 * Decimals go in as the exchange's strings and are cast to numeric by the
 * database; no value ever passes through a JS float.
 */
import { createHash } from 'node:crypto'
import type { Candle } from '../core/records.ts'
import { type UnnestColumn, unnestInsertSql, unnestParams } from './unnest-insert.ts'

/**
 * `latest`: the conflict rules, identical (whitespace aside) to the clause inside the SQL
 * function `upsert_candle` (migrations/012_quote_time.sql); a test checks it.
 * - values follow the latest write, but identical data updates nothing;
 * - bid/ask (with their quote_time) and trade ids are never erased by a write without them;
 * - `source` and `ingested_at` are not touched: they describe the first write.
 */
export const CANDLE_CONFLICT_CLAUSE = `ON CONFLICT (market, symbol, open_time) DO UPDATE SET
    close_time = excluded.close_time,
    open = excluded.open,
    high = excluded.high,
    low = excluded.low,
    close = excluded.close,
    volume = excluded.volume,
    quote_volume = excluded.quote_volume,
    trades = excluded.trades,
    taker_buy_base = excluded.taker_buy_base,
    taker_buy_quote = excluded.taker_buy_quote,
    first_trade_id = CASE WHEN excluded.first_trade_id IS NULL THEN c.first_trade_id ELSE excluded.first_trade_id END,
    last_trade_id = CASE WHEN excluded.first_trade_id IS NULL THEN c.last_trade_id ELSE excluded.last_trade_id END,
    bid = CASE WHEN excluded.bid IS NULL THEN c.bid ELSE excluded.bid END,
    bid_qty = CASE WHEN excluded.bid IS NULL THEN c.bid_qty ELSE excluded.bid_qty END,
    ask = CASE WHEN excluded.bid IS NULL THEN c.ask ELSE excluded.ask END,
    ask_qty = CASE WHEN excluded.bid IS NULL THEN c.ask_qty ELSE excluded.ask_qty END,
    quote_time = CASE WHEN excluded.bid IS NULL THEN c.quote_time ELSE excluded.quote_time END,
    updated_at = now()
  WHERE (c.close_time, c.open, c.high, c.low, c.close, c.volume, c.quote_volume, c.trades,
         c.taker_buy_base, c.taker_buy_quote)
        IS DISTINCT FROM (excluded.close_time, excluded.open, excluded.high, excluded.low, excluded.close,
         excluded.volume, excluded.quote_volume, excluded.trades, excluded.taker_buy_base, excluded.taker_buy_quote)
     OR (excluded.first_trade_id IS NOT NULL
         AND (c.first_trade_id, c.last_trade_id) IS DISTINCT FROM (excluded.first_trade_id, excluded.last_trade_id))
     OR (excluded.bid IS NOT NULL
         AND (c.bid, c.bid_qty, c.ask, c.ask_qty, c.quote_time)
             IS DISTINCT FROM (excluded.bid, excluded.bid_qty, excluded.ask, excluded.ask_qty, excluded.quote_time))`

/**
 * `fill`: why replay must not follow "latest wins":
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
export const CANDLE_FILL_CLAUSE = `ON CONFLICT (market, symbol, open_time) DO UPDATE SET
    first_trade_id = CASE WHEN c.first_trade_id IS NULL THEN excluded.first_trade_id ELSE c.first_trade_id END,
    last_trade_id = CASE WHEN c.first_trade_id IS NULL THEN excluded.last_trade_id ELSE c.last_trade_id END,
    bid = CASE WHEN c.bid IS NULL THEN excluded.bid ELSE c.bid END,
    bid_qty = CASE WHEN c.bid IS NULL THEN excluded.bid_qty ELSE c.bid_qty END,
    ask = CASE WHEN c.bid IS NULL THEN excluded.ask ELSE c.ask END,
    ask_qty = CASE WHEN c.bid IS NULL THEN excluded.ask_qty ELSE c.ask_qty END,
    quote_time = CASE WHEN c.bid IS NULL THEN excluded.quote_time ELSE c.quote_time END,
    updated_at = now()
  WHERE (c.first_trade_id IS NULL AND excluded.first_trade_id IS NOT NULL)
     OR (c.bid IS NULL AND excluded.bid IS NOT NULL)`

const COLUMNS: readonly UnnestColumn<Candle>[] = [
  { name: 'market', type: 'text', value: (c) => c.market },
  { name: 'symbol', type: 'text', value: (c) => c.symbol },
  { name: 'open_time', type: 'epoch_ms', value: (c) => c.openTime },
  { name: 'close_time', type: 'epoch_ms', value: (c) => c.closeTime },
  { name: 'open', type: 'numeric', value: (c) => c.open },
  { name: 'high', type: 'numeric', value: (c) => c.high },
  { name: 'low', type: 'numeric', value: (c) => c.low },
  { name: 'close', type: 'numeric', value: (c) => c.close },
  { name: 'volume', type: 'numeric', value: (c) => c.volume },
  { name: 'quote_volume', type: 'numeric', value: (c) => c.quoteVolume },
  { name: 'trades', type: 'int8', value: (c) => c.trades },
  { name: 'taker_buy_base', type: 'numeric', value: (c) => c.takerBuyBase },
  { name: 'taker_buy_quote', type: 'numeric', value: (c) => c.takerBuyQuote },
  { name: 'first_trade_id', type: 'int8', value: (c) => c.firstTradeId },
  { name: 'last_trade_id', type: 'int8', value: (c) => c.lastTradeId },
  { name: 'bid', type: 'numeric', value: (c) => c.bid },
  { name: 'bid_qty', type: 'numeric', value: (c) => c.bidQty },
  { name: 'ask', type: 'numeric', value: (c) => c.ask },
  { name: 'ask_qty', type: 'numeric', value: (c) => c.askQty },
  { name: 'quote_time', type: 'epoch_ms', value: (c) => (c.bid === null ? null : c.quoteTime) },
  { name: 'source', type: 'text', value: (c) => c.source },
]

export type UpsertMode = 'latest' | 'fill'

const INSERT = unnestInsertSql('candles_1m', 'c', COLUMNS)

export const CANDLE_UPSERT_SQL = `${INSERT}
${CANDLE_CONFLICT_CLAUSE}`

export const CANDLE_FILL_SQL = `${INSERT}
${CANDLE_FILL_CLAUSE}`

/** The statement text never depends on the batch, so one prepared statement per mode serves all. */
const STATEMENTS: Record<UpsertMode, { name: string; text: string }> = {
  latest: { name: statementName('candles_upsert', CANDLE_UPSERT_SQL), text: CANDLE_UPSERT_SQL },
  fill: { name: statementName('candles_replay', CANDLE_FILL_SQL), text: CANDLE_FILL_SQL },
}

function statementName(prefix: string, text: string): string {
  return `${prefix}_${createHash('sha1').update(text).digest('hex').slice(0, 12)}`
}

export function candleKey(c: Pick<Candle, 'market' | 'symbol' | 'openTime'>): string {
  return `${c.market}\u0000${c.symbol}\u0000${c.openTime}`
}

/**
 * Collapses candles with the same (market, symbol, openTime): ON CONFLICT cannot
 * touch one row twice in a statement. The last occurrence wins, as a later write
 * would; bid/ask and trade ids missing from it are taken from the latest earlier
 * occurrence that has them; `source` comes from the first (first write wins).
 * Order of first appearance is kept.
 */
export function dedupeCandles(candles: readonly Candle[]): Candle[] {
  // Keyed market → symbol → open time: no per-row key string to build and hash.
  const seen = new Map<string, Map<string, Map<number, number>>>()
  const out: Candle[] = []
  for (const c of candles) {
    const bySymbol = entry(seen, c.market, () => new Map<string, Map<number, number>>())
    const byTime = entry(bySymbol, c.symbol, () => new Map<number, number>())
    const at = byTime.get(c.openTime)
    if (at === undefined) {
      byTime.set(c.openTime, out.length)
      out.push(c)
      continue
    }
    const prev = out[at] as Candle
    const book = c.bid !== null ? c : prev
    const ids = c.firstTradeId !== null ? c : prev
    out[at] = {
      ...c,
      source: prev.source,
      bid: book.bid,
      bidQty: book.bidQty,
      ask: book.ask,
      askQty: book.askQty,
      quoteTime: book.quoteTime,
      firstTradeId: ids.firstTradeId,
      lastTradeId: ids.lastTradeId,
    }
  }
  return out
}

function entry<K, V>(m: Map<K, V>, key: K, make: () => V): V {
  let v = m.get(key)
  if (v === undefined) {
    v = make()
    m.set(key, v)
  }
  return v
}

export function buildCandleUpsert(
  candles: readonly Candle[],
  mode: UpsertMode = 'latest',
): { name: string; text: string; values: string[] } {
  return { ...STATEMENTS[mode], values: unnestParams(dedupeCandles(candles), COLUMNS) }
}
