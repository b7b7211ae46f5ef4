/**
 * A PostgreSQL session of its own that LISTENs on one channel, for as long as
 * it is open: when the session is lost it connects again after a backoff
 * (`db.listen`) and says so, because notifications sent meanwhile are gone.
 */
import type pg from 'pg'
import { clockSleep, delayFor, schedule } from '../core/retry.ts'
import type { Listener, ListenOptions } from './db.ts'

export function startListener(newClient: () => pg.Client, o: ListenOptions): Listener {
  if (!/^[a-z_][a-z0-9_]*$/.test(o.channel)) throw new RangeError(`not a channel name: ${o.channel}`)
  let stopped = false
  let client: pg.Client | null = null
  let wake = (): void => {}
  const loop = (async () => {
    for (let attempt = 0; !stopped; ) {
      const c = newClient()
      client = c
      // Every error of the session ends up here (pg emits 'error' on a checked-out client too).
      const lost = new Promise<unknown>((resolve) => {
        c.on('error', resolve)
        c.on('end', () => resolve(new Error('the listening session ended')))
      })
      let cause: unknown
      try {
        await c.connect()
        c.on('notification', (m) => {
          if (m.channel === o.channel && m.payload !== undefined) o.onNotify(m.payload)
        })
        await c.query(`LISTEN ${o.channel}`)
        attempt = 0
        if (!stopped) o.onListening()
        cause = await lost
      } catch (err) {
        cause = err
      } finally {
        client = null
        await c.end().catch(() => {})
      }
      if (stopped) break
      attempt++
      // Armed before the loss is reported: whoever hears of it can already count on the backoff.
      const sleep = clockSleep(o.clock, delayFor(schedule('db.listen'), attempt, o.random ?? Math.random))
      wake = sleep.wake
      o.onLost(cause)
      await sleep.done
    }
  })()
  return {
    async close() {
      stopped = true
      wake()
      await (client as pg.Client | null)?.end().catch(() => {})
      await loop
    },
  }
}
