/**
 * One spool record: a batch of candles, framed so that a torn or damaged
 * record is recognised and never replayed as data.
 *
 *   u32 LE payload length | u32 LE CRC-32 of the payload | payload
 *
 * The payload is JSON `[version, spooledAt, [tuple, …]]`, each candle a
 * positional tuple (≈ 250 bytes for a typical spot candle, against ≈ 480 as an
 * object). Decimals stay the exchange's strings, so a replayed candle is the
 * very value that was received. Pure: bytes in, candles out.
 *
 * Versions: 1 (21 fields, written before quotes had a time) is still read, so a
 * spool left by an older release replays: its candles get no quote time, and its
 * −1 trade ids (a minute without trades, as the stream used to keep them) become
 * null. 2 appends the quote's time (as its age at the close).
 */
import { crc32 } from 'node:zlib'
import { type Candle, type CandleSource, isMarket } from '../core/records.ts'

export const RECORD_HEADER_BYTES = 8
/** A record larger than this is not one we wrote (a batch is at most a few thousand candles). */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024
const VERSION = 2
const V1_FIELDS = 21
const MIN_PAYLOAD_BYTES = 8 // `[2,0,[]]`

type Tuple = [
  market: string,
  symbol: string,
  openTime: number,
  closeTime: number,
  open: string,
  high: string,
  low: string,
  close: string,
  volume: string,
  quoteVolume: string,
  trades: number,
  takerBuyBase: string,
  takerBuyQuote: string,
  firstTradeId: number | null,
  lastTradeId: number | null,
  bid: string | null,
  bidQty: string | null,
  ask: string | null,
  askQty: string | null,
  source: string,
  receivedAt: number,
  /** closeTime − quoteTime: a few digits where the epoch would take 13. */
  quoteAge: number | null,
]

function toTuple(c: Candle): Tuple {
  return [
    c.market,
    c.symbol,
    c.openTime,
    c.closeTime,
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
    c.receivedAt,
    c.quoteTime === null ? null : c.closeTime - c.quoteTime,
  ]
}

export function encodeRecord(candles: readonly Candle[], spooledAt: number): Buffer {
  const payload = Buffer.from(JSON.stringify([VERSION, spooledAt, candles.map(toTuple)]), 'utf8')
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length)
  out.writeUInt32LE(payload.length, 0)
  out.writeUInt32LE(crc32(payload), 4)
  payload.copy(out, RECORD_HEADER_BYTES)
  return out
}

const isStr = (v: unknown): v is string => typeof v === 'string'
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v)
const isStrOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string'
const isIntOrNull = (v: unknown): v is number | null => v === null || isInt(v)
const SOURCES: ReadonlySet<string> = new Set<CandleSource>(['ws', 'rest', 'archive'])

function fromTuple(t: unknown, version: number): Candle | null {
  if (!Array.isArray(t) || t.length !== (version === 1 ? V1_FIELDS : V1_FIELDS + 1)) return null
  const [m, sym, ot, ct, o, h, l, c, v, qv, n, tb, tq, ft, lt, b, bq, a, aq, src, rcv, qt = null] =
    t as unknown[]
  if (!isStr(m) || !isMarket(m) || !isStr(sym) || !isInt(ot) || !isInt(ct) || !isInt(n) || !isInt(rcv))
    return null
  if (!isStr(o) || !isStr(h) || !isStr(l) || !isStr(c) || !isStr(v) || !isStr(qv)) return null
  if (!isStr(tb) || !isStr(tq) || !isIntOrNull(ft) || !isIntOrNull(lt)) return null
  if (!isStrOrNull(b) || !isStrOrNull(bq) || !isStrOrNull(a) || !isStrOrNull(aq)) return null
  if (!isStr(src) || !SOURCES.has(src) || !isIntOrNull(qt)) return null
  // Version 1 kept the stream's −1 for a minute without trades; one meaning now: null.
  const noTrades = ft === -1 || lt === -1
  return {
    type: 'candle',
    market: m,
    symbol: sym,
    openTime: ot,
    closeTime: ct,
    open: o,
    high: h,
    low: l,
    close: c,
    volume: v,
    quoteVolume: qv,
    trades: n,
    takerBuyBase: tb,
    takerBuyQuote: tq,
    firstTradeId: noTrades ? null : ft,
    lastTradeId: noTrades ? null : lt,
    bid: b,
    bidQty: bq,
    ask: a,
    askQty: aq,
    quoteTime: b === null || qt === null ? null : ct - qt,
    source: src as CandleSource,
    receivedAt: rcv,
  }
}

/** The candles of a payload whose CRC matched, or null when it is not a record we can read. */
export function decodePayload(payload: Buffer): Candle[] | null {
  let parsed: unknown
  try {
    parsed = JSON.parse(payload.toString('utf8'))
  } catch {
    return null
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || !isInt(parsed[1])) return null
  const version: unknown = parsed[0]
  if (version !== 1 && version !== VERSION) return null
  const list: unknown = parsed[2]
  if (!Array.isArray(list)) return null
  const out: Candle[] = []
  for (const t of list) {
    const c = fromTuple(t, version)
    if (c === null) return null
    out.push(c)
  }
  return out
}

export interface ScannedRecord {
  readonly offset: number
  readonly end: number
  readonly candles: readonly Candle[]
}

export interface ScanProblem {
  /** torn: the last record is incomplete or damaged (a crash mid-append); corrupt: damage before the end. */
  readonly kind: 'torn' | 'corrupt'
  readonly offset: number
  readonly detail: string
}

export interface ScanResult {
  readonly records: readonly ScannedRecord[]
  /** Where good data ends; everything from here on is the problem's. */
  readonly goodEnd: number
  readonly problem: ScanProblem | null
}

function allZero(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false
  return true
}

/**
 * Reads records from the start of a segment until the end or the first bad one.
 * A bad record that reaches the end of the file (or is followed only by zeros,
 * as a filesystem may leave after a crash) is a torn tail; anything else bad is
 * corruption, and the caller must not guess where the next record starts.
 */
export function scanRecords(buf: Buffer): ScanResult {
  const records: ScannedRecord[] = []
  let p = 0
  const stop = (kind: 'torn' | 'corrupt', detail: string): ScanResult => ({
    records,
    goodEnd: p,
    problem: { kind, offset: p, detail },
  })
  while (p < buf.length) {
    const left = buf.length - p
    if (left < RECORD_HEADER_BYTES) return stop('torn', `${left} bytes, shorter than a record header`)
    const len = buf.readUInt32LE(p)
    const end = p + RECORD_HEADER_BYTES + len
    if (len < MIN_PAYLOAD_BYTES || len > MAX_RECORD_BYTES) {
      return stop(allZero(buf, p) ? 'torn' : 'corrupt', `impossible record length ${len}`)
    }
    if (end > buf.length) return stop('torn', `record of ${len} bytes cut at ${left - RECORD_HEADER_BYTES}`)
    const sum = buf.readUInt32LE(p + 4)
    const payload = buf.subarray(p + RECORD_HEADER_BYTES, end)
    if (crc32(payload) !== sum) {
      const last = end === buf.length || allZero(buf, end)
      return stop(last ? 'torn' : 'corrupt', 'checksum mismatch')
    }
    const candles = decodePayload(payload)
    if (candles === null) return stop('corrupt', 'checksum matches but the payload is not a candle batch')
    records.push({ offset: p, end, candles })
    p = end
  }
  return { records, goodEnd: p, problem: null }
}
