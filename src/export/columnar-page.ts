/**
 * A page of the export as columns (see store/export-columnar.ts): packed big-endian
 * numbers become typed arrays by one byte swap per column, text is split once per
 * column, null bit words become a mask per column that has nulls. No value is parsed
 * one by one here.
 */
import { type ColumnLane, type Lane, NULL_BITS, TEXT_SEPARATOR } from '../store/export-columnar.ts'
import { ExportPageError } from './export-errors.ts'
import { type NumericColumn, unscaledNumerics } from './numeric-binary.ts'

/** Text as dictionary codes: row r holds dict[codes[r]] (codes of null rows mean nothing). */
export interface TextValues {
  readonly codes: Int32Array
  readonly dict: readonly string[]
}

/** Typed, or text, or bigints (a decimal too wide for an int8). */
export type ColumnValues = BigInt64Array | Float64Array | Int32Array | TextValues | bigint[]

export const isText = (v: ColumnValues): v is TextValues => (v as TextValues).codes !== undefined

/** Distinct strings in order of first use: each string's code is its index in `dict`. */
export class TextDictionary {
  readonly dict: string[] = []
  private readonly ids = new Map<string, number>()

  code(s: string): number {
    let id = this.ids.get(s)
    if (id === undefined) {
      id = this.dict.push(s) - 1
      this.ids.set(s, id)
    }
    return id
  }
}

/** Strings → dictionary codes. */
export function textValues(texts: readonly string[]): TextValues {
  const d = new TextDictionary()
  const codes = Int32Array.from(texts, (s) => d.code(s))
  return { codes, dict: d.dict }
}

export interface ColumnarPage {
  readonly n: number
  /**
   * Per column: a typed array (0 where null); for text lanes, dictionary codes; for a decimal
   * wider than an int8, bigints (0n where null).
   */
  readonly values: readonly ColumnValues[]
  /** Per column: 1 where the value is null, or null when the page has no null there. */
  readonly nulls: readonly (Uint8Array | null)[]
}

/** One minute in microseconds. */
export const MINUTE_US = 60_000_000
/** 2000-01-01 (PostgreSQL's epoch) in microseconds since 1970, as the two halves of an int64. */
const PG_EPOCH_US = 946_684_800_000_000
const PG_EPOCH_LO = PG_EPOCH_US % 2 ** 32
const PG_EPOCH_HI = Math.floor(PG_EPOCH_US / 2 ** 32)
const TWO_32 = 2 ** 32

/**
 * A PostgreSQL time (microseconds since 2000, as its high signed and low unsigned 32-bit
 * halves) written into row r of an int64 column's words as microseconds since 1970: no
 * bigint per value.
 */
export function writeUnixMicros(words: Int32Array, r: number, hi: number, lo: number): void {
  lo += PG_EPOCH_LO
  hi += PG_EPOCH_HI
  if (lo >= TWO_32) {
    lo -= TWO_32
    hi += 1
  }
  words[2 * r] = lo | 0
  words[2 * r + 1] = hi | 0
}

/** Little-endian int64s shifted to the Unix epoch in place. */
function fromPostgresEpoch(words: Int32Array): void {
  const low = new Uint32Array(words.buffer, words.byteOffset, words.length)
  for (let r = 0; 2 * r < words.length; r++)
    writeUnixMicros(words, r, words[2 * r + 1] as number, low[2 * r] as number)
}

function bytes(v: unknown, name: string): Uint8Array {
  if (v instanceof Uint8Array) return v
  throw new ExportPageError(`column ${name}: expected bytes, got ${typeof v}`)
}

/** Big-endian packed values → a typed array of n (an aligned copy, swapped in place). */
function unpack(src: Uint8Array, lane: Exclude<Lane, 'text' | 'num'>, n: number, name: string): ColumnValues {
  const width = lane === 'i32' ? 4 : 8
  if (src.length !== n * width)
    throw new ExportPageError(`column ${name}: ${src.length} bytes for ${n} values of ${width}`)
  const copy = new Uint8Array(src.length)
  copy.set(src)
  const swapped = Buffer.from(copy.buffer, 0, copy.length)
  if (width === 8) swapped.swap64()
  else swapped.swap32()
  if (lane === 'ts') fromPostgresEpoch(new Int32Array(copy.buffer, 0, n * 2))
  if (lane === 'i64' || lane === 'ts') return new BigInt64Array(copy.buffer, 0, n)
  if (lane === 'f64') return new Float64Array(copy.buffer, 0, n)
  return new Int32Array(copy.buffer, 0, n)
}

/**
 * The one row a columnar page query returns → columns, checked to run minute after minute.
 * `decimals` gives each decimal column's scale and precision (by name), as the file declares them.
 */
export function decodePage(
  row: Record<string, unknown> | undefined,
  lanes: readonly ColumnLane[],
  decimals: ReadonlyMap<string, Omit<NumericColumn, 'name'>> = new Map(),
): ColumnarPage {
  const n = Number(row?.n ?? 0)
  if (!row || n === 0) return { n: 0, values: lanes.map(() => []), nulls: lanes.map(() => null) }
  const values = lanes.map(({ col, lane }, i): ColumnValues => {
    const v = row[`c${i}`]
    if (lane === 'num') {
      const shape = decimals.get(col.name)
      if (!shape) throw new ExportPageError(`column ${col.name}: no scale for a decimal`)
      return unscaledNumerics(bytes(v, col.name), n, { name: col.name, ...shape })
    }
    if (lane !== 'text') return unpack(bytes(v, col.name), lane, n, col.name)
    const texts = typeof v === 'string' ? v.split(TEXT_SEPARATOR) : []
    if (texts.length !== n) throw new ExportPageError(`column ${col.name}: not ${n} values`)
    return textValues(texts)
  })
  const nulls: (Uint8Array | null)[] = lanes.map(() => null)
  for (let w = 0; w * NULL_BITS < lanes.length; w++) {
    const words = unpack(bytes(row[`z${w}`], 'nulls'), 'i32', n, 'nulls') as Int32Array
    let any = 0
    for (let r = 0; r < n; r++) any |= words[r] as number
    for (let b = 0; b < NULL_BITS && w * NULL_BITS + b < lanes.length; b++) {
      if ((any & (1 << b)) === 0) continue
      const mask = new Uint8Array(n)
      for (let r = 0; r < n; r++) mask[r] = ((words[r] as number) >> b) & 1
      nulls[w * NULL_BITS + b] = mask
    }
  }
  const t = lanes.findIndex((l) => l.col.name === 'open_time')
  if (t >= 0) inOrder(values[t] as BigInt64Array, n)
  return { n, values, nulls }
}

/** The aggregates share one input order; this proves it is the minutes' order. */
function inOrder(times: BigInt64Array, n: number): void {
  let prev = Number(times[0])
  for (let r = 1; r < n; r++) {
    const t = Number(times[r])
    if (t - prev !== MINUTE_US) throw new ExportPageError(`export page out of minute order at row ${r}`)
    prev = t
  }
}
