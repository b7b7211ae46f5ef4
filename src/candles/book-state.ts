import { type BookTickerEvent, MINUTE_MS } from '../core/records.ts'

/**
 * How long after a quote a lower update id is still taken for a straggler.
 *
 * `u` only orders the updates of one sequence: Binance documents no guarantee
 * that it keeps rising (binance-api.md §5, §11), and it starts again when the
 * matching engine restarts. Within one socket frames arrive in order, so the
 * only lower ids that are really older are the few in flight while a socket is
 * being replaced: ManagedSocket drops the old socket's frames as soon as the
 * replacement delivers data, so these come at most a few network-lag
 * milliseconds behind the quote they would replace. A lower id arriving later
 * than this is a restarted sequence and replaces the held quote. Half a second
 * is far above the lag between two sockets of the same feed and below the
 * shortest reconnect delay (1 s less 20 % jitter), so the first quote after a
 * reconnect is always taken, and after an in-place restart the book is stale
 * for at most this long.
 */
export const OUT_OF_ORDER_WINDOW_MS = 500

/**
 * Minutes of quotes kept behind the newest one. A closed kline arrives 1–2.4 s after its
 * minute (later only on a lagging socket), so its close is always within these; a candle
 * older than what is kept gets no quote rather than a wrong one.
 */
export const QUOTE_MINUTES_KEPT = 5

/** A quote and when it was current on the exchange's clock (ms). */
export interface TimedQuote {
  readonly quote: BookTickerEvent
  readonly quoteTime: number
}

/** The last quote of one minute (by quote time); mutated in place while the minute lasts. */
interface Slot {
  minute: number
  quote: BookTickerEvent
  quoteTime: number
}

interface SymbolBook {
  /** The newest quote received (for the straggler rule), whatever its time. */
  latest: BookTickerEvent
  /** Ascending minutes; the first may be older than the window (the floor, see prune). */
  slots: Slot[]
}

/**
 * Best bid/ask per symbol, as of any recent instant: the last quote at or before a
 * candle's close, never one received after it (the x=true frame comes seconds late, and
 * quotes keep arriving meanwhile). A quote's time is the futures transaction time `T`, or,
 * on spot (no time field), its receive time on the exchange's clock.
 * Memory per symbol: one slot per minute that had quotes, for the last QUOTE_MINUTES_KEPT
 * minutes, plus one before them.
 */
export class BookState {
  private readonly bySymbol = new Map<string, SymbolBook>()
  private readonly windowMs: number

  constructor(outOfOrderWindowMs: number = OUT_OF_ORDER_WINDOW_MS) {
    this.windowMs = outOfOrderWindowMs
  }

  /**
   * `receivedAtExchange`: the receive time on the exchange's clock (used where the frame
   * carries no `T`). Returns false when the update is a straggler behind the quote held.
   */
  update(e: BookTickerEvent, receivedAtExchange: number = e.receivedAt): boolean {
    const held = this.bySymbol.get(e.symbol)
    const quoteTime = Math.floor(e.transactionTime ?? receivedAtExchange)
    const minute = Math.floor(quoteTime / MINUTE_MS)
    if (held === undefined) {
      this.bySymbol.set(e.symbol, { latest: e, slots: [{ minute, quote: e, quoteTime }] })
      return true
    }
    const prev = held.latest
    if (prev.updateId > e.updateId && e.receivedAt - prev.receivedAt < this.windowMs) return false
    held.latest = e
    place(held.slots, minute, e, quoteTime)
    return true
  }

  /**
   * The last quote whose time is at or before `closeTime` (ms, exchange clock), if still
   * known. `closeTime` is a candle's close, the last millisecond of its minute: a minute keeps
   * only its last quote, so an instant inside a minute could not be answered exactly.
   */
  asOfClose(symbol: string, closeTime: number): TimedQuote | undefined {
    const slots = this.bySymbol.get(symbol)?.slots
    if (slots === undefined) return undefined
    for (let i = slots.length - 1; i >= 0; i--) {
      const s = slots[i] as Slot
      if (s.quoteTime <= closeTime) return s
    }
    return undefined
  }

  latest(symbol: string): BookTickerEvent | undefined {
    return this.bySymbol.get(symbol)?.latest
  }

  get size(): number {
    return this.bySymbol.size
  }
}

/** Puts the quote in its minute's slot (the later quote time wins), then drops old minutes. */
function place(slots: Slot[], minute: number, quote: BookTickerEvent, quoteTime: number): void {
  let i = slots.length - 1
  while (i >= 0 && (slots[i] as Slot).minute > minute) i--
  const at = slots[i]
  if (at !== undefined && at.minute === minute) {
    if (quoteTime >= at.quoteTime) {
      at.quote = quote
      at.quoteTime = quoteTime
    }
    return
  }
  // Older than everything kept: no candle that could still ask would find it.
  if (i < 0 && slots.length > 0) return
  slots.splice(i + 1, 0, { minute, quote, quoteTime })
  prune(slots)
}

/**
 * Keeps the minutes within QUOTE_MINUTES_KEPT of the newest, and the newest slot before
 * them (the floor): every close at or after the floor's minute still finds its quote.
 */
function prune(slots: Slot[]): void {
  const newest = (slots[slots.length - 1] as Slot).minute
  let first = 0
  while (first < slots.length && (slots[first] as Slot).minute < newest - QUOTE_MINUTES_KEPT) first++
  if (first > 1) slots.splice(0, first - 1)
}
