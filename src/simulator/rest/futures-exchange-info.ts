/**
 * Futures exchangeInfo (fapi / dapi, binance-api.md §8): no parameters, every
 * contract listed, with `pair`, `contractType`, `pricePrecision` and the
 * futures rate limits; COIN-M names the status `contractStatus`.
 */
import type { Market } from '../../core/records.ts'
import { formatDecimals } from '../fixed.ts'
import { simKey, symbolProfile } from '../profile.ts'
import type { Listing } from '../universe.ts'

export function futuresExchangeInfo(
  market: Market,
  listings: readonly Listing[],
  serverTime: number,
  weightLimit: number,
): Record<string, unknown> {
  return {
    timezone: 'UTC',
    serverTime,
    ...(market === 'usdm' ? { futuresType: 'U_MARGINED' } : {}),
    rateLimits: [
      { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: weightLimit },
      { rateLimitType: 'ORDERS', interval: 'MINUTE', intervalNum: 1, limit: 1200 },
    ],
    exchangeFilters: [],
    assets: [],
    symbols: listings.map((l) => {
      const p = symbolProfile(simKey(market, l.symbol))
      const perpetual = market === 'usdm' || l.symbol.endsWith('_PERP')
      return {
        symbol: l.symbol,
        pair: l.symbol.replace(/_.*$/, ''),
        contractType: perpetual ? 'PERPETUAL' : 'CURRENT_QUARTER',
        [market === 'coinm' ? 'contractStatus' : 'status']: 'TRADING',
        baseAsset: l.baseAsset,
        quoteAsset: l.quoteAsset,
        marginAsset: market === 'coinm' ? l.baseAsset : l.quoteAsset,
        pricePrecision: p.priceDecimals,
        quantityPrecision: p.qtyDecimals,
        onboardDate: Math.max(0, l.listedAt),
        filters: [
          { filterType: 'PRICE_FILTER', tickSize: formatDecimals(p.tick, p.priceDecimals) },
          { filterType: 'LOT_SIZE', stepSize: formatDecimals(p.lot, p.qtyDecimals) },
        ],
      }
    }),
  }
}
