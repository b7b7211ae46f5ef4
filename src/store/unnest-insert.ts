/**
 * Set-based batch writes: one `INSERT … SELECT FROM unnest(arrays)` per batch,
 * each column sent as a single PostgreSQL array literal built here. This is the
 * bulk path's hot loop, so it avoids the driver's generic per-element array
 * serialiser and sends timestamps as epoch milliseconds (converted, exactly, by
 * the database) instead of formatting a date string per row.
 */

export type Cell = string | number | boolean | null

export interface UnnestColumn<R> {
  readonly name: string
  /** The element type of the parameter array: `numeric`, `text`, … or `epoch_ms` for a timestamptz. */
  readonly type: string
  readonly value: (row: R) => Cell
}

/** `INSERT INTO table AS alias (cols) SELECT … FROM unnest($1::t[], …) AS u(cols)`; append the conflict clause. */
export function unnestInsertSql<R>(
  table: string,
  alias: string,
  columns: readonly UnnestColumn<R>[],
): string {
  const names = columns.map((c) => c.name).join(', ')
  const select = columns
    .map((c) =>
      c.type === 'epoch_ms' ? `timestamptz 'epoch' + u.${c.name} * interval '1 millisecond'` : `u.${c.name}`,
    )
    .join(', ')
  const params = columns.map((c, i) => `$${i + 1}::${c.type === 'epoch_ms' ? 'int8' : c.type}[]`).join(', ')
  return `INSERT INTO ${table} AS ${alias} (${names})
SELECT ${select}
FROM unnest(${params}) AS u(${names})`
}

/** The rows as one array literal per column, in column order. */
export function unnestParams<R>(rows: readonly R[], columns: readonly UnnestColumn<R>[]): string[] {
  return columns.map((c) => arrayLiteral(rows.map(c.value)))
}

/**
 * A PostgreSQL array literal. Every element is quoted, so no value can be read
 * as NULL, a separator or a nested array; `"` and `\` are escaped.
 */
export function arrayLiteral(values: readonly Cell[]): string {
  if (values.length === 0) return '{}'
  // Usual case: no NULL and nothing to escape, so one join does all the quoting.
  let plain = true
  for (const v of values) {
    if (v === null || (typeof v === 'string' && (v.includes('"') || v.includes('\\')))) {
      plain = false
      break
    }
  }
  if (plain) return `{"${values.join('","')}"}`
  return `{${values.map(element).join(',')}}`
}

function element(v: Cell): string {
  if (v === null) return 'NULL'
  const s = String(v)
  return `"${s.includes('"') || s.includes('\\') ? s.replace(/["\\]/g, '\\$&') : s}"`
}
