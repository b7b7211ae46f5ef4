/**
 * Columnar pages → a Parquet file, one row group at a time (hyparquet-writer; the
 * choice and its measurements are in docs/PERFORMANCE.md). Runs in the export's
 * encoding thread (parquet-thread.ts). Decimals are DECIMAL(precision, scale) from
 * their unscaled integer (scaled by the database, or from the stored text through
 * integer arithmetic when wider than an int8), so every digit the database holds is
 * in the file. Times are TIMESTAMP(MICROS, UTC). Memory holds one row group and its
 * encoding.
 */
import { gzipSync } from 'node:zlib'
import { ByteWriter, ParquetWriter, type SchemaElement } from 'hyparquet-writer'
import type { ColumnLane } from '../store/export-columnar.ts'
import { type DecimalShape, decimalPrecision, type ExportColumn } from '../store/export-queries.ts'
import type { ColumnarPage, ColumnValues } from './columnar-page.ts'
import type { ExportOutput } from './export-output.ts'

/**
 * Pages are compressed with GZIP at level 1 by node:zlib (native): measured against
 * hyparquet-writer's own SNAPPY (JavaScript) it costs the encoding thread less CPU and
 * gives smaller files; every Parquet reader reads GZIP (docs/PERFORMANCE.md).
 */
const gzipPage = (bytes: Uint8Array): Uint8Array => new Uint8Array(gzipSync(bytes, { level: 1 }))

/**
 * Values per row group (rows × columns): 50 000 rows of the 33 columns of one feature window,
 * fewer rows when more windows make the row wider, so the encoding thread's heap holds one
 * row group whatever the windows. Small enough to keep memory flat, large enough for scans.
 */
export const ROW_GROUP_VALUES = 1_650_000

export const rowGroupRows = (columns: number) => Math.max(1_000, Math.floor(ROW_GROUP_VALUES / columns))

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
      if (shape.nonFinite)
        throw new ExportValueError(`not a finite decimal: "${shape.nonFinite}" in ${col.name}`)
      const precision = decimalPrecision(shape)
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

/** Nulls of one column over a row group's pages, written into `values` (an array of the group's rows). */
function setNulls(values: unknown[], pages: readonly ColumnarPage[], i: number): void {
  let at = 0
  for (const p of pages) {
    const mask = p.nulls[i]
    if (mask) for (let r = 0; r < p.n; r++) if (mask[r] === 1) values[at + r] = null
    at += p.n
  }
}

/** One column of a row group from its pages: typed while it has no null, boxed with nulls otherwise. */
function groupColumn(
  pages: readonly ColumnarPage[],
  i: number,
  n: number,
  decimalText: number | null,
): unknown[] | ColumnValues {
  const parts = pages.map((p) => p.values[i] as ColumnValues)
  const hasNull = pages.some((p) => p.nulls[i] !== null)
  if (Array.isArray(parts[0])) {
    const texts = parts.length === 1 ? (parts[0] as unknown[]) : (parts as unknown[][]).flat()
    if (hasNull) setNulls(texts, pages, i)
    if (decimalText === null) return texts
    return texts.map((v) => (v === null ? null : unscaledDecimal(v as string, decimalText)))
  }
  let typed = parts[0] as Exclude<ColumnValues, unknown[]>
  if (parts.length > 1) {
    const whole = new (typed.constructor as new (n: number) => typeof typed)(n)
    let at = 0
    for (const part of parts as (typeof typed)[]) {
      whole.set(part as never, at)
      at += part.length
    }
    typed = whole
  }
  if (!hasNull) return typed
  const boxed: unknown[] = Array.from(typed as ArrayLike<unknown>)
  setNulls(boxed, pages, i)
  return boxed
}

/** hyparquet's byte writer, emptied into the output after every row group (awaited: backpressure). */
class OutputWriter extends ByteWriter {
  private readonly out: Pick<ExportOutput, 'write'>

  constructor(out: Pick<ExportOutput, 'write'>) {
    super(1 << 20)
    this.out = out
  }

  flush(): Promise<void> {
    // A copy: the buffer is reused, and the bytes may be handed to another thread.
    const bytes = new Uint8Array(this.buffer.slice(0, this.index))
    this.index = 0
    return this.out.write(bytes)
  }

  override finish(): Promise<void> {
    return this.flush()
  }
}

/** Columnar pages in, a Parquet file out (one row group per `rowGroupRows` minutes). */
export interface PageEncoder {
  addPage(page: ColumnarPage): Promise<void>
  finish(): Promise<void>
}

/** The schema of the file: throws (EXPORT_VALUE) for a decimal no Parquet reader holds. */
export function parquetSchema(
  lanes: readonly ColumnLane[],
  shapes: ReadonlyMap<string, DecimalShape>,
): SchemaElement[] {
  return lanes.map((l) => element(l.col, shapes))
}

export function parquetEncoder(
  out: Pick<ExportOutput, 'write'>,
  lanes: readonly ColumnLane[],
  elements: readonly SchemaElement[],
  metadata: Record<string, string>,
  groupRows = rowGroupRows(lanes.length),
): PageEncoder {
  // Decimals too wide for an int8 arrive as text, turned into their unscaled bigint here.
  const decimalText = lanes.map((l, i) =>
    l.lane === 'text' && l.col.kind === 'decimal' ? ((elements[i] as SchemaElement).scale ?? 0) : null,
  )
  const writer = new ParquetWriter({
    writer: new OutputWriter(out),
    schema: [{ name: 'root', num_children: lanes.length }, ...elements],
    kvMetadata: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    createdBy: 'data-feeder export (hyparquet-writer)',
    codec: 'GZIP',
    compressors: { GZIP: gzipPage },
  })
  let pages: ColumnarPage[] = []
  let buffered = 0

  async function writeGroup(): Promise<void> {
    if (buffered === 0) return
    const n = buffered
    const group = pages
    pages = []
    buffered = 0
    const columnData = lanes.map((l, i) => ({
      name: l.col.name,
      data: groupColumn(group, i, n, decimalText[i] ?? null) as unknown[],
    }))
    await writer.write({ columnData, rowGroupSize: n })
  }

  return {
    async addPage(page) {
      if (page.n === 0) return
      pages.push(page)
      buffered += page.n
      if (buffered >= groupRows) await writeGroup()
    },
    async finish() {
      await writeGroup()
      await writer.finish()
    },
  }
}
