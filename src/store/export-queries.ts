/**
 * The SQL of `data-feeder export`: one row per minute of a range, built by the
 * database from `minute_coverage()` (every minute, with its status), the candle,
 * and one feature_cache row per window. Read a page of minutes at a time (keyset
 * on open_time), so neither the client nor PGlite's worker ever holds the range.
 *
 * Two projections of the same rows: one CSV line per minute formatted by the
 * database (the client only passes text through), here; or the page as packed
 * columns for the Parquet writer, in export-columnar.ts.
 */
import type { Queryable } from './db.ts'

/** What a column holds (how it travels is the projection's business). */
export type ExportKind = 'text' | 'time' | 'decimal' | 'int64' | 'int32' | 'double'

export interface ExportColumn {
  readonly name: string
  readonly kind: ExportKind
  /** Over the aliases m (minute_coverage), c (candles_1m), f<window> (feature_cache). */
  readonly sql: string
}

const DECIMALS = ['open', 'high', 'low', 'close', 'volume', 'quote_volume'] as const
const FEATURES = [
  ['close_zscore', 'double'],
  ['close_minmax', 'double'],
  ['volume_zscore', 'double'],
  ['volume_minmax', 'double'],
  ['window_count', 'int32'],
] as const

/** The export's columns, in file order, for the given feature windows. */
export function exportColumns(windows: readonly number[], hasQuoteTime: boolean): ExportColumn[] {
  const c = (name: string, kind: ExportKind, sql = `c.${name}`): ExportColumn => ({ name, kind, sql })
  return [
    c('market', 'text', '$1::text'),
    c('symbol', 'text', '$2::text'),
    c('open_time', 'time', 'm.open_time'),
    c('close_time', 'time', "m.open_time + interval '59.999 seconds'"),
    ...DECIMALS.map((n) => c(n, 'decimal')),
    c('trades', 'int64'),
    c('taker_buy_base', 'decimal'),
    c('taker_buy_quote', 'decimal'),
    // A minute without trades has null ids; rows TimescaleDB kept compressed may still hold -1.
    c('first_trade_id', 'int64', 'nullif(c.first_trade_id, -1)'),
    c('last_trade_id', 'int64', 'nullif(c.last_trade_id, -1)'),
    c('taker_buy_ratio', 'double'),
    c('range_bps', 'double'),
    c('bid', 'decimal'),
    c('bid_qty', 'decimal'),
    c('ask', 'decimal'),
    c('ask_qty', 'decimal'),
    c('mid_price', 'decimal'),
    c('spread_bps', 'double'),
    c('quote_time', 'time', hasQuoteTime ? 'c.quote_time' : 'NULL::timestamptz'),
    ...windows.flatMap((w) => FEATURES.map(([f, kind]) => c(`${f}_${w}`, kind, `f${w}.${f}`))),
    c('status', 'text', 'm.status'),
    c('source', 'text', 'm.source'),
    c('ingested_at', 'time', 'm.ingested_at'),
  ]
}

export const exportDecimalColumns = (cols: readonly ExportColumn[]) =>
  cols.filter((c) => c.kind === 'decimal')

/**
 * Column as CSV text: decimals and doubles as PostgreSQL prints them, times in ISO-8601 UTC
 * (`2024-01-01T00:00:59.999Z`). PostgreSQL's own timestamp output costs half of to_char's,
 * and is ISO when DateStyle is (the default); `isoDateStyle` false takes to_char.
 */
function csvText(col: ExportColumn, isoDateStyle: boolean): string {
  const utc = `(${col.sql}) AT TIME ZONE 'UTC'`
  const e =
    col.kind !== 'time'
      ? `(${col.sql})::text`
      : isoDateStyle
        ? `replace((${utc})::text, ' ', 'T') || 'Z'`
        : `to_char(${utc}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
  return `coalesce(${e}, '')`
}

/**
 * The rows of a page, ordered by minute (shared by every projection). Each joined table
 * is bounded to the page's range as well as matched by minute: with the bound the planner
 * merge-joins two range scans, without it it looks each minute up through an index (the
 * page query then cost the database about twice the CPU, measured: docs/PERFORMANCE.md).
 */
export function exportFrom(windows: readonly number[]): string {
  const page = (t: string) => `${t}.open_time BETWEEN $3::timestamptz AND $4::timestamptz`
  const joins = windows.map(
    (w) =>
      `LEFT JOIN feature_cache f${w} ON f${w}.market = $1 AND f${w}.symbol = $2 AND f${w}.open_time = m.open_time AND f${w}.window_size = ${w} AND ${page(`f${w}`)}`,
  )
  return `FROM minute_coverage($1, $2, $3::timestamptz, $4::timestamptz + interval '1 minute') m
    LEFT JOIN candles_1m c ON c.market = $1 AND c.symbol = $2 AND c.open_time = m.open_time AND ${page('c')}
    ${joins.join('\n    ')}
    WHERE ${page('m')}
    ORDER BY m.open_time`
}

export interface ExportPageQuery {
  /** Params: market, symbol, first and last minute of the page. */
  readonly text: string
}

/** Windows are validated whole numbers: they are written into the statement (one join each). */
export function exportPageQuery(cols: readonly ExportColumn[], windows: readonly number[], isoDates = true) {
  for (const w of windows) if (!Number.isInteger(w) || w <= 0) throw new Error(`not a window: ${w}`)
  const select = `concat_ws(',', ${cols.map((c) => csvText(c, isoDates)).join(', ')}) AS line`
  return { text: `SELECT ${select}\n  ${exportFrom(windows)}` } satisfies ExportPageQuery
}

export function csvHeader(cols: readonly ExportColumn[]): string {
  return cols.map((c) => c.name).join(',')
}

const iso = (t: number) => new Date(t).toISOString()

export async function hasQuoteTimeColumn(db: Queryable): Promise<boolean> {
  const r = await db.query(
    `SELECT 1 FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'candles_1m' AND column_name = 'quote_time'`,
  )
  return r.rows.length > 0
}

/** Whether PostgreSQL prints timestamps as ISO-8601 (DateStyle ISO, the default). */
export async function isoDateStyle(db: Queryable): Promise<boolean> {
  const r = await db.query<{ iso: boolean }>(`SELECT current_setting('DateStyle') LIKE 'ISO%' AS iso`)
  return r.rows[0]?.iso === true
}

export async function symbolStored(db: Queryable, market: string, symbol: string): Promise<boolean> {
  const r = await db.query('SELECT 1 FROM candles_1m WHERE market = $1 AND symbol = $2 LIMIT 1', [
    market,
    symbol,
  ])
  return r.rows.length > 0
}

/** A decimal column's widest value over the range: digits before and after the point. */
export interface DecimalShape {
  readonly intDigits: number
  readonly scale: number
  /** A stored value that is no number (`NaN`, `Infinity`), if the range holds one. */
  readonly nonFinite?: string | null
}

/** Digits of the DECIMAL(precision, scale) that holds every value of the shape. */
export const decimalPrecision = (shape: DecimalShape) => Math.max(1, shape.intDigits + shape.scale)

/** Digits before the point of a numeric's text (`-0.5` → 1, `NaN` → 3; null → 1). */
function intDigits(text: unknown): number {
  if (typeof text !== 'string') return 1
  const whole = text.replace('-', '').split('.')[0] ?? ''
  return Math.max(1, whole.length)
}

/** One pass over the range's candles: the DECIMAL(precision, scale) each column needs. */
export async function decimalShapes(
  db: Queryable,
  cols: readonly ExportColumn[],
  market: string,
  symbol: string,
  from: number,
  to: number,
): Promise<Map<string, DecimalShape>> {
  const decimals = exportDecimalColumns(cols)
  const parts = decimals.flatMap((c, i) => [
    `coalesce(max(scale(${c.sql})), 0) AS s${i}`,
    // The widest integer part is that of the largest or the smallest value: two comparisons per
    // row instead of a text conversion (measured: 1 M minutes 3.6–4.4 s before).
    `max(${c.sql})::text AS h${i}`,
    `min(${c.sql})::text AS l${i}`,
    `min((${c.sql})::text) FILTER (WHERE ${c.sql} IS NOT NULL AND scale(${c.sql}) IS NULL) AS n${i}`,
  ])
  const r = await db.query<Record<string, number | string>>(
    `SELECT ${parts.join(', ')} FROM candles_1m c
      WHERE c.market = $1 AND c.symbol = $2 AND c.open_time BETWEEN $3::timestamptz AND $4::timestamptz`,
    [market, symbol, iso(from), iso(to)],
  )
  const row = r.rows[0] ?? {}
  return new Map(
    decimals.map((c, i) => [
      c.name,
      {
        intDigits: Math.max(intDigits(row[`h${i}`]), intDigits(row[`l${i}`])),
        scale: Number(row[`s${i}`] ?? 0),
        nonFinite: (row[`n${i}`] as string | undefined) ?? null,
      },
    ]),
  )
}

/** A run of consecutive minutes with the same status. */
export interface StatusRun {
  readonly status: string
  readonly from: number
  readonly to: number
  readonly minutes: number
}

/** The minutes that are neither stored nor confirmed empty: totals by status, and the first runs. */
export async function incompleteMinutes(
  db: Queryable,
  market: string,
  symbol: string,
  from: number,
  to: number,
  maxRuns = 10,
): Promise<{ totals: Map<string, number>; runs: StatusRun[] }> {
  const params = [market, symbol, iso(from), iso(to)]
  const runs = await db.query<{ status: string; a: Date; b: Date; n: string }>(
    `SELECT status, min(open_time) AS a, max(open_time) AS b, count(*) AS n FROM (
       SELECT status, open_time,
              open_time - row_number() OVER (PARTITION BY status ORDER BY open_time) * interval '1 minute' AS grp
         FROM minute_coverage($1, $2, $3::timestamptz, $4::timestamptz + interval '1 minute')
        WHERE status IN ('missing', 'in_progress') AND open_time BETWEEN $3::timestamptz AND $4::timestamptz
     ) s GROUP BY status, grp ORDER BY a LIMIT ${maxRuns}`,
    params,
  )
  const totals = await db.query<{ status: string; n: string }>(
    `SELECT status, count(*) AS n FROM minute_coverage($1, $2, $3::timestamptz, $4::timestamptz + interval '1 minute')
      WHERE status IN ('missing', 'in_progress') AND open_time BETWEEN $3::timestamptz AND $4::timestamptz
      GROUP BY status`,
    params,
  )
  return {
    totals: new Map(totals.rows.map((r) => [r.status, Number(r.n)])),
    runs: runs.rows.map((r) => ({
      status: r.status,
      from: r.a.getTime(),
      to: r.b.getTime(),
      minutes: Number(r.n),
    })),
  }
}
