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
  /** What Binance spot, USD-M, COIN-M calls itself in messages. */
  readonly title: string
  /** Symbols the market can list (uppercase); COIN-M's carry an underscore (BTCUSD_PERP). */
  readonly symbolPattern: RegExp
  /** An example symbol, for error messages. */
  readonly exampleSymbol: string
  /** The variables that set its host roots. */
  readonly env: { readonly streamUrl: string; readonly restUrl: string }
  readonly stream: {
    /** The default stream URL (spot: BINANCE_STREAM_URL; futures: a host root). */
    readonly defaultUrl: string
    /** Stream names of one symbol (given lowercase), in subscription order. */
    streamsOf(lowerSymbol: string): readonly string[]
    /** The path below the host that serves `stream` ('' when one route serves every stream). */
    route(stream: string): string
    readonly maxStreamsPerConnection: number
    /**
     * Our frames (pongs, pings, SUBSCRIBEs) per window, under the market's
     * incoming-message limit (spot 5/s, futures 10/s).
     */
    readonly pacer: { readonly limit: number; readonly windowMs: number }
    /** The documented limits, for the simulator and the docs. */
    readonly limits: {
      readonly incomingPerSecond: number
      readonly serverPingMs: number
      readonly pongDeadlineMs: number
    }
    /** Update speed of a kline stream (spot 2 s, futures 250 ms). */
    readonly klineUpdateMs: number
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
    /** Whether exchangeInfo takes `symbols` (spot) or always lists everything (futures). */
    readonly exchangeInfoBySymbols: boolean
  }
  readonly decode: {
    /** Whether a bookTicker frame must carry the event time `E` (futures) or may lack it (spot). */
    readonly bookTickerEventTime: 'optional' | 'required'
    /** Whether it must carry the transaction time `T` (futures) or has none (spot). */
    readonly bookTickerTransactionTime?: 'optional' | 'required'
  }
  readonly simulator: {
    /** Socket routes served, below the host: raw (`/ws`) and combined (`/stream`) per route. */
    readonly wsRoutes: readonly string[]
    /**
     * Where the simulator mounts the market's stream host on its one port
     * ('' = the root; futures get a prefix since their un-routed paths look like spot's).
     */
    readonly wsMount: string
    /** Streams the un-routed path (no route) still delivers (USD-M since 2026-04-23: /public data only). */
    readonly unroutedServes: (stream: string) => boolean
    /** Futures frames carry `E`/`T` on bookTicker and prices at the contract's tick precision. */
    readonly futures: boolean
  }
}
