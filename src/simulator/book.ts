/**
 * The simulated best bid/ask, a pure function of (symbol, time) like the klines
 * (market.ts). Within each minute the book moves every tick until
 * CLOSING_BOOK_AT_MS; then the minute's closing book is sent and the book stays
 * still until the minute ends. It moves again right after the close, before the
 * minute's x=true kline goes out, so a receiver that took the book held when the
 * kline arrives would take a quote from after the close. Now and then a minute
 * is quiet (no book update at all): its candle's quote is an earlier minute's.
 */
import { hashInt, pick } from './hash.ts'
import { formingPrice, MINUTE, type MinuteModel, minuteIndex, minuteModel, priceText, qty } from './market.ts'
import { symbolProfile } from './profile.ts'

export interface SimBook {
  updateId: number
  bid: string
  bidQty: string
  ask: string
  askQty: string
}

/** Where in its minute the closing book goes out; the book is still from there to the close. */
export const CLOSING_BOOK_AT_MS = 45_000
/** About one minute in this many has no book update. */
const QUIET_ONE_IN = 16
/** How far back a quote is looked for across quiet minutes. */
const QUIET_LOOKBACK = 60
const S_BOOK = 8
const S_QUIET = 10

/** Book update ids: minute m owns [base + m·1e6, base + m·1e6 + 999 999]; its closing book takes the last. */
const IDS_PER_MINUTE = 1_000_000

function bookAround(md: MinuteModel, price: bigint, salt: number, updateId: number): SimBook {
  const p = md.profile
  const h = hashInt(p.seed, salt, S_BOOK)
  let bid = price - p.tick * BigInt(pick(h, 2))
  if (bid < p.tick) bid = p.tick
  const ask = bid + p.tick * BigInt(1 + pick(h >>> 3, 3))
  return {
    updateId,
    bid: priceText(p, bid),
    bidQty: qty(p, p.lot * BigInt(1 + pick(h >>> 7, 5_000))),
    ask: priceText(p, ask),
    askQty: qty(p, p.lot * BigInt(1 + pick(h >>> 13, 5_000))),
  }
}

/** Whether the minute at `openTime` has no book update at all. */
export function quietBookMinute(symbol: string, openTime: number): boolean {
  const m = minuteIndex(openTime)
  return pick(hashInt(symbolProfile(symbol).seed, m, S_QUIET), QUIET_ONE_IN) === 0
}

/** The closing book of the minute at `openTime` (sent at CLOSING_BOOK_AT_MS into it, unless quiet). */
export function simulatedBook(symbol: string, openTime: number): SimBook {
  const md = minuteModel(symbol, openTime)
  const u = md.profile.bookIdBase + md.m * IDS_PER_MINUTE + IDS_PER_MINUTE - 1
  return bookAround(md, md.close, md.m * 2 + 1, u)
}

/**
 * A regular book update at clock time `t`, or null where the book does not move
 * (a quiet minute, or after the closing book). Its id sits strictly between the
 * closing books of the minute before and of its own, so ids rise on the wire.
 */
export function bookAt(symbol: string, t: number): SimBook | null {
  const minuteStart = Math.floor(t / MINUTE) * MINUTE
  const offset = t - minuteStart
  if (offset >= CLOSING_BOOK_AT_MS || quietBookMinute(symbol, minuteStart)) return null
  const md = minuteModel(symbol, minuteStart)
  const u = md.profile.bookIdBase + md.m * IDS_PER_MINUTE + offset * 16 + 1
  return bookAround(md, formingPrice(md, offset), Math.floor(t / 250), u)
}

/**
 * The book a receiver connected throughout holds at the close of the minute at `openTime`:
 * that minute's closing book, or over quiet minutes the latest earlier one; with the minute
 * it belongs to. Null when none within QUIET_LOOKBACK minutes.
 */
export function bookAsOfClose(symbol: string, openTime: number): { book: SimBook; minute: number } | null {
  for (let i = 0; i < QUIET_LOOKBACK; i++) {
    const minute = openTime - i * MINUTE
    if (!quietBookMinute(symbol, minute)) return { book: simulatedBook(symbol, minute), minute }
  }
  return null
}

/** Update id of the closing book of the minute at `openTime` (for ordering checks). */
export function closingBookId(symbol: string, openTime: number): number {
  return symbolProfile(symbol).bookIdBase + minuteIndex(openTime) * IDS_PER_MINUTE + IDS_PER_MINUTE - 1
}
