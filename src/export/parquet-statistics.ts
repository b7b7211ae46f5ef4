/**
 * A column chunk's min/max statistics as Parquet defines them (readers prune row groups
 * with them): signed order for integers and decimals, NaN left out and signed zeros
 * normalised for doubles, UTF-8 byte order for text. Computed from the typed arrays.
 */

export interface Statistics {
  min_value?: bigint | number | string
  max_value?: bigint | number | string
  null_count: bigint
  nan_count?: bigint
}

/**
 * Index of the smallest and largest int64 among `values` (a dense array of present
 * values), compared on their 32-bit halves: no bigint is made per value.
 */
function int64Extremes(values: BigInt64Array): [number, number] {
  const words = new Int32Array(values.buffer, values.byteOffset, values.length * 2)
  const low = new Uint32Array(values.buffer, values.byteOffset, values.length * 2)
  let min = 0
  let max = 0
  for (let i = 1; i < values.length; i++) {
    const hi = words[2 * i + 1] as number
    const lo = low[2 * i] as number
    const minHi = words[2 * min + 1] as number
    if (hi < minHi || (hi === minHi && lo < (low[2 * min] as number))) min = i
    const maxHi = words[2 * max + 1] as number
    if (hi > maxHi || (hi === maxHi && lo > (low[2 * max] as number))) max = i
  }
  return [min, max]
}

export function numberStatistics(values: Float64Array | Int32Array, nullCount: number): Statistics {
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  let nan = 0
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number
    if (Number.isNaN(v)) nan++
    else {
      if (v < min) min = v
      if (v > max) max = v
    }
  }
  const stats: Statistics = { null_count: BigInt(nullCount) }
  if (values instanceof Float64Array) stats.nan_count = BigInt(nan)
  // The specification leaves NaN out of min/max, but readers prune with min/max without looking
  // at nan_count (DuckDB skipped a chunk's NaN rows for `x = 'NaN'` and its larger values for
  // `x > 1`): a chunk holding a NaN gets no min/max, so nothing is pruned from it.
  if (nan === 0 && values.length > 0) {
    // The specification's signed zeros: a minimum of zero is -0, a maximum of zero is +0.
    stats.min_value = min === 0 ? -0 : min
    stats.max_value = max === 0 ? 0 : max
  }
  return stats
}

/** Statistics of present int64 values (a dense array). */
export function int64Statistics(dense: BigInt64Array, nullCount: number): Statistics {
  const statistics: Statistics = { null_count: BigInt(nullCount) }
  if (dense.length > 0) {
    const [min, max] = int64Extremes(dense)
    statistics.min_value = dense[min] as bigint
    statistics.max_value = dense[max] as bigint
  }
  return statistics
}

/** Statistics of a text column from its distinct present values. */
export function textStatistics(distinct: readonly string[], nullCount: number): Statistics {
  const statistics: Statistics = { null_count: BigInt(nullCount) }
  if (distinct.length > 0) {
    let min = distinct[0] as string
    let max = min
    for (const s of distinct) {
      if (utf8Less(s, min)) min = s
      if (utf8Less(max, s)) max = s
    }
    statistics.min_value = min
    statistics.max_value = max
  }
  return statistics
}

const encoder = new TextEncoder()

/** UTF-8 byte order (code point order), as BYTE_ARRAY statistics compare. */
function utf8Less(a: string, b: string): boolean {
  const x = encoder.encode(a)
  const y = encoder.encode(b)
  for (let i = 0; i < Math.min(x.length, y.length); i++)
    if (x[i] !== y[i]) return (x[i] as number) < (y[i] as number)
  return x.length < y.length
}
