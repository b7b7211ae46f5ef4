import type { Candle } from '../../src/core/records.ts'

export const T0 = Date.UTC(2024, 0, 1, 0, 0)
export const MIN = 60_000

/** A valid closed candle; override what the test is about. */
export function candle(over: Partial<Candle> & { minute?: number } = {}): Candle {
  const { minute = 0, ...rest } = over
  const openTime = rest.openTime ?? T0 + minute * MIN
  return {
    type: 'candle',
    market: 'spot',
    symbol: 'BTCUSDT',
    openTime,
    closeTime: openTime + 59_999,
    open: '60685.22000000',
    high: '60700.00000000',
    low: '60680.10000000',
    close: '60690.01000000',
    volume: '12.34567000',
    quoteVolume: '749213.12345678',
    trades: 1234,
    takerBuyBase: '6.17283500',
    takerBuyQuote: '374606.56172839',
    firstTradeId: 3_000_000_000,
    lastTradeId: 3_000_001_233,
    bid: '60690.00000000',
    bidQty: '1.50000000',
    ask: '60690.01000000',
    askQty: '0.25000000',
    quoteTime: openTime + 59_000,
    source: 'ws',
    receivedAt: openTime + 60_050,
    ...rest,
  }
}
