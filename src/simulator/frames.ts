/**
 * Wire frames, serialised with Binance's key order. Raw frames are the bare
 * event; combined frames wrap it as {"stream":…,"data":…}.
 */
import type { SimBook } from './book.ts'
import type { SimKline } from './market.ts'

export function klineEvent(k: SimKline, closed: boolean, eventTime: number): string {
  const body =
    `{"t":${k.openTime},"T":${k.closeTime},"s":${JSON.stringify(k.symbol)},"i":"1m",` +
    `"f":${k.firstTradeId},"L":${k.lastTradeId},"o":"${k.open}","c":"${k.close}","h":"${k.high}",` +
    `"l":"${k.low}","v":"${k.volume}","n":${k.trades},"x":${closed},"q":"${k.quoteVolume}",` +
    `"V":"${k.takerBuyBase}","Q":"${k.takerBuyQuote}","B":"0"}`
  return `{"e":"kline","E":${eventTime},"s":${JSON.stringify(k.symbol)},"k":${body}}`
}

/** Spot shape: six fields, no e/E/T. */
export function bookEvent(symbol: string, b: SimBook): string {
  return (
    `{"u":${b.updateId},"s":${JSON.stringify(symbol)},"b":"${b.bid}","B":"${b.bidQty}",` +
    `"a":"${b.ask}","A":"${b.askQty}"}`
  )
}

/**
 * Futures shape (binance-api.md §5): `e`, `E` and `T` around the six spot fields, in Binance's
 * order. `T` is when the book changed, `E` when the event went out (≥ T).
 */
export function futuresBookEvent(
  symbol: string,
  b: SimBook,
  transactionTime: number,
  eventTime: number,
): string {
  return (
    `{"e":"bookTicker","u":${b.updateId},"s":${JSON.stringify(symbol)},"b":"${b.bid}","B":"${b.bidQty}",` +
    `"a":"${b.ask}","A":"${b.askQty}","T":${transactionTime},"E":${Math.max(eventTime, transactionTime)}}`
  )
}

export function serverShutdownEvent(eventTime: number): string {
  return `{"e":"serverShutdown","E":${eventTime}}`
}

export const SERVER_SHUTDOWN_STREAM = '!serverShutdown'

/** Wraps an event for a connection in combined mode; raw mode sends it bare. */
export function frame(stream: string, event: string, combined: boolean): string {
  return combined ? `{"stream":${JSON.stringify(stream)},"data":${event}}` : event
}
