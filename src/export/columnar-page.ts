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

/** Strings → dictionary codes. */
export function textValues(texts: readonly string[]): TextValues {
  const ids = new Map<string, number>()
  const dict: string[] = []
  const codes = new Int32Array(texts.length)
  for (let r = 0; r < texts.length; r++) {
    const s = texts[r] as string
    let id = ids.get(s)
    if (id === undefined) {
      id = dict.push(s) - 1
      ids.set(s, id)
    }
    codes[r] = id
  }
  return { codes, dict }
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

const MINUTE_US = 60_000_000
/** 2000-01-01 (PostgreSQL's epoch) in microseconds since 1970, as the two halves of an int64. */
const PG_EPOCH_US = 946_684_800_000_000
const PG_EPOCH_LO = PG_EPOCH_US % 2 ** 32
const PG_EPOCH_HI = Math.floor(PG_EPOCH_US / 2 ** 32)

/** Little-endian int64s as uint32 pairs, shifted to the Unix epoch in place (no bigint per value). */
function fromPostgresEpoch(words: Uint32Array): void {
  for (let i = 0; i < words.length; i += 2) {
    const lo = (words[i] as number) + PG_EPOCH_LO
    words[i] = lo >>> 0
    words[i + 1] = ((words[i + 1] as number) + PG_EPOCH_HI + (lo > 0xffffffff ? 1 : 0)) >>> 0
  }
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
  if (lane === 'ts') fromPostgresEpoch(new Uint32Array(copy.buffer, 0, n * 2))
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
