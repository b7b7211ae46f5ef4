/**
 * `data-feeder export --symbol S [--market M] --from T --to T [--format parquet|csv]
 * [--windows …] [--out FILE|-] [--require-complete]`: every minute of the range as
 * one row (candle, quote, features, provenance) in a file that appears only when
 * complete, or on stdout. Exit 3 with --require-complete when a minute is missing or
 * in progress, before anything is written.
 */
import { openStore } from '../app/db-supervisor.ts'
import type { Config } from '../config/config.ts'
import type { Clock } from '../core/clock.ts'
import { floorMinute } from '../core/minute-ranges.ts'
import { MINUTE_MS } from '../core/records.ts'
import { openExportOutput } from '../export/export-output.ts'
import { type ExportPlan, exportRange } from '../export/export-run.ts'
import type { Logger } from '../observability/logger.ts'
import type { Db } from '../store/db.ts'
import { incompleteMinutes, symbolStored } from '../store/export-queries.ts'
import { type Command, UsageError } from './args.ts'
import { createProgress } from './progress.ts'

type Export = Extract<Command, { name: 'export' }>

const stamp = (t: number) =>
  new Date(t)
    .toISOString()
    .replace(/:\d\d\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '')

/** The range in whole minutes, up to the minute now forming (which is `in_progress`). */
export function exportPlan(cmd: Export, config: Config, now: number): ExportPlan {
  const from = Math.ceil(cmd.from / MINUTE_MS) * MINUTE_MS
  const to = Math.min(floorMinute(cmd.to), floorMinute(now))
  if (to < from) throw new UsageError('export: the range holds no minute that has started')
  const windows = [...new Set(cmd.windows ?? config.featureWindows)].sort((a, b) => a - b)
  return { market: cmd.market, symbol: cmd.symbol, from, to, windows, format: cmd.format }
}

export function defaultOutName(p: ExportPlan): string {
  return `${p.market}-${p.symbol}-${stamp(p.from)}-${stamp(p.to)}.${p.format}`
}

export async function runExport(
  cmd: Export,
  config: Config,
  logger: Logger,
  clock: Clock,
  stdout: NodeJS.WritableStream = process.stdout,
  stderr: NodeJS.WriteStream = process.stderr,
): Promise<number> {
  const plan = exportPlan(cmd, config, clock.now())
  const name = `${plan.market === 'spot' ? '' : `${plan.market}:`}${plan.symbol}`
  const { db } = await openStore(config, { materialise: 'later' })
  try {
    if (!(await symbolStored(db, plan.market, plan.symbol)))
      throw new UsageError(
        `export: no candle of ${plan.market} ${plan.symbol} is stored (is the symbol right?)`,
      )
    if (cmd.requireComplete && !(await complete(db, plan, name, stderr))) return 3
    return await write(db, plan, cmd.out ?? defaultOutName(plan), { logger, clock, stdout, stderr, name })
  } finally {
    await db.close()
  }
}

async function complete(db: Db, plan: ExportPlan, name: string, stderr: NodeJS.WritableStream) {
  const { totals, runs } = await incompleteMinutes(db, plan.market, plan.symbol, plan.from, plan.to)
  if (totals.size === 0) return true
  const iso = (t: number) => new Date(t).toISOString()
  const counts = [...totals].map(([status, n]) => `${n} ${status}`).join(', ')
  const lines = [
    `data-feeder: export: ${name} ${iso(plan.from)} … ${iso(plan.to)} is incomplete (${counts}); nothing written`,
    ...runs.map(
      (r) =>
        `  ${r.status.padEnd(11)} ${iso(r.from)} … ${iso(r.to)}  ${r.minutes} minute${r.minutes === 1 ? '' : 's'}`,
    ),
    '  (without --require-complete these minutes are rows with their status; data-feeder backfill fills missing ones)',
  ]
  stderr.write(`${lines.join('\n')}\n`)
  return false
}

async function write(
  db: Db,
  plan: ExportPlan,
  target: string,
  io: {
    logger: Logger
    clock: Clock
    stdout: NodeJS.WritableStream
    stderr: NodeJS.WriteStream
    name: string
  },
): Promise<number> {
  const started = io.clock.now()
  // Listening before the temporary file exists: a signal never finds it without its remover.
  const interrupt = new AbortController()
  const onSignal = () => interrupt.abort()
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal)
  const out = await openExportOutput(target, io.stdout).catch((err: unknown) => {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal)
    throw err
  })
  // With --out - the data owns stdout: progress only as a bar on a terminal's stderr, no log lines.
  const toStdout = target === '-'
  const progress =
    toStdout && io.stderr.isTTY !== true
      ? null
      : createProgress({
          total: (plan.to - plan.from) / MINUTE_MS + 1,
          logger: io.logger,
          label: io.name,
          stream: io.stderr,
          unit: 'minutes',
          message: 'export progress',
        })
  try {
    const { rows } = await exportRange(db, plan, out, {
      signal: interrupt.signal,
      onRows: (n) => progress?.advance(n),
    })
    await out.commit()
    progress?.done()
    if (!toStdout)
      io.logger.info(
        {
          code: 'EXPORT_WRITTEN',
          symbol: io.name,
          path: target,
          rows,
          format: plan.format,
          ms: io.clock.now() - started,
        },
        'export written',
      )
    return 0
  } catch (err) {
    await out.abort()
    progress?.done()
    throw err
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal)
  }
}
