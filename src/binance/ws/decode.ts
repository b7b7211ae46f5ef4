/**
 * Binance stream frame decoder: text in, typed record or a rejection out.
 * Pure and allocation-light, because it runs once per frame. Hand-written
 * guards instead of a schema library keep it within 2× of JSON.parse.
 */

import type { BookTickerEvent, KlineEvent, StreamEvent } from '../../core/records.ts'
import type { MarketModule } from '../../markets/market.ts'
import { SPOT } from '../../markets/spot.ts'

export type DecodeResult =
  | { readonly ok: true; readonly event: StreamEvent; readonly stream: string | null }
  | { readonly ok: false; readonly reason: RejectReason; readonly detail: string }

export type RejectReason =
  | 'invalid_json'
  | 'not_an_object'
  | 'unknown_shape'
  | 'bad_field'
  | 'stream_mismatch'
  | 'oversized'

type DecodeRules = MarketModule['decode']
/** Frames larger than this are not Binance market data; refuse before parsing. */
export const MAX_FRAME_BYTES = 64 * 1024

const DECIMAL = /^(?:0|[1-9]\d{0,29})(?:\.\d{1,20})?$/
// Letters and digits; COIN-M contracts add an underscore and a suffix (BTCUSD_PERP, ETHUSD_250627).
const SYMBOL = /^[A-Z0-9]{2,20}(?:_[A-Z0-9]{1,10})?$/
// Binance times are ms; anything outside [2017-01-01, 2100-01-01) is not a real time.
const MIN_TIME = 1_483_228_800_000
const MAX_TIME = 4_102_444_800_000

type Obj = Record<string, unknown>

function reject(reason: RejectReason, detail: string): DecodeResult {
  return { ok: false, reason, detail }
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function decimal(o: Obj, key: string): string | undefined {
  const v = o[key]
  return typeof v === 'string' && DECIMAL.test(v) ? v : undefined
}

function int(o: Obj, key: string, min: number): number | undefined {
  const v = o[key]
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min ? v : undefined
}

function time(o: Obj, key: string): number | undefined {
  const v = int(o, key, MIN_TIME)
  return v !== undefined && v < MAX_TIME ? v : undefined
}

/** `rules`: the market's payload differences (default: spot). */
export function decodeFrame(
  text: string,
  receivedAt: number,
  rules: DecodeRules = SPOT.decode,
): DecodeResult {
  if (text.length > MAX_FRAME_BYTES) return reject('oversized', `frame of ${text.length} characters`)
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return reject('invalid_json', text.slice(0, 80))
  }
  return decodeValue(parsed, receivedAt, rules)
}

/** Decodes an already-parsed frame (combined `{stream, data}` or raw). */
export function decodeValue(
  parsed: unknown,
  receivedAt: number,
  rules: DecodeRules = SPOT.decode,
): DecodeResult {
  if (!isObj(parsed)) return reject('not_an_object', typeof parsed)
  const data = parsed.data
  if (typeof parsed.stream === 'string' && data !== undefined) {
    const stream = parsed.stream
    const inner = decodePayload(data, receivedAt, rules)
    if (!inner.ok) return inner
    const expected = expectedStream(inner.event)
    if (expected !== null && expected !== stream.toLowerCase()) {
      return reject('stream_mismatch', `stream ${stream} carried ${expected}`)
    }
    return { ok: true, event: inner.event, stream }
  }
  return decodePayload(parsed, receivedAt, rules)
}

function expectedStream(e: StreamEvent): string | null {
  switch (e.type) {
    case 'kline':
      return `${e.symbol}@kline_${e.interval}`.toLowerCase()
    case 'book_ticker':
      return `${e.symbol}@bookticker`.toLowerCase()
    default:
      return null
  }
}

function decodePayload(v: unknown, receivedAt: number, rules: DecodeRules): DecodeResult {
  if (!isObj(v)) return reject('not_an_object', typeof v)
  const e = v.e
  if (e === 'kline') return decodeKline(v, receivedAt)
  if (e === 'serverShutdown') {
    const eventTime = time(v, 'E')
    if (eventTime === undefined) return reject('bad_field', 'serverShutdown.E')
    return { ok: true, event: { type: 'server_shutdown', eventTime, receivedAt }, stream: null }
  }
  if (e === 'bookTicker' || (e === undefined && 'u' in v && 'b' in v)) return decodeBook(v, receivedAt, rules)
  if (isControlReply(v)) return decodeControl(v, receivedAt)
  return reject(
    'unknown_shape',
    typeof e === 'string' ? `event ${e.slice(0, 40)}` : Object.keys(v).slice(0, 6).join(','),
  )
}

function decodeKline(v: Obj, receivedAt: number): DecodeResult {
  const k = v.k
  if (!isObj(k)) return reject('bad_field', 'kline.k')
  const symbol = v.s
  if (typeof symbol !== 'string' || !SYMBOL.test(symbol)) return reject('bad_field', 'kline.s')
  if (k.s !== undefined && k.s !== symbol) return reject('bad_field', 'kline.k.s differs from s')
  const interval = k.i
  if (typeof interval !== 'string' || interval.length === 0 || interval.length > 4) {
    return reject('bad_field', 'kline.k.i')
  }
  const eventTime = time(v, 'E')
  const openTime = time(k, 't')
  const closeTime = time(k, 'T')
  const firstTradeId = int(k, 'f', -1)
  const lastTradeId = int(k, 'L', -1)
  const trades = int(k, 'n', 0)
  const open = decimal(k, 'o')
  const high = decimal(k, 'h')
  const low = decimal(k, 'l')
  const close = decimal(k, 'c')
  const volume = decimal(k, 'v')
  const quoteVolume = decimal(k, 'q')
  const takerBuyBase = decimal(k, 'V')
  const takerBuyQuote = decimal(k, 'Q')
  const closed = k.x
  if (eventTime === undefined) return reject('bad_field', 'kline.E')
  if (openTime === undefined || closeTime === undefined || closeTime <= openTime) {
    return reject('bad_field', 'kline.k.t/T')
  }
  if (firstTradeId === undefined || lastTradeId === undefined || trades === undefined) {
    return reject('bad_field', 'kline.k.f/L/n')
  }
  // A minute without trades comes as f = L = −1 and n = 0; anything half-empty is not Binance's.
  const noTrades = firstTradeId === -1
  if (noTrades !== (lastTradeId === -1) || (noTrades && trades !== 0)) {
    return reject('bad_field', 'kline.k.f/L/n: -1 ids only together, with n = 0')
  }
  if (
    open === undefined ||
    high === undefined ||
    low === undefined ||
    close === undefined ||
    volume === undefined ||
    quoteVolume === undefined ||
    takerBuyBase === undefined ||
    takerBuyQuote === undefined
  ) {
    return reject('bad_field', 'kline.k decimal field')
  }
  if (typeof closed !== 'boolean') return reject('bad_field', 'kline.k.x')
  const event: KlineEvent = {
    type: 'kline',
    symbol,
    eventTime,
    receivedAt,
    interval,
    openTime,
    closeTime,
    // Stored as NULL, as REST rows (which have no ids) are: one meaning for "no trade".
    firstTradeId: noTrades ? null : firstTradeId,
    lastTradeId: noTrades ? null : lastTradeId,
    open,
    high,
    low,
    close,
    volume,
    quoteVolume,
    trades,
    takerBuyBase,
    takerBuyQuote,
    closed,
  }
  return { ok: true, event, stream: null }
}

function decodeBook(v: Obj, receivedAt: number, rules: DecodeRules): DecodeResult {
  const symbol = v.s
  if (typeof symbol !== 'string' || !SYMBOL.test(symbol)) return reject('bad_field', 'bookTicker.s')
  const updateId = int(v, 'u', 0)
  const bid = decimal(v, 'b')
  const bidQty = decimal(v, 'B')
  const ask = decimal(v, 'a')
  const askQty = decimal(v, 'A')
  if (updateId === undefined) return reject('bad_field', 'bookTicker.u')
  if (bid === undefined || bidQty === undefined || ask === undefined || askQty === undefined) {
    return reject('bad_field', 'bookTicker decimal field')
  }
  const eventTime = optionalTime(v, 'E', rules.bookTickerEventTime)
  if (eventTime === undefined) return reject('bad_field', 'bookTicker.E')
  const transactionTime = optionalTime(v, 'T', rules.bookTickerTransactionTime ?? 'optional')
  if (transactionTime === undefined) return reject('bad_field', 'bookTicker.T')
  const event: BookTickerEvent = {
    type: 'book_ticker',
    symbol,
    updateId,
    eventTime,
    transactionTime,
    receivedAt,
    bid,
    bidQty,
    ask,
    askQty,
  }
  return { ok: true, event, stream: null }
}

/** A time field the market may require: null when absent and allowed, undefined when wrong. */
function optionalTime(v: Obj, key: string, rule: 'optional' | 'required'): number | null | undefined {
  if (v[key] === undefined) return rule === 'required' ? undefined : null
  return time(v, key)
}

function controlId(v: unknown): number | string | null | undefined {
  if (v === null) return null
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v
  if (typeof v === 'string' && v.length <= 36) return v
  return undefined
}

/**
 * A reply to a control request. Results always echo the request id; errors may
 * not: Binance's own error table shows most of them without `id` (the request
 * could not be read far enough to have one) and on the wire an unparsable
 * request gets `"id": null`. So an error is recognised by its `error` object or
 * its top-level `code` + `msg`, with or without `id`.
 */
function isControlReply(v: Obj): boolean {
  if ('id' in v) return 'result' in v || 'error' in v || 'code' in v
  return 'error' in v || ('code' in v && 'msg' in v)
}

function decodeControl(v: Obj, receivedAt: number): DecodeResult {
  const id = 'id' in v ? controlId(v.id) : null
  if (id === undefined) return reject('bad_field', 'control.id')
  if ('error' in v && !isObj(v.error)) return reject('bad_field', 'control.error')
  // On the wire the error is nested under `error`; the docs show it at top level. Accept both.
  const err = isObj(v.error) ? v.error : 'code' in v ? v : undefined
  if (err !== undefined) {
    const code = err.code
    const msg = err.msg
    if (typeof code !== 'number' || typeof msg !== 'string') return reject('bad_field', 'control.error')
    return { ok: true, event: { type: 'control_error', id, code, msg, receivedAt }, stream: null }
  }
  return { ok: true, event: { type: 'control_result', id, result: v.result, receivedAt }, stream: null }
}
