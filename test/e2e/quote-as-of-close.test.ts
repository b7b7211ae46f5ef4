/**
 * What a stored minute says about the book and about its trades, through the whole
 * service: simulator → sockets → decoder → assembler → writer → database, on a clock 60×
 * fast that the simulator and the app share.
 *
 * - The quote is the last bookTicker at or before the close. The simulator sends each
 *   minute's closing book 45 s in, keeps the book still until the close, and moves it again
 *   just before the minute's x=true frame: taking the book held when x=true arrives would
 *   store that later quote. A quiet minute (no book update at all) carries the latest
 *   earlier quote with its older quote_time. Spot quote_time is the receive time on the
 *   exchange's clock; USD-M's is the frame's `T`.
 * - A minute without trades reads the same whichever source wrote it: NULL trade ids and
 *   trades = 0, from the stream (Binance's −1 ids) as from REST.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Market } from '../../src/core/records.ts'
import { MINUTE_MS } from '../../src/core/records.ts'
import { CLOSING_BOOK_AT_MS, quietBookMinute, simulatedBook } from '../../src/simulator/book.ts'
import { simulatedKline } from '../../src/simulator/market.ts'
import { simKey } from '../../src/simulator/profile.ts'
import type { Db } from '../../src/store/db.ts'
import { pgTargets } from '../helpers/db.ts'
import { liveRig } from '../helpers/live-app.ts'
import { until } from '../helpers/until.ts'

interface Row {
  t: number
  source: string
  trades: string
  f: string | null
  l: string | null
  bid: string | null
  bid_qty: string | null
  ask: string | null
  ask_qty: string | null
  quote_time: number | null
}

async function rowsOf(db: Db, market: Market, symbol: string): Promise<Row[]> {
  const r = await db.query<Omit<Row, 't' | 'quote_time'> & { t: string; quote_time: string | null }>(
    `SELECT (extract(epoch FROM open_time) * 1000)::int8::text AS t, source, trades::text,
            first_trade_id::text AS f, last_trade_id::text AS l, bid::text, bid_qty::text, ask::text,
            ask_qty::text, (extract(epoch FROM quote_time) * 1000)::int8::text AS quote_time
       FROM candles_1m WHERE market = $1 AND symbol = $2 ORDER BY open_time`,
    [market, symbol],
  )
  return r.rows.map((x) => ({
    ...x,
    t: Number(x.t),
    quote_time: x.quote_time === null ? null : Number(x.quote_time),
  }))
}

const MARKETS: readonly Market[] = ['spot', 'usdm']
/** 1 s of the simulator's time is 17 ms here: well above a loopback round trip. */
const SYNC_SLACK_MS = 1_000
const SYMBOL = 'BTCUSDT'

for (const kind of pgTargets()) {
  describe(`the quote as of the close, on ${kind}`, () => {
    it('stores the last quote at or before close_time with its time; a quiet minute carries the earlier one', async (t) => {
      const rig = await liveRig(kind)
      t.after(() => rig.close())
      const { app } = await rig.startApp({
        BINANCE_USDM_STREAM_URL: rig.sim.wsHostOf('usdm'),
        BINANCE_USDM_REST_URL: rig.sim.httpBase,
        TRADING_SYMBOLS: `${SYMBOL},usdm:${SYMBOL}`,
        INITIAL_BACKFILL_MINUTES: '0',
      })
      const db = app.db as Db
      const streamed = async (market: Market) =>
        (await rowsOf(db, market, SYMBOL)).filter((r) => r.source === 'ws')
      // The first minute each market streams: its book may have gone out before the socket opened.
      const first = Math.max(
        ...(await Promise.all(
          MARKETS.map(
            async (m) => (await until(`a streamed ${m} minute`, async () => (await streamed(m))[0])).t,
          ),
        )),
      )
      // Two minutes ahead, the book stands still for a whole minute on both markets.
      const quiet = first + 3 * MINUTE_MS
      const forced = new Set<number>()
      for (const m of MARKETS) rig.sim.hooks.quietBook(SYMBOL, quiet, m)
      forced.add(quiet)
      const asOfClose = (market: Market, openTime: number): number => {
        let m = openTime
        while (quietBookMinute(simKey(market, SYMBOL), m) || forced.has(m)) m -= MINUTE_MS
        return m
      }
      // Minutes whose closing book went out while the socket was open. The simulator also
      // keeps some minutes quiet at random, so wait until at least four such are in.
      const checkedOf = async (market: Market) =>
        (await streamed(market)).filter((r) => r.t > first && asOfClose(market, r.t) > first)
      await until(
        'the minute after the quiet one and four checkable minutes, streamed on both markets',
        async () => {
          for (const m of MARKETS) {
            const rows = await checkedOf(m)
            if (!rows.some((r) => r.t === quiet + MINUTE_MS) || rows.length < 4) return false
          }
          return true
        },
        120_000,
      )

      for (const market of MARKETS) {
        const key = simKey(market, SYMBOL)
        const checked = await checkedOf(market)
        assert.ok(checked.length >= 4, `${market}: ${checked.length} minutes checked`)
        assert.ok(
          checked.some((r) => r.t === quiet),
          `${market}: the quiet minute is among them`,
        )
        for (const r of checked) {
          const from = asOfClose(market, r.t)
          const b = simulatedBook(key, from)
          const where = `${market} ${new Date(r.t).toISOString()}`
          assert.deepEqual(
            { bid: r.bid, bid_qty: r.bid_qty, ask: r.ask, ask_qty: r.ask_qty },
            { bid: b.bid, bid_qty: b.bidQty, ask: b.ask, ask_qty: b.askQty },
            `${where}: the closing book of ${new Date(from).toISOString()}`,
          )
          const sent = from + CLOSING_BOOK_AT_MS
          assert.ok(r.quote_time !== null, where)
          if (market === 'usdm') assert.equal(r.quote_time, sent, `${where}: T of the quote`)
          // Received after it was sent, give or take what the app's clock synchronisation
          // cannot tell apart (half a round trip, ×60 here), and in any case before the close.
          else
            assert.ok(
              r.quote_time >= sent - SYNC_SLACK_MS && r.quote_time <= from + MINUTE_MS - 1,
              `${where}: received at ${r.quote_time - from} ms into its minute`,
            )
          if (r.t === quiet)
            assert.ok(r.quote_time < r.t, `${where}: the quiet minute's quote is older than it`)
        }
      }
    })
  })

  describe(`a minute without trades, on ${kind}`, () => {
    it('is stored with NULL trade ids and trades = 0 from the stream, as from REST', async (t) => {
      const { streamedSymbol, streamedMinute, restSymbol, restMinute } = emptyMinutePair()
      // Start five minutes before the streamed empty minute; the initial backfill (REST) covers the other.
      const start = streamedMinute - 5 * MINUTE_MS
      const rig = await liveRig(kind, {}, (Date.now() - start - 30_000) / 3_600_000)
      t.after(() => rig.close())
      const { app } = await rig.startApp({
        TRADING_SYMBOLS: [...new Set([streamedSymbol, restSymbol])].join(','),
        INITIAL_BACKFILL_MINUTES: '30',
      })
      const db = app.db as Db
      const stored = (symbol: string, minute: number) =>
        until(
          `${symbol} ${new Date(minute).toISOString()} stored`,
          async () => (await rowsOf(db, 'spot', symbol)).find((r) => r.t === minute),
          30_000,
        )
      const fromStream = await stored(streamedSymbol, streamedMinute)
      const fromRest = await stored(restSymbol, restMinute)
      assert.equal(fromStream.source, 'ws')
      assert.equal(fromRest.source, 'rest')
      for (const r of [fromStream, fromRest]) assert.deepEqual([r.trades, r.f, r.l], ['0', null, null])
      // The trade ids of minutes with trades are kept as they came.
      const traded = await until('a streamed minute with trades', async () =>
        (await rowsOf(db, 'spot', streamedSymbol)).find((r) => r.source === 'ws' && r.t !== streamedMinute),
      )
      assert.equal(traded.f, String(simulatedKline(streamedSymbol, traded.t).firstTradeId))
    })
  })
}

/**
 * Two empty minutes of the simulated market in the past (the simulator sends f = L = −1,
 * n = 0 for them, as Binance does): one to be streamed, one 8–30 minutes before it, within
 * the initial backfill. Deterministic for a given day; searched over the last 30 days.
 */
function emptyMinutePair(): {
  streamedSymbol: string
  streamedMinute: number
  restSymbol: string
  restMinute: number
} {
  const symbols = ['ADAUSDT', 'NKNUSDT', 'ETHBTC', 'BNBBTC', 'BTCFDUSD', 'BTCUSDC']
  const to = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS - 2 * 3_600_000
  const from = to - 30 * 24 * 3_600_000
  const empties: { symbol: string; minute: number }[] = []
  for (const symbol of symbols) {
    for (let m = from; m < to; m += MINUTE_MS) {
      const k = simulatedKline(symbol, m)
      if (k.trades === 0) empties.push({ symbol, minute: m })
    }
  }
  for (const s of empties) {
    const k = simulatedKline(s.symbol, s.minute)
    assert.deepEqual([k.firstTradeId, k.lastTradeId], [-1, -1], 'the simulator sends -1 ids')
    const r = empties.find(
      (e) => s.minute - e.minute >= 8 * MINUTE_MS && s.minute - e.minute <= 30 * MINUTE_MS,
    )
    if (r)
      return {
        streamedSymbol: s.symbol,
        streamedMinute: s.minute,
        restSymbol: r.symbol,
        restMinute: r.minute,
      }
  }
  throw new Error(`no two empty minutes 8–30 minutes apart in ${empties.length} empty minutes`)
}
