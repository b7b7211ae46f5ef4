/**
 * Export rows → a Parquet file, one row group at a time (hyparquet-writer; the
 * choice and its measurements are in docs/PERFORMANCE.md). Decimals are written as
 * DECIMAL(precision, scale) from their stored text through integer arithmetic only
 * (the unscaled value as a bigint), so every digit the database holds is in the file.
 * Times are TIMESTAMP(MICROS, UTC). Memory holds one row group and its encoding.
 */
import { ByteWriter, ParquetWriter, type SchemaElement } from 'hyparquet-writer'
import type { DecimalShape, ExportColumn } from '../store/export-queries.ts'
import type { ExportOutput } from './export-output.ts'

/** Rows per row group: small enough to keep memory flat, large enough for readers' scans. */
export const ROW_GROUP_ROWS = 50_000

/** Readers (DuckDB, Arrow, Spark) stop at 38 digits. */
const MAX_PRECISION = 38

export class ExportValueError extends Error {
  readonly code = 'EXPORT_VALUE'
}

/** `"-12.5"` at scale 3 → -12500n. The text is PostgreSQL's numeric output: digits, one point. */
export function unscaledDecimal(text: string, scale: number): bigint {
  const dot = text.indexOf('.')
  const decimals = dot < 0 ? 0 : text.length - dot - 1
  if (decimals > scale) throw new ExportValueError(`"${text.slice(0, 40)}" has more than ${scale} decimals`)
  const digits = dot < 0 ? text : text.slice(0, dot) + text.slice(dot + 1)
  // Checked once here rather than by a regular expression per value: BigInt rejects anything else.
  if (!/^-?\d+$/.test(digits)) throw new ExportValueError(`not a finite decimal: "${text.slice(0, 40)}"`)
  const pad = scale - decimals
  // Up to 15 digits a double holds the integer exactly, and BigInt(number) is cheaper than parsing.
  if (digits.length + pad <= 15) return BigInt(Number(digits) * 10 ** pad)
  return BigInt(digits + '0'.repeat(pad))
}

/** Bytes of a two's-complement integer holding every value of `precision` digits. */
function bytesFor(precision: number): number {
  return Math.ceil((Math.log2(10 ** precision) + 1) / 8)
}

function element(col: ExportColumn, shapes: ReadonlyMap<string, DecimalShape>): SchemaElement {
  const base = { name: col.name, repetition_type: 'OPTIONAL' } as const
  switch (col.kind) {
    case 'text':
      return { ...base, type: 'BYTE_ARRAY', converted_type: 'UTF8' }
    case 'time':
      return {
        ...base,
        type: 'INT64',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
      }
    case 'int64':
      return { ...base, type: 'INT64' }
    case 'int32':
      return { ...base, type: 'INT32' }
    case 'double':
      return { ...base, type: 'DOUBLE' }
    case 'decimal': {
      const shape = shapes.get(col.name) ?? { intDigits: 1, scale: 0 }
      const precision = Math.max(1, shape.intDigits + shape.scale)
      if (precision > MAX_PRECISION)
        throw new ExportValueError(
          `${col.name} needs ${precision} digits; Parquet readers hold ${MAX_PRECISION}`,
        )
      const dec = { converted_type: 'DECIMAL', precision, scale: shape.scale } as const
      const logical = { logical_type: { type: 'DECIMAL', precision, scale: shape.scale } } as const
      return precision <= 18
        ? { ...base, type: 'INT64', ...dec, ...logical }
        : { ...base, type: 'FIXED_LEN_BYTE_ARRAY', type_length: bytesFor(precision), ...dec, ...logical }
    }
  }
}

type Convert = (v: unknown) => unknown

function converter(col: ExportColumn, el: SchemaElement): Convert {
  const scale = el.scale ?? 0
  switch (col.kind) {
    case 'decimal':
      return (v) => (v === null ? null : unscaledDecimal(v as string, scale))
    case 'time':
    case 'int64':
      return (v) => (v === null ? null : BigInt(v as string))
    case 'int32':
    case 'double':
      return (v) => (v === null ? null : Number(v))
    case 'text':
      return (v) => v
  }
}

/** hyparquet's byte writer, emptied into the output after every row group (awaited: backpressure). */
class OutputWriter extends ByteWriter {
  private readonly out: ExportOutput

  constructor(out: ExportOutput) {
    super(1 << 20)
    this.out = out
  }

  flush(): Promise<void> {
    const bytes = new Uint8Array(this.buffer, 0, this.index)
    this.index = 0
    return this.out.write(bytes)
  }

  override finish(): Promise<void> {
    return this.flush()
  }
}

export interface RowSink {
  /** Rows as the typed page query returns them (column name → value). */
  add(rows: readonly Record<string, unknown>[]): Promise<void>
  finish(): Promise<void>
}

export function parquetSink(
  out: ExportOutput,
  cols: readonly ExportColumn[],
  shapes: ReadonlyMap<string, DecimalShape>,
  metadata: Record<string, string>,
  rowGroupRows = ROW_GROUP_ROWS,
): RowSink {
  const elements = cols.map((c) => element(c, shapes))
  const converts = cols.map((c, i) => converter(c, elements[i] as SchemaElement))
  const writer = new ParquetWriter({
    writer: new OutputWriter(out),
    schema: [{ name: 'root', num_children: cols.length }, ...elements],
    kvMetadata: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    createdBy: 'data-feeder export (hyparquet-writer)',
  })
  let columns: unknown[][] = cols.map(() => [])
  let buffered = 0

  async function writeGroup(): Promise<void> {
    if (buffered === 0) return
    const columnData = cols.map((c, i) => ({ name: c.name, data: columns[i] as unknown[] }))
    columns = cols.map(() => [])
    const n = buffered
    buffered = 0
    await writer.write({ columnData, rowGroupSize: n })
  }

  return {
    async add(rows) {
      for (const row of rows) {
        for (let i = 0; i < cols.length; i++) {
          const v = row[(cols[i] as ExportColumn).name]
          ;(columns[i] as unknown[]).push((converts[i] as Convert)(v === undefined ? null : v))
        }
        if (++buffered >= rowGroupRows) await writeGroup()
      }
    },
    async finish() {
      await writeGroup()
      await writer.finish()
    },
  }
}
