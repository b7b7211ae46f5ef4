/**
 * Rolling count, Σd and Σd² of one series, with add and remove in O(1), where
 * d is a value's distance from a reference `ref` in 1e-8 units.
 *
 * Why this is exact enough for BTC at 60 000 with 1e-8 moves:
 * - d is formed from the decimal parts in integer units (decimal-parts.ts), so
 *   for prices it is an exact integer;
 * - Σd and Σd² are double-double (≈ 106-bit) sums built from error-free
 *   transformations (TwoSum, Dekker's TwoProduct), so integer inputs up to
 *   ~2^45 units add and remove exactly: no drift, however long the run;
 * - the variance is taken as n·Σd² − (Σd)² in double-double, so the
 *   cancellation a naive sum/sum-of-squares suffers is absorbed by 53 spare bits;
 * - the reference is moved to a value in the window (and the sums rebuilt from
 *   the window, O(n)) when the mean drifts far from it relative to the spread
 *   (keeping the cancellation factor below 2^40), or when Σd² fell 2^40 below its
 *   peak (a spike left: inputs that are not integers leave rounding residue in
 *   proportion to the peak). Either takes about a window of updates to recur,
 *   so the rebuild is amortised O(1).
 */
import { FRACTION_UNITS } from '../core/decimal-parts.ts'

const SPLIT = 134_217_729 // 2^27 + 1, Veltkamp split of a double into two 26-bit halves
const DRIFT_LIMIT = 2 ** 40
const DECAY_LIMIT = 2 ** -40

// Result registers of the double-double helpers (avoids allocating a pair per call).
let rh = 0
let rl = 0

/** (ah, al) + (bh, bl), accurate double-double addition. */
function ddAdd(ah: number, al: number, bh: number, bl: number): void {
  const s = ah + bh
  const v = s - ah
  let e = ah - (s - v) + (bh - v)
  const t = al + bl
  const w = t - al
  const f = al - (t - w) + (bl - w)
  e += t
  const h = s + e
  e = e - (h - s)
  e += f
  rh = h + e
  rl = e - (rh - h)
}

/** a × b exactly as rh + rl (Dekker). */
function twoProduct(a: number, b: number): void {
  const p = a * b
  const ca = SPLIT * a
  const ahi = ca - (ca - a)
  const alo = a - ahi
  const cb = SPLIT * b
  const bhi = cb - (cb - b)
  const blo = b - bhi
  rh = p
  rl = ahi * bhi - p + ahi * blo + alo * bhi + alo * blo
}

/** (ah, al) × b. */
function ddMulD(ah: number, al: number, b: number): void {
  twoProduct(ah, b)
  const p = rh
  const e = rl + al * b
  rh = p + e
  rl = e - (rh - p)
}

/** (ah, al)². */
function ddSqr(ah: number, al: number): void {
  twoProduct(ah, ah)
  const p = rh
  const e = rl + 2 * ah * al
  rh = p + e
  rl = e - (rh - p)
}

export class RollingMoments {
  /** Values in the window (nulls are never added). */
  n = 0
  /** The reference, as decimal parts (see decimal-parts.ts). */
  refHi = 0
  refLo = 0
  private s1h = 0
  private s1l = 0
  private s2h = 0
  private s2l = 0
  private peak = 0
  /** n·Σd² − (Σd)², kept until the next change (needsRebase, zscore and std all need it). */
  private spreadH = 0
  private spreadL = 0
  private spreadValid = false

  /** Distance of a value from the reference, in 1e-8 units. */
  offset(hi: number, lo: number): number {
    return (hi - this.refHi) * FRACTION_UNITS + (lo - this.refLo)
  }

  add(hi: number, lo: number): void {
    this.n++
    this.accumulate(this.offset(hi, lo), 1)
    if (this.s2h > this.peak) this.peak = this.s2h
  }

  remove(hi: number, lo: number): void {
    this.n--
    if (this.n === 0) this.clearSums()
    else this.accumulate(this.offset(hi, lo), -1)
  }

  /** Empties the sums and moves the reference; the caller then adds the window back. */
  rebase(hi: number, lo: number): void {
    this.refHi = hi
    this.refLo = lo
    this.n = 0
    this.clearSums()
  }

  /** True when the sums should be rebuilt around a new reference (see the file comment). */
  needsRebase(): boolean {
    if (this.n === 0) return false
    if (this.s2h < this.peak * DECAY_LIMIT) return true
    const spread = this.spread()
    ddSqr(this.s1h, this.s1l)
    return rh > DRIFT_LIMIT * spread
  }

  /** Mean distance from the reference, in 1e-8 units. */
  meanOffset(): number {
    return (this.s1h + this.s1l) / this.n
  }

  /** Population standard deviation, in 1e-8 units. */
  std(): number {
    const s = this.spread()
    return s > 0 ? Math.sqrt(s) / this.n : 0
  }

  /** (x − mean) / std for x given as its offset; 0 when the window is constant. */
  zscore(offset: number): number {
    const s = this.spread()
    if (!(s > 0)) return 0
    // (n·x − Σd) / √(n·Σd² − (Σd)²): one rounding each, no division before the subtraction.
    twoProduct(this.n, offset)
    ddAdd(rh, rl, -this.s1h, -this.s1l)
    return (rh + rl) / Math.sqrt(s)
  }

  /** n·Σd² − (Σd)² (= n² × variance), never negative. */
  private spread(): number {
    if (this.spreadValid) return this.spreadH + this.spreadL
    ddSqr(this.s1h, this.s1l)
    const qh = rh
    const ql = rl
    ddMulD(this.s2h, this.s2l, this.n)
    ddAdd(rh, rl, -qh, -ql)
    // Only rounding of non-integer inputs can make it negative: the true value is then 0.
    const negative = rh < 0
    this.spreadH = negative ? 0 : rh
    this.spreadL = negative ? 0 : rl
    this.spreadValid = true
    return this.spreadH + this.spreadL
  }

  private accumulate(d: number, sign: 1 | -1): void {
    this.spreadValid = false
    ddAdd(this.s1h, this.s1l, sign * d, 0)
    this.s1h = rh
    this.s1l = rl
    twoProduct(d, d)
    ddAdd(this.s2h, this.s2l, sign * rh, sign * rl)
    this.s2h = rh
    this.s2l = rl
  }

  private clearSums(): void {
    this.spreadValid = false
    this.s1h = 0
    this.s1l = 0
    this.s2h = 0
    this.s2l = 0
    this.peak = 0
  }
}
