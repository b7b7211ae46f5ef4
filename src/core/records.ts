/**
 * The records that flow through the pipeline. Readonly, discriminated by a
 * literal `type`, and carrying two clocks: the exchange's time and ours.
 * Decimal values stay as the exchange's strings all the way to `numeric`
 * columns; nothing here is ever a float round-trip.
 */

/** Binance spot, USD-M perpetual futures (fapi/fstream), COIN-M futures (dapi/dstream). */
export type Market = 'spot' | 'usdm' | 'coinm'

export const MARKETS: readonly Market[] = ['spot', 'usdm', 'coinm']

export function isMarket(v: string): v is Market {
  return (MARKETS as readonly string[]).includes(v)
}

/** One kline update as received on `<sym>@kline_1m` (closed or still forming). */
export interface KlineEvent {
  readonly type: 'kline'
  readonly symbol: string // uppercase, as in `s`
  readonly eventTime: number // `E`, ms
  readonly receivedAt: number // our clock, ms
  readonly interval: string // `k.i`
  readonly openTime: number // `k.t`
  readonly closeTime: number // `k.T`
  readonly firstTradeId: number | null // `k.f`; null where Binance sends −1 (a minute without trades)
  readonly lastTradeId: number | null // `k.L`; likewise
  readonly open: string
  readonly high: string
  readonly low: string
  readonly close: string
  readonly volume: string
  readonly quoteVolume: string
  readonly trades: number
  readonly takerBuyBase: string
  readonly takerBuyQuote: string
  readonly closed: boolean // `k.x`
}

/** Best bid/ask from `<sym>@bookTicker`. Spot frames have no exchange time; futures carry `E` and `T`. */
export interface BookTickerEvent {
  readonly type: 'book_ticker'
  readonly symbol: string
  readonly updateId: number // `u`
  readonly eventTime: number | null // `E` (futures only)
  readonly transactionTime: number | null // `T` (futures only): when the book changed
  readonly receivedAt: number
  readonly bid: string
  readonly bidQty: string
  readonly ask: string
  readonly askQty: string
}

/** Binance announces that it is about to close the connection. */
export interface ServerShutdownEvent {
  readonly type: 'server_shutdown'
  readonly eventTime: number
  readonly receivedAt: number
}

/** Reply to a SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS / *_PROPERTY request. */
export interface ControlResultEvent {
  readonly type: 'control_result'
  readonly id: number | string | null
  readonly result: unknown
  readonly receivedAt: number
}

/** Error reply to a control request (top-level or nested `error` form). */
export interface ControlErrorEvent {
  readonly type: 'control_error'
  readonly id: number | string | null
  readonly code: number
  readonly msg: string
  readonly receivedAt: number
}

export type StreamEvent =
  | KlineEvent
  | BookTickerEvent
  | ServerShutdownEvent
  | ControlResultEvent
  | ControlErrorEvent

export type CandleSource = 'ws' | 'rest' | 'archive'

/** A closed 1-minute candle, ready to store. */
export interface Candle {
  readonly type: 'candle'
  readonly market: Market
  readonly symbol: string // uppercase
  readonly openTime: number // ms
  readonly closeTime: number // ms = openTime + 59 999
  readonly open: string
  readonly high: string
  readonly low: string
  readonly close: string
  readonly volume: string
  readonly quoteVolume: string
  readonly trades: number
  readonly takerBuyBase: string
  readonly takerBuyQuote: string
  /** Null where the minute had no trade (Binance's −1) or the source has no ids (REST). */
  readonly firstTradeId: number | null
  readonly lastTradeId: number | null
  /**
   * The last bookTicker at or before `closeTime` (book-state.ts); null when unknown (REST,
   * archive, no quote yet). All five quote fields are null together or set together.
   */
  readonly bid: string | null
  readonly bidQty: string | null
  readonly ask: string | null
  readonly askQty: string | null
  /** When that quote was current (ms, exchange clock): futures `T`, spot receive time. */
  readonly quoteTime: number | null
  readonly source: CandleSource
  /** When we received the data the candle came from (ms, our clock). */
  readonly receivedAt: number
}

export const MINUTE_MS = 60_000
