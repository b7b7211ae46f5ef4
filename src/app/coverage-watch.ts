/**
 * The missing minutes of every configured symbol over its covered window, for
 * /health (and the status page's header): minute_coverage's `missing` minutes —
 * overdue by more than GAP_DETECTION_THRESHOLD and not confirmed empty by Binance.
 *
 * The covered window of a symbol is the last 24 hours, or since its first stored
 * candle when that is later (the start of its initial backfill). A symbol with no
 * candle yet has no window: staleness and pending backfills speak for it.
 *
 * Health is polled, so the answer is cached: refreshed at most every REFRESH_MS,
 * one refresh at a time, and a reader waits for a refresh in flight at most
 * WAIT_MS before taking the last answer.
 */
import { type Clock, within } from '../core/clock.ts'
import { MINUTE_MS } from '../core/records.ts'
import { missingMinutes } from '../store/coverage-queries.ts'
import type { Queryable } from '../store/db.ts'
import { earliestCandleTime } from '../store/gap-queries.ts'

export const COVERAGE_WINDOW_MS = 24 * 60 * MINUTE_MS
const REFRESH_MS = 30_000
const WAIT_MS = 2_000

export interface CoverageTarget {
  readonly market: string
  readonly symbol: string
}

export interface Coverage {
  /** When the counts were taken (clock ms), null before the first answer. */
  readonly checkedAt: number | null
  /** Missing minutes per `market:SYMBOL`; a symbol without a window is absent. */
  readonly missing: ReadonlyMap<string, number>
}

export const coverageKey = (market: string, symbol: string): string => `${market}:${symbol.toUpperCase()}`

export interface CoverageWatchOptions {
  /** The database when it answers. */
  readonly db: () => Queryable | null
  readonly clock: Clock
  readonly targets: readonly CoverageTarget[]
  /** GAP_DETECTION_THRESHOLD (ms). */
  readonly graceMs: number
  readonly refreshMs?: number
}

export class CoverageWatch {
  private last: Coverage = { checkedAt: null, missing: new Map() }
  private lastTry = Number.NEGATIVE_INFINITY
  private running: Promise<void> | null = null
  /** First stored candle per symbol, once known (it only moves earlier, by backfill). */
  private readonly first = new Map<string, number>()

  private readonly o: CoverageWatchOptions

  constructor(o: CoverageWatchOptions) {
    this.o = o
  }

  async current(): Promise<Coverage> {
    const now = this.o.clock.now()
    const db = this.o.db()
    if (db !== null && this.running === null && now - this.lastTry >= (this.o.refreshMs ?? REFRESH_MS)) {
      this.lastTry = now
      this.running = this.refresh(db, now)
        .catch(() => {}) // the database's state is /health's own subject; keep the last answer
        .finally(() => {
          this.running = null
        })
    }
    if (this.running !== null) await within(this.o.clock, this.running, WAIT_MS)
    return this.last
  }

  private async refresh(db: Queryable, now: number): Promise<void> {
    const missing = new Map<string, number>()
    // Up to the last minute overdue on our clock: the database's clock then never decides the tail.
    const to = Math.floor((now - MINUTE_MS - this.o.graceMs) / MINUTE_MS) * MINUTE_MS + MINUTE_MS
    for (const market of new Set(this.o.targets.map((t) => t.market))) {
      const windows: { symbol: string; from: number; to: number }[] = []
      for (const t of this.o.targets.filter((x) => x.market === market)) {
        const key = coverageKey(market, t.symbol)
        let first = this.first.get(key) ?? null
        // Re-read while young: a backfill may still be writing older minutes.
        if (first === null || first > now - COVERAGE_WINDOW_MS) {
          first = await earliestCandleTime(db, market, t.symbol.toUpperCase())
          if (first !== null) this.first.set(key, first)
        }
        if (first !== null)
          windows.push({ symbol: t.symbol, from: Math.max(now - COVERAGE_WINDOW_MS, first), to })
      }
      for (const [symbol, n] of await missingMinutes(db, market, windows, this.o.graceMs))
        missing.set(coverageKey(market, symbol), n)
    }
    this.last = { checkedAt: now, missing }
  }
}
