/**
 * Other writers' candles reach the live feature windows. On PostgreSQL the
 * service listens for `candles_committed` notices (store/candle-notices.ts) that
 * the `backfill` command, and other replicas' gap repair and spool replay, send
 * after they commit, having rewritten the feature rows of their span: when the
 * span reaches into the symbol's live window, that window is read again and
 * its rows recomputed (FeatureEngine.reloadLive). Every time the session starts listening,
 * first time included (a commit between warm-up and LISTEN) or again after a
 * loss (notices sent meanwhile are gone), every live window is read again.
 * The service's own notices are ignored: it told its engine in-process.
 */
import { randomUUID } from 'node:crypto'
import type { Market } from '../core/records.ts'
import { CANDLES_CHANNEL, notifyCandles, parseCandleNotice } from '../store/candle-notices.ts'
import type { Db, Listener } from '../store/db.ts'
import type { MarketLane } from './market-lane.ts'
import type { WiringContext } from './reporting.ts'

export class CandleNotices {
  /** This process, in its notices. */
  readonly sender = randomUUID()
  private listener: Listener | null = null
  private db: Db | null = null
  private readonly lanes: readonly MarketLane[]
  private readonly ctx: WiringContext

  constructor(lanes: readonly MarketLane[], ctx: WiringContext) {
    this.lanes = lanes
    this.ctx = ctx
  }

  /** Starts listening (PostgreSQL only; on PGlite the process is the only writer). */
  start(db: Db, random?: () => number): void {
    this.db = db
    if (db.listen === undefined) return
    const { logger, clock } = this.ctx
    let lost = false
    this.listener = db.listen({
      channel: CANDLES_CHANNEL,
      clock,
      ...(random ? { random } : {}),
      onNotify: (payload) => this.onNotice(payload),
      onListening: () => {
        if (lost) logger.info({ code: 'CANDLE_NOTICES_LISTENING' }, 'listening for candle notices again')
        lost = false
        this.reloadAll()
      },
      onLost: (err) => {
        lost = true
        logger.warn(
          { code: 'CANDLE_NOTICES_LOST', err },
          'the session listening for candle notices was lost; live feature windows are read again when it is back',
        )
      },
    })
  }

  /** Tells other processes that candles of [from, to] were committed (after the commit). */
  sent(market: Market, symbol: string, from: number, to: number): void {
    if (this.db === null) return
    notifyCandles(this.db, { market, symbol, from, to, sender: this.sender }).catch((err: unknown) =>
      this.ctx.logger.warn({ code: 'CANDLE_NOTICE_FAILED', market, symbol, err }, 'candle notice not sent'),
    )
  }

  async stop(): Promise<void> {
    await this.listener?.close()
    this.listener = null
  }

  private onNotice(payload: string): void {
    const n = parseCandleNotice(payload)
    if (n === null) {
      this.ctx.logger.debug({ payload: payload.slice(0, 200) }, 'not a candle notice; ignored')
      return
    }
    if (n.sender === this.sender) return
    const lane = this.lanes.find((l) => l.module.id === n.market)
    // The sender rewrote the rows of its span; what this process holds stale is its live window.
    if (lane?.config.symbols.includes(n.symbol))
      void lane.features?.reloadLive({ symbol: n.symbol, to: n.to })
  }

  private reloadAll(): void {
    for (const l of this.lanes) void l.features?.reloadLive()
  }
}
