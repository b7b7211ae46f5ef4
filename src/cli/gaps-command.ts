/**
 * `data-feeder gaps [--symbol S] [--market M] [--from T] [--to T] [--json]`: the missing
 * minutes of a range, for one symbol or every configured one (of a market), marking those Binance confirmed it has no data for
 * (recorded as gap_unfillable). Exit 0 when every missing minute is explained,
 * 3 when some are not.
 */
import { openStore } from '../app/db-supervisor.ts'
import type { Config } from '../config/config.ts'
import type { Clock } from '../core/clock.ts'
import { type Market, MINUTE_MS } from '../core/records.ts'
import { coverageSummary, withoutJit } from '../store/coverage-queries.ts'
import type { Db } from '../store/db.ts'
import type { Command } from './args.ts'
import { commandRange } from './backfill-command.ts'
import { commandTargets, requireListed, restClients } from './targets.ts'

type Gaps = Extract<Command, { name: 'gaps' }>

/** What `gaps --json` prints per symbol (docs/OPERATIONS.md describes each field). */
export interface GapReport {
  symbol: string
  market: string
  /** Open times of the first and last minute of the range, both inclusive. */
  from: string
  to: string
  minutes: number
  stored: number
  /** Minutes without a candle, past the grace: confirmed_empty plus unexplained. */
  missing: number
  confirmed_empty: number
  /** Missing minutes Binance has not confirmed empty (status `missing`): exit 3 when any. */
  unexplained: number
  /** Minutes without a candle that are not overdue yet (closed less than the grace ago). */
  in_progress: number
  /** GAP_DETECTION_THRESHOLD: how long after its close a minute may still be on its way. */
  grace_seconds: number
  ranges: {
    from: string
    to: string
    /** Minutes in the range. */
    missing: number
    status: 'missing' | 'confirmed_empty' | 'in_progress'
    confirmed_empty: boolean
  }[]
}

export async function runGaps(
  cmd: Gaps,
  config: Config,
  clock: Clock,
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const { from, to } = commandRange(cmd, config, clock.now())
  const targets = commandTargets(cmd, config)
  // A symbol its market does not list is a usage error; Binance unreachable is no reason not to report.
  const rests = restClients(targets, config, clock, { maxRetries: 0, timeoutMs: 5_000 })
  try {
    await requireListed(rests, targets, cmd.symbol !== null ? 'flag' : 'config', false)
  } finally {
    for (const r of rests.values()) r.close()
  }
  const { db } = await openStore(config, { materialise: 'later' })
  const reports: GapReport[] = []
  try {
    const grace = config.gapDetectionThresholdS * 1000
    for (const t of targets) reports.push(await report(db, t.market, t.symbol, { from, to }, grace))
  } finally {
    await db.close()
  }
  if (cmd.json) {
    const body = cmd.symbol === null ? reports : reports[0]
    out.write(`${JSON.stringify(body, null, 2)}\n`)
  } else out.write(reports.map(formatReport).join(''))
  return reports.some((r) => r.unexplained > 0) ? 3 : 0
}

async function report(
  db: Db,
  market: Market,
  symbol: string,
  range: { from: number; to: number },
  graceMs: number,
): Promise<GapReport> {
  const { from, to } = range
  const iso = (t: number) => new Date(t).toISOString()
  const c =
    to < from
      ? { minutes: 0, stored: 0, confirmedEmpty: 0, missing: 0, inProgress: 0, ranges: [] }
      : await withoutJit(db, (q) => coverageSummary(q, { market, symbol, from, to: to + MINUTE_MS, graceMs }))
  return {
    symbol,
    market,
    from: iso(from),
    to: iso(to),
    minutes: c.minutes,
    stored: c.stored,
    missing: c.missing + c.confirmedEmpty,
    confirmed_empty: c.confirmedEmpty,
    unexplained: c.missing,
    in_progress: c.inProgress,
    grace_seconds: graceMs / 1000,
    ranges: c.ranges.map((r) => ({
      from: iso(r.from),
      to: iso(r.to),
      missing: r.minutes,
      status: r.status,
      confirmed_empty: r.status === 'confirmed_empty',
    })),
  }
}

const LABELS = {
  missing: 'missing',
  confirmed_empty: 'missing  (Binance has no data)',
  in_progress: 'in progress  (closed less than the grace ago)',
} as const

function formatReport(r: GapReport): string {
  const lines = [
    `${r.market === 'spot' ? '' : `${r.market}:`}${r.symbol} ${r.from} … ${r.to}: ${r.minutes} minutes, ${r.missing} missing, ${r.unexplained} unexplained${r.in_progress > 0 ? `, ${r.in_progress} in progress` : ''}`,
  ]
  for (const g of r.ranges) {
    lines.push(`  ${g.from} … ${g.to}  ${String(g.missing).padStart(6)} ${LABELS[g.status]}`)
  }
  if (r.ranges.length === 0) lines.push('  complete')
  return `${lines.join('\n')}\n`
}
