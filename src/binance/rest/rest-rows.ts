/**
 * `GET /api/v3/klines` body → closed 1-minute candles, or why not. Pure.
 *
 * Two levels of failure:
 * - the page is structurally broken (not an array, more rows than asked, open
 *   times not strictly ascending, a row outside the requested window): nothing in
 *   it can be trusted, so it throws RestError BAD_RESPONSE (the client retries);
 * - a single row is wrong (column count, types, decimal format, the shared
 *   candle sanity rules): that row is rejected and reported, the rest are used.
 * Rows whose minute has not closed yet (closeTime >= now) are neither: skipped.
 */
import { checkCandleFields } from '../../candles/closed-candle.ts'
import type { Candle, Market } from '../../core/records.ts'
import { RestError } from './rest-errors.ts'

export type RowRejectReason = 'bad_row' | 'bad_field' | 'bad_times' | 'future' | 'impossible_values'

export interface RowRejection {
  readonly index: number
  readonly reason: RowRejectReason
  readonly detail: string
}

export interface KlinePage {
  /** Closed, valid candles in ascending open time; decimals are the response strings verbatim. */
  readonly candles: readonly Candle[]
  readonly rejected: readonly RowRejection[]
  /** Open time of the last row whose open time could be read (rejected or skipped rows included). */
  readonly lastOpenTime: number | null
  /** Rows in the response, whatever became of them. */
  readonly rawCount: number
  /** Rows of minutes that had not closed yet (the still-open minute). */
  readonly skippedOpen: number
}

/** The request the page answers; rows outside it make the page BAD_RESPONSE. */
export interface KlineWindow {
  readonly startTime?: number | undefined
  readonly endTime?: number | undefined
  readonly limit?: number | undefined
}

export interface ParseOptions extends KlineWindow {
  /** When the response was received (our clock); defaults to `now`. */
  readonly receivedAt?: number
  readonly market?: Market
}

export const KLINE_COLUMNS = 12
/** Strict decimal as Binance sends it: no sign, no exponent, no leading zeros, no spaces. */
export const DECIMAL_RE = /^(?:0|[1-9]\d{0,29})(?:\.\d{1,20})?$/
// Millisecond times in [2017-01-01, 2100-01-01): µs or seconds are not accepted as ms.
const MIN_TIME = 1_483_228_800_000
const MAX_TIME = 4_102_444_800_000

const DECIMAL_COLUMNS = [
  [1, 'open'],
  [2, 'high'],
  [3, 'low'],
  [4, 'close'],
  [5, 'volume'],
  [7, 'quoteVolume'],
  [9, 'takerBuyBase'],
  [10, 'takerBuyQuote'],
] as const

function badPage(detail: string): RestError {
  return new RestError('BAD_RESPONSE', `klines page rejected: ${detail}`)
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= MIN_TIME && v < MAX_TIME
}

function describe(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v)
  return s.length > 40 ? `${s.slice(0, 40)}…` : s
}

/** Open time if the row has a readable one (used for ordering even when the row is rejected). */
function openTimeOf(row: unknown): number | undefined {
  if (!Array.isArray(row)) return undefined
  const t: unknown = row[0]
  return typeof t === 'number' && Number.isSafeInteger(t) ? t : undefined
}

/** Throws BAD_RESPONSE when the page as a whole cannot be trusted; returns the last readable open time. */
function checkStructure(rows: readonly unknown[], w: KlineWindow): number | null {
  if (w.limit !== undefined && rows.length > w.limit) {
    throw badPage(`${rows.length} rows for limit ${w.limit}`)
  }
  let last: number | null = null
  for (let i = 0; i < rows.length; i++) {
    const t = openTimeOf(rows[i])
    if (t === undefined) continue
    if (last !== null && t <= last) {
      throw badPage(`row ${i} open time ${t} ${t === last ? 'duplicates' : 'is before'} ${last}`)
    }
    if (w.startTime !== undefined && t < w.startTime) throw badPage(`row ${i} open time ${t} < startTime`)
    if (w.endTime !== undefined && t > w.endTime) throw badPage(`row ${i} open time ${t} > endTime`)
    last = t
  }
  if (rows.length > 0 && last === null) throw badPage('no row has a readable open time')
  return last
}

type RowResult =
  | { readonly ok: true; readonly candle: Candle }
  | { readonly ok: false; readonly reason: RowRejectReason; readonly detail: string }

function parseRow(row: unknown, symbol: string, now: number, receivedAt: number, market: Market): RowResult {
  if (!Array.isArray(row)) return { ok: false, reason: 'bad_row', detail: `not an array: ${describe(row)}` }
  if (row.length !== KLINE_COLUMNS) {
    return { ok: false, reason: 'bad_row', detail: `${row.length} columns, expected ${KLINE_COLUMNS}` }
  }
  const cells: readonly unknown[] = row
  const openTime = cells[0]
  const closeTime = cells[6]
  const trades = cells[8]
  if (!isTime(openTime)) return { ok: false, reason: 'bad_field', detail: `openTime ${describe(openTime)}` }
  if (!isTime(closeTime))
    return { ok: false, reason: 'bad_field', detail: `closeTime ${describe(closeTime)}` }
  if (typeof trades !== 'number' || !Number.isSafeInteger(trades) || trades < 0) {
    return { ok: false, reason: 'bad_field', detail: `trades ${describe(trades)}` }
  }
  const dec: Record<(typeof DECIMAL_COLUMNS)[number][1], string> = {
    open: '',
    high: '',
    low: '',
    close: '',
    volume: '',
    quoteVolume: '',
    takerBuyBase: '',
    takerBuyQuote: '',
  }
  for (const [col, name] of DECIMAL_COLUMNS) {
    const v = cells[col]
    if (typeof v !== 'string' || !DECIMAL_RE.test(v)) {
      return { ok: false, reason: 'bad_field', detail: `${name} ${describe(v)}` }
    }
    dec[name] = v
  }
  // Column 12 is "ignore": "0" on spot, a non-zero number in the futures docs example.
  const fields = { symbol, openTime, closeTime, ...dec }
  const bad = checkCandleFields(fields, now)
  if (bad) return { ok: false, reason: bad.reason as RowRejectReason, detail: bad.detail }
  const candle: Candle = {
    type: 'candle',
    market,
    symbol,
    openTime,
    closeTime,
    ...dec,
    trades,
    firstTradeId: null,
    lastTradeId: null,
    bid: null,
    bidQty: null,
    ask: null,
    askQty: null,
    quoteTime: null,
    source: 'rest',
    receivedAt,
  }
  return { ok: true, candle }
}

/**
 * Validates a klines response body for `symbol` (interval 1m). `now` decides
 * which minutes have closed (closeTime < now). Throws RestError BAD_RESPONSE when
 * the page is structurally broken.
 */
export function parseKlineRows(
  body: unknown,
  symbol: string,
  now: number,
  opts: ParseOptions = {},
): KlinePage {
  if (!Array.isArray(body)) {
    throw badPage(`expected an array, got ${body === null ? 'null' : typeof body}`)
  }
  const rows: readonly unknown[] = body
  const lastOpenTime = checkStructure(rows, opts)
  const receivedAt = opts.receivedAt ?? now
  const market = opts.market ?? 'spot'
  const candles: Candle[] = []
  const rejected: RowRejection[] = []
  let skippedOpen = 0
  for (let index = 0; index < rows.length; index++) {
    const r = parseRow(rows[index], symbol, now, receivedAt, market)
    if (!r.ok) rejected.push({ index, reason: r.reason, detail: r.detail })
    else if (r.candle.closeTime >= now) skippedOpen++
    else candles.push(r.candle)
  }
  return { candles, rejected, lastOpenTime, rawCount: rows.length, skippedOpen }
}
