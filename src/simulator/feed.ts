/**
 * The market data one connection receives: forming klines (x=false) every
 * klineUpdateMs, bookTicker frames every bookUpdateMs, and after each minute
 * (+closedFrameDelayMs) the closing batch — per symbol, the closing book
 * (if subscribed) immediately followed by the x=true kline (if subscribed).
 * Unlisted symbols (and minutes before a listing) get no frames at all, as on
 * Binance, which accepts such subscriptions silently.
 * All timers run on the injected clock and die with the connection.
 */
import type { Clock, TimerHandle } from '../core/clock.ts'
import { every } from './every.ts'
import { bookEvent, klineEvent } from './frames.ts'
import { bookAt, closingBookId, formingKline, MINUTE, simulatedBook, simulatedKline } from './market.ts'
import type { StreamName } from './streams.ts'

export interface FeedConfig {
  readonly clock: Clock
  readonly klineUpdateMs: number
  readonly bookUpdateMs: number
  readonly closedFrameDelayMs: number
  /** Whether the x=true frame of (symbol, openTime) must be withheld. */
  readonly isSkipped: (symbol: string, openTime: number) => boolean
  /** Whether the symbol is listed and trading in the minute at `openTime` (else: no frames at all). */
  readonly hasMinute: (symbol: string, openTime: number) => boolean
}

export class MarketFeed {
  private readonly timers: TimerHandle[] = []
  private closeTimer: TimerHandle | undefined
  /** Open time of the minute whose closing batch is due next. */
  private pendingMinute: number
  private readonly lastBookId = new Map<string, number>()

  private readonly cfg: FeedConfig
  private readonly streams: () => readonly StreamName[]
  private readonly emit: (stream: StreamName, event: string) => void

  constructor(
    cfg: FeedConfig,
    streams: () => readonly StreamName[],
    emit: (stream: StreamName, event: string) => void,
  ) {
    this.cfg = cfg
    this.streams = streams
    this.emit = emit
    const now = cfg.clock.now()
    // Closing frames only for minutes in progress while the connection is open.
    this.pendingMinute = Math.floor(now / MINUTE) * MINUTE
    this.timers.push(every(cfg.clock, cfg.klineUpdateMs, () => this.klineTick()))
    this.timers.push(every(cfg.clock, cfg.bookUpdateMs, () => this.bookTick()))
    this.armClose()
  }

  stop(): void {
    for (const t of this.timers) t.cancel()
    this.closeTimer?.cancel()
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
      if (s.kind !== 'kline' || !this.cfg.hasMinute(s.symbol, minute)) continue
      const k = formingKline(s.symbol, minute, now - minute)
      if (k) this.emit(s, klineEvent(k, false, now))
    }
  }

  private bookTick(): void {
    const now = this.cfg.clock.now()
    for (const s of this.streams()) {
      if (s.kind !== 'book' || !this.cfg.hasMinute(s.symbol, Math.floor(now / MINUTE) * MINUTE)) continue
      const b = bookAt(s.symbol, now, this.cfg.closedFrameDelayMs)
      // Ids must rise on the wire and never pass the closing book still to come.
      if (b.updateId >= closingBookId(s.symbol, this.pendingMinute)) continue
      if (b.updateId <= (this.lastBookId.get(s.symbol) ?? -1)) continue
      this.lastBookId.set(s.symbol, b.updateId)
      this.emit(s, bookEvent(s.symbol, b))
    }
  }

  private closeTick(): void {
    const minute = this.pendingMinute
    const streams = this.streams()
    const symbols = [...new Set(streams.map((s) => s.symbol))]
    for (const symbol of symbols) {
      if (!this.cfg.hasMinute(symbol, minute)) continue
      const book = streams.find((s) => s.symbol === symbol && s.kind === 'book')
      const kline = streams.find((s) => s.symbol === symbol && s.kind === 'kline')
      if (book) {
        const b = simulatedBook(symbol, minute)
        this.lastBookId.set(symbol, b.updateId)
        this.emit(book, bookEvent(symbol, b))
      }
      if (kline && !this.cfg.isSkipped(symbol, minute)) {
        this.emit(kline, klineEvent(simulatedKline(symbol, minute), true, this.cfg.clock.now()))
      }
    }
    this.pendingMinute = minute + MINUTE
    this.armClose()
  }
}
