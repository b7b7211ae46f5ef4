/**
 * Time as a dependency. Backoff, watchdogs, batch age and rotation all read
 * time and schedule work through a Clock so that tests can drive them.
 */
export interface TimerHandle {
  cancel(): void
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number
  /** Runs `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms)
    return { cancel: () => clearTimeout(t) }
  },
}

export type Deadline<T> = { readonly inTime: true; readonly value: T } | { readonly inTime: false }

/**
 * Waits for `work` at most `ms` on `clock`. A rejection within the time is
 * thrown; work that is late keeps running (its result is dropped, its
 * rejection swallowed) — the caller decides what "late" means.
 */
export async function within<T>(clock: Clock, work: Promise<T>, ms: number): Promise<Deadline<T>> {
  let timer: TimerHandle | null = null
  const late = new Promise<Deadline<T>>((resolve) => {
    timer = clock.setTimeout(() => resolve({ inTime: false }), ms)
  })
  work.catch(() => {})
  try {
    return await Promise.race([work.then((value): Deadline<T> => ({ inTime: true, value })), late])
  } finally {
    ;(timer as TimerHandle | null)?.cancel()
  }
}
