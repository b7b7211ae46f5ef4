/**
 * The edge of the TimescaleDB path: what the start says about it (logs), the
 * refresher that keeps the aggregates equal to their minutes after writes
 * under the watermark, and the storage gauge read on each /metrics scrape.
 */
import type { Config } from '../config/config.ts'
import { describeDatabase } from '../config/config.ts'
import { type Clock, within } from '../core/clock.ts'
import type { Logger } from '../observability/logger.ts'
import type { createMetrics } from '../observability/metrics.ts'
import { AggregateRefresher } from '../store/aggregate-refresher.ts'
import type { CandleWriter } from '../store/candle-writer.ts'
import type { Db } from '../store/db.ts'
import type { MigrateResult, TimescaleStatus } from '../store/migrate.ts'
import { timescaleStorage } from '../store/timescale-settings.ts'

/** As /health shows it: 'on', 'off' or 'unavailable (not preloaded)'. */
export function describeTimescale(t: TimescaleStatus): string {
  return t.state === 'unavailable' ? `unavailable (${t.reason})` : t.state
}

/** The start's lines about the schema: ready, warnings, settings that do not apply here. */
export function reportTimescale(logger: Logger, config: Config, r: MigrateResult): void {
  logger.info(
    {
      database: describeDatabase(config.database),
      applied: r.applied,
      timescale: describeTimescale(r.timescale),
      ...(r.timescale.state === 'on' ? { timescale_version: r.timescale.version } : {}),
    },
    'database ready',
  )
  for (const w of r.warnings) logger.warn({ code: w.code }, w.message)
  if (r.timescale.state === 'on' && r.timescale.keptDespiteOff) {
    logger.warn(
      { code: 'TIMESCALEDB_KEPT' },
      'TIMESCALEDB=off, but candles_1m is already a hypertable: TimescaleDB stays on (a database is never converted back silently)',
    )
  }
  const settings = config.timescale.explicit.filter((v) => v !== 'TIMESCALEDB')
  if (r.timescale.state !== 'on' && settings.length > 0) {
    logger.info(
      {
        code: 'TIMESCALE_SETTINGS_NOT_APPLICABLE',
        variables: settings,
        timescale: describeTimescale(r.timescale),
      },
      `${settings.join(', ')} ${settings.length === 1 ? 'applies' : 'apply'} only with TimescaleDB; ignored on this database`,
    )
  }
}

interface RefresherContext {
  readonly logger: Logger
  readonly clock: Clock
  readonly metrics: ReturnType<typeof createMetrics>
}

/** Null unless TimescaleDB is on. Also registers the storage gauge's collector. */
export function createRefresher(
  db: Db,
  t: TimescaleStatus,
  ctx: RefresherContext,
): AggregateRefresher | null {
  if (t.state !== 'on') return null
  let storage: { at: number; read: Promise<void> } | null = null
  const gauge = ctx.metrics.timescaleBytes
  // Read at most once a minute, on scrape, from the catalog. A scrape never waits long for it:
  // a locked table (a long migration, an exclusive lock) must not hang /metrics.
  ;(gauge as unknown as { collect?: () => Promise<void> }).collect = async () => {
    const now = ctx.clock.now()
    if (storage === null || now - storage.at >= 60_000) {
      storage = {
        at: now,
        read: db
          .tx(async (q) => {
            await q.exec("SET LOCAL lock_timeout = '2s'")
            return timescaleStorage(q)
          })
          .then((rows) => {
            for (const r of rows) {
              gauge.set({ table: r.table, state: 'compressed' }, r.compressedBytes)
              gauge.set({ table: r.table, state: 'uncompressed' }, r.uncompressedBytes)
            }
          })
          .catch(() => {}),
      }
    }
    await within(ctx.clock, storage.read, 500)
  }
  return new AggregateRefresher({
    db,
    clock: ctx.clock,
    onMaterialised: (ms) =>
      ctx.logger.info(
        { code: 'AGGREGATES_MATERIALISED', ms },
        'aggregates materialised up to the refresh margin',
      ),
    onError: (err) =>
      ctx.logger.warn(
        { code: 'AGGREGATE_REFRESH_FAILED', err },
        'refreshing the aggregates after a write under the watermark failed; retrying',
      ),
  })
}

/** Every committed batch is noted; the refresher skips live minutes at once. */
export function noteWrites(w: CandleWriter, refresher: AggregateRefresher | null): void {
  if (refresher === null) return
  w.on('flushed', (info) => refresher.noteMinutes(info.candles.map((c) => c.openTime)))
}
