/**
 * A realistic mix of wire frames, built by the simulator's own serialisers:
 * per symbol and minute, 29 forming klines (x=false, every 2 s), the closed
 * kline (x=true) and up to 45 bookTickers (every 1 s until the closing book;
 * book.ts), interleaved in time order,
 * each in the combined-stream wrapper the feed's `/stream?streams=` URLs get.
 * The futures mix (USD-M) has klines every 250 ms (239 forming a minute),
 * bookTickers with `e`/`E`/`T`, and prices at the contract's precision.
 */

import { bookAt } from '../src/simulator/book.ts'
import { bookEvent, frame, futuresBookEvent, klineEvent } from '../src/simulator/frames.ts'
import { formingKline, MINUTE, simulatedKline } from '../src/simulator/market.ts'
import { simKey } from '../src/simulator/profile.ts'
import { universe } from './proc.ts'

export interface FrameMix {
  readonly symbols: readonly string[]
  readonly frames: readonly string[]
  /** When each frame is received (ms), as the exchange's clock reads it. */
  readonly times: readonly number[]
  readonly bytes: number
  readonly closed: number
}

/** Minutes `from`, `from+1m`, … for `symbols` symbols of a spot-shaped market. */
export function frameMix(symbolCount: number, minutes: number, from = Date.UTC(2024, 0, 1)): FrameMix {
  const symbols = universe(symbolCount)
  const frames: string[] = []
  const times: number[] = []
  const push = (f: string, t: number) => {
    frames.push(f)
    times.push(t)
  }
  let closed = 0
  for (let m = 0; m < minutes; m++) {
    const open = from + m * MINUTE
    for (let s = 0; s < 60; s++) {
      const t = open + s * 1_000
      for (const symbol of symbols) {
        const lower = symbol.toLowerCase()
        const b = bookAt(symbol, t)
        if (b !== null) push(frame(`${lower}@bookTicker`, bookEvent(symbol, b), true), t)
        if (s % 2 === 1) {
          const k = formingKline(symbol, open, s * 1_000)
          if (k !== null) push(frame(`${lower}@kline_1m`, klineEvent(k, false, t), true), t)
        }
      }
    }
    for (const symbol of symbols) {
      const k = simulatedKline(symbol, open)
      push(
        frame(`${symbol.toLowerCase()}@kline_1m`, klineEvent(k, true, open + MINUTE + 300), true),
        open + MINUTE + 300,
      )
      closed++
    }
  }
  let bytes = 0
  for (const f of frames) bytes += f.length
  return { symbols, frames, times, bytes, closed }
}

/** The USD-M mix: per symbol and minute, a book each second and a kline every 250 ms. */
export function futuresFrameMix(symbolCount: number, minutes: number, from = Date.UTC(2024, 0, 1)): FrameMix {
  const symbols = universe(symbolCount)
  const frames: string[] = []
  const times: number[] = []
  const push = (f: string, t: number) => {
    frames.push(f)
    times.push(t)
  }
  let closed = 0
  for (let m = 0; m < minutes; m++) {
    const open = from + m * MINUTE
    for (let q = 1; q < 240; q++) {
      const t = open + q * 250
      for (const symbol of symbols) {
        const key = simKey('usdm', symbol)
        const lower = symbol.toLowerCase()
        if (q % 4 === 0) {
          const b = bookAt(key, t)
          if (b !== null)
            push(frame(`${lower}@bookTicker`, futuresBookEvent(symbol, b, t, t + 2), true), t + 5)
        }
        const k = formingKline(key, open, q * 250)
        if (k !== null) push(frame(`${lower}@kline_1m`, klineEvent(k, false, t), true), t)
      }
    }
    for (const symbol of symbols) {
      const k = simulatedKline(simKey('usdm', symbol), open)
      push(
        frame(`${symbol.toLowerCase()}@kline_1m`, klineEvent(k, true, open + MINUTE + 300), true),
        open + MINUTE + 300,
      )
      closed++
    }
  }
  let bytes = 0
  for (const f of frames) bytes += f.length
  return { symbols, frames, times, bytes, closed }
}
