/**
 * `data-feeder backfill --symbol S [--from T] [--to T]`: fills every missing
 * closed minute in the range from REST. Only missing minutes are fetched, and
 * each page is committed as it arrives, so a second run (or a run after an
 * interruption) picks up where the last one stopped.
 */
import { dbOptions } from '../app.ts'
import { createRestClient } from '../binance/rest-client.ts'
import type { Config } from '../config/config.ts'
import type { Clock } from '../core/clock.ts'
import { MINUTE_MS } from '../core/records.ts'
import { BackfillRunner } from '../gaps/backfill-runner.ts'
import { floorMinute, formatRange } from '../gaps/minute-ranges.ts'
import type { Logger } from '../observability/logger.ts'
import { detectGaps } from '../store/candle-queries.ts'
import { createCandleWriter } from '../store/candle-writer.ts'
import { openDb } from '../store/db.ts'
import { migrate } from '../store/migrate.ts'
import type { Command } from './args.ts'
import { createProgress } from './progress.ts'

type Backfill = Extract<Command, { name: 'backfill' }>

export function commandRange(cmd: { from: number | null; to: number | null }, config: Config, now: number) {
  const lastClosed = floorMinute(now) - MINUTE_MS
  const to = Math.min(cmd.to === null ? lastClosed : floorMinute(cmd.to), lastClosed)
  const from =
    cmd.from === null
      ? lastClosed - (config.initialBackfillMinutes - 1) * MINUTE_MS
      : Math.ceil(cmd.from / MINUTE_MS) * MINUTE_MS
  return { from, to }
}

export async function runBackfill(
  cmd: Backfill,
  config: Config,
  logger: Logger,
  clock: Clock,
): Promise<number> {
  const { from, to } = commandRange(cmd, config, clock.now())
  if (to < from) {
    logger.info({ symbol: cmd.symbol }, 'nothing to backfill: the range holds no closed minute')
    return 0
  }
  const db = await openDb(dbOptions(config))
  const rest = createRestClient({ baseUrl: config.restUrl, clock })
  try {
    await migrate(db)
    const before = await detectGaps(db, 'spot', cmd.symbol, from, to + MINUTE_MS)
    const total = before.reduce((n, g) => n + g.missing, 0)
    logger.info(
      {
        symbol: cmd.symbol,
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        missing: total,
      },
      'backfill starting',
    )
    const progress = createProgress({ total, logger, label: cmd.symbol })
    let failed = 0
    const writer = createCandleWriter({
      db,
      clock,
      maxBatch: 1000,
      maxWaitMs: 1000,
      maxRetries: config.dbMaxRetries,
    })
    writer.on('failed', (info) => {
      failed += info.candles.length
    })
    const runner = new BackfillRunner({
      db,
      rest,
      clock,
      market: 'spot',
      write: async (candles) => {
        const before = failed
        for (const c of candles) writer.add(c)
        await writer.flush()
        if (failed > before) throw new Error(`${failed - before} candles could not be written`)
      },
    })
    let error: unknown = null
    runner.on('page', (e) => progress.advance(e.candles))
    runner.on('gap_unfillable', (e) =>
      logger.warn(
        { code: 'GAP_UNFILLABLE', symbol: e.symbol, missing: e.missing, range: formatRange(e.range) },
        'Binance has no data for these minutes',
      ),
    )
    runner.on('job_failed', (e) => {
      error = e.error
      runner.close()
    })
    runner.enqueue({ symbol: cmd.symbol, from, to, cause: 'catch_up' })
    await runner.idle()
    runner.close()
    await writer.close()
    progress.done()
    if (error !== null) throw error
    const after = await detectGaps(db, 'spot', cmd.symbol, from, to + MINUTE_MS)
    const left = after.reduce((n, g) => n + g.missing, 0)
    logger.info({ symbol: cmd.symbol, filled: total - left, still_missing: left }, 'backfill done')
    return 0
  } finally {
    rest.close()
    await db.close()
  }
}
