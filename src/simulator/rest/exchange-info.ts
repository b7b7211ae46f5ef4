/**
 * GET /api/v3/exchangeInfo, shaped like the spot docs' example
 * (shared/fixtures/spot_rest_exchangeInfo.doc.json) with the documented
 * rateLimits. Filters come from each symbol's simulated tick and lot size.
 */
import { formatUnits } from '../fixed.ts'
import { symbolProfile } from '../profile.ts'
import type { Listing, SymbolUniverse } from '../universe.ts'
import { type ApiError, errors } from './api-error.ts'
import { checkSymbol, type Params } from './query.ts'

export const EXCHANGE_INFO_PARAMS = [
  'symbol',
  'symbols',
  'permissions',
  'showPermissionSets',
  'symbolStatus',
] as const

const SYMBOLS_PATTERN = '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$'
const SYMBOLS_RE = /^\[("[A-Z0-9\-_.]{1,20}"(,"[A-Z0-9\-_.]{1,20}")*)?\]$/
const STATUSES = ['TRADING', 'END_OF_DAY', 'HALT', 'BREAK', 'CANCEL_ONLY']

/** The listings asked for, or the error Binance would answer. */
export function pickListings(params: Params, universe: SymbolUniverse): readonly Listing[] | ApiError {
  const one = params.get('symbol')
  const many = params.get('symbols')
  const status = params.get('symbolStatus')
  if ((one !== undefined || many !== undefined) && status !== undefined) return errors.badCombo()
  if (one !== undefined && many !== undefined) return errors.badCombo()
  if (status !== undefined) {
    if (!STATUSES.includes(status)) return errors.badSymbolStatus()
    return status === 'TRADING' ? universe.listings : []
  }
  if (one !== undefined) {
    const bad = checkSymbol(one)
    if (bad) return bad
    const l = universe.get(one)
    return l ? [l] : errors.badSymbol()
  }
  if (many !== undefined) {
    if (!SYMBOLS_RE.test(many)) return errors.illegalChars('symbols', SYMBOLS_PATTERN)
    const names = JSON.parse(many) as string[]
    const out: Listing[] = []
    for (const n of names) {
      const l = universe.get(n)
      if (!l) return errors.badSymbol()
      if (!out.includes(l)) out.push(l)
    }
    return out
  }
  return universe.listings
}

function symbolInfo(l: Listing, showPermissionSets: boolean): Record<string, unknown> {
  const p = symbolProfile(l.symbol)
  const tick = formatUnits(p.tick)
  const lot = formatUnits(p.lot)
  return {
    symbol: l.symbol,
    status: 'TRADING',
    baseAsset: l.baseAsset,
    baseAssetPrecision: 8,
    quoteAsset: l.quoteAsset,
    quotePrecision: 8,
    quoteAssetPrecision: 8,
    baseCommissionPrecision: 8,
    quoteCommissionPrecision: 8,
    orderTypes: [
      'LIMIT',
      'LIMIT_MAKER',
      'MARKET',
      'STOP_LOSS',
      'STOP_LOSS_LIMIT',
      'TAKE_PROFIT',
      'TAKE_PROFIT_LIMIT',
    ],
    icebergAllowed: true,
    ocoAllowed: true,
    otoAllowed: true,
    opoAllowed: true,
    quoteOrderQtyMarketAllowed: true,
    allowTrailingStop: true,
    cancelReplaceAllowed: true,
    amendAllowed: true,
    pegInstructionsAllowed: true,
    isSpotTradingAllowed: true,
    isMarginTradingAllowed: false,
    filters: [
      {
        filterType: 'PRICE_FILTER',
        minPrice: tick,
        maxPrice: formatUnits(p.basePrice * 1_000n),
        tickSize: tick,
      },
      { filterType: 'LOT_SIZE', minQty: lot, maxQty: '9000.00000000', stepSize: lot },
      { filterType: 'ICEBERG_PARTS', limit: 10 },
      { filterType: 'MARKET_LOT_SIZE', minQty: '0.00000000', maxQty: '100.00000000', stepSize: '0.00000000' },
      {
        filterType: 'TRAILING_DELTA',
        minTrailingAboveDelta: 10,
        maxTrailingAboveDelta: 2000,
        minTrailingBelowDelta: 10,
        maxTrailingBelowDelta: 2000,
      },
      {
        filterType: 'PERCENT_PRICE_BY_SIDE',
        bidMultiplierUp: '5',
        bidMultiplierDown: '0.2',
        askMultiplierUp: '5',
        askMultiplierDown: '0.2',
        avgPriceMins: 5,
      },
      {
        filterType: 'NOTIONAL',
        minNotional: '5.00000000',
        applyMinToMarket: true,
        maxNotional: '9000000.00000000',
        applyMaxToMarket: false,
        avgPriceMins: 5,
      },
      { filterType: 'MAX_NUM_ORDERS', maxNumOrders: 200 },
      { filterType: 'MAX_NUM_ALGO_ORDERS', maxNumAlgoOrders: 5 },
    ],
    permissions: [],
    // showPermissionSets=false keeps the field but leaves it unpopulated.
    permissionSets: showPermissionSets ? [['SPOT']] : [],
    defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
    allowedSelfTradePreventionModes: ['NONE', 'EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH', 'DECREMENT'],
  }
}

export function exchangeInfo(
  listings: readonly Listing[],
  params: Params,
  serverTime: number,
  weightLimit: number,
): Record<string, unknown> {
  const showPermissionSets = params.get('showPermissionSets') !== 'false'
  return {
    timezone: 'UTC',
    serverTime,
    rateLimits: [
      { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: weightLimit },
      { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
      { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 200_000 },
      { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61_000 },
    ],
    exchangeFilters: [],
    symbols: listings.map((l) => symbolInfo(l, showPermissionSets)),
  }
}
