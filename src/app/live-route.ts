/**
 * The live route of a closed candle, top to bottom:
 *
 *   socket frame ─► binance/ws/feed.ts (connections, decode.ts) ─► onEvent below
 *   ─► candles/candle-assembler.ts (closed kline + latest book → Candle)
 *   ─► every output's add() (outputs/postgres-output.ts: writer, spool)
 *   ─► features.onCandle (feature-store/feature-engine.ts)
 *   ─► gaps.onCandle (gaps/gap-service.ts: a jump in open times is a gap)
 *
 * It also keeps what /health and /metrics say about the candles seen: the
 * newest per symbol and overall, and how many were processed.
 */
import { type BinanceFeed, type ConnectionTuning, createBinanceFeed } from '../binance/ws/feed.ts'
import { CandleAssembler } from '../candles/candle-assembler.ts'
import type { MarketConfig } from '../config/config.ts'
import type { Clock } from '../core/clock.ts'
import type { Candle, StreamEvent } from '../core/records.ts'
import type { FeatureEngine } from '../feature-store/feature-engine.ts'
import type { GapService } from '../gaps/gap-service.ts'
import type { MarketModule } from '../markets/market.ts'
import type { Logger } from '../observability/logger.ts'
import type { Metrics } from '../observability/metrics.ts'
import type { CandleOutput } from '../outputs/output.ts'

export interface SymbolStats {
  last: number | null
  processed: number
}

export interface LiveRouteDeps {
  /** The market's symbols and stream host. */
  readonly config: MarketConfig
  readonly clock: Clock
  /** The exchange's clock: what a closed frame is judged by ("future"). */
  readonly exchangeClock: Clock
  readonly logger: Logger
  readonly metrics: Metrics
  readonly random?: () => number
  readonly streamTuning?: ConnectionTuning
  /** The market plug-in: stream names and routes, payload rules. */
  readonly market: MarketModule
  /** A refused message (bad frame, impossible candle): counted, logged, recorded. */
  readonly rejected: (reason: string, detail: string, symbol: string | null) => void
}

/** What the route hands candles to; set by the app as each part starts. */
export interface LiveTargets {
  outputs: readonly CandleOutput[]
  features: FeatureEngine | null
  gaps: GapService | null
}

export class LiveRoute {
  readonly perSymbol: ReadonlyMap<string, SymbolStats>
  candlesProcessed = 0
  lastCandle: number | null = null
  readonly targets: LiveTargets = { outputs: [], features: null, gaps: null }
  feed: BinanceFeed | null = null
  private readonly assembler: CandleAssembler
  private readonly deps: LiveRouteDeps
  private readonly label: { readonly market: string }

  constructor(deps: LiveRouteDeps) {
    this.deps = deps
    this.assembler = new CandleAssembler(deps.config.symbols, deps.market.id)
    this.label = { market: deps.market.id }
    this.perSymbol = new Map(deps.config.symbols.map((s) => [s, { last: null, processed: 0 }]))
  }

  /** Opens the stream: from here on frames arrive at onEvent. */
  startFeed(): BinanceFeed {
    const { config, clock, random, streamTuning, market } = this.deps
    this.feed = createBinanceFeed({
      baseUrl: config.streamUrl,
      symbols: config.symbols,
      market,
      clock,
      ...(random ? { random } : {}),
      // The market's message limit paces our frames; tests may shorten the rest.
      connection: { pacer: market.stream.pacer, ...streamTuning },
      onEvent: (event) => this.onEvent(event),
    })
    this.feed.on('invalid', (info) => this.deps.rejected(info.reason, info.detail, null))
    return this.feed
  }

  onEvent(event: StreamEvent): void {
    const { metrics, exchangeClock } = this.deps
    metrics.framesReceived.inc({ market: this.label.market, type: event.type })
    const r = this.assembler.accept(event, exchangeClock.now())
    if (r.kind === 'candle') {
      const c = r.candle
      metrics.candlesClosed.inc(this.label)
      this.candlesProcessed++
      const s = this.perSymbol.get(c.symbol)
      if (s) s.processed++
      this.noteLatest(c)
      const { outputs, features, gaps } = this.targets
      for (const o of outputs) o.add(c)
      features?.onCandle(c)
      gaps?.onCandle(c)
      metrics.bufferSize.set(this.bufferSize())
    } else if (r.kind === 'rejected') {
      const symbol = event.type === 'kline' || event.type === 'book_ticker' ? event.symbol : null
      this.deps.rejected(r.reason, r.detail, symbol)
    } else if (event.type === 'control_error') {
      this.deps.logger.warn(
        { code: 'STREAM_CONTROL_ERROR', id: event.id, error_code: event.code, msg: event.msg },
        'stream control request failed',
      )
    }
  }

  /** The newest closed candle, per symbol and overall, from the stream or from REST. */
  noteLatest(c: Candle): void {
    const s = this.perSymbol.get(c.symbol)
    if (s && (s.last === null || c.openTime > s.last)) s.last = c.openTime
    if (this.lastCandle === null || c.openTime > this.lastCandle) this.lastCandle = c.openTime
  }

  /** Candles taken by the outputs and not yet acknowledged. */
  bufferSize(): number {
    let n = 0
    for (const o of this.targets.outputs) n += o.bufferSize
    return n
  }
}
