/**
 * Deterministic 32-bit hashing for the simulated market. Pure integer maths
 * (Math.imul and shifts), so results are identical on every platform.
 */

function fmix32(h0: number): number {
  let h = h0 >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** FNV-1a over the UTF-16 code units of `s`, finalised. */
export function hashString(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return fmix32(h)
}

/** Hash of (seed, integer n, salt). `n` may be any safe integer, negative included. */
export function hashInt(seed: number, n: number, salt: number): number {
  const lo = n >>> 0
  const hi = Math.floor(n / 0x1_0000_0000) >>> 0
  let h = fmix32(seed ^ Math.imul(salt + 1, 0x9e3779b1))
  h = fmix32(h ^ lo)
  h = fmix32(h ^ Math.imul(hi + 0x2545, 0x27d4eb2f))
  return h
}

/** Uniform integer in [0, n) derived from a hash value. */
export function pick(h: number, n: number): number {
  return h % n
}
