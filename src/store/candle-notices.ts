/**
 * Candle notices between processes on PostgreSQL: a writer outside a service's
 * live route (the `backfill` command, another replica) commits candles, then
 * sends `NOTIFY candles_committed` with what it wrote; a running service LISTENs
 * and reads the affected windows again. PostgreSQL delivers a notification
 * only after its transaction commits, so the listener always finds the rows.
 * On the embedded database only one process holds the data, so nothing is sent.
 */
import { isMarket, type Market } from '../core/records.ts'
import type { Db } from './db.ts'

export const CANDLES_CHANNEL = 'candles_committed'

export interface CandleNotice {
  readonly market: Market
  readonly symbol: string
  /** Open times (ms) of the first and last candle written. */
  readonly from: number
  readonly to: number
  /** Who sent it: a process ignores its own notices. */
  readonly sender: string
}

/** Sends the notice; on PGlite, nothing. Its payload is far below PostgreSQL's 8 000 bytes. */
export async function notifyCandles(db: Db, n: CandleNotice): Promise<void> {
  if (db.kind !== 'postgres') return
  await db.query('SELECT pg_notify($1, $2)', [CANDLES_CHANNEL, JSON.stringify(n)])
}

/** The notice in a payload, or null when it is not one (a stranger on the channel, an older format). */
export function parseCandleNotice(payload: string): CandleNotice | null {
  let v: unknown
  try {
    v = JSON.parse(payload)
  } catch {
    return null
  }
  if (typeof v !== 'object' || v === null) return null
  const o = v as Record<string, unknown>
  const { market, symbol, from, to, sender } = o
  if (typeof market !== 'string' || !isMarket(market)) return null
  if (typeof symbol !== 'string' || !/^[A-Z0-9_]{1,40}$/.test(symbol)) return null
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || (from as number) > (to as number))
    return null
  if (typeof sender !== 'string') return null
  return { market, symbol, from: from as number, to: to as number, sender }
}
