/**
 * One market's parts in the process: its live route (feed → assembler), its
 * REST client (its host's own weight budget and 429/418 pause), the check of
 * its symbols, its feature engine and its gap repair. The outputs, the
 * database and the HTTP surface are shared; everything a lane reports is
 * labelled with its market.
 */
import type { RestClient } from '../binance/rest/rest-api.ts'
import { createRestClient } from '../binance/rest/rest-client.ts'
import type { ConnectionTuning } from '../binance/ws/feed.ts'
import type { Config, MarketConfig } from '../config/config.ts'
import type { Clock } from '../core/clock.ts'
import type { Candle } from '../core/records.ts'
import { createFeatureEngine, type FeatureEngine } from '../feature-store/feature-engine.ts'
import { createGapService, type GapService } from '../gaps/gap-service.ts'
import type { MarketModule } from '../markets/market.ts'
import { marketModule } from '../markets/markets.ts'
import type { Logger } from '../observability/logger.ts'
import type { Db } from '../store/db.ts'
import { LiveRoute } from './live-route.ts'
import { wireFeatures } from './report-store.ts'
import { onRestEvent, onWebhookEvent, wireFeed, wireGaps } from './report-stream.ts'
import { type MarketContext, rejectionReporter, type WiringContext } from './reporting.ts'
import { SymbolWatch } from './symbol-watch.ts'

export interface MarketLaneDeps {
  readonly config: Config
  readonly market: MarketConfig
  readonly clock: Clock
  /** Binance's clock: the stream's closes, REST's closed minutes and gap repair are judged on it. */
  readonly exchange: Clock
  readonly logger: Logger
  readonly ctx: WiringContext
  readonly random?: () => number
  readonly streamTuning?: ConnectionTuning
  readonly gapCheckEveryMs?: number
}

/** How a symbol is named in /health and the status page: `BTCUSDT` on spot, `usdm:BTCUSDT` elsewhere. */
export function symbolKey(market: string, symbol: string): string {
  return market === 'spot' ? symbol : `${market}:${symbol}`
}

export class MarketLane {
  readonly module: MarketModule
  readonly config: MarketConfig
  readonly live: LiveRoute
  readonly ctx: MarketContext
  rest: RestClient | null = null
  features: FeatureEngine | null = null
  gaps: GapService | null = null
  private readonly watch: SymbolWatch
  private readonly deps: MarketLaneDeps

  constructor(deps: MarketLaneDeps) {
    this.deps = deps
    this.config = deps.market
    this.module = marketModule(deps.market.market)
    this.ctx = { ...deps.ctx, market: this.module.id }
    const random = deps.random ? { random: deps.random } : {}
    this.live = new LiveRoute({
      config: deps.market,
      clock: deps.clock,
      exchangeClock: deps.exchange,
      logger: deps.logger.child({ market: this.module.id }),
      metrics: deps.ctx.metrics,
      ...random,
      ...(deps.streamTuning ? { streamTuning: deps.streamTuning } : {}),
      rejected: rejectionReporter(this.ctx),
      market: this.module,
    })
    this.watch = new SymbolWatch({
      market: deps.market,
      module: this.module,
      clock: deps.clock,
      logger: deps.logger,
      ...random,
      rest: () => this.rest,
    })
  }

  /** The REST client of the market's host, then its symbols checked (unknown → exit 2). */
  async startRest(): Promise<void> {
    const { clock, random } = this.deps
    this.rest = createRestClient({
      baseUrl: this.config.restUrl,
      market: this.module,
      clock,
      exchangeClock: this.deps.exchange,
      ...(random ? { random } : {}),
      onEvent: onRestEvent(this.ctx),
    })
    await this.watch.checkAtStart()
  }

  stopRest(): void {
    this.watch.stop()
    this.rest?.close()
  }

  async startFeatures(db: Db): Promise<void> {
    const { config, clock, random } = this.deps
    this.features = createFeatureEngine({
      db,
      clock,
      market: this.module.id,
      symbols: this.config.symbols,
      windows: config.featureWindows,
      updateIntervalMs: config.featureUpdateIntervalS * 1000,
      maxRetries: config.dbMaxRetries,
      ...(random ? { random } : {}),
    })
    wireFeatures(this.features, this.ctx)
    this.live.targets.features = this.features
    await this.features.warmUp()
  }

  startGaps(db: Db, write: (candles: readonly Candle[]) => Promise<void>): GapService {
    const { config, random } = this.deps
    const gaps = createGapService({
      db,
      rest: this.rest as RestClient,
      clock: this.deps.exchange,
      market: this.module.id,
      symbols: this.config.symbols,
      thresholdMs: config.gapDetectionThresholdS * 1000,
      initialBackfillMinutes: config.initialBackfillMinutes,
      webhookUrl: config.gapHandlerUrl,
      write,
      onWebhookEvent: onWebhookEvent(this.ctx),
      ...(random ? { random } : {}),
      ...(this.deps.gapCheckEveryMs !== undefined ? { checkEveryMs: this.deps.gapCheckEveryMs } : {}),
    })
    wireGaps(gaps, this.ctx)
    this.gaps = gaps
    this.live.targets.gaps = gaps
    return gaps
  }

  startStream(): void {
    const feed = this.live.startFeed()
    wireFeed(feed, this.ctx, this.gaps)
    feed.start()
    this.deps.logger.info(
      { market: this.module.id, symbols: this.config.symbols, stream: this.config.streamUrl },
      'streaming',
    )
    // The stream is already running: catch-up happens beside it, never before it (nor blocking start).
    this.gaps
      ?.start()
      .catch((err: unknown) =>
        this.deps.logger.error(
          { code: 'CATCH_UP_FAILED', market: this.module.id, err },
          'start-up catch-up could not be queued',
        ),
      )
  }
}
