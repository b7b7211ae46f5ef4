import { performance } from 'node:perf_hooks'
import type { Clock } from '../core/clock.ts'

/**
 * A clock that runs `speed` times faster than real time, starting at `epoch`
 * (default: the real time now). Lets a demo or test live through minutes in
 * seconds with the simulator and the feeder sharing one clock.
 */
export function scaledClock(speed: number, epoch: number = Date.now()): Clock {
  if (!(speed > 0) || !Number.isFinite(speed))
    throw new RangeError(`speed must be a positive number, got ${speed}`)
  const start = performance.now()
  return {
    now: () => epoch + Math.floor((performance.now() - start) * speed),
    setTimeout(fn, ms) {
      const t = setTimeout(fn, Math.max(0, ms) / speed)
      return { cancel: () => clearTimeout(t) }
    },
  }
}
