/**
 * `data-feeder backfill --symbol S [--from T] [--to T]`: fills every missing
 * closed minute in the range from REST. Only missing minutes are fetched, and
 * each page is committed as it arrives, so a second run (or a run after an
 * interruption) picks up where the last one stopped. Then the feature_cache
 * rows whose windows hold the new candles are rewritten (FEATURE_WINDOWS), and
 * those of any candle in the range left without its rows (an earlier run that
 * stopped before this step), so that feature_cache equals a computation over
 * candles_1m. On PostgreSQL a notice tells a running service which candles
 * were committed, so that its live feature windows take them in.
 */
import { openStore } from '../app/db-supervisor.ts'
import type { RestClient } from '../binance/rest/rest-api.ts'
import type { Config } from '../config/config.ts'
import type { Clock } from '../core/clock.ts'
import { floorMinute, formatRange, type MinuteRange } from '../core/minute-ranges.ts'
import { type Market, MINUTE_MS } from '../core/records.ts'
import { rewriteFeatures } from '../feature-store/feature-rewrite.ts'
import { readSpansWithoutFeatures } from '../feature-store/feature-sql.ts'
import { createFeatureWriter } from '../feature-store/feature-writer.ts'
import { BackfillRunner } from '../gaps/backfill-runner.ts'
import type { Logger } from '../observability/logger.ts'
import { writeAll } from '../outputs/output.ts'
import { createBulkWriter } from '../outputs/postgres-output.ts'
import { notifyCandles } from '../store/candle-notices.ts'
import { detectGaps } from '../store/candle-queries.ts'
import type { Db } from '../store/db.ts'
import { StoreError } from '../store/errors.ts'
import { refreshAggregates } from '../store/timescale-settings.ts'
import type { Command } from './args.ts'
import { createProgress, type Progress } from './progress.ts'
import { commandTargets, requireListed, restClients, type Target, targetName } from './targets.ts'

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
  const targets = commandTargets(cmd, config)
  if (to < from) {
    logger.info({ symbols: targets.map(targetName) }, 'nothing to backfill: the range holds no closed minute')
    return 0
  }
  // Each market's REST host, with its own weight budget.
  const rests = restClients(targets, config, clock)
  try {
    // Before anything is opened or recorded: a symbol its market does not list is a usage error.
    await requireListed(rests, targets, cmd.symbol !== null ? 'flag' : 'config', false)
    const { db, ...schema } = await openStore(config, { materialise: 'later' })
    try {
      for (const t of targets)
        await backfillSymbol(
          t,
          { from, to },
          { db, rest: rests.get(t.market) as RestClient, config, logger, clock },
          schema.timescale.state === 'on',
        )
    } finally {
      await db.close()
    }
    return 0
  } finally {
    for (const r of rests.values()) r.close()
  }
}

interface BackfillParts {
  readonly db: Db
  readonly rest: RestClient
  readonly config: Config
  readonly logger: Logger
  readonly clock: Clock
}

async function backfillSymbol(target: Target, range: MinuteRange, parts: BackfillParts, timescale: boolean) {
  const { db, rest, config, logger, clock } = parts
  const { market, symbol } = target
  const { from, to } = range
  const before = await detectGaps(db, market, symbol, from, to + MINUTE_MS)
  const total = before.reduce((n, g) => n + g.missing, 0)
  logger.info(
    { market, symbol, from: new Date(from).toISOString(), to: new Date(to).toISOString(), missing: total },
    'backfill starting',
  )
  const progress = createProgress({ total, logger, label: targetName(target) })
  // The app's writer for batches, as gap repair uses it.
  const writer = createBulkWriter({
    db,
    clock,
    batchMaxWaitMs: config.batchMaxWaitMs,
    dbMaxRetries: config.dbMaxRetries,
  })
  // Minutes handed to the candle writer: their features, and those of the minutes after, are stale.
  const changed: MinuteRange[] = []
  const runner = new BackfillRunner({
    db,
    rest,
    clock,
    market,
    write: async (candles) => {
      if (candles.length > 0) changed.push(spanOf(candles))
      await writeAll(writer, candles)
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
  runner.enqueue({ symbol, from, to, cause: 'catch_up' })
  await runner.idle()
  runner.close()
  await writer.close()
  if (changed.length > 0) {
    const all = changed.reduce((a, b) => ({ from: Math.min(a.from, b.from), to: Math.max(a.to, b.to) }))
    // A service running on the same PostgreSQL reads its live windows again (its rows are rewritten below).
    await notifyCandles(db, { market, symbol, ...all, sender: `backfill:${process.pid}` }).catch((err) =>
      logger.warn({ code: 'CANDLE_NOTICE_FAILED', symbol, err }, 'candle notice not sent'),
    )
    // History under the aggregates' watermark: their buckets are re-materialised now.
    if (timescale) await refreshAggregates(db, all.from, all.to, clock.now())
  }
  try {
    // Candles an earlier run committed but stopped before giving features are repaired too.
    changed.push(...(await readSpansWithoutFeatures(db, market, symbol, config.featureWindows, from, to)))
    await rewriteFeatureRows(db, clock, config, logger, market, symbol, changed, progress)
  } catch (err) {
    // The backfill's own failure is the one to report; what it committed was still repaired if it could be.
    if (error === null) throw err
    logger.warn({ code: 'FEATURE_REWRITE_FAILED', symbol, err }, 'features not rewritten')
  }
  progress.done()
  if (error !== null) throw error
  const after = await detectGaps(db, market, symbol, from, to + MINUTE_MS)
  const left = after.reduce((n, g) => n + g.missing, 0)
  logger.info({ market, symbol, filled: total - left, still_missing: left }, 'backfill done')
}

function spanOf(candles: readonly { openTime: number }[]): MinuteRange {
  let from = Number.POSITIVE_INFINITY
  let to = Number.NEGATIVE_INFINITY
  for (const c of candles) {
    from = Math.min(from, c.openTime)
    to = Math.max(to, c.openTime)
  }
  return { from, to }
}

/**
 * Rewrites the feature rows that the candles written in `changed` made stale, chunk by chunk;
 * `rebuild`: exactly the rows of `changed`, over whatever is stored (features --rebuild).
 */
export async function rewriteFeatureRows(
  db: Db,
  clock: Clock,
  config: Config,
  logger: Logger,
  market: Market,
  symbol: string,
  changed: readonly MinuteRange[],
  progress: Progress,
  rebuild = false,
): Promise<number> {
  if (changed.length === 0) return 0
  progress.phase(`rewriting features (windows ${config.featureWindows.join(', ')})`)
  const writer = createFeatureWriter({
    db,
    clock,
    intervalMs: 1000,
    maxRetries: config.dbMaxRetries,
    force: rebuild,
  })
  let failure: { error: unknown } | null = null
  writer.on('failed', (e) => {
    failure ??= { error: e.error }
  })
  try {
    const done = await rewriteFeatures(
      {
        db,
        market,
        symbol,
        windows: config.featureWindows,
        exact: rebuild,
        write: async (rows) => {
          writer.add(rows)
          await writer.flush()
          // Kept for a later try is not written: a command does not wait for later.
          if (failure !== null || writer.bufferSize > 0) {
            throw new StoreError('FEATURE_WRITE_FAILED', 'feature rows could not be written', {
              cause: failure?.error,
            })
          }
        },
      },
      changed,
    )
    logger.info(
      { symbol, spans: done.spans.map(formatRange), rows: done.rows, windows: config.featureWindows },
      'features rewritten',
    )
    progress.phase(`features rewritten: ${done.rows} rows`)
    return done.rows
  } finally {
    await writer.close()
  }
}
