import type { Clock, TimerHandle } from '../core/clock.ts'

/**
 * Runs `fn` every `ms` on `clock`, aimed at fixed instants (start + k·ms) so
 * a slow or scaled clock does not drift; if it falls behind it skips ahead.
 */
export function every(clock: Clock, ms: number, fn: () => void): TimerHandle {
  let next = clock.now() + ms
  let handle: TimerHandle
  let cancelled = false
  const arm = () => {
    handle = clock.setTimeout(fire, Math.max(0, next - clock.now()))
  }
  const fire = () => {
    if (cancelled) return
    fn()
    if (cancelled) return
    next += ms
    const now = clock.now()
    if (next <= now) next = now + ms
    arm()
  }
  arm()
  return {
    cancel() {
      cancelled = true
      handle.cancel()
    },
  }
}
