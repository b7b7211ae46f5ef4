/**
 * `data-feeder features --verify|--rebuild [--symbol S] [--market M] --from T --to T`:
 * --verify holds every feature_cache row of the range (FEATURE_WINDOWS) against
 * its SQL definition over candles_1m as stored now and lists what differs (exit
 * 3 when anything does: the command ran, the data is not right; 1 stays "could
 * not run"). --rebuild recomputes the rows of the range and writes them past the
 * guard, and deletes those whose candle is not stored. Without --symbol: every
 * configured symbol (of --market).
 */
import { openStore } from '../app/db-supervisor.ts'
import type { Config } from '../config/config.ts'
import type { Clock } from '../core/clock.ts'
import { floorMinute } from '../core/minute-ranges.ts'
import { MINUTE_MS } from '../core/records.ts'
import { deleteRowsWithoutCandle, verifyFeatures } from '../feature-store/feature-verify.ts'
import type { Logger } from '../observability/logger.ts'
import type { Command } from './args.ts'
import { rewriteFeatureRows } from './backfill-command.ts'
import { createProgress } from './progress.ts'
import { commandTargets, targetName } from './targets.ts'

type Features = Extract<Command, { name: 'features' }>

export async function runFeatures(
  cmd: Features,
  config: Config,
  logger: Logger,
  clock: Clock,
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const from = Math.ceil(cmd.from / MINUTE_MS) * MINUTE_MS
  const to = Math.min(floorMinute(cmd.to), floorMinute(clock.now()) - MINUTE_MS)
  const targets = commandTargets(cmd, config)
  const windows = config.featureWindows
  const { db } = await openStore(config, { materialise: 'later' })
  let mismatches = 0
  try {
    for (const t of targets) {
      const name = targetName(t)
      if (to < from) {
        out.write(`${name}: the range holds no closed minute\n`)
        continue
      }
      const range = { market: t.market, symbol: t.symbol, windows, from, to }
      if (cmd.mode === 'rebuild') {
        const progress = createProgress({ total: 0, logger, label: name })
        const rows = await rewriteFeatureRows(
          db,
          clock,
          config,
          logger,
          t.market,
          t.symbol,
          [{ from, to }],
          progress,
          true,
        )
        const deleted = await deleteRowsWithoutCandle(db, range)
        progress.done()
        out.write(`${name}: ${rows} rows rewritten, ${deleted} rows without a candle deleted\n`)
        continue
      }
      const r = await verifyFeatures(db, range)
      mismatches += r.mismatches
      for (const w of r.windows)
        out.write(
          `${name} window ${w.windowSize}: ${w.candles} candles, ${w.differs} rows differ, ` +
            `${w.missing} rows missing, ${w.noCandle} rows without a candle\n`,
        )
      for (const m of r.samples)
        out.write(
          `  ${new Date(m.openTime).toISOString()} window ${m.windowSize} ${m.kind.replace('_', ' ')}` +
            `${m.detail.length > 0 ? `: ${m.detail.join('; ')}` : ''}\n`,
        )
      if (r.mismatches > r.samples.length) out.write(`  … and ${r.mismatches - r.samples.length} more\n`)
    }
  } finally {
    await db.close()
  }
  return mismatches > 0 ? 3 : 0
}
