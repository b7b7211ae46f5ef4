/** Deterministic candle series for the feature tests: random walks and adversarial shapes. */
import type { Candle } from '../../src/core/records.ts'
import { candle, MIN, T0 } from '../store/candle-fixture.ts'

/** mulberry32: a small seeded PRNG, so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Integer 1e-8 units → decimal string with 8 places. */
export function dec(units: number): string {
  const neg = units < 0
  const s = Math.abs(Math.round(units)).toString().padStart(9, '0')
  return `${neg ? '-' : ''}${s.slice(0, -8)}.${s.slice(-8)}`
}

export interface SeriesOptions {
  symbol: string
  length: number
  seed: number
  /** Price in 1e-8 units to start from; default 60 000. */
  start?: number
  /** Largest move per minute, in 1e-8 units; default 1 000 000 (0.01). */
  step?: number
  /** Probability that a minute is missing (a hole). */
  holes?: number
  /** Add constant runs, spikes and zero-volume runs. */
  adversarial?: boolean
  /** First minute (offset from T0). */
  firstMinute?: number
}

export function series(o: SeriesOptions): Candle[] {
  const r = rng(o.seed)
  const step = o.step ?? 1_000_000
  let p = o.start ?? 6_000_000_000_000
  const out: Candle[] = []
  for (let i = 0; i < o.length; i++) {
    const minute = (o.firstMinute ?? 0) + i
    if (o.holes !== undefined && i > 0 && r() < o.holes) continue
    const phase = i % 300
    const constant = o.adversarial === true && phase < 40
    if (!constant) p = Math.max(step * 10, p + Math.round((r() * 2 - 1) * step))
    let close = p
    if (o.adversarial === true && r() < 0.01) close = p * (r() < 0.5 ? 0.5 : 1.5) // a spike, not kept
    const zeroVolume = o.adversarial === true && phase >= 100 && phase < 130
    const volume = constant || zeroVolume ? (zeroVolume ? 0 : 123_456_789) : Math.round(r() * 5e9)
    const takerBuy = Math.round(volume * r())
    const hasBook = r() > 0.2
    const tick = 1_000_000
    const bid = close - tick * (1 + Math.floor(r() * 4))
    const ask = close + (constant ? 0 : tick * Math.floor(r() * 3))
    out.push(
      candle({
        symbol: o.symbol,
        minute,
        open: dec(close),
        high: dec(Math.max(close, ask) + tick),
        low: dec(Math.min(close, bid) - tick),
        close: dec(close),
        volume: dec(volume),
        quoteVolume: '0.00000000',
        takerBuyBase: dec(takerBuy),
        takerBuyQuote: '0.00000000',
        bid: hasBook ? dec(bid) : null,
        bidQty: hasBook ? '1.00000000' : null,
        ask: hasBook ? dec(ask) : null,
        askQty: hasBook ? '1.00000000' : null,
      }),
    )
  }
  return out
}

export { MIN, T0 }
