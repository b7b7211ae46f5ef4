/**
 * Pure SQL-parameter building for the candle upsert: one set-based statement per
 * batch, `INSERT … SELECT FROM unnest(arrays) ON CONFLICT … DO UPDATE`.
 * Decimals go in as the exchange's strings and are cast to numeric by the
 * database; no value ever passes through a JS float.
 */
import { createHash } from 'node:crypto'
import type { Candle } from '../core/records.ts'

/**
 * The conflict rules, identical (whitespace aside) to the clause inside the SQL
 * function `upsert_candle` (migrations/004_upsert_candle.sql); a test checks it.
 * - values follow the latest write, but identical data updates nothing;
 * - bid/ask and trade ids are never erased by a write without them;
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
    updated_at = now()
  WHERE (c.close_time, c.open, c.high, c.low, c.close, c.volume, c.quote_volume, c.trades,
         c.taker_buy_base, c.taker_buy_quote)
        IS DISTINCT FROM (excluded.close_time, excluded.open, excluded.high, excluded.low, excluded.close,
         excluded.volume, excluded.quote_volume, excluded.trades, excluded.taker_buy_base, excluded.taker_buy_quote)
     OR (excluded.first_trade_id IS NOT NULL
         AND (c.first_trade_id, c.last_trade_id) IS DISTINCT FROM (excluded.first_trade_id, excluded.last_trade_id))
     OR (excluded.bid IS NOT NULL
         AND (c.bid, c.bid_qty, c.ask, c.ask_qty) IS DISTINCT FROM (excluded.bid, excluded.bid_qty, excluded.ask, excluded.ask_qty))`

const COLUMNS: ReadonlyArray<readonly [column: string, type: string]> = [
  ['market', 'text'],
  ['symbol', 'text'],
  ['open_time', 'timestamptz'],
  ['close_time', 'timestamptz'],
  ['open', 'numeric'],
  ['high', 'numeric'],
  ['low', 'numeric'],
  ['close', 'numeric'],
  ['volume', 'numeric'],
  ['quote_volume', 'numeric'],
  ['trades', 'int8'],
  ['taker_buy_base', 'numeric'],
  ['taker_buy_quote', 'numeric'],
  ['first_trade_id', 'int8'],
  ['last_trade_id', 'int8'],
  ['bid', 'numeric'],
  ['bid_qty', 'numeric'],
  ['ask', 'numeric'],
  ['ask_qty', 'numeric'],
  ['source', 'text'],
]

export const CANDLE_UPSERT_SQL = `INSERT INTO candles_1m AS c (${COLUMNS.map(([c]) => c).join(', ')})
SELECT * FROM unnest(${COLUMNS.map(([, t], i) => `$${i + 1}::${t}[]`).join(', ')})
${CANDLE_CONFLICT_CLAUSE}`

/** The statement text never depends on the batch, so one prepared statement serves all. */
const STATEMENT_NAME = `candles_upsert_${createHash('sha1').update(CANDLE_UPSERT_SQL).digest('hex').slice(0, 12)}`

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
  const byKey = new Map<string, Candle>()
  let duplicates = false
  for (const c of candles) {
    const key = candleKey(c)
    const prev = byKey.get(key)
    if (prev === undefined) {
      byKey.set(key, c)
      continue
    }
    duplicates = true
    const book = c.bid !== null ? c : prev
    const ids = c.firstTradeId !== null ? c : prev
    byKey.set(key, {
      ...c,
      source: prev.source,
      bid: book.bid,
      bidQty: book.bidQty,
      ask: book.ask,
      askQty: book.askQty,
      firstTradeId: ids.firstTradeId,
      lastTradeId: ids.lastTradeId,
    })
  }
  return duplicates ? [...byKey.values()] : [...candles]
}

export function buildCandleUpsert(candles: readonly Candle[]): {
  name?: string
  text: string
  values: unknown[]
} {
  const rows = dedupeCandles(candles)
  const n = rows.length
  const cols: unknown[][] = COLUMNS.map(() => new Array(n))
  for (let i = 0; i < n; i++) {
    const c = rows[i] as Candle
    const v = [
      c.market,
      c.symbol,
      new Date(c.openTime).toISOString(),
      new Date(c.closeTime).toISOString(),
      c.open,
      c.high,
      c.low,
      c.close,
      c.volume,
      c.quoteVolume,
      c.trades,
      c.takerBuyBase,
      c.takerBuyQuote,
      c.firstTradeId,
      c.lastTradeId,
      c.bid,
      c.bidQty,
      c.ask,
      c.askQty,
      c.source,
    ]
    for (let j = 0; j < v.length; j++) (cols[j] as unknown[])[i] = v[j]
  }
  return { name: STATEMENT_NAME, text: CANDLE_UPSERT_SQL, values: cols }
}
