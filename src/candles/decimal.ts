/**
 * Exact comparison of non-negative decimal strings ("60685.22000000"), so
 * sanity checks never go through a float.
 */
export function compareDecimal(a: string, b: string): -1 | 0 | 1 {
  const [ai = '', af = ''] = a.split('.')
  const [bi = '', bf = ''] = b.split('.')
  const aInt = ai.replace(/^0+(?=\d)/, '')
  const bInt = bi.replace(/^0+(?=\d)/, '')
  if (aInt.length !== bInt.length) return aInt.length < bInt.length ? -1 : 1
  if (aInt !== bInt) return aInt < bInt ? -1 : 1
  const width = Math.max(af.length, bf.length)
  const aFrac = af.padEnd(width, '0')
  const bFrac = bf.padEnd(width, '0')
  if (aFrac === bFrac) return 0
  return aFrac < bFrac ? -1 : 1
}
