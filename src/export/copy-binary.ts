/**
 * PostgreSQL's binary COPY stream (`COPY (SELECT …) TO STDOUT (FORMAT binary)`) → the
 * export's columnar pages. The database sends each value in its binary form, as its
 * send function makes it (no text, no aggregation), and this parser writes the fields
 * straight into a page's typed arrays: big-endian int8 and timestamps as two 32-bit
 * words, float8 through a DataView, numerics scaled by NumericReader, text decoded once
 * per run of equal bytes. A page is handed on when it holds `pageRows` rows.
 *
 * Format (PostgreSQL docs, COPY, "Binary Format"): an 11-byte signature, an int32 flags
 * field and an int32 header-extension length (plus the extension); then per row an int16
 * field count and per field an int32 length (-1: null) and the bytes; an int16 -1 ends it.
 */
import type { ColumnLane } from '../store/export-columnar.ts'
import {
  type ColumnarPage,
  type ColumnValues,
  MINUTE_US,
  TextDictionary,
  type TextValues,
  writeUnixMicros,
} from './columnar-page.ts'
import { ExportPageError } from './export-errors.ts'
import { type NumericColumn, NumericReader } from './numeric-binary.ts'

const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]
const TWO_32 = 2 ** 32

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** One page being filled. */
class PageBuilder {
  readonly values: ColumnValues[]
  /** The int8-like columns' values as 32-bit words (two per row, little-endian). */
  readonly words: (Int32Array | null)[]
  readonly nulls: Uint8Array[]
  readonly hasNull: boolean[]
  /** Per text column: the page's dictionary (its `dict` is the column's). */
  readonly dicts: (TextDictionary | null)[]
  n = 0

  constructor(lanes: readonly ColumnLane[], readers: readonly (NumericReader | null)[], rows: number) {
    this.dicts = lanes.map(({ lane }) => (lane === 'text' ? new TextDictionary() : null))
    this.values = lanes.map(({ lane }, i) => {
      if (lane === 'f64') return new Float64Array(rows)
      if (lane === 'i32') return new Int32Array(rows)
      if (lane === 'text')
        return { codes: new Int32Array(rows), dict: (this.dicts[i] as TextDictionary).dict }
      if (lane === 'num' && readers[i]?.wide) return new Array<bigint>(rows).fill(0n)
      return new BigInt64Array(rows)
    })
    this.words = this.values.map((v) => (v instanceof BigInt64Array ? new Int32Array(v.buffer) : null))
    this.nulls = lanes.map(() => new Uint8Array(rows))
    this.hasNull = lanes.map(() => false)
  }

  page(): ColumnarPage {
    const n = this.n
    return {
      n,
      values: this.values.map((v) =>
        'codes' in v ? { codes: v.codes.slice(0, n), dict: v.dict } : (v.slice(0, n) as ColumnValues),
      ),
      nulls: this.nulls.map((m, i) => (this.hasNull[i] ? m.slice(0, n) : null)),
    }
  }
}

export class CopyPageReader {
  private readonly lanes: readonly ColumnLane[]
  private readonly readers: readonly (NumericReader | null)[]
  private readonly pageRows: number
  private readonly timeColumn: number
  private pending: Uint8Array = new Uint8Array(0)
  private headerRead = false
  private ended = false
  private page: PageBuilder
  /** The previous row's open time (µs), to prove the rows run minute after minute. */
  private lastTime: number | null = null
  /** Per text column: the previous value's bytes and its code in the current page. */
  private readonly lastText: ({ bytes: Uint8Array; code: number } | undefined)[] = []

  /** `decimals`: each decimal column's scale and precision, by name, as the file declares them. */
  constructor(
    lanes: readonly ColumnLane[],
    decimals: ReadonlyMap<string, Omit<NumericColumn, 'name'>>,
    pageRows: number,
  ) {
    this.lanes = lanes
    this.readers = lanes.map(({ col, lane }) => {
      if (lane !== 'num') return null
      const shape = decimals.get(col.name)
      if (!shape) throw new ExportPageError(`column ${col.name}: no scale for a decimal`)
      return new NumericReader({ name: col.name, ...shape })
    })
    this.pageRows = pageRows
    this.timeColumn = lanes.findIndex((l) => l.col.name === 'open_time')
    this.page = new PageBuilder(lanes, this.readers, pageRows)
  }

  private nextPage(): void {
    this.page = new PageBuilder(this.lanes, this.readers, this.pageRows)
    this.lastText.length = 0
  }

  /** Parses what `chunk` completes; returns the pages filled on the way. */
  push(chunk: Uint8Array): ColumnarPage[] {
    if (this.ended) {
      if (chunk.length > 0) throw new ExportPageError('data after the end of the COPY stream')
      return []
    }
    const buf = this.pending.length === 0 ? chunk : concat(this.pending, chunk)
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
    let at = 0
    if (!this.headerRead) {
      if (buf.length < 19) {
        this.pending = buf.slice()
        return []
      }
      for (let i = 0; i < SIGNATURE.length; i++)
        if (buf[i] !== SIGNATURE[i]) throw new ExportPageError('not a binary COPY stream')
      const extension = view.getInt32(15)
      if (buf.length < 19 + extension) {
        this.pending = buf.slice()
        return []
      }
      at = 19 + extension
      this.headerRead = true
    }
    const pages: ColumnarPage[] = []
    for (;;) {
      const end = this.tupleEnd(buf, view, at)
      if (end === null) break
      if (end === -1) {
        this.ended = true
        at += 2
        if (at !== buf.length) throw new ExportPageError('data after the end of the COPY stream')
        break
      }
      this.row(buf, view, at + 2)
      at = end
      if (this.page.n === this.pageRows) {
        pages.push(this.page.page())
        this.nextPage()
      }
    }
    this.pending = at === buf.length ? new Uint8Array(0) : buf.slice(at)
    return pages
  }

  /** The last page (possibly empty); throws when the stream stopped before its end marker. */
  end(): ColumnarPage {
    if (!this.ended || this.pending.length > 0) throw new ExportPageError('the COPY stream ended early')
    return this.page.page()
  }

  /** Where the tuple at `at` ends, -1 for the end marker, null when it is not all here yet. */
  private tupleEnd(buf: Uint8Array, view: DataView, at: number): number | null {
    if (at + 2 > buf.length) return null
    const fields = view.getInt16(at)
    if (fields === -1) return -1
    if (fields !== this.lanes.length)
      throw new ExportPageError(`a COPY row of ${fields} fields, not ${this.lanes.length}`)
    let p = at + 2
    for (let f = 0; f < fields; f++) {
      if (p + 4 > buf.length) return null
      const len = view.getInt32(p)
      p += 4 + Math.max(len, 0)
    }
    return p > buf.length ? null : p
  }

  private row(buf: Uint8Array, view: DataView, at: number): void {
    const page = this.page
    const r = page.n
    for (let i = 0; i < this.lanes.length; i++) {
      const len = view.getInt32(at)
      at += 4
      const lane = (this.lanes[i] as ColumnLane).lane
      if (len === -1) {
        ;(page.nulls[i] as Uint8Array)[r] = 1
        page.hasNull[i] = true
        continue
      }
      const name = (this.lanes[i] as ColumnLane).col.name
      switch (lane) {
        case 'i64':
        case 'ts': {
          if (len !== 8) throw new ExportPageError(`column ${name}: ${len} bytes, not 8`)
          const w = page.words[i] as Int32Array
          if (lane === 'ts') writeUnixMicros(w, r, view.getInt32(at), view.getUint32(at + 4))
          else {
            w[2 * r] = view.getUint32(at + 4) | 0
            w[2 * r + 1] = view.getInt32(at)
          }
          break
        }
        case 'f64':
          if (len !== 8) throw new ExportPageError(`column ${name}: ${len} bytes, not 8`)
          ;(page.values[i] as Float64Array)[r] = view.getFloat64(at)
          break
        case 'i32':
          if (len !== 4) throw new ExportPageError(`column ${name}: ${len} bytes, not 4`)
          ;(page.values[i] as Int32Array)[r] = view.getInt32(at)
          break
        case 'num': {
          const reader = this.readers[i] as NumericReader
          const next = reader.read(
            buf,
            at,
            at + len,
            r,
            page.words[i] ?? null,
            reader.wide ? (page.values[i] as bigint[]) : null,
          )
          if (next !== at + len) throw new ExportPageError(`column ${name}: a numeric of the wrong length`)
          break
        }
        case 'text': {
          const text = page.values[i] as TextValues
          text.codes[r] = this.text(i, buf, at, len)
          break
        }
      }
      at += len
    }
    if (this.timeColumn >= 0) {
      const w = page.words[this.timeColumn] as Int32Array
      const t = (w[2 * r + 1] as number) * TWO_32 + ((w[2 * r] as number) >>> 0)
      if (this.lastTime !== null && t - this.lastTime !== MINUTE_US)
        throw new ExportPageError(`export rows out of minute order at ${new Date(t / 1000).toISOString()}`)
      this.lastTime = t
    }
    page.n++
  }

  /** The code of a UTF-8 text in the page's dictionary; a run of equal bytes is decoded once. */
  private text(i: number, buf: Uint8Array, at: number, len: number): number {
    const last = this.lastText[i]
    if (last !== undefined && sameBytes(last.bytes, buf, at, len)) return last.code
    const bytes = buf.slice(at, at + len)
    const code = (this.page.dicts[i] as TextDictionary).code(utf8.decode(bytes))
    this.lastText[i] = { bytes, code }
    return code
  }
}

/** Whether `a` equals the `len` bytes of `buf` at `at` (no view of `buf` is made). */
function sameBytes(a: Uint8Array, buf: Uint8Array, at: number, len: number): boolean {
  if (a.length !== len) return false
  for (let k = 0; k < len; k++) if (a[k] !== buf[at + k]) return false
  return true
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}
