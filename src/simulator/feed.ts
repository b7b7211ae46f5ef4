/**
 * The market data one connection receives: forming klines (x=false) every
 * klineUpdateMs; bookTicker frames every bookUpdateMs until the minute's
 * closing book (book.ts: CLOSING_BOOK_AT_MS into the minute), none from there
 * to the close; and after each minute (+closedFrameDelayMs) the closing batch —
 * per symbol, a book that moved after the close (if subscribed) followed by the
 * x=true kline (if subscribed). Futures books carry `T` (when the book changed)
 * and `E` (when the frame went out) on the same clock.
 * Unlisted symbols (and minutes before a listing) get no frames at all, as on
 * Binance, which accepts such subscriptions silently.
 * All timers run on the injected clock and die with the connection.
 */
import type { Clock, TimerHandle } from '../core/clock.ts'
import type { Market } from '../core/records.ts'
import { bookAt, CLOSING_BOOK_AT_MS, quietBookMinute, type SimBook, simulatedBook } from './book.ts'
import { every } from './every.ts'
import { bookEvent, futuresBookEvent, klineEvent } from './frames.ts'
import { formingKline, MINUTE, simulatedKline } from './market.ts'
import { simKey } from './profile.ts'
import type { StreamName } from './streams.ts'

export interface FeedConfig {
  readonly clock: Clock
  readonly klineUpdateMs: number
  readonly bookUpdateMs: number
  readonly closedFrameDelayMs: number
  /** Whether the x=true frame of (market, symbol, openTime) must be withheld. */
  readonly isSkipped: (market: Market, symbol: string, openTime: number) => boolean
  /** Whether the book of (market, symbol) must not move in the minute at openTime (besides book.ts's quiet minutes). */
  readonly isBookQuiet: (market: Market, symbol: string, openTime: number) => boolean
  /** Whether the market lists the symbol in the minute at `openTime` (else: no frames at all). */
  readonly hasMinute: (market: Market, symbol: string, openTime: number) => boolean
}

/** Which market a connection is on, and which of its streams the connection's path delivers. */
export interface FeedTarget {
  readonly market: Market
  readonly serves: (stream: string) => boolean
}

export class MarketFeed {
  private readonly timers: TimerHandle[] = []
  private closeTimer: TimerHandle | undefined
  /** Open time of the minute whose closing batch is due next. */
  private pendingMinute: number
  private readonly lastBookId = new Map<string, number>()

  private readonly cfg: FeedConfig
  private readonly target: FeedTarget
  private readonly futures: boolean
  private readonly streamList: () => readonly StreamName[]
  private readonly emit: (stream: StreamName, event: string) => void
  private bookCloseTimer: TimerHandle | undefined
  private bookMinute: number

  constructor(
    cfg: FeedConfig,
    target: FeedTarget,
    streams: () => readonly StreamName[],
    emit: (stream: StreamName, event: string) => void,
  ) {
    this.cfg = cfg
    this.target = target
    this.futures = target.market !== 'spot'
    this.streamList = streams
    this.emit = emit
    const now = cfg.clock.now()
    // Closing frames only for minutes in progress while the connection is open.
    this.pendingMinute = Math.floor(now / MINUTE) * MINUTE
    this.bookMinute = this.pendingMinute
    this.timers.push(every(cfg.clock, cfg.klineUpdateMs, () => this.klineTick()))
    this.timers.push(every(cfg.clock, cfg.bookUpdateMs, () => this.bookTick()))
    this.armClose()
    this.armBookClose()
  }

  stop(): void {
    for (const t of this.timers) t.cancel()
    this.closeTimer?.cancel()
    this.bookCloseTimer?.cancel()
  }

  /** The streams this connection delivers (a routed market's path serves only its own). */
  private streams(): readonly StreamName[] {
    return this.streamList().filter((s) => this.target.serves(s.name))
  }

  private key(symbol: string): string {
    return simKey(this.target.market, symbol)
  }

  private quiet(symbol: string, openTime: number): boolean {
    return (
      quietBookMinute(this.key(symbol), openTime) ||
      this.cfg.isBookQuiet(this.target.market, symbol, openTime)
    )
  }

  private has(symbol: string, openTime: number): boolean {
    return this.cfg.hasMinute(this.target.market, symbol, openTime)
  }

  /** `changedAt`: when the book took this state (futures `T`); the frame goes out now (`E`). */
  private bookFrame(symbol: string, b: SimBook, changedAt: number): string {
    return this.futures ? futuresBookEvent(symbol, b, changedAt, this.cfg.clock.now()) : bookEvent(symbol, b)
  }

  /** Sends a book unless the connection already sent a newer one (ids rise on the wire). */
  private sendBook(stream: StreamName, b: SimBook, changedAt: number): void {
    if (b.updateId <= (this.lastBookId.get(stream.symbol) ?? -1)) return
    this.lastBookId.set(stream.symbol, b.updateId)
    this.emit(stream, this.bookFrame(stream.symbol, b, changedAt))
  }

  /**
   * The closing book of each minute, CLOSING_BOOK_AT_MS into it: the last quote at or
   * before the close. A connection opened later in the minute gets it at once.
   */
  private armBookClose(): void {
    const at = this.bookMinute + CLOSING_BOOK_AT_MS
    this.bookCloseTimer = this.cfg.clock.setTimeout(
      () => {
        const minute = this.bookMinute
        for (const s of this.streams()) {
          if (s.kind !== 'book' || !this.has(s.symbol, minute)) continue
          if (this.quiet(s.symbol, minute)) continue
          this.sendBook(s, simulatedBook(this.key(s.symbol), minute), at)
        }
        this.bookMinute = minute + MINUTE
        this.armBookClose()
      },
      Math.max(0, at - this.cfg.clock.now()),
    )
  }

  private armClose(): void {
    const at = this.pendingMinute + MINUTE + this.cfg.closedFrameDelayMs
    this.closeTimer = this.cfg.clock.setTimeout(
      () => this.closeTick(),
      Math.max(0, at - this.cfg.clock.now()),
    )
  }

  private klineTick(): void {
    const now = this.cfg.clock.now()
    const minute = Math.floor(now / MINUTE) * MINUTE
    // The previous minute's x=true frame has not gone out yet: a new candle must not start before it.
    if (minute > this.pendingMinute) return
    for (const s of this.streams()) {
      if (s.kind !== 'kline' || !this.has(s.symbol, minute)) continue
      const k = formingKline(this.key(s.symbol), minute, now - minute)
      if (k) this.emit(s, klineEvent(k, false, now))
    }
  }

  private bookTick(): void {
    const now = this.cfg.clock.now()
    for (const s of this.streams()) {
      if (s.kind === 'book') this.moveBook(s, now)
    }
  }

  /** A regular book update on `stream` at `now`, where the book moves then. */
  private moveBook(stream: StreamName, now: number): void {
    const minute = Math.floor(now / MINUTE) * MINUTE
    if (!this.has(stream.symbol, minute) || this.quiet(stream.symbol, minute)) return
    const b = bookAt(this.key(stream.symbol), now)
    if (b !== null) this.sendBook(stream, b, now)
  }

  private closeTick(): void {
    const minute = this.pendingMinute
    const now = this.cfg.clock.now()
    const streams = this.streams()
    const symbols = [...new Set(streams.map((s) => s.symbol))]
    for (const symbol of symbols) {
      if (!this.has(symbol, minute)) continue
      const book = streams.find((s) => s.symbol === symbol && s.kind === 'book')
      const kline = streams.find((s) => s.symbol === symbol && s.kind === 'kline')
      // The book has moved since the close: a quote the closed minute must not take.
      if (book) this.moveBook(book, now)
      if (kline && !this.cfg.isSkipped(this.target.market, symbol, minute)) {
        this.emit(kline, klineEvent(simulatedKline(this.key(symbol), minute), true, now))
      }
    }
    this.pendingMinute = minute + MINUTE
    this.armClose()
  }
}
