/**
 * Fixed-point decimals with 8 fractional digits, held as bigint "units"
 * (1 unit = 1e-8). Formatting never goes through a float.
 */

export const UNIT = 100_000_000n

/** Formats units as Binance does: always 8 decimals, e.g. 6068522000000n → "60685.22000000". */
export function formatUnits(units: bigint): string {
  const neg = units < 0n
  const abs = neg ? -units : units
  const int = abs / UNIT
  const frac = (abs % UNIT).toString().padStart(8, '0')
  return `${neg ? '-' : ''}${int}.${frac}`
}

/** Units (1e-8) with `decimals` fractional digits; the value must be a multiple of 10^(8 − decimals). */
export function formatDecimals(units: bigint, decimals: number): string {
  const full = formatUnits(units)
  if (decimals >= 8) return full
  const cut = full.length - (8 - decimals)
  return decimals === 0 ? full.slice(0, cut - 1) : full.slice(0, cut)
}

/** Parses an 8-decimal (or shorter) decimal string back into units; for tests and REST. */
export function parseUnits(s: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d{1,8}))?$/.exec(s)
  if (!m) throw new Error(`not a decimal with at most 8 fractional digits: ${s}`)
  const units = BigInt(m[2] ?? '0') * UNIT + BigInt((m[3] ?? '').padEnd(8, '0'))
  return m[1] === '-' ? -units : units
}

/** Rounds `units` down to a multiple of `step`. */
export function floorTo(units: bigint, step: bigint): bigint {
  return (units / step) * step
}

/** Math.max / Math.min for bigints. */
export function maxUnits(a: bigint, b: bigint): bigint {
  return a > b ? a : b
}

export function minUnits(a: bigint, b: bigint): bigint {
  return a < b ? a : b
}
