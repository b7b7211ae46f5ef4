/** Every market the service knows, by id. Adding a market is one module here plus its simulator routes. */
import type { Market } from '../core/records.ts'
import { COINM } from './coinm.ts'
import type { MarketModule } from './market.ts'
import { SPOT } from './spot.ts'
import { USDM } from './usdm.ts'

export const MARKET_MODULES: Readonly<Record<Market, MarketModule>> = Object.freeze({
  spot: SPOT,
  usdm: USDM,
  coinm: COINM,
})

export function marketModule(id: Market): MarketModule {
  return MARKET_MODULES[id]
}
