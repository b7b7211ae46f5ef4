/**
 * One Parquet column chunk straight from a row group's typed arrays: one DATA_PAGE_V2
 * per chunk, definition levels run-length encoded, values PLAIN (an INT64, INT32 or
 * DOUBLE column's little-endian typed array already is its PLAIN encoding, so the
 * page is a copy), text dictionary-encoded, wide decimals as FIXED_LEN_BYTE_ARRAY.
 * Min/max statistics come from a scan of the typed array. Thrift page headers, the
 * run-length hybrid encoding and the footer are hyparquet-writer's own.
 *
 * Why not hyparquet-writer's column writer: it takes one JavaScript value per cell
 * (a bigint object per INT64), checks, samples and encodes them one by one, and that
 * bounded the export at a third of `psql \copy` (docs/PERFORMANCE.md).
 */
import { gzipSync } from 'node:zlib'
import type { ColumnChunk, SchemaElement } from 'hyparquet'
import { ByteWriter } from 'hyparquet-writer'
import { writePageHeader } from 'hyparquet-writer/src/datapage.js'
import { writeRleBitPackedHybrid } from 'hyparquet-writer/src/encoding.js'
import { isText, type TextValues } from './columnar-page.ts'
import { int64Statistics, numberStatistics, type Statistics, textStatistics } from './parquet-statistics.ts'

export type TypedColumn = BigInt64Array | Float64Array | Int32Array

/**
 * A row group's values of one column: typed (0 where null), text as dictionary codes, or the
 * unscaled bigints of a decimal too wide for an int8 (0n where null).
 */
export interface GroupValues {
  readonly values: TypedColumn | TextValues | readonly bigint[]
  /** 1 where the value is null; null when the column has none in this row group. */
  readonly nulls: Uint8Array | null
}

/**
 * Pages are compressed with GZIP at level 1 by node:zlib (native): measured against
 * hyparquet-writer's own SNAPPY (JavaScript) it costs less CPU and gives smaller files;
 * every Parquet reader reads GZIP (docs/PERFORMANCE.md).
 */
const gzip = (bytes: Uint8Array): Uint8Array => gzipSync(bytes, { level: 1 })

const PROBE_BYTES = 16 * 1024

/**
 * Whether GZIP earns its CPU on a data page: its first 16 KB must shrink to four fifths or less.
 * Columns of noisy doubles (z-scores, ratios) and wide noisy decimals do not, and deflate runs
 * slowest on exactly those (≈ 46 MB/s against ≈ 200 MB/s on prices, measured; a column that
 * shrank to 0.88 cost 4.5× the CPU of one that shrank to 0.23); such a page is stored as it is.
 */
function worthCompressing(page: Uint8Array): boolean {
  if (page.length <= PROBE_BYTES) return true
  return gzip(page.subarray(0, PROBE_BYTES)).length <= PROBE_BYTES * 0.8
}

/** Text columns with more distinct values than this are written PLAIN instead of by dictionary. */
const MAX_DICTIONARY = 4096

const encoder = new TextEncoder()

/** Definition levels of an OPTIONAL flat column (1 present, 0 null), run-length hybrid, bit width 1. */
function writeLevels(out: ByteWriter, n: number, nulls: Uint8Array | null): number {
  const start = out.offset
  if (nulls === null) {
    // One run of n present values: the header varint (n << 1), then the value in one byte.
    out.appendVarInt(n * 2)
    out.appendUint8(1)
  } else {
    const levels = new Uint8Array(n)
    for (let r = 0; r < n; r++) levels[r] = 1 - (nulls[r] as number)
    writeRleBitPackedHybrid(out, levels, 1)
  }
  return out.offset - start
}

/** The non-null values of a typed column (the column itself when none is null). */
function present<T extends TypedColumn>(values: T, nulls: Uint8Array | null, nullCount: number): T {
  if (nulls === null || nullCount === 0) return values
  const out = new (values.constructor as new (n: number) => T)(values.length - nullCount)
  let at = 0
  for (let r = 0; r < values.length; r++) if (nulls[r] === 0) out[at++] = values[r] as never
  return out
}

function countNulls(nulls: Uint8Array | null, n: number): number {
  if (nulls === null) return 0
  let count = 0
  for (let r = 0; r < n; r++) count += nulls[r] as number
  return count
}

/** Two's complement, big-endian, `width` bytes: Parquet's FIXED_LEN_BYTE_ARRAY decimal. */
function fixedBytes(value: bigint, width: number, into: Uint8Array, at: number): void {
  let v = BigInt.asUintN(width * 8, value)
  for (let b = width - 1; b >= 0; b--) {
    into[at + b] = Number(v & 0xffn)
    v >>= 8n
  }
}

interface Encoded {
  readonly encoding: 'PLAIN' | 'RLE_DICTIONARY'
  readonly page: Uint8Array
  readonly statistics: Statistics
  /** PLAIN-encoded dictionary and its size, for a dictionary-encoded column. */
  readonly dictionary?: { readonly bytes: Uint8Array; readonly count: number }
}

function plainStrings(strings: readonly string[]): Uint8Array {
  const parts = strings.map((s) => encoder.encode(s))
  let size = 0
  for (const p of parts) size += 4 + p.length
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  let at = 0
  for (const p of parts) {
    view.setUint32(at, p.length, true)
    out.set(p, at + 4)
    at += 4 + p.length
  }
  return out
}

function encodeText(text: TextValues, nulls: Uint8Array | null, nullCount: number): Encoded {
  // The page's dictionary holds only the values of present rows, renumbered in order of use.
  const renumber = new Int32Array(text.dict.length).fill(-1)
  const distinct: string[] = []
  const index = new Int32Array(text.codes.length - nullCount)
  let at = 0
  for (let r = 0; r < text.codes.length; r++) {
    if (nulls !== null && nulls[r] === 1) continue
    const code = text.codes[r] as number
    let id = renumber[code] as number
    if (id < 0) {
      id = distinct.push(text.dict[code] as string) - 1
      renumber[code] = id
    }
    index[at++] = id
  }
  const statistics = textStatistics(distinct, nullCount)
  if (distinct.length > MAX_DICTIONARY) {
    const dense = Array.from(index, (id) => distinct[id] as string)
    return { encoding: 'PLAIN', page: plainStrings(dense), statistics }
  }
  const bitWidth = Math.max(1, Math.ceil(Math.log2(distinct.length)))
  const page = new ByteWriter(1 << 16)
  page.appendUint8(bitWidth)
  writeRleBitPackedHybrid(page, index, bitWidth)
  return {
    encoding: 'RLE_DICTIONARY',
    page: page.getBytes(),
    statistics,
    dictionary: { bytes: plainStrings(distinct), count: distinct.length },
  }
}

function encodeFixed(
  values: readonly bigint[],
  nulls: Uint8Array | null,
  nullCount: number,
  element: SchemaElement,
): Encoded {
  const width = element.type_length ?? 16
  const out = new Uint8Array((values.length - nullCount) * width)
  let min: bigint | undefined
  let max: bigint | undefined
  let at = 0
  for (let r = 0; r < values.length; r++) {
    if (nulls !== null && nulls[r] === 1) continue
    const v = values[r] as bigint
    if (min === undefined || v < min) min = v
    if (max === undefined || v > max) max = v
    fixedBytes(v, width, out, at)
    at += width
  }
  const statistics: Statistics = { null_count: BigInt(nullCount) }
  if (min !== undefined && max !== undefined) {
    statistics.min_value = min
    statistics.max_value = max
  }
  return { encoding: 'PLAIN', page: out, statistics }
}

function encodeTyped(values: TypedColumn, nulls: Uint8Array | null, nullCount: number): Encoded {
  const dense = present(values, nulls, nullCount)
  const page = new Uint8Array(dense.buffer, dense.byteOffset, dense.byteLength)
  if (!(dense instanceof BigInt64Array))
    return { encoding: 'PLAIN', page, statistics: numberStatistics(dense, nullCount) }
  return { encoding: 'PLAIN', page, statistics: int64Statistics(dense, nullCount) }
}

/**
 * Writes one column chunk of `n` rows at the writer's position and returns its metadata
 * for the footer. `element` is the column's schema element (OPTIONAL, flat).
 */
export function writeColumnChunk(
  out: ByteWriter,
  element: SchemaElement,
  column: GroupValues,
  n: number,
): ColumnChunk {
  const start = out.offset
  const nullCount = countNulls(column.nulls, n)
  const v = column.values
  const encoded = isText(v as never)
    ? encodeText(v as TextValues, column.nulls, nullCount)
    : Array.isArray(v)
      ? encodeFixed(v as readonly bigint[], column.nulls, nullCount, element)
      : encodeTyped(v as TypedColumn, column.nulls, nullCount)
  let uncompressed = 0
  let dictionaryOffset: bigint | undefined
  if (encoded.dictionary) {
    dictionaryOffset = BigInt(out.offset)
    const body = gzip(encoded.dictionary.bytes)
    const headerStart = out.offset
    writePageHeader(out, {
      type: 'DICTIONARY_PAGE',
      uncompressed_page_size: encoded.dictionary.bytes.length,
      compressed_page_size: body.length,
      dictionary_page_header: { num_values: encoded.dictionary.count, encoding: 'PLAIN' },
    })
    uncompressed += out.offset - headerStart + encoded.dictionary.bytes.length
    out.appendBytes(body)
  }
  const dataOffset = BigInt(out.offset)
  const levels = new ByteWriter(64)
  const levelBytes = writeLevels(levels, n, column.nulls)
  const compressed = worthCompressing(encoded.page)
  const body = compressed ? gzip(encoded.page) : encoded.page
  const headerStart = out.offset
  writePageHeader(out, {
    type: 'DATA_PAGE_V2',
    uncompressed_page_size: levelBytes + encoded.page.length,
    compressed_page_size: levelBytes + body.length,
    data_page_header_v2: {
      num_values: n,
      num_nulls: nullCount,
      num_rows: n,
      encoding: encoded.encoding,
      definition_levels_byte_length: levelBytes,
      repetition_levels_byte_length: 0,
      is_compressed: compressed,
    },
  })
  uncompressed += out.offset - headerStart + levelBytes + encoded.page.length
  out.appendBytes(levels.getBytes())
  out.appendBytes(body)
  return {
    file_offset: BigInt(start),
    meta_data: {
      type: element.type as NonNullable<SchemaElement['type']>,
      encodings: encoded.dictionary ? ['PLAIN', 'RLE', 'RLE_DICTIONARY'] : ['PLAIN', 'RLE'],
      path_in_schema: [element.name],
      codec: 'GZIP',
      num_values: BigInt(n),
      total_uncompressed_size: BigInt(uncompressed),
      total_compressed_size: BigInt(out.offset - start),
      data_page_offset: dataOffset,
      ...(dictionaryOffset !== undefined ? { dictionary_page_offset: dictionaryOffset } : {}),
      statistics: encoded.statistics as never,
    },
  }
}
