/**
 * Columnar pages → a Parquet file, one row group at a time: column chunks written
 * from typed arrays by parquet-columns.ts, the footer by hyparquet-writer (the
 * choices and their measurements are in docs/PERFORMANCE.md). Runs in the export's
 * encoding thread (parquet-thread.ts). Decimals are DECIMAL(precision, scale) from
 * their unscaled integer (scaled by the database, or from the stored text through
 * integer arithmetic when wider than an int8), so every digit the database holds is
 * in the file. Times are TIMESTAMP(MICROS, UTC). Memory holds one row group and its
 * encoding.
 */
import type { ColumnChunk, RowGroup } from 'hyparquet'
import { ByteWriter, type SchemaElement } from 'hyparquet-writer'
import { writeMetadata } from 'hyparquet-writer/src/metadata.js'
import type { ColumnLane } from '../store/export-columnar.ts'
import { type DecimalShape, decimalPrecision, type ExportColumn } from '../store/export-queries.ts'
import {
  type ColumnarPage,
  type ColumnValues,
  isText,
  TextDictionary,
  type TextValues,
} from './columnar-page.ts'
import { ExportValueError } from './export-errors.ts'
import type { ExportOutput } from './export-output.ts'
import { type GroupValues, type TypedColumn, writeColumnChunk } from './parquet-columns.ts'

/**
 * Values per row group (rows × columns): 50 000 rows of the 33 columns of one feature window,
 * fewer rows when more windows make the row wider, so the encoding thread's heap holds one
 * row group whatever the windows. Small enough to keep memory flat, large enough for scans.
 */
export const ROW_GROUP_VALUES = 1_650_000

export const rowGroupRows = (columns: number) => Math.max(1_000, Math.floor(ROW_GROUP_VALUES / columns))

/** Readers (DuckDB, Arrow, Spark) stop at 38 digits. */
const MAX_PRECISION = 38

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

/** One column of a row group from its pages: the pages' values and null masks, concatenated. */
function groupColumn(pages: readonly ColumnarPage[], i: number, n: number): GroupValues {
  const nulls = pages.some((p) => p.nulls[i] !== null) ? new Uint8Array(n) : null
  let at = 0
  if (nulls)
    for (const p of pages) {
      const mask = p.nulls[i]
      if (mask) nulls.set(mask, at)
      at += p.n
    }
  const parts = pages.map((p) => p.values[i] as ColumnValues)
  const first = parts[0] as ColumnValues
  if (isText(first)) return { values: mergeText(parts as TextValues[], n), nulls }
  if (Array.isArray(first)) {
    // The bigints of a wide decimal.
    if (parts.length === 1) return { values: first, nulls }
    const list: bigint[] = new Array(n)
    let k = 0
    for (const part of parts as bigint[][])
      for (let r = 0; r < part.length; r++) list[k++] = part[r] as bigint
    return { values: list, nulls }
  }
  if (parts.length === 1) return { values: first, nulls }
  const whole = new (first.constructor as new (n: number) => TypedColumn)(n)
  at = 0
  for (const part of parts as TypedColumn[]) {
    whole.set(part as never, at)
    at += part.length
  }
  return { values: whole, nulls }
}

/** The pages' dictionaries merged into one, their codes renumbered into it. */
function mergeText(parts: readonly TextValues[], n: number): TextValues {
  if (parts.length === 1) return parts[0] as TextValues
  const merged = new TextDictionary()
  const codes = new Int32Array(n)
  let at = 0
  for (const part of parts) {
    const renumber = part.dict.map((s) => merged.code(s))
    for (let r = 0; r < part.codes.length; r++) codes[at + r] = renumber[part.codes[r] as number] ?? 0
    at += part.codes.length
  }
  return { codes, dict: merged.dict }
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

/** "PAR1", at both ends of the file. */
const MAGIC = 0x31524150

export function parquetEncoder(
  out: Pick<ExportOutput, 'write'>,
  lanes: readonly ColumnLane[],
  elements: readonly SchemaElement[],
  metadata: Record<string, string>,
  groupRows = rowGroupRows(lanes.length),
): PageEncoder {
  const writer = new OutputWriter(out)
  writer.appendUint32(MAGIC)
  const rowGroups: RowGroup[] = []
  let rows = 0n
  let pages: ColumnarPage[] = []
  let buffered = 0

  async function writeGroup(): Promise<void> {
    if (buffered === 0) return
    const n = buffered
    const group = pages
    pages = []
    buffered = 0
    const start = writer.offset
    const columns: ColumnChunk[] = lanes.map((_, i) =>
      writeColumnChunk(writer, elements[i] as SchemaElement, groupColumn(group, i, n), n),
    )
    let size = 0n
    for (const c of columns) size += c.meta_data?.total_uncompressed_size ?? 0n
    rowGroups.push({
      columns,
      total_byte_size: size,
      num_rows: BigInt(n),
      file_offset: BigInt(start),
      total_compressed_size: BigInt(writer.offset - start),
    })
    rows += BigInt(n)
    await writer.flush()
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
      writeMetadata(writer, {
        version: 2,
        created_by: 'data-feeder export',
        schema: [{ name: 'root', num_children: lanes.length }, ...elements],
        num_rows: rows,
        row_groups: rowGroups,
        key_value_metadata: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      } as never)
      writer.appendUint32(MAGIC)
      await writer.finish()
    },
  }
}
