/**
 * Candle notices between processes: the payload's codec, and a real
 * PostgreSQL session that listens, is cut by the server
 * (pg_terminate_backend), says so, connects again after its backoff on the
 * injected clock, says it listens again, and receives what is sent next.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CANDLES_CHANNEL, notifyCandles, parseCandleNotice } from '../../src/store/candle-notices.ts'
import type { Db } from '../../src/store/db.ts'
import { openTestDb } from '../helpers/db.ts'
import { ManualClock } from '../helpers/manual-clock.ts'
import { until } from '../helpers/until.ts'

const notice = {
  market: 'spot',
  symbol: 'BTCUSDT',
  from: 1_700_000_000_000,
  to: 1_700_000_060_000,
  sender: 'x',
}

describe('candle notice payloads', () => {
  it('reads back what is sent', () => {
    assert.deepEqual(parseCandleNotice(JSON.stringify(notice)), notice)
  })

  for (const [what, payload] of [
    ['not JSON', '{"market":'],
    ['not an object', '42'],
    ['an unknown market', JSON.stringify({ ...notice, market: 'margin' })],
    ['a lowercase symbol', JSON.stringify({ ...notice, symbol: 'btcusdt' })],
    ['from after to', JSON.stringify({ ...notice, from: notice.to + 1 })],
    ['a fractional time', JSON.stringify({ ...notice, to: 1.5 })],
    ['no sender', JSON.stringify({ ...notice, sender: undefined })],
  ] as const) {
    it(`ignores ${what}`, () => assert.equal(parseCandleNotice(payload), null))
  }

  it('sends nothing on the embedded database (one process holds it)', async (t) => {
    const pglite = await openTestDb('pglite')
    t.after(() => pglite.cleanup())
    await notifyCandles(pglite.db, notice as Parameters<typeof notifyCandles>[1])
    assert.equal(pglite.db.listen, undefined)
  })
})

describe('the listening session on postgres', {
  skip: process.env.TEST_DATABASE_URL ? false : 'needs TEST_DATABASE_URL',
}, () => {
  it('receives notices, and after the server cuts it connects again and says it listens again', async (t) => {
    const pg = await openTestDb('postgres')
    t.after(() => pg.cleanup())
    const db = pg.db as Db & Required<Pick<Db, 'listen'>>
    const clock = new ManualClock()
    const got: string[] = []
    const events: string[] = []
    const l = db.listen({
      channel: CANDLES_CHANNEL,
      clock,
      random: () => 0.5,
      onNotify: (p) => got.push(p),
      onListening: () => events.push('listening'),
      onLost: () => events.push('lost'),
    })
    t.after(() => l.close())
    await until('listening', () => events.includes('listening'))
    await notifyCandles(db, notice as Parameters<typeof notifyCandles>[1])
    await until('the notice arrives', () => got.length === 1)
    assert.deepEqual(parseCandleNotice(got[0] as string), notice)

    const cut = await db.query<{ n: string }>(
      `SELECT count(pg_terminate_backend(pid))::text AS n FROM pg_stat_activity
        WHERE datname = current_database() AND query = $1`,
      [`LISTEN ${CANDLES_CHANNEL}`],
    )
    assert.equal(cut.rows[0]?.n, '1', 'one listening session')
    await until('the loss is reported', () => events.includes('lost'))
    assert.deepEqual(events, ['listening', 'lost'], 'no reconnect before the backoff')
    clock.advance(1_000) // db.listen: 1 s × 0.5–1
    await until('listening again', () => events.length === 3)
    assert.deepEqual(events, ['listening', 'lost', 'listening'])
    await notifyCandles(db, { ...notice, symbol: 'ETHUSDT' } as Parameters<typeof notifyCandles>[1])
    await until('the next notice arrives', () => got.length === 2)
    await l.close()
    assert.equal(events.length, 3, 'close is not a loss')
  })
})
