/**
 * The live pipeline end to end, in one process: the simulator's streams → the
 * app → a real database. Time runs 60× faster on a clock the simulator and the
 * app share, so minutes pass in seconds.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createApp } from '../../src/app/app.ts'
import { loadConfig } from '../../src/config/config.ts'
import { MINUTE_MS } from '../../src/core/records.ts'
import { bookAsOfClose, CLOSING_BOOK_AT_MS } from '../../src/simulator/book.ts'
import { simulatedKline } from '../../src/simulator/market.ts'
import { scaledClock } from '../../src/simulator/scaled-clock.ts'
import { startSimulator } from '../../src/simulator/server.ts'
import type { Db } from '../../src/store/db.ts'
import { pgTargets } from '../helpers/db.ts'
import { feederTarget } from '../helpers/feeder-target.ts'
import { capturedLogger } from '../helpers/log-capture.ts'
import { until } from '../helpers/until.ts'

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'NKNUSDT']
const SPEED = 60

interface Row {
  symbol: string
  open_time: Date
  close_time: Date
  open: string
  high: string
  low: string
  close: string
  volume: string
  quote_volume: string
  trades: string
  taker_buy_base: string
  taker_buy_quote: string
  first_trade_id: string | null
  last_trade_id: string | null
  bid: string | null
  bid_qty: string | null
  ask: string | null
  ask_qty: string | null
  quote_time: string | null
  source: string
}

async function rows(db: Db): Promise<Row[]> {
  const r = await db.query<Row>(
    `SELECT symbol, open_time, close_time, open::text, high::text, low::text, close::text, volume::text,
            quote_volume::text, trades::text, taker_buy_base::text, taker_buy_quote::text,
            first_trade_id::text, last_trade_id::text, bid::text, bid_qty::text, ask::text, ask_qty::text,
            (extract(epoch FROM quote_time) * 1000)::int8::text AS quote_time, source
       FROM candles_1m ORDER BY symbol, open_time`,
  )
  return r.rows
}

/** Received after the simulator sent it, give or take the app's clock synchronisation (×60 here). */
const SYNC_SLACK_MS = 1_000

/**
 * A stored row equals the simulator's candle of that minute, digit for digit: from the stream with
 * the last book at or before the close, or (where `inOutage`, a minute whose close fell into an
 * outage) from REST, which has neither book nor trade ids. A streamed minute of an outage holds
 * the last quote the app received before its close, whichever that was, and never a later one.
 */
function assertExact(r: Row, inOutage: boolean): void {
  const t = r.open_time.getTime()
  const k = simulatedKline(r.symbol, t)
  const fromRest = inOutage && r.source === 'rest'
  const asOf = bookAsOfClose(r.symbol, t)
  assert.ok(asOf !== null)
  const quoteTime = r.quote_time === null ? null : Number(r.quote_time)
  const where = `${r.symbol} ${r.open_time.toISOString()}`
  const expectedBook = fromRest
    ? { bid: null, bidQty: null, ask: null, askQty: null }
    : inOutage
      ? { bid: r.bid, bidQty: r.bid_qty, ask: r.ask, askQty: r.ask_qty }
      : asOf.book
  if (!fromRest && !inOutage) {
    assert.ok(quoteTime !== null, `${where}: quote time`)
    const sent = asOf.minute + CLOSING_BOOK_AT_MS
    assert.ok(
      quoteTime >= sent - SYNC_SLACK_MS,
      `${where}: quote received ${sent - quoteTime} ms before it was sent`,
    )
  }
  if (quoteTime !== null) assert.ok(quoteTime <= k.closeTime, `${where}: a quote from after the close`)
  const b = expectedBook
  assert.deepEqual(
    {
      close_time: r.close_time.getTime(),
      open: r.open,
      high: r.high,
      low: r.low,
      close: r.close,
      volume: r.volume,
      quote_volume: r.quote_volume,
      trades: Number(r.trades),
      taker_buy_base: r.taker_buy_base,
      taker_buy_quote: r.taker_buy_quote,
      first_trade_id: r.first_trade_id === null ? null : Number(r.first_trade_id),
      last_trade_id: r.last_trade_id === null ? null : Number(r.last_trade_id),
      bid: r.bid,
      bid_qty: r.bid_qty,
      ask: r.ask,
      ask_qty: r.ask_qty,
      source: r.source,
    },
    {
      close_time: k.closeTime,
      open: k.open,
      high: k.high,
      low: k.low,
      close: k.close,
      volume: k.volume,
      quote_volume: k.quoteVolume,
      trades: k.trades,
      taker_buy_base: k.takerBuyBase,
      taker_buy_quote: k.takerBuyQuote,
      first_trade_id: fromRest || k.firstTradeId < 0 ? null : k.firstTradeId,
      last_trade_id: fromRest || k.lastTradeId < 0 ? null : k.lastTradeId,
      bid: b.bid,
      bid_qty: b.bidQty,
      ask: b.ask,
      ask_qty: b.askQty,
      source: fromRest ? 'rest' : 'ws',
    },
    where,
  )
}

for (const kind of pgTargets()) {
  describe(`live pipeline on ${kind}`, () => {
    it('streams several minutes of several symbols exactly once, through drops, zombies, shutdown notices and rotation', async (t) => {
      // Start 20 s before a minute boundary, in the past, so every stored minute is a closed one.
      const epoch = Math.floor((Date.now() - 3_600_000) / MINUTE_MS) * MINUTE_MS - 20_000
      const clock = scaledClock(SPEED, epoch)
      const sim = await startSimulator({ clock })
      const target = await feederTarget(kind)
      const { logger, lines } = capturedLogger()
      const config = loadConfig({
        ...target.env,
        BINANCE_STREAM_URL: sim.wsBase,
        BINANCE_REST_URL: sim.httpBase,
        INITIAL_BACKFILL_MINUTES: '0',
        TRADING_SYMBOLS: SYMBOLS.join(',').toLowerCase(),
        HEALTH_CHECK_HOST: '127.0.0.1',
        HEALTH_CHECK_PORT: '0',
        LOG_LEVEL: 'debug',
      })
      // Rotation every ~6 simulated minutes instead of 23.5 h, to see it happen.
      const app = createApp({
        config,
        clock,
        logger,
        streamTuning: { maxLifetimeMs: 6 * MINUTE_MS, lifetimeJitterMs: 0 },
      })
      t.after(async () => {
        await app.stop('test end')
        await sim.close()
        await target.cleanup()
      })
      await app.start()
      const base = `http://127.0.0.1:${app.httpPort}`
      const written = async () => (await app.metrics.candlesWritten.get()).values[0]?.value ?? 0
      const closed = async () => (await app.metrics.candlesClosed.get()).values[0]?.value ?? 0

      await until('three minutes of every symbol', async () => (await written()) >= 3 * SYMBOLS.length)
      const health = (await (await fetch(`${base}/health`)).json()) as Record<string, unknown>
      assert.equal(health.websocket_connected, true)
      assert.equal(health.database_connected, true)
      assert.equal((await fetch(`${base}/ready`)).status, 200)

      // An abrupt drop: the feed reconnects and data flows again.
      const before = await closed()
      sim.hooks.dropAll()
      await until('a reconnect after the drop', () => lines.some((l) => l.code === 'STREAM_RECONNECT'))
      await until('candles after the reconnect', async () => (await closed()) >= before + SYMBOLS.length)

      // A zombie connection: open, silent, answering nothing. It is detected and replaced.
      sim.hooks.silence(true)
      await until('the silent connection replaced', () =>
        lines.some((l) => l.code === 'STREAM_DISCONNECTED' && /pong_timeout|stale/.test(String(l.reason))),
      )
      sim.hooks.silence(false)
      const afterZombie = await closed()
      await until('candles after the zombie', async () => (await closed()) >= afterZombie + SYMBOLS.length)
      // From here on only rotations happen: not a single minute may be missing.
      const steadyFrom = Math.ceil(clock.now() / MINUTE_MS) * MINUTE_MS

      // serverShutdown: a replacement opens before the old connection closes.
      const disconnectsBefore = lines.filter((l) => l.code === 'STREAM_DISCONNECTED').length
      sim.hooks.serverShutdown()
      await until('a rotation after serverShutdown', () =>
        lines.some((l) => l.msg === 'stream connected' && l.rotation === true),
      )
      const afterShutdown = await closed()
      await until(
        'candles after the rotation',
        async () => (await closed()) >= afterShutdown + 2 * SYMBOLS.length,
      )
      assert.equal(
        lines.filter((l) => l.code === 'STREAM_DISCONNECTED').length,
        disconnectsBefore,
        'a rotation is not a disconnect',
      )

      // Past the (shortened) connection lifetime: rotated with overlap, nothing missed.
      const rotationsBefore = lines.filter((l) => l.msg === 'stream connected' && l.rotation === true).length
      await until(
        'a lifetime rotation',
        () =>
          lines.filter((l) => l.msg === 'stream connected' && l.rotation === true).length > rotationsBefore,
        30_000,
      )
      const afterRotation = await closed()
      await until(
        'candles after the lifetime rotation',
        async () => (await closed()) >= afterRotation + 2 * SYMBOLS.length,
      )

      assert.equal(await app.stop('test end'), true)
      const db = await target.open()
      try {
        const stored = await rows(db)
        assert.ok(stored.length >= 8 * SYMBOLS.length, `stored ${stored.length}`)
        for (const r of stored) assertExact(r, r.open_time.getTime() < steadyFrom)
        // The key is the minute: a row stored under any other instant would be a second copy of one.
        for (const r of stored)
          assert.equal(r.open_time.getTime() % 60_000, 0, `${r.symbol} ${r.open_time.toISOString()}`)
        const closedTotal = await closed()
        const fromStream = stored.filter((r) => r.source === 'ws').length
        assert.ok(fromStream <= closedTotal, 'every row from the stream came from a closed frame')
        for (const s of SYMBOLS) {
          const mine = stored.filter((r) => r.symbol === s).map((r) => r.open_time.getTime())
          assert.ok(mine.length >= 8, `${s}: ${mine.length} minutes`)
          // Rotations (serverShutdown, lifetime) never cost a minute. (Minutes whose close fell
          // inside the drop or the zombie outage are repaired from REST, not by the stream.)
          const steady = mine.filter((m) => m >= steadyFrom)
          assert.ok(steady.length >= 4, `${s}: ${steady.length} minutes after the outages`)
          const expected = Array.from({ length: steady.length }, (_, i) => steadyFrom + i * MINUTE_MS)
          assert.deepEqual(steady, expected, `${s}: contiguous through both rotations`)
        }
        // Every stored candle has its feature row (window 60, the default), written through the engine.
        const f = await db.query<{ n: string }>(
          `SELECT count(*)::text AS n FROM candles_1m c
            WHERE NOT EXISTS (SELECT 1 FROM feature_cache f WHERE f.market = c.market AND f.symbol = c.symbol
                                AND f.open_time = c.open_time AND f.window_size = 60)`,
        )
        assert.equal(f.rows[0]?.n, '0', 'candles without features')
        const invalid = await db.query<{ n: string }>(
          "SELECT count(*)::text AS n FROM data_quality_logs WHERE event_type = 'invalid_message'",
        )
        assert.equal(invalid.rows[0]?.n, '0')
        const dq = await db.query<{ event_type: string }>('SELECT event_type FROM data_quality_logs')
        const types = new Set(dq.rows.map((r) => r.event_type))
        assert.ok(types.has('ws_disconnected') && types.has('ws_reconnected'), [...types].join(','))
      } finally {
        await db.close()
      }
    })
  })
}
