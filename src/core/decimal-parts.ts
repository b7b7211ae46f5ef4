/**
 * Decimal strings → numbers for the feature maths, without losing the small
 * differences that matter. `Number('60000.00000001')` is off by up to 3.6e-12,
 * which is a third of a 1e-8 move: a z-score over such moves would be wrong in
 * its fourth digit. So a value is kept as an integer part `hi` and its fraction
 * in 1e-8 units `lo` (both exact doubles for Binance's ≤ 8 decimals), and the
 * difference of two values is formed in integer 1e-8 units, exactly while it
 * stays below 2^53 (≈ 9e7 in price units).
 */

/** Units of `lo` per unit of `hi`. */
export const FRACTION_UNITS = 1e8

/** [hi, lo] with value = hi + lo / 1e8; `hi` and `lo` carry the same sign. */
export type DecimalParts = [hi: number, lo: number]

export function splitDecimal(s: string): DecimalParts {
  // Fast path: one pass over plain `[-]digits[.digits]` with at most 8 decimals (all Binance values).
  const len = s.length
  let i = s.charCodeAt(0) === 45 /* '-' */ ? 1 : 0
  const neg = i === 1
  let hi = 0
  let lo = 0
  let scale = 0 // decimals seen, -1 before the dot
  let digits = 0
  for (scale = -1; i < len; i++) {
    const c = s.charCodeAt(i) - 48
    if (c >= 0 && c <= 9) {
      digits++
      if (scale < 0) hi = hi * 10 + c
      else if (++scale <= 8) lo = lo * 10 + c
      else return slowSplit(s)
    } else if (c === -2 /* '.' */ && scale < 0) scale = 0
    else return slowSplit(s)
  }
  // Integer parts of 16+ digits are past 2^53: let Number() round them.
  if (digits === 0 || hi > Number.MAX_SAFE_INTEGER) return slowSplit(s)
  if (scale > 0) lo *= 10 ** (8 - scale)
  return neg ? [-hi, -lo] : [hi, lo]
}

function slowSplit(s: string): DecimalParts {
  const dot = s.indexOf('.')
  if (dot < 0) return exactOrFallback(Number(s), 0, s)
  const hi = Number(s.slice(0, dot))
  const frac = s.slice(dot + 1)
  // Digits past the 8th (never from Binance) are kept as a fraction of a unit: not exact, still close.
  let lo =
    frac.length <= 8 ? Number(frac.padEnd(8, '0')) : Number(frac.slice(0, 8)) + Number(`0.${frac.slice(8)}`)
  if (s.charCodeAt(0) === 45 /* '-' */) lo = -lo
  return exactOrFallback(hi, lo, s)
}

function exactOrFallback(hi: number, lo: number, s: string): DecimalParts {
  // Exponent forms and the like are not split; they still get Number()'s value.
  if (Number.isFinite(hi) && Number.isFinite(lo)) return [hi, lo]
  return [Number(s), 0]
}

/** (a − b) in 1e-8 units: exact while the result is below 2^53 units. */
export function unitsBetween(aHi: number, aLo: number, bHi: number, bLo: number): number {
  return (aHi - bHi) * FRACTION_UNITS + (aLo - bLo)
}

/** The value in 1e-8 units (exact below 2^53 units, i.e. ~9e7). */
export function toUnits(hi: number, lo: number): number {
  return hi * FRACTION_UNITS + lo
}
