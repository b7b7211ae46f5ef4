/**
 * Synchronising a real-I/O client with a ManualClock without sleeping: yield to
 * the event loop (setImmediate) until the client is parked on the clock, then
 * move the clock to its next timer.
 */
import type { RestClient } from '../../src/binance/rest/rest-client.ts'
import type { ManualClock } from '../helpers/manual-clock.ts'

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** Yields at least once, then until `cond` holds (fails after 5 s of wall time: a hung test, not a sync). */
export async function until(cond: () => boolean, what = 'condition'): Promise<void> {
  const deadline = Date.now() + 5_000
  do {
    await tick()
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
  } while (!cond())
}

/** Nothing in flight and someone sleeping on the clock (budget window/pause or a retry backoff). */
export function parked(client: RestClient): boolean {
  const s = client.state()
  return s.inFlight === 0 && (s.budgetSleeping || s.backoffSleeping > 0)
}

/** Runs the clock forward, timer by timer, whenever the client is parked, until `work` settles. */
export async function drive<T>(clock: ManualClock, client: RestClient, work: Promise<T>): Promise<T> {
  let settled = false
  const watched = work.then(
    (v) => {
      settled = true
      return v
    },
    (e: unknown) => {
      settled = true
      throw e
    },
  )
  watched.catch(() => undefined)
  // Every step runs one timer; a call that needs more than this many never ends.
  for (let step = 0; step < MAX_STEPS; step++) {
    await until(() => settled || parked(client), 'client to park or finish')
    if (settled) return watched
    const next = clock.pendingDelays()[0]
    if (next === undefined) throw new Error('client parked without a timer')
    clock.advance(next)
  }
  throw new Error(`the call did not settle within ${MAX_STEPS} timers`)
}

const MAX_STEPS = 10_000
