/** What the composition root is given and what it offers (the run command, tests, benchmarks). */
import type { ConnectionTuning } from '../binance/ws/feed.ts'
import type { Config } from '../config/config.ts'
import type { Clock } from '../core/clock.ts'
import type { HealthSnapshot } from '../health/health.ts'
import type { Logger } from '../observability/logger.ts'
import type { Metrics } from '../observability/metrics.ts'
import type { Db } from '../store/db.ts'

export interface AppDeps {
  readonly config: Config
  readonly clock: Clock
  readonly logger: Logger
  readonly random?: () => number
  /** Stream connection timings; defaults follow Binance's limits. Tests shorten them. */
  readonly streamTuning?: ConnectionTuning
  /** How often overdue minutes are looked for (default 10 s). */
  readonly gapCheckEveryMs?: number
}

export interface App {
  start(): Promise<void>
  /** Stops accepting stream data, flushes, closes. Resolves true when everything buffered was written. */
  stop(reason: string): Promise<boolean>
  /**
   * Ends a start that is still waiting for the database (a signal arrived):
   * start() then rejects with START_CANCELLED, and stop() cleans up.
   */
  cancelStart(): void
  snapshot(): Promise<HealthSnapshot>
  readonly metrics: Metrics
  readonly httpPort: number | null
  /** The open database (null before start and after stop), for the commands and tests that read it. */
  readonly db: Db | null
  /** Backfill ranges queued or running. */
  pendingBackfills(): number
}
