/**
 * PostgreSQL numerics in their binary form (`numeric_send`, concatenated) → the
 * unscaled integers a Parquet DECIMAL(precision, scale) holds. The database only
 * copies its digits out (no arithmetic, no text), and the decoding here is exact:
 * a Number while the value stays within 2^53, a bigint beyond.
 *
 * numeric_send: int16 ndigits, int16 weight, uint16 sign, uint16 dscale, then
 * ndigits int16 digits in base 10 000; value = Σ digit[i] × 10000^(weight − i).
 */

import { ExportPageError, ExportValueError } from './export-errors.ts'

const SIGN_NEGATIVE = 0x4000
const HEADER = 8
const TWO_32 = 2 ** 32
const TWO_31 = 2 ** 31
const POW10 = [1, 10, 100, 1000, 10_000]

export interface NumericColumn {
  readonly name: string
  readonly scale: number
  /** Digits the file declares: a value needing more fails the export. */
  readonly precision: number
}

/**
 * Decodes numerics one at a time (a packed column, or the fields of a binary COPY) into
 * row r of an int8 column (its two 32-bit words per row) or of a bigint list (wide).
 */
export class NumericReader {
  readonly col: NumericColumn
  /** More digits than an int8 holds: values are bigints. */
  readonly wide: boolean
  private readonly limitHi: number
  private readonly limitLo: number
  private readonly bigLimit: bigint
  /** The current value's header, reused: no object per value. */
  private readonly head: Header = { ndigits: 0, weight: 0, dscale: 0, negative: false }

  constructor(col: NumericColumn) {
    this.col = col
    this.wide = col.precision > 18
    // 10^precision as two 32-bit halves (exact: a power of ten up to 10^22 is a double).
    const limit = 10 ** Math.min(col.precision, 18)
    this.limitHi = Math.floor(limit / TWO_32)
    this.limitLo = limit - this.limitHi * TWO_32
    this.bigLimit = 10n ** BigInt(col.precision)
  }

  /** The numeric at src[at] (ending by `end`) into row r; returns the offset after it. */
  read(
    src: Uint8Array,
    at: number,
    end: number,
    r: number,
    words: Int32Array | null,
    big: bigint[] | null,
  ): number {
    const col = this.col
    const head = this.head
    header(src, at, end, col, head)
    const { ndigits } = head
    at += HEADER
    if (big !== null) {
      big[r] = this.readBig(src, at, head)
      return at + 2 * ndigits
    }
    // value = hi × 2^32 + lo, built digit by digit (Horner, base 10 000); every step stays
    // below 2^46, so plain Number arithmetic is exact and no bigint is made.
    let hi = 0
    let lo = 0
    for (let i = 0; i < ndigits; i++) {
      let d = (src[at] as number) * 256 + (src[at + 1] as number)
      at += 2
      let m = 10_000
      if (i === ndigits - 1) {
        const last = 4 * (head.weight - i) + col.scale
        if (last < 0) {
          // The last base-10 000 digit reaches below the scale: its low digits must be zeros.
          if (-last >= 4 || d % (POW10[-last] as number) !== 0) throw moreDecimals(col, head.dscale)
          d /= POW10[-last] as number
          m = POW10[4 + last] as number
        }
      }
      const t = lo * m + d
      const carry = Math.floor(t / TWO_32)
      lo = t - carry * TWO_32
      hi = hi * m + carry
      if (hi >= TWO_31) throw tooWide(col)
    }
    // Scale: times 10^(what the last digit's position leaves).
    if (ndigits > 0) {
      for (let e = 4 * (head.weight - ndigits + 1) + col.scale; e > 0; e -= 4) {
        const m = POW10[Math.min(4, e)] as number
        const t = lo * m
        const carry = Math.floor(t / TWO_32)
        lo = t - carry * TWO_32
        hi = hi * m + carry
        if (hi >= TWO_31) throw tooWide(col)
      }
    }
    if (hi > this.limitHi || (hi === this.limitHi && lo >= this.limitLo)) throw tooWide(col)
    if (head.negative && (hi !== 0 || lo !== 0)) {
      // Two's complement of the 64-bit value.
      if (lo === 0) hi = TWO_32 - hi
      else {
        lo = TWO_32 - lo
        hi = TWO_32 - hi - 1
      }
    }
    const w = words as Int32Array
    w[2 * r] = lo | 0
    w[2 * r + 1] = hi | 0
    return at
  }

  /** Decimals wider than an int8: bigint arithmetic (such columns are rare). */
  private readBig(src: Uint8Array, at: number, head: Header): bigint {
    let acc = 0n
    for (let i = 0; i < head.ndigits; i++)
      acc = acc * 10_000n + BigInt((src[at + 2 * i] as number) * 256 + (src[at + 2 * i + 1] as number))
    const shift = 4 * (head.weight - head.ndigits + 1) + this.col.scale
    if (shift >= 0) acc *= 10n ** BigInt(shift)
    else {
      const div = 10n ** BigInt(-shift)
      if (acc % div !== 0n) throw moreDecimals(this.col, head.dscale)
      acc /= div
    }
    if (acc >= this.bigLimit) throw tooWide(this.col)
    return head.negative ? -acc : acc
  }
}

/**
 * `n` concatenated numeric_send values → unscaled at `col.scale`: a BigInt64Array when the
 * precision fits an int8 (≤ 18 digits), bigints otherwise. Refuses NaN and infinities, a value
 * with more decimals than the scale or more digits than the precision (the range's shape was
 * measured before the pages were read: a value written since can break it), and bytes that do
 * not hold exactly n values.
 */
export function unscaledNumerics(src: Uint8Array, n: number, col: NumericColumn): BigInt64Array | bigint[] {
  const reader = new NumericReader(col)
  const big = reader.wide ? new Array<bigint>(n) : null
  const out = big ?? new BigInt64Array(n)
  const words = big === null ? new Int32Array((out as BigInt64Array).buffer) : null
  let at = 0
  for (let r = 0; r < n; r++) {
    if (at >= src.length) throw new ExportPageError(`column ${col.name}: ${r} of ${n} numerics`)
    at = reader.read(src, at, src.length, r, words, big)
  }
  if (at !== src.length) throw new ExportPageError(`column ${col.name}: more bytes than ${n} numerics`)
  return out
}

interface Header {
  ndigits: number
  weight: number
  dscale: number
  negative: boolean
}

/** The 8-byte header of the numeric at `at` into `into`, checked: finite, within the scale, digits before `end`. */
function header(src: Uint8Array, at: number, end: number, col: NumericColumn, into: Header): void {
  if (at + HEADER > end) throw new ExportPageError(`column ${col.name}: a numeric cut short`)
  const ndigits = (src[at] as number) * 256 + (src[at + 1] as number)
  const w = (src[at + 2] as number) * 256 + (src[at + 3] as number)
  const sign = (src[at + 4] as number) * 256 + (src[at + 5] as number)
  const dscale = (src[at + 6] as number) * 256 + (src[at + 7] as number)
  if (at + HEADER + 2 * ndigits > end) throw new ExportPageError(`column ${col.name}: a numeric cut short`)
  if (sign !== 0 && sign !== SIGN_NEGATIVE) throw new ExportValueError(`not a finite decimal in ${col.name}`)
  if (dscale > col.scale) throw moreDecimals(col, dscale)
  into.ndigits = ndigits
  into.weight = w >= 0x8000 ? w - 0x10000 : w
  into.dscale = dscale
  into.negative = sign === SIGN_NEGATIVE
}

function moreDecimals(col: NumericColumn, dscale: number): ExportValueError {
  return new ExportValueError(
    `${col.name}: a value with ${dscale} decimals, more than the ${col.scale} measured for the range ` +
      '(it changed during the export; run it again)',
  )
}

function tooWide(col: NumericColumn): ExportValueError {
  return new ExportValueError(
    `${col.name}: a value with more than the ${col.precision} digits measured for the range ` +
      '(it changed during the export; run it again)',
  )
}
