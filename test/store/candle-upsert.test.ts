import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Candle } from '../../src/core/records.ts'
import { buildCandleUpsert } from '../../src/store/candle-sql.ts'
import type { Db } from '../../src/store/db.ts'
import { isTransientDbError } from '../../src/store/errors.ts'
import { openTestDb, pgTargets, type TestDb } from '../helpers/db.ts'
import { candle, T0 } from './candle-fixture.ts'

const upsert = (db: Db, cs: readonly Candle[]) => db.query(buildCandleUpsert(cs))

interface Row {
  [k: string]: unknown
}

async function row(db: Db, symbol: string, openTime = T0): Promise<Row> {
  const r = await db.query<Row>(
    `SELECT open::text, high::text, low::text, close::text, volume::text, quote_volume::text, trades,
            taker_buy_base::text, taker_buy_quote::text, first_trade_id, last_trade_id,
            bid::text, bid_qty::text, ask::text, ask_qty::text, mid_price::text, spread_bps, taker_buy_ratio,
            range_bps, source, ingested_at, updated_at, close_time,
            (extract(epoch FROM quote_time) * 1000)::int8 AS quote_time
     FROM candles_1m WHERE symbol = $1 AND open_time = $2::timestamptz`,
    [symbol, new Date(openTime).toISOString()],
  )
  assert.equal(r.rows.length, 1, `one row for ${symbol}`)
  return r.rows[0] as Row
}

async function count(db: Db, symbol: string): Promise<number> {
  const r = await db.query<{ n: string }>('SELECT count(*) AS n FROM candles_1m WHERE symbol = $1', [symbol])
  return Number(r.rows[0]?.n)
}

for (const kind of pgTargets()) {
  describe(`candle upsert on ${kind}`, () => {
    let t: TestDb
    before(async () => {
      t = await openTestDb(kind)
    })
    after(() => t.cleanup())

    test('decimals round-trip to the last digit', async () => {
      const thirty = '123456789012345678901.123456789'
      await upsert(t.db, [
        candle({
          symbol: 'DECUSDT',
          open: '60685.22000000',
          high: thirty,
          low: '0.00000001',
          close: '60685.22000000',
          volume: '0.00000000',
          takerBuyBase: '0.00000000',
          quoteVolume: '999999999999999999999999999999.99999999',
          takerBuyQuote: '0.00000001',
          firstTradeId: 9_007_199_254_740_000,
          lastTradeId: 9_007_199_254_740_991,
        }),
      ])
      const r = await row(t.db, 'DECUSDT')
      assert.equal(r.open, '60685.22000000')
      assert.equal(r.high, thirty)
      assert.equal(r.low, '0.00000001')
      assert.equal(r.quote_volume, '999999999999999999999999999999.99999999')
      assert.equal(r.taker_buy_quote, '0.00000001')
      assert.equal(r.first_trade_id, '9007199254740000') // int8 stays a string
      assert.equal(r.last_trade_id, '9007199254740991')
      assert.equal(r.trades, '1234')
      assert.equal((r.close_time as Date).getTime(), T0 + 59_999)
    })

    test('derived columns are computed by the database', async () => {
      await upsert(t.db, [
        candle({ symbol: 'DERUSDT' }),
        candle({ symbol: 'DERUSDT', minute: 1, volume: '0', takerBuyBase: '0' }),
      ])
      const r = await row(t.db, 'DERUSDT')
      assert.match(r.mid_price as string, /^60690\.0050*$/) // exact numeric, scale chosen by the division
      const mid = 60690.005
      assert.ok(Math.abs((r.spread_bps as number) - (0.01 / mid) * 10_000) < 1e-9)
      assert.ok(Math.abs((r.taker_buy_ratio as number) - 0.5) < 1e-12)
      assert.ok(Math.abs((r.range_bps as number) - ((60700 - 60680.1) / 60690.01) * 10_000) < 1e-9)
      const zero = await row(t.db, 'DERUSDT', T0 + 60_000)
      assert.equal(zero.taker_buy_ratio, null)
      const noBook = candle({
        symbol: 'DERUSDT',
        minute: 2,
        bid: null,
        bidQty: null,
        ask: null,
        askQty: null,
      })
      await upsert(t.db, [noBook])
      const nb = await row(t.db, 'DERUSDT', T0 + 120_000)
      assert.equal(nb.mid_price, null)
      assert.equal(nb.spread_bps, null)
    })

    test('duplicates within and across batches leave one row with the latest values', async () => {
      await upsert(t.db, [
        candle({ symbol: 'DUPUSDT', close: '60690.01000000' }),
        candle({ symbol: 'DUPUSDT', close: '60690.02000000' }),
        candle({ symbol: 'DUPUSDT', minute: 1 }),
      ])
      await upsert(t.db, [candle({ symbol: 'DUPUSDT', close: '60690.03000000' })])
      assert.equal(await count(t.db, 'DUPUSDT'), 2)
      assert.equal((await row(t.db, 'DUPUSDT')).close, '60690.03000000')
    })

    test('a later write without bid/ask or trade ids keeps them; source and ingested_at stay from the first write', async () => {
      await upsert(t.db, [candle({ symbol: 'BOOKUSDT', source: 'ws' })])
      const first = await row(t.db, 'BOOKUSDT')
      const rest = candle({
        symbol: 'BOOKUSDT',
        source: 'rest',
        bid: null,
        bidQty: null,
        ask: null,
        askQty: null,
        firstTradeId: null,
        lastTradeId: null,
        volume: '13.00000000',
      })
      const res = await upsert(t.db, [rest])
      assert.equal(res.rowCount, 1)
      const after = await row(t.db, 'BOOKUSDT')
      assert.equal(after.bid, '60690.00000000')
      assert.equal(after.ask_qty, '0.25000000')
      assert.equal(Number(after.quote_time), T0 + 59_000, 'the quote keeps its time')
      assert.equal(after.first_trade_id, '3000000000')
      assert.equal(after.volume, '13.00000000')
      assert.equal(after.source, 'ws')
      assert.deepEqual(after.ingested_at, first.ingested_at)
      // A later book does replace the stored one.
      await upsert(t.db, [
        candle({ symbol: 'BOOKUSDT', volume: '13.00000000', bid: '1.00000000', ask: '2.00000000' }),
      ])
      assert.equal((await row(t.db, 'BOOKUSDT')).bid, '1.00000000')
      // The same quote seen at another time (a replay after a restart) moves its time with it.
      await upsert(t.db, [
        candle({
          symbol: 'BOOKUSDT',
          volume: '13.00000000',
          bid: '1.00000000',
          ask: '2.00000000',
          quoteTime: T0 + 30_000,
        }),
      ])
      assert.equal(Number((await row(t.db, 'BOOKUSDT')).quote_time), T0 + 30_000)
    })

    test('a quote time is never stored without its quote', async () => {
      await upsert(t.db, [candle({ symbol: 'NOQUSDT', bid: null, bidQty: null, ask: null, askQty: null })])
      const r = await row(t.db, 'NOQUSDT')
      assert.deepEqual([r.bid, r.quote_time], [null, null])
    })

    test('fill mode (spool replay) fills the quote with its time, and never replaces one', async () => {
      const fill = (cs: readonly Candle[]) => t.db.query(buildCandleUpsert(cs, 'fill'))
      const bare = { bid: null, bidQty: null, ask: null, askQty: null, quoteTime: null }
      await upsert(t.db, [candle({ symbol: 'FILLUSDT', source: 'rest', ...bare })])
      await fill([candle({ symbol: 'FILLUSDT', quoteTime: T0 + 10_000 })])
      const filled = await row(t.db, 'FILLUSDT')
      assert.deepEqual([filled.bid, Number(filled.quote_time)], ['60690.00000000', T0 + 10_000])
      await fill([candle({ symbol: 'FILLUSDT', bid: '1.00000000', quoteTime: T0 + 20_000 })])
      const kept = await row(t.db, 'FILLUSDT')
      assert.deepEqual([kept.bid, Number(kept.quote_time)], ['60690.00000000', T0 + 10_000])
    })

    test('replaying identical data changes nothing', async () => {
      const c = candle({ symbol: 'REPUSDT' })
      await upsert(t.db, [c])
      const before = await row(t.db, 'REPUSDT')
      const again = await upsert(t.db, [
        c,
        candle({ ...c, bid: null, bidQty: null, ask: null, askQty: null }),
      ])
      assert.equal(again.rowCount, 0)
      assert.deepEqual(await row(t.db, 'REPUSDT'), before)
    })

    test('CHECK constraints reject impossible rows, as non-transient errors', async () => {
      const bad: Array<[string, Partial<Candle>]> = [
        ['high < low', { high: '1.00000000', low: '2.00000000', open: '1.5', close: '1.5' }],
        ['negative volume', { volume: '-1.00000000' }],
        ['close_time not open+59.999s', { closeTime: T0 + 60_000 }],
        ['lowercase symbol', { symbol: 'btcusdt' }],
        ['open time not on a minute', { openTime: T0 + 1_000, closeTime: T0 + 60_999 }],
        ['unknown source', { source: 'kafka' as Candle['source'] }],
        ['half a book', { bid: '1.0', ask: null }],
        ['taker volume above volume', { takerBuyBase: '100.00000000' }],
      ]
      for (const [why, over] of bad) {
        await assert.rejects(
          upsert(t.db, [candle({ symbol: 'CHKUSDT', ...over })]),
          (err: { code?: string }) => {
            assert.equal(err.code, '23514', why)
            assert.equal(isTransientDbError(err), false)
            return true
          },
          why,
        )
      }
      assert.equal(await count(t.db, 'CHKUSDT'), 0)
    })

    test('upsert_candle() follows the same rules as the batch path', async () => {
      const call = (c: Candle) =>
        t.db.query<{ r: string }>(
          `SELECT upsert_candle(p_market => $1, p_symbol => $2, p_open_time => $3::timestamptz,
             p_close_time => $4::timestamptz, p_open => $5::numeric, p_high => $6::numeric, p_low => $7::numeric,
             p_close => $8::numeric, p_volume => $9::numeric, p_quote_volume => $10::numeric, p_trades => $11::bigint,
             p_taker_buy_base => $12::numeric, p_taker_buy_quote => $13::numeric, p_source => $14,
             p_first_trade_id => $15::bigint, p_last_trade_id => $16::bigint, p_bid => $17::numeric,
             p_bid_qty => $18::numeric, p_ask => $19::numeric, p_ask_qty => $20::numeric,
             p_quote_time => $21::timestamptz) AS r`,
          [
            c.market,
            c.symbol,
            new Date(c.openTime).toISOString(),
            new Date(c.closeTime).toISOString(),
            c.open,
            c.high,
            c.low,
            c.close,
            c.volume,
            c.quoteVolume,
            c.trades,
            c.takerBuyBase,
            c.takerBuyQuote,
            c.source,
            c.firstTradeId,
            c.lastTradeId,
            c.bid,
            c.bidQty,
            c.ask,
            c.askQty,
            c.quoteTime === null ? null : new Date(c.quoteTime).toISOString(),
          ],
        )
      const steps: Candle[] = [
        candle({ source: 'ws' }),
        candle({ source: 'ws' }),
        candle({
          source: 'rest',
          bid: null,
          bidQty: null,
          ask: null,
          askQty: null,
          firstTradeId: null,
          lastTradeId: null,
          close: '60690.00000000',
        }),
        candle({ source: 'archive', volume: '20.00000000', bid: '60000.00000000' }),
        // Only the quote's time differs: the row follows.
        candle({ source: 'ws', volume: '20.00000000', bid: '60000.00000000', quoteTime: T0 + 1_000 }),
        // A write without a quote keeps the quote and its time.
        candle({ source: 'rest', volume: '20.00000000', bid: null, bidQty: null, ask: null, askQty: null }),
      ]
      const results: string[] = []
      for (const s of steps) {
        results.push((await call({ ...s, symbol: 'FNUSDT' })).rows[0]?.r as string)
        await upsert(t.db, [{ ...s, symbol: 'BATCHUSDT' }])
        const a = await row(t.db, 'FNUSDT')
        const b = await row(t.db, 'BATCHUSDT')
        for (const k of Object.keys(a)) {
          if (k === 'ingested_at' || k === 'updated_at') continue
          assert.deepEqual(a[k], b[k], k)
        }
      }
      assert.deepEqual(results, ['inserted', 'unchanged', 'updated', 'updated', 'updated', 'unchanged'])
    })

    test('upsert_candle(): an earlier positional call still resolves; -1 trade ids are stored as NULL', async () => {
      const args = Array.from({ length: 20 }, (_, i) => `$${i + 1}`).join(', ')
      const r = await t.db.query<{ r: string }>(`SELECT upsert_candle(${args}) AS r`, [
        'spot',
        'OLDCALLUSDT',
        new Date(T0).toISOString(),
        new Date(T0 + 59_999).toISOString(),
        '1',
        '1',
        '1',
        '1',
        '0',
        '0',
        0,
        '0',
        '0',
        'ws',
        -1,
        -1,
        '1',
        '2',
        '3',
        '4',
      ])
      assert.equal(r.rows[0]?.r, 'inserted')
      const stored = await row(t.db, 'OLDCALLUSDT')
      assert.deepEqual(
        [stored.first_trade_id, stored.last_trade_id, stored.trades, stored.bid, stored.quote_time],
        [null, null, '0', '1', null],
      )
    })
  })
}
