/**
 * `data-feeder gaps [--symbol S] [--market M] [--from T] [--to T] [--json]`: the missing
 * minutes of a range, for one symbol or every configured one (of a market), marking those Binance confirmed it has no data for
 * (recorded as gap_unfillable). Exit 0 when every missing minute is explained,
 * 3 when some are not.
 */
import { openStore } from '../app/db-supervisor.ts'
import type { Config } from '../config/config.ts'
import type { Clock } from '../core/clock.ts'
import { type MinuteRange, minutesIn, subtractRanges, totalMinutes } from '../core/minute-ranges.ts'
import { type Market, MINUTE_MS } from '../core/records.ts'
import { detectGaps } from '../store/candle-queries.ts'
import type { Queryable } from '../store/db.ts'
import { confirmedEmptyRanges } from '../store/gap-queries.ts'
import type { Command } from './args.ts'
import { commandRange } from './backfill-command.ts'
import { commandTargets, requireListed, restClients } from './targets.ts'

type Gaps = Extract<Command, { name: 'gaps' }>

export interface GapReport {
  symbol: string
  market: string
  from: string
  to: string
  minutes: number
  missing: number
  unexplained: number
  ranges: { from: string; to: string; missing: number; confirmed_empty: boolean }[]
}

/** Splits missing ranges into those Binance confirmed empty and the rest. */
export function classify(missing: readonly MinuteRange[], confirmed: readonly MinuteRange[]) {
  const unexplained = subtractRanges(missing, confirmed)
  const explained = subtractRanges(missing, unexplained)
  return [
    ...explained.map((r) => ({ ...r, confirmed: true })),
    ...unexplained.map((r) => ({ ...r, confirmed: false })),
  ].sort((a, b) => a.from - b.from)
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
    for (const t of targets) reports.push(await report(db, t.market, t.symbol, from, to))
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
  db: Queryable,
  market: Market,
  symbol: string,
  from: number,
  to: number,
): Promise<GapReport> {
  const gaps = to < from ? [] : await detectGaps(db, market, symbol, from, to + MINUTE_MS)
  const missing = gaps.map((g) => ({ from: g.rangeStart, to: g.rangeEnd }))
  const confirmed = missing.length === 0 ? [] : await confirmedEmptyRanges(db, market, symbol, from, to)
  const ranges = classify(missing, confirmed)
  const iso = (t: number) => new Date(t).toISOString()
  return {
    symbol,
    market,
    from: iso(from),
    to: iso(to),
    minutes: Math.max(0, minutesIn({ from, to })),
    missing: totalMinutes(missing),
    unexplained: totalMinutes(ranges.filter((r) => !r.confirmed)),
    ranges: ranges.map((r) => ({
      from: iso(r.from),
      to: iso(r.to),
      missing: minutesIn(r),
      confirmed_empty: r.confirmed,
    })),
  }
}

function formatReport(r: GapReport): string {
  const lines = [
    `${r.market === 'spot' ? '' : `${r.market}:`}${r.symbol} ${r.from} … ${r.to}: ${r.minutes} minutes, ${r.missing} missing, ${r.unexplained} unexplained`,
  ]
  for (const g of r.ranges) {
    lines.push(
      `  ${g.from} … ${g.to}  ${String(g.missing).padStart(6)} missing${g.confirmed_empty ? '  (Binance has no data)' : ''}`,
    )
  }
  if (r.ranges.length === 0) lines.push('  complete')
  return `${lines.join('\n')}\n`
}
