/**
 * A market is a plug-in: everything that differs between Binance spot, USD-M
 * and COIN-M futures sits behind this one interface, so that each market is
 * one module (spot.ts) and the generic plumbing (connections, REST client and
 * its budget, decoder, assembler, outputs, gap repair) takes it as data.
 *
 * - stream: which streams a symbol has, which socket route serves each (spot
 *   serves all on one; futures split `/market` and `/public`), and the limits
 *   of a connection;
 * - rest: the paths of the four endpoints, their weights and the per-minute
 *   budget of the host (one budget per host);
 * - decode: the payload differences the decoder must know;
 * - simulator: the socket routes `data-feeder simulate` serves (its REST
 *   routes are rest.paths).
 * Connection timings that differ (ping interval, incoming message rate) go
 * through ConnectionTuning, per feed, rather than into this table.
 */
import type { Market } from '../core/records.ts'

export type RestEndpoint = 'klines' | 'exchangeInfo' | 'time' | 'ping'

export interface MarketModule {
  readonly id: Market
  readonly stream: {
    /** The default BINANCE_STREAM_URL. */
    readonly defaultUrl: string
    /** Stream names of one symbol (given lowercase), in subscription order. */
    streamsOf(lowerSymbol: string): readonly string[]
    /** The path below the host that serves `stream` ('' when one route serves every stream). */
    route(stream: string): string
    readonly maxStreamsPerConnection: number
  }
  readonly rest: {
    /** The default BINANCE_REST_URL. */
    readonly defaultUrl: string
    readonly paths: Readonly<Record<RestEndpoint, string>>
    /** Request weight; klines may depend on the page size asked for. */
    weightOf(endpoint: RestEndpoint, limit?: number): number
    readonly weightLimitPerMinute: number
    /** The largest `limit` of one klines page. */
    readonly klinesPageLimit: number
  }
  readonly decode: {
    /** Whether a bookTicker frame must carry the event time `E` (futures) or may lack it (spot). */
    readonly bookTickerEventTime: 'optional' | 'required'
  }
  readonly simulator: {
    /** Socket routes served, below the host: raw (`/ws`) and combined (`/stream`) per route. */
    readonly wsRoutes: readonly string[]
  }
}
