/**
 * Exact comparison of non-negative decimal strings ("60685.22000000"), so
 * sanity checks never go through a float. Character by character, with no
 * string built: every candle is checked with it six times, a backfill page
 * a thousand candles at a time.
 */
export function compareDecimal(a: string, b: string): -1 | 0 | 1 {
  const aDot = dotOf(a)
  const bDot = dotOf(b)
  // Integer parts without their leading zeros (one digit kept): the longer is the larger.
  const aFrom = firstSignificant(a, aDot)
  const bFrom = firstSignificant(b, bDot)
  const aLen = aDot - aFrom
  const bLen = bDot - bFrom
  if (aLen !== bLen) return aLen < bLen ? -1 : 1
  for (let i = 0; i < aLen; i++) {
    const x = a.charCodeAt(aFrom + i)
    const y = b.charCodeAt(bFrom + i)
    if (x !== y) return x < y ? -1 : 1
  }
  // Fractions, the shorter one read as padded with zeros.
  const aFrac = Math.max(0, a.length - aDot - 1)
  const bFrac = Math.max(0, b.length - bDot - 1)
  for (let i = 0, n = Math.max(aFrac, bFrac); i < n; i++) {
    const x = i < aFrac ? a.charCodeAt(aDot + 1 + i) : ZERO
    const y = i < bFrac ? b.charCodeAt(bDot + 1 + i) : ZERO
    if (x !== y) return x < y ? -1 : 1
  }
  return 0
}

const ZERO = 48

function dotOf(s: string): number {
  const i = s.indexOf('.')
  return i < 0 ? s.length : i
}

function firstSignificant(s: string, end: number): number {
  let i = 0
  while (i < end - 1 && s.charCodeAt(i) === ZERO) i++
  return i
}
