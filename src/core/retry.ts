/**
 * Every wait-and-try-again of the process, in one place: the schedules are the
 * rows of `SCHEDULES` (docs/OPERATIONS.md quotes the table), and `delayFor` is
 * the one formula that turns a row and an attempt number into a delay.
 *
 * Shaped after cockatiel's backoffs (a schedule is data, a `Backoff` walks it),
 * but on the injected `Clock` and the injected `random`: cockatiel sleeps on the
 * global timers and draws from Math.random, which tests cannot drive.
 *
 * An exponential row: nominal = min(maxMs, baseMs · 2^(attempt − 1)), then
 * multiplied by a jitter factor drawn uniformly between `jitter[0]` (random = 0)
 * and `jitter[1]` (random → 1). `[1, 0.8]` only shortens (a cap stays a cap);
 * `[0.5, 1]` is equal jitter; `[0.5, 1.5]` spreads both ways. An offset row adds
 * `minMs + [0, spreadMs)` after a wait someone else named (Retry-After, the next
 * weight window); an around row spreads a period `± spreadMs`.
 */
import type { Clock } from './clock.ts'

export interface ExponentialSchedule {
  readonly kind: 'exponential'
  readonly baseMs: number
  readonly maxMs: number
  /** The jitter factor at random = 0 and at random → 1. */
  readonly jitter: readonly [number, number]
  /** What the schedule is for (docs/OPERATIONS.md). */
  readonly use: string
}

export interface OffsetSchedule {
  readonly kind: 'offset'
  readonly minMs: number
  readonly spreadMs: number
  readonly use: string
}

export interface AroundSchedule {
  readonly kind: 'around'
  readonly spreadMs: number
  readonly use: string
}

export type Schedule = ExponentialSchedule | OffsetSchedule | AroundSchedule

const MINUTE = 60_000

/** The schedules; names are stable (they appear in docs/OPERATIONS.md). */
export const SCHEDULES = Object.freeze({
  'stream.reconnect': {
    kind: 'exponential',
    baseMs: 1_000,
    maxMs: 8_000,
    jitter: [1, 0.8],
    use: 'stream socket closed or failed to open; reset by a socket that delivered data ≥ 30 s',
  },
  'stream.subscribe': {
    kind: 'exponential',
    baseMs: 1_000,
    maxMs: MINUTE,
    jitter: [1, 0.8],
    use: 'SUBSCRIBE refused: sent again on the same socket (every 3rd refusal replaces the socket)',
  },
  'stream.lifetime': {
    kind: 'around',
    spreadMs: 5 * MINUTE,
    use: 'planned rotation before Binance’s 24 h limit (the lifetime ± this)',
  },
  'rest.request': {
    kind: 'exponential',
    baseMs: 500,
    maxMs: 30_000,
    jitter: [0.5, 1],
    use: 'REST request failed transiently (network, 5xx, timeout, malformed page); at most 5 retries',
  },
  'rest.pause': {
    kind: 'offset',
    minMs: 500,
    spreadMs: 1_500,
    use: 'after a 429/418 Retry-After (or the next minute window) every request waits this much more',
  },
  'rest.window': {
    kind: 'offset',
    minMs: 1_000,
    spreadMs: 2_000,
    use: 'weight budget full: requests wait for the next minute window plus this',
  },
  'db.start': {
    kind: 'exponential',
    baseMs: 1_000,
    maxMs: 30_000,
    jitter: [0.8, 1],
    use: 'database unreachable at start: wait and open it again (run waits; /ready 503)',
  },
  'db.write': {
    kind: 'exponential',
    baseMs: 100,
    maxMs: 5_000,
    jitter: [0.5, 1],
    use: 'candle or feature batch failed transiently (SQLSTATE 08, 40001, 53, 57P01…); DB_MAX_RETRIES retries',
  },
  'db.features_later': {
    kind: 'exponential',
    baseMs: 1_000,
    maxMs: MINUTE,
    jitter: [0.5, 1],
    use: 'feature rows kept after the retries ran out; base = FEATURE_UPDATE_INTERVAL',
  },
  'db.listen': {
    kind: 'exponential',
    baseMs: 1_000,
    maxMs: 30_000,
    jitter: [0.5, 1],
    use: 'the session listening for other writers’ candle notices was lost: connect again, then reload the live windows',
  },
  'spool.replay': {
    kind: 'exponential',
    baseMs: 5_000,
    maxMs: 40_000,
    jitter: [0.5, 1.5],
    use: 'spool replay while anything is spooled; grows while the database stays away',
  },
  'gaps.backfill': {
    kind: 'exponential',
    baseMs: 15_000,
    maxMs: 10 * MINUTE,
    jitter: [0.5, 1],
    use: 'a gap repair failed (REST or database); a Retry-After from Binance is longer if given',
  },
  'gaps.webhook': {
    kind: 'exponential',
    baseMs: 500,
    maxMs: 2_000,
    jitter: [0.8, 1],
    use: 'GAP_HANDLER_URL delivery failed (3 attempts)',
  },
} satisfies Record<string, Schedule>)

export type ScheduleName = keyof typeof SCHEDULES

export type ExponentialName = {
  [K in ScheduleName]: (typeof SCHEDULES)[K]['kind'] extends 'exponential' ? K : never
}[ScheduleName]

/** An exponential row with some numbers replaced (tests shorten them; some bases come from the config). */
export function schedule(
  name: ExponentialName,
  overrides: { baseMs?: number | undefined; maxMs?: number | undefined } = {},
): ExponentialSchedule {
  const row: ExponentialSchedule = SCHEDULES[name]
  return {
    ...row,
    ...(overrides.baseMs !== undefined ? { baseMs: overrides.baseMs } : {}),
    ...(overrides.maxMs !== undefined ? { maxMs: overrides.maxMs } : {}),
  }
}

/** Un-jittered delay before try `attempt + 1` (attempt ≥ 1 failures so far). */
export function nominalDelay(s: ExponentialSchedule, attempt: number): number {
  const exp = Math.max(0, Math.min(attempt - 1, 30))
  return Math.min(s.maxMs, s.baseMs * 2 ** exp)
}

/** The jittered delay after `attempt` consecutive failures; `random` returns [0, 1). */
export function delayFor(s: ExponentialSchedule, attempt: number, random: () => number): number {
  const [atZero, atOne] = s.jitter
  return Math.round(nominalDelay(s, attempt) * (atZero + (atOne - atZero) * unit(random)))
}

/** `minMs + [0, spreadMs)`, whole milliseconds: added to a wait someone else named. */
export function offsetJitter(s: Pick<OffsetSchedule, 'minMs' | 'spreadMs'>, random: () => number): number {
  return s.minMs + Math.floor(unit(random) * s.spreadMs)
}

/** `centre ± spread`, uniformly. */
export function jitterAround(centre: number, spread: number, random: () => number): number {
  return Math.round(centre + (unit(random) * 2 - 1) * spread)
}

/** Walks a schedule: `next()` is the delay after one more failure; `reset()` after a success. */
export class Backoff {
  private failures = 0
  private readonly s: ExponentialSchedule
  private readonly random: () => number
  constructor(s: ExponentialSchedule, random: () => number) {
    this.s = s
    this.random = random
  }
  /** Consecutive failures so far. */
  get attempt(): number {
    return this.failures
  }
  next(): number {
    this.failures++
    return delayFor(this.s, this.failures, this.random)
  }
  reset(): void {
    this.failures = 0
  }
}

/**
 * A sleep on the injected clock that `wake()` may end early (a stop, a bound on
 * how long buffered data may wait). Resolves either way.
 */
export function clockSleep(clock: Clock, ms: number): { done: Promise<void>; wake(): void } {
  let wake = (): void => {}
  const done = new Promise<void>((resolve) => {
    const timer = clock.setTimeout(() => resolve(), ms)
    wake = () => {
      timer.cancel()
      resolve()
    }
  })
  return { done, wake }
}

export interface RetryOptions {
  readonly schedule: ExponentialSchedule
  readonly clock: Clock
  readonly random: () => number
  /** Retries after the first try (Infinity: until it works or the signal aborts). */
  readonly maxRetries: number
  /** Only what this calls transient is tried again; anything else is thrown at once. */
  readonly retryable: (error: unknown) => boolean
  /** Before each wait: report it (logs, metrics). */
  readonly onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void
  /** Aborting ends a wait at once; the call then rejects with the signal's reason. */
  readonly signal?: AbortSignal
  /** The wait before try `attempt + 1` when it is not the schedule's (a server's Retry-After); 0: none. */
  readonly delay?: (attempt: number, error: unknown) => number
  /** A sleep of the caller's own (one it can count or end); default: the clock's. */
  readonly sleep?: (ms: number) => Promise<void>
}

/** Runs `fn` until it resolves, backing off on the clock between transient failures. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt)
    } catch (error) {
      if (o.signal?.aborted || !o.retryable(error) || attempt > o.maxRetries) throw error
      const delayMs = o.delay ? o.delay(attempt, error) : delayFor(o.schedule, attempt, o.random)
      o.onRetry?.({ attempt, delayMs, error })
      if (o.signal?.aborted) throw o.signal.reason
      if (delayMs <= 0) continue
      if (o.sleep) {
        await o.sleep(delayMs)
        continue
      }
      const sleep = clockSleep(o.clock, delayMs)
      o.signal?.addEventListener('abort', sleep.wake, { once: true })
      await sleep.done
      o.signal?.removeEventListener('abort', sleep.wake)
      if (o.signal?.aborted) throw o.signal.reason
    }
  }
}

/** A random in [0, 1]; anything else (NaN from a broken source) counts as the middle. */
function unit(random: () => number): number {
  const x = random()
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0.5
}
