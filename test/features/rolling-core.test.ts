/**
 * The O(1) core alone against exact BigInt arithmetic: BTC-scale prices with
 * 1e-8 moves, spikes and constant runs, windows 2…1440. Shows a naive
 * sum/sum-of-squares fails where the core does not.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { splitDecimal } from '../../src/core/decimal-parts.ts'
import { MonotonicDeque } from '../../src/features/monotonic-deque.ts'
import { RollingMoments } from '../../src/features/rolling-moments.ts'
import { rng } from './series.ts'

/** Exact z = (n·x − Σx)/√(n·Σx² − (Σx)²) over integer units, to double precision. */
function exactZ(win: readonly bigint[], x: bigint): number {
  const n = BigInt(win.length)
  let s1 = 0n
  let s2 = 0n
  for (const v of win) {
    s1 += v
    s2 += v * v
  }
  const den = n * s2 - s1 * s1
  if (den === 0n) return 0
  const num = n * x - s1
  // z² = num²/den as a rational with 40 extra digits, then the square root in double.
  const scaled = (num * num * 10n ** 40n) / den
  const z = Math.sqrt(Number(scaled) / 1e40)
  return num < 0n ? -z : z
}

function toUnits(s: string): bigint {
  const [i = '0', f = ''] = s.split('.')
  return BigInt(i) * 100_000_000n + BigInt(f.padEnd(8, '0').slice(0, 8) || '0')
}

function fmt(units: bigint): string {
  const s = units.toString().padStart(9, '0')
  return `${s.slice(0, -8)}.${s.slice(-8)}`
}

/** BTC at 60 000 moving by 1e-8, with rare spikes of ±5 000 and constant runs. */
function adversarialPrices(n: number, seed: number): string[] {
  const r = rng(seed)
  let p = 6_000_000_000_000n
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const u = r()
    if (u < 0.01) out.push(fmt(p + 500_000_000_000n * (r() < 0.5 ? -1n : 1n)))
    else {
      if (!(i % 400 < 100)) p += BigInt(Math.floor(r() * 5) - 2) // constant runs of 100
      out.push(fmt(p))
    }
  }
  return out
}

describe('rolling core', () => {
  for (const size of [2, 60, 1440]) {
    test(`z-scores of 1e-8 moves at 60 000 equal exact BigInt values within 1e-12 (window ${size})`, () => {
      const prices = adversarialPrices(size * 3 + 500, size)
      const m = new RollingMoments()
      const parts = prices.map(splitDecimal)
      const units = prices.map(toUnits)
      let worst = 0
      let naiveWorst = 0
      let s1 = 0
      let s2 = 0
      for (let i = 0; i < prices.length; i++) {
        const [hi, lo] = parts[i] as [number, number]
        m.add(hi, lo)
        const x = Number(prices[i])
        s1 += x
        s2 += x * x
        if (i >= size) {
          const [oh, ol] = parts[i - size] as [number, number]
          m.remove(oh, ol)
          const y = Number(prices[i - size])
          s1 -= y
          s2 -= y * y
        }
        if (m.needsRebase()) {
          m.rebase(hi, lo)
          for (let j = Math.max(0, i - size + 1); j <= i; j++) m.add(...(parts[j] as [number, number]))
        }
        const win = units.slice(Math.max(0, i - size + 1), i + 1)
        const want = exactZ(win, units[i] as bigint)
        const got = m.zscore(m.offset(hi, lo))
        worst = Math.max(worst, Math.abs(got - want) / Math.max(1, Math.abs(want)))
        const n = win.length
        const v = s2 / n - (s1 / n) ** 2
        const naive = v > 0 ? (x - s1 / n) / Math.sqrt(v) : 0
        naiveWorst = Math.max(naiveWorst, Math.abs(naive - want) / Math.max(1, Math.abs(want)))
      }
      assert.ok(worst < 1e-12, `worst relative error ${worst}`)
      // In short windows the spikes leave and only 1e-8 moves remain: there the naive method breaks.
      if (size <= 60) assert.ok(naiveWorst > 1e-3, `the naive method should fail here (worst ${naiveWorst})`)
    })
  }

  test('the sums stay exact over a long run: add/remove of 200 000 values leaves no residue', () => {
    const m = new RollingMoments()
    const r = rng(7)
    const vals: Array<[number, number]> = []
    for (let i = 0; i < 200_000; i++) {
      vals.push(
        splitDecimal(`${60000 + Math.floor(r() * 1000)}.${String(Math.floor(r() * 1e8)).padStart(8, '0')}`),
      )
    }
    for (const v of vals) m.add(...v)
    for (const v of vals.slice(0, -2)) m.remove(...v)
    const [a, b] = vals.slice(-2) as [[number, number], [number, number]]
    // Two values left: z is exactly ±1.
    assert.equal(Math.abs(m.zscore(m.offset(...a))), 1)
    assert.equal(Math.abs(m.zscore(m.offset(...b))), 1)
  })

  test('a constant window has z = 0 and std = 0, also after a spike left it', () => {
    const m = new RollingMoments()
    m.add(60000, 1)
    m.add(99999, 99999999)
    m.remove(99999, 99999999)
    m.add(60000, 1)
    if (m.needsRebase()) {
      m.rebase(60000, 1)
      m.add(60000, 1)
      m.add(60000, 1)
    }
    assert.equal(m.zscore(m.offset(60000, 1)), 0)
    assert.equal(m.std(), 0)
  })

  test('monotonic deques give the sliding min and max', () => {
    const r = rng(3)
    const xs = Array.from({ length: 2000 }, () => Math.floor(r() * 50))
    const size = 37
    const min = new MonotonicDeque(size, 'min')
    const max = new MonotonicDeque(size, 'max')
    for (let i = 0; i < xs.length; i++) {
      min.evictBefore(i - size + 1)
      max.evictBefore(i - size + 1)
      min.push(i, xs[i] as number)
      max.push(i, xs[i] as number)
      const win = xs.slice(Math.max(0, i - size + 1), i + 1)
      assert.equal(xs[min.frontSeq()], Math.min(...win))
      assert.equal(xs[max.frontSeq()], Math.max(...win))
    }
  })

  test('splitDecimal keeps 8 decimals exactly', () => {
    assert.deepEqual(splitDecimal('60000.00000001'), [60000, 1])
    assert.deepEqual(splitDecimal('0.5'), [0, 50_000_000])
    assert.deepEqual(splitDecimal('-1.25'), [-1, -25_000_000])
    assert.deepEqual(splitDecimal('42'), [42, 0])
    assert.deepEqual(splitDecimal('1e-8'), [1e-8, 0])
  })
})
