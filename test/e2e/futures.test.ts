/**
 * Spot, USD-M and COIN-M in one process against the simulator, which serves
 * them as Binance does (binance-api.md §8): every minute of every symbol of
 * every market exact and once, bid/ask attached to streamed minutes; a USD-M
 * socket drop and a withheld x=true repaired from /fapi; a 429 on the USD-M
 * host pausing that host only. Simulator and app share a clock 60× fast.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Market } from '../../src/core/records.ts'
import { MINUTE_MS } from '../../src/core/records.ts'
import { simulatedKline } from '../../src/simulator/market.ts'
import { simKey } from '../../src/simulator/profile.ts'
import type { Simulator } from '../../src/simulator/server.ts'
import { detectGaps } from '../../src/store/candle-queries.ts'
import type { Db } from '../../src/store/db.ts'
import { pgTargets } from '../helpers/db.ts'
import { liveRig } from '../helpers/live-app.ts'
import { until } from '../helpers/until.ts'

interface Row {
  t: number
  open: string
  high: string
  low: string
  close: string
  volume: string
  trades: number
  source: string
  bid: string | null
  ask: string | null
}

async function rowsOf(db: Db, market: Market, symbol: string): Promise<Row[]> {
  const r = await db.query<{
    open_time: Date
    open: string
    high: string
    low: string
    close: string
    volume: string
    trades: string
    source: string
    bid: string | null
    ask: string | null
  }>(
    `SELECT open_time, open::text, high::text, low::text, close::text, volume::text, trades, source,
            bid::text, ask::text
       FROM candles_1m WHERE market = $1 AND symbol = $2 ORDER BY open_time`,
    [market, symbol],
  )
  return r.rows.map((x) => ({
    t: x.open_time.getTime(),
    open: x.open,
    high: x.high,
    low: x.low,
    close: x.close,
    volume: x.volume,
    trades: Number(x.trades),
    source: x.source,
    bid: x.bid,
    ask: x.ask,
  }))
}

async function missing(db: Db, market: Market, symbol: string, from: number, to: number): Promise<number> {
  const gaps = await detectGaps(db, market, symbol, from, to + MINUTE_MS)
  return gaps.reduce((n, g) => n + g.missing, 0)
}

/** The futures hosts of the simulator, as an operator would set them. */
function futuresEnv(sim: Simulator): Record<string, string> {
  return {
    BINANCE_USDM_STREAM_URL: sim.wsHostOf('usdm'),
    BINANCE_USDM_REST_URL: sim.httpBase,
    BINANCE_COINM_STREAM_URL: sim.wsHostOf('coinm'),
    BINANCE_COINM_REST_URL: sim.httpBase,
  }
}

const SYMBOLS: readonly (readonly [Market, string])[] = [
  ['spot', 'BTCUSDT'],
  ['spot', 'ETHUSDT'],
  ['usdm', 'BTCUSDT'],
  ['usdm', 'ETHUSDT'],
  ['usdm', 'SUSHIUSDT'],
  ['coinm', 'BTCUSD_PERP'],
  ['coinm', 'ETHUSD_PERP'],
]

for (const kind of pgTargets()) {
  describe(`spot and perpetual futures side by side on ${kind}`, () => {
    it('every minute of every market exact and once; streamed minutes carry bid/ask; per-market health and metrics', async (t) => {
      const rig = await liveRig(kind)
      t.after(() => rig.close())
      const { app } = await rig.startApp({
        ...futuresEnv(rig.sim),
        TRADING_SYMBOLS: SYMBOLS.map(([m, s]) => (m === 'spot' ? s : `${m}:${s}`)).join(','),
        INITIAL_BACKFILL_MINUTES: '5',
        FEATURE_WINDOWS: '3',
      })
      const db = app.db as Db
      const start = rig.clock.now()
      const from = Math.floor(start / MINUTE_MS) * MINUTE_MS - 5 * MINUTE_MS
      // Several streamed minutes on every market (while the initial backfill runs, a minute
      // can reach the database from REST first; after it, the stream writes first).
      const streamed = async (market: Market, symbol: string) =>
        (await rowsOf(db, market, symbol)).filter((r) => r.source === 'ws' && r.t > start)
      for (const [market, symbol] of SYMBOLS)
        await until(
          `${market}:${symbol}: three streamed minutes`,
          async () => (await streamed(market, symbol)).length >= 3,
          90_000,
        )
      const to = Math.floor(rig.clock.now() / MINUTE_MS) * MINUTE_MS - 2 * MINUTE_MS
      for (const [market, symbol] of SYMBOLS) {
        await until(
          `${market}:${symbol} complete`,
          async () => (await missing(db, market, symbol, from, to)) === 0,
          60_000,
        )
        const rows = (await rowsOf(db, market, symbol)).filter((r) => r.t >= from && r.t <= to)
        assert.equal(rows.length, (to - from) / MINUTE_MS + 1, `${market}:${symbol}: each minute once`)
        for (const r of rows) {
          const k = simulatedKline(simKey(market, symbol), r.t)
          // Exactly as Binance sent them, the contract's precision and trailing zeros included.
          assert.deepEqual(
            [r.open, r.high, r.low, r.close, r.volume, r.trades],
            [k.open, k.high, k.low, k.close, k.volume, k.trades],
            `${market}:${symbol} at ${new Date(r.t).toISOString()}`,
          )
        }
        // USD-M books and klines come on different sockets: the first minute after the sockets
        // open may close before the first book arrives. From then on every one carries it.
        const ws = await streamed(market, symbol)
        for (const r of market === 'usdm' ? ws.slice(1) : ws) {
          assert.ok(r.bid !== null && r.ask !== null, `${market}:${symbol} ${r.t}: bid/ask attached`)
          assert.ok(Number(r.bid) < Number(r.ask))
        }
      }
      // Features per market and symbol.
      await until('feature rows for every market', async () => {
        const r = await db.query<{ market: string; n: string }>(
          'SELECT market, count(DISTINCT symbol)::text AS n FROM feature_cache GROUP BY market',
        )
        const by = new Map(r.rows.map((x) => [x.market, Number(x.n)]))
        return by.get('spot') === 2 && by.get('usdm') === 3 && by.get('coinm') === 2
      })
      // The same name on two markets is two instruments.
      const spotBtc = await rowsOf(db, 'spot', 'BTCUSDT')
      const usdmBtc = await rowsOf(db, 'usdm', 'BTCUSDT')
      assert.notEqual(spotBtc.at(-2)?.close, usdmBtc.at(-2)?.close)
      assert.match(usdmBtc.at(-2)?.close ?? '', /^\d+\.\d{3}$/)

      const port = app.httpPort as number
      const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as {
        symbols: Record<string, { market: string; symbol: string; last_candle_time: string | null }>
        details: { stream_connections: number }
      }
      assert.deepEqual(Object.keys(health.symbols).sort(), [
        'BTCUSDT',
        'ETHUSDT',
        'coinm:BTCUSD_PERP',
        'coinm:ETHUSD_PERP',
        'usdm:BTCUSDT',
        'usdm:ETHUSDT',
        'usdm:SUSHIUSDT',
      ])
      assert.equal(health.symbols['usdm:BTCUSDT']?.market, 'usdm')
      // Spot one connection, USD-M two (/market, /public), COIN-M one.
      assert.equal(health.details.stream_connections, 4)
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
      for (const m of ['spot', 'usdm', 'coinm'])
        assert.match(metrics, new RegExp(`feeder_candles_closed_total\\{market="${m}"\\} [1-9]`))
      assert.match(metrics, /feeder_last_candle_age_seconds\{market="coinm",symbol="BTCUSD_PERP"\}/)
      const status = (await (await fetch(`http://127.0.0.1:${port}/status.json`)).json()) as {
        symbols: { symbol: string; market: string; last_close: string | null }[]
      }
      const sushi = status.symbols.find((s) => s.symbol === 'usdm:SUSHIUSDT')
      assert.equal(sushi?.market, 'usdm')
      assert.ok(sushi?.last_close)
    })

    it('USD-M: a dropped socket and a withheld x=true are repaired from /fapi; spot keeps every minute', async (t) => {
      const rig = await liveRig(kind)
      t.after(() => rig.close())
      const { app, lines } = await rig.startApp({
        ...futuresEnv(rig.sim),
        TRADING_SYMBOLS: 'btcusdt,usdm:btcusdt,usdm:ethusdt',
        INITIAL_BACKFILL_MINUTES: '3',
        FEATURE_WINDOWS: '3',
      })
      const db = app.db as Db
      const fapi = () => rig.sim.hooks.restOf('usdm').stats().byPath['/fapi/v1/klines'] ?? 0
      await until('the USD-M stream delivers', async () =>
        (await rowsOf(db, 'usdm', 'ETHUSDT')).some((r) => r.source === 'ws'),
      )
      const now = rig.clock.now()
      const skipped = Math.floor(now / MINUTE_MS) * MINUTE_MS + MINUTE_MS
      rig.sim.hooks.skipClosed('ETHUSDT', skipped, 'usdm')
      const restBefore = fapi()
      rig.sim.hooks.dropAll('usdm')
      const to = skipped + 2 * MINUTE_MS
      const from = skipped - 2 * MINUTE_MS
      for (const s of ['BTCUSDT', 'ETHUSDT'])
        await until(
          `usdm:${s} complete across the drop and the withheld frame`,
          async () => (await missing(db, 'usdm', s, from, to)) === 0,
          60_000,
        )
      const eth = (await rowsOf(db, 'usdm', 'ETHUSDT')).find((r) => r.t === skipped)
      assert.equal(eth?.source, 'rest', 'the withheld minute came from /fapi')
      assert.equal(eth?.close, simulatedKline(simKey('usdm', 'ETHUSDT'), skipped).close)
      assert.ok(fapi() > restBefore, 'repaired through /fapi/v1/klines')
      assert.ok(
        lines.some((l) => l.code === 'STREAM_DISCONNECTED' && l.market === 'usdm'),
        'the drop was seen on usdm',
      )
      // Spot's own socket was never dropped: its minutes keep arriving (the last of the range
      // may close on its socket a moment after USD-M's).
      await until(
        'spot BTCUSDT complete over the same minutes',
        async () => (await missing(db, 'spot', 'BTCUSDT', from, to)) === 0,
        30_000,
      )
      const q = await db.query<{ n: string }>(
        "SELECT count(*) AS n FROM data_quality_logs WHERE event_type = 'ws_disconnected' AND market = 'usdm'",
      )
      assert.ok(Number(q.rows[0]?.n) >= 1)
    })

    it('a 429 on the USD-M host pauses that host only: spot repair goes on, USD-M resumes after Retry-After', async (t) => {
      const rig = await liveRig(kind)
      t.after(() => rig.close())
      const { app, lines } = await rig.startApp({
        ...futuresEnv(rig.sim),
        TRADING_SYMBOLS: 'btcusdt,usdm:btcusdt',
        INITIAL_BACKFILL_MINUTES: '2',
        FEATURE_WINDOWS: '3',
      })
      const db = app.db as Db
      await until('both streams deliver', async () =>
        (await Promise.all([rowsOf(db, 'spot', 'BTCUSDT'), rowsOf(db, 'usdm', 'BTCUSDT')])).every((rows) =>
          rows.some((r) => r.source === 'ws'),
        ),
      )
      await until('the initial backfills are done', () => app.pendingBackfills() === 0)
      const skipped = Math.floor(rig.clock.now() / MINUTE_MS) * MINUTE_MS + MINUTE_MS
      rig.sim.hooks.skipClosed('BTCUSDT', skipped, 'spot')
      rig.sim.hooks.skipClosed('BTCUSDT', skipped, 'usdm')
      // The USD-M host's next answer is a 429 asking for 4 minutes of silence.
      rig.sim.hooks
        .restOf('usdm')
        .failNext(
          1,
          429,
          '{"code":-1003,"msg":"Too much request weight used; current limit is 2400 request weight per 1 MINUTE."}',
          { 'Retry-After': '240' },
        )
      const usdm = () => rig.sim.hooks.restOf('usdm').stats().requests
      await until('the USD-M host answered 429', () =>
        lines.find((l) => l.code === 'REST_HTTP_429' && l.market === 'usdm'),
      )
      const pausedAt = rig.clock.now()
      const requestsAtPause = usdm()
      const spotRow = await until('the spot minute repaired during the USD-M pause', async () =>
        (await rowsOf(db, 'spot', 'BTCUSDT')).find((r) => r.t === skipped && r.source === 'rest'),
      )
      assert.ok(spotRow)
      assert.ok(rig.clock.now() - pausedAt < 240_000, 'spot did not wait for the USD-M pause')
      assert.equal(
        (await rowsOf(db, 'usdm', 'BTCUSDT')).find((r) => r.t === skipped),
        undefined,
        'the USD-M minute waits for its host',
      )
      assert.equal(usdm(), requestsAtPause, 'nothing was sent to the paused host')
      const usdmRow = await until(
        'the USD-M minute repaired after Retry-After',
        async () => (await rowsOf(db, 'usdm', 'BTCUSDT')).find((r) => r.t === skipped),
        60_000,
      )
      assert.equal(usdmRow.source, 'rest')
      assert.ok(rig.clock.now() - pausedAt >= 240_000, 'Retry-After was obeyed')
      assert.equal(rig.sim.hooks.rest.stats().responses429, 0)
    })

    it('bad futures input is refused, counted and recorded under its market, and loses no minute', async (t) => {
      const rig = await liveRig(kind)
      t.after(() => rig.close())
      const { app } = await rig.startApp({
        ...futuresEnv(rig.sim),
        TRADING_SYMBOLS: 'usdm:btcusdt',
        INITIAL_BACKFILL_MINUTES: '2',
        FEATURE_WINDOWS: '3',
      })
      const db = app.db as Db
      await until('the USD-M stream delivers', async () =>
        (await rowsOf(db, 'usdm', 'BTCUSDT')).some((r) => r.source === 'ws'),
      )
      // A book without its transaction time, a kline with a numeric price, a truncated frame.
      const now = rig.clock.now()
      rig.sim.hooks.injectRaw(
        `{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"1.0","B":"1","a":"1.1","A":"1","E":${now}}}`,
        'usdm',
      )
      rig.sim.hooks.injectRaw(
        `{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":${now},"s":"BTCUSDT","k":{"t":0,"c":7.612}}}`,
        'usdm',
      )
      rig.sim.hooks.injectRaw('{"stream":"btcusdt@kline_1m","data":{"e":"kli', 'usdm')
      // And a minute that only REST can give, whose first page comes back malformed.
      const skipped = Math.floor(now / MINUTE_MS) * MINUTE_MS + MINUTE_MS
      rig.sim.hooks.skipClosed('BTCUSDT', skipped, 'usdm')
      rig.sim.hooks.restOf('usdm').malformNext(1, 'string_for_number')
      await until(
        'complete across the bad input',
        async () =>
          (await missing(db, 'usdm', 'BTCUSDT', skipped - 2 * MINUTE_MS, skipped + MINUTE_MS)) === 0,
        60_000,
      )
      const row = (await rowsOf(db, 'usdm', 'BTCUSDT')).find((r) => r.t === skipped)
      assert.equal(row?.close, simulatedKline(simKey('usdm', 'BTCUSDT'), skipped).close)
      const port = app.httpPort as number
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
      const invalid = [
        ...metrics.matchAll(/^feeder_ws_invalid_frames_total\{market="usdm",reason="([a-z_]+)"\} (\d+)/gm),
      ]
      const reasons = new Set(invalid.map((m) => m[1]))
      assert.ok(reasons.has('bad_field'), [...reasons].join(','))
      assert.ok(reasons.has('invalid_json'), [...reasons].join(','))
      const q = await db.query<{ n: string }>(
        "SELECT count(*) AS n FROM data_quality_logs WHERE event_type = 'invalid_message' AND market = 'usdm'",
      )
      assert.ok(Number(q.rows[0]?.n) >= 2)
      // Nothing stored from the bad frames: every stored minute is Binance's.
      for (const r of await rowsOf(db, 'usdm', 'BTCUSDT'))
        assert.equal(r.close, simulatedKline(simKey('usdm', 'BTCUSDT'), r.t).close)
    })
  })
}
