/**
 * Reads over the SQL function minute_coverage (migrations 010, 013): the account of
 * every minute of a symbol — stored, confirmed empty by Binance, missing, or
 * still in progress — with the candle's provenance and its feature windows.
 *
 * Every helper asks the database for one symbol's (or a few symbols') range in
 * one statement and lets SQL do the counting: a year is 525 600 minutes, and
 * only what a reader shows (counts, runs of one status) comes back.
 */
import type { Db, Queryable } from './db.ts'

export type CoverageStatus = 'stored' | 'confirmed_empty' | 'missing' | 'in_progress'

export interface CoverageRow {
  readonly openTime: number
  readonly status: CoverageStatus
  readonly source: string | null
  readonly ingestedAt: number | null
  readonly featureWindows: number[]
}

/** The database's default grace: GAP_DETECTION_THRESHOLD's default, 70 s. */
export const DEFAULT_COVERAGE_GRACE_MS = 70_000

/** One symbol's minutes with open time in [from, to) (ms; from is rounded up to a whole minute). */
export interface CoverageRange {
  readonly market: string
  readonly symbol: string
  readonly from: number
  readonly to: number
  /** How long after its close a minute without a candle counts as missing; default 70 s. */
  readonly graceMs?: number
}

const iso = (ms: number): string => new Date(ms).toISOString()
const interval = (ms: number): string => `${ms / 1000} seconds`
const args = (r: CoverageRange): unknown[] => [
  r.market,
  r.symbol,
  iso(r.from),
  iso(r.to),
  interval(r.graceMs ?? DEFAULT_COVERAGE_GRACE_MS),
]

/** Every minute of [from, to) — for short ranges (tests, one page); longer ones use the summaries below. */
export async function minuteCoverage(db: Queryable, range: CoverageRange): Promise<CoverageRow[]> {
  const r = await db.query<{
    open_time: Date
    status: CoverageStatus
    source: string | null
    ingested_at: Date | null
    feature_windows: number[]
  }>(
    `SELECT open_time, status, source, ingested_at, feature_windows
       FROM minute_coverage($1, $2, $3::timestamptz, $4::timestamptz, $5::interval)`,
    args(range),
  )
  return r.rows.map((row) => ({
    openTime: row.open_time.getTime(),
    status: row.status,
    source: row.source,
    ingestedAt: row.ingested_at?.getTime() ?? null,
    featureWindows: row.feature_windows,
  }))
}

export interface StatusRange {
  readonly status: Exclude<CoverageStatus, 'stored'>
  /** Open time (ms) of the first and the last minute of the run, both inclusive. */
  readonly from: number
  readonly to: number
  readonly minutes: number
}

export interface CoverageSummary {
  readonly minutes: number
  readonly stored: number
  readonly confirmedEmpty: number
  readonly missing: number
  readonly inProgress: number
  /** Runs of minutes without a candle, oldest first, one status each. */
  readonly ranges: StatusRange[]
}

/**
 * Counts per status over [from, to) and the runs of minutes without a candle.
 * The runs are islands (open_time minus its rank within its status), computed in
 * SQL over the minutes without a candle only.
 */
export async function coverageSummary(db: Queryable, range: CoverageRange): Promise<CoverageSummary> {
  const r = await db.query<{
    status: CoverageStatus
    first: Date | null
    last: Date | null
    minutes: number
  }>(
    `WITH m AS (
       SELECT open_time, status FROM minute_coverage($1, $2, $3::timestamptz, $4::timestamptz, $5::interval)
     ), holes AS (
       SELECT status, open_time,
              open_time - (row_number() OVER (PARTITION BY status ORDER BY open_time)) * interval '1 minute' AS island
         FROM m WHERE status <> 'stored'
     )
     SELECT 'stored' AS status, NULL::timestamptz AS first, NULL::timestamptz AS last,
            count(*) FILTER (WHERE status = 'stored')::int AS minutes
       FROM m
     UNION ALL
     SELECT status, min(open_time), max(open_time), count(*)::int FROM holes GROUP BY status, island
     ORDER BY 2 NULLS FIRST`,
    args(range),
  )
  const ranges: StatusRange[] = []
  let stored = 0
  for (const row of r.rows) {
    if (row.status === 'stored') stored = row.minutes
    else if (row.first !== null && row.last !== null)
      ranges.push({
        status: row.status,
        from: row.first.getTime(),
        to: row.last.getTime(),
        minutes: row.minutes,
      })
  }
  const count = (s: StatusRange['status']) =>
    ranges.filter((x) => x.status === s).reduce((n, x) => n + x.minutes, 0)
  const confirmedEmpty = count('confirmed_empty')
  const missing = count('missing')
  const inProgress = count('in_progress')
  return {
    minutes: stored + confirmedEmpty + missing + inProgress,
    stored,
    confirmedEmpty,
    missing,
    inProgress,
    ranges,
  }
}

/** The number of missing minutes of each symbol over its own [from, to). Symbols are upper-cased. */
export async function missingMinutes(
  db: Queryable,
  market: string,
  windows: readonly { readonly symbol: string; readonly from: number; readonly to: number }[],
  graceMs: number = DEFAULT_COVERAGE_GRACE_MS,
): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  const valid = windows.filter((w) => w.to > w.from)
  for (const w of windows) out.set(w.symbol.toUpperCase(), 0)
  if (valid.length === 0) return out
  const r = await db.query<{ symbol: string; missing: number }>(
    `SELECT w.symbol, count(mc.open_time)::int AS missing
       FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[]) AS w(symbol, lo, hi)
       LEFT JOIN LATERAL minute_coverage($1, w.symbol, w.lo, w.hi, $5::interval) mc ON mc.status = 'missing'
      GROUP BY w.symbol`,
    [
      market,
      valid.map((w) => w.symbol.toUpperCase()),
      valid.map((w) => iso(w.from)),
      valid.map((w) => iso(w.to)),
      interval(graceMs),
    ],
  )
  for (const row of r.rows) out.set(row.symbol, row.missing)
  return out
}

/**
 * Runs `fn` in a transaction with JIT compilation off. A long range (a year) costs
 * enough for PostgreSQL to JIT-compile the plan, and on TimescaleDB that means
 * every chunk's expressions: seconds of compiling for a query that runs in less.
 */
export function withoutJit<T>(db: Db, fn: (q: Queryable) => Promise<T>): Promise<T> {
  return db.tx(async (q) => {
    await q.query('SET LOCAL jit = off')
    return fn(q)
  })
}
