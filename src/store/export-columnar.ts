/**
 * The export's page as columns: one result row per page of minutes, each column of
 * the page one value. Numbers travel as packed big-endian binary (`int8send`,
 * `float8send`, `int4send` aggregated into one bytea), so the client copies bytes
 * instead of parsing a text value per cell; decimals of up to 18 digits arrive as
 * their binary form (`numeric_send`: base-10 000 digits, copied out with no arithmetic),
 * scaled exactly by the client.
 * Nulls travel as bit words (one int4 per row per 31 columns). Text travels as one
 * string per column, values joined by a separator no value holds (the client checks the count, so one that did would
 * fail the export rather than shift its values).
 *
 * The aggregates read the rows of one ordered subquery in one pass, so every column
 * holds the rows in the same order; the client checks that order on `open_time`.
 */
import { escapeLiteral } from 'pg'
import { type ExportColumn, exportFrom } from './export-queries.ts'

/**
 * How a column's values travel: packed int8, float8 or int4, a timestamptz as its
 * binary form (int8 microseconds since 2000-01-01, cheaper than `extract(epoch …)`),
 * a numeric as its binary form (variable length, self-delimiting), or a text array.
 * None depends on the range's decimal shapes, so pages can be read while they are measured.
 */
export type Lane = 'i64' | 'ts' | 'f64' | 'i32' | 'num' | 'text'

export interface ColumnLane {
  readonly col: ExportColumn
  readonly lane: Lane
}

export interface ColumnarQuery {
  /** Params: market, symbol, first and last minute of the page. */
  readonly text: string
  readonly lanes: readonly ColumnLane[]
}

/** Null bits per word: an int4 holds 31 without touching the sign. */
export const NULL_BITS = 31

/** Between the text values of a column (ASCII record separator). */
export const TEXT_SEPARATOR = '\x1e'

function laneOf(col: ExportColumn): { lane: Lane; sql: string } {
  switch (col.kind) {
    case 'time':
      return { lane: 'ts', sql: `(${col.sql})::timestamptz` }
    case 'int64':
      return { lane: 'i64', sql: `(${col.sql})::int8` }
    case 'int32':
      return { lane: 'i32', sql: `(${col.sql})::int4` }
    case 'double':
      return { lane: 'f64', sql: `(${col.sql})::float8` }
    case 'text':
      return { lane: 'text', sql: `(${col.sql})::text` }
    case 'decimal':
      return { lane: 'num', sql: `(${col.sql})::numeric` }
  }
}

const SEND = {
  i64: 'int8send',
  ts: 'timestamptz_send',
  f64: 'float8send',
  i32: 'int4send',
  num: 'numeric_send',
} as const
/** What a null is sent as (its bit in the null word says it is null). */
const ZERO = { i64: '0', ts: "'2000-01-01Z'", f64: '0', i32: '0', num: '0' } as const

export function exportColumnarQuery(
  cols: readonly ExportColumn[],
  windows: readonly number[],
): ColumnarQuery {
  for (const w of windows) if (!Number.isInteger(w) || w <= 0) throw new Error(`not a window: ${w}`)
  const lanes = cols.map((col) => ({ col, ...laneOf(col) }))
  const inner = lanes.map((l, i) => `${l.sql} AS v${i}`)
  const outer = ['count(*)::int AS n']
  lanes.forEach((l, i) => {
    outer.push(
      l.lane === 'text'
        ? `string_agg(coalesce(v${i}, ''), chr(30)) AS c${i}`
        : `string_agg(${SEND[l.lane]}(coalesce(v${i}, ${ZERO[l.lane]})), ''::bytea) AS c${i}`,
    )
  })
  for (let w = 0; w * NULL_BITS < lanes.length; w++) {
    const bits = lanes
      .map((_, i) => i)
      .slice(w * NULL_BITS, (w + 1) * NULL_BITS)
      .map((col, b) => `((v${col} IS NULL)::int4 << ${b})`)
    outer.push(`string_agg(int4send(${bits.join(' | ')}), ''::bytea) AS z${w}`)
  }
  return {
    text: `SELECT ${outer.join(',\n  ')}\n FROM (SELECT ${inner.join(',\n    ')}\n  ${exportFrom(windows)}) page`,
    lanes: lanes.map(({ col, lane }) => ({ col, lane })),
  }
}

/**
 * The whole range as one `COPY … TO STDOUT (FORMAT binary)` (PostgreSQL): every value in its
 * binary form, one row per minute, no aggregation. COPY takes no parameters, so market,
 * symbol and the range are written into the statement as quoted literals.
 */
export function exportCopyQuery(
  cols: readonly ExportColumn[],
  windows: readonly number[],
  range: { market: string; symbol: string; from: number; to: number },
): ColumnarQuery & { readonly select: string } {
  for (const w of windows) if (!Number.isInteger(w) || w <= 0) throw new Error(`not a window: ${w}`)
  const lanes = cols.map((col) => ({ col, ...laneOf(col) }))
  const literals = [
    escapeLiteral(range.market),
    escapeLiteral(range.symbol),
    escapeLiteral(new Date(range.from).toISOString()),
    escapeLiteral(new Date(range.to).toISOString()),
  ]
  const select = `SELECT ${lanes.map((l) => l.sql).join(',\n    ')}\n  ${exportFrom(windows)}`
  // One pass over text that is all ours (no literal yet): each $n becomes its literal once.
  const bound = select.replace(/\$([1-4])(?![0-9])/g, (_, n: string) => literals[Number(n) - 1] as string)
  return {
    text: `COPY (${bound}) TO STDOUT (FORMAT binary)`,
    select: bound,
    lanes: lanes.map(({ col, lane }) => ({ col, lane })),
  }
}
