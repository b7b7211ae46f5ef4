/**
 * /health tells the newest candle stored, whichever way it came: with the
 * stream refused, the start-up backfill from REST alone sets last_candle_time.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { latestCandleTime } from '../../src/store/candle-queries.ts'
import type { Db } from '../../src/store/db.ts'
import { liveRig } from '../helpers/live-app.ts'
import { until } from '../helpers/until.ts'

const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite'

describe(`/health on ${kind}`, () => {
  it('last_candle_time counts candles filled from REST, not only streamed ones', async (t) => {
    const rig = await liveRig(kind)
    t.after(() => rig.close())
    rig.sim.hooks.refuseConnections(1_000_000)
    const { app } = await rig.startApp({ TRADING_SYMBOLS: 'btcusdt', INITIAL_BACKFILL_MINUTES: '5' })
    const health = async () =>
      (await (await fetch(`http://127.0.0.1:${app.httpPort}/health`)).json()) as {
        last_candle_time: string | null
        candles_processed: number
        symbols: Record<string, { last_candle_time: string | null }>
      }
    const db = app.db as Db
    const newest = await until('the initial backfill stored', async () => {
      const n = await latestCandleTime(db, 'spot', 'BTCUSDT')
      return n !== null && app.pendingBackfills() === 0 ? n : null
    })
    const h = await until('reported', async () => {
      const b = await health()
      return b.last_candle_time === new Date(newest).toISOString() ? b : null
    })
    assert.equal(h.symbols.BTCUSDT?.last_candle_time, new Date(newest).toISOString())
    assert.equal(h.candles_processed, 0, 'nothing came from the stream')
  })
})
