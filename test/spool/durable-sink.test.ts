/**
 * The durable sink against real databases: PGlite always, PostgreSQL (through
 * the TCP proxy) when TEST_DATABASE_URL is set.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { systemClock } from '../../src/core/clock.ts'
import type { Candle } from '../../src/core/records.ts'
import { createDurableSink, type DurableSink, type DurableSinkEvents } from '../../src/spool/durable-sink.ts'
import { openSpool, type Spool } from '../../src/spool/spool.ts'
import { countCandles } from '../../src/store/candle-queries.ts'
import { type CandleWriter, createCandleWriter } from '../../src/store/candle-writer.ts'
import type { Db } from '../../src/store/db.ts'
import { pgTargets } from '../helpers/db.ts'
import { until } from '../helpers/until.ts'
import { candle } from '../store/candle-fixture.ts'
import { openOutage } from './outage.ts'
import { tempDir } from './spool-helpers.ts'

type Seen = { [K in keyof DurableSinkEvents]: DurableSinkEvents[K][] }

function rig(
  db: Db,
  dir: string,
  maxBytes = 64 * 1024 * 1024,
): { writer: CandleWriter; spool: Spool; sink: DurableSink; seen: Seen } {
  const writer = createCandleWriter({
    db,
    clock: systemClock,
    maxBatch: 50,
    maxWaitMs: 50,
    maxRetries: 2,
    retryBaseMs: 5,
    retryMaxMs: 20,
  })
  const spool = openSpool({ dir, maxBytes, clock: systemClock })
  const sink = createDurableSink({ writer, spool, db, clock: systemClock, replayIntervalMs: 30 })
  const seen: Seen = { spooled: [], replayed: [], replay_failed: [], rejected: [], full: [] }
  for (const k of Object.keys(seen) as Array<keyof Seen>) {
    sink.on(k, (e) => (seen[k] as unknown[]).push(e))
  }
  return { writer, spool, sink, seen }
}

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'BNBUSDT', 'SOLUSDT']
const byMinute = (m: number): Candle[] =>
  SYMBOLS.map((symbol, i) =>
    candle({ minute: m, symbol, close: `${60_690 + i}.0${m % 10}000000`, trades: m }),
  )

const ROW_SQL = `SELECT symbol, (extract(epoch from open_time) * 1000)::int8::text AS t, open::text, high::text,
  low::text, close::text, volume::text, trades::text, bid::text, ask::text, first_trade_id::text AS f
  FROM candles_1m ORDER BY symbol, open_time`

function asRow(c: Candle) {
  return {
    symbol: c.symbol,
    t: String(c.openTime),
    open: c.open,
    high: c.high,
    low: c.low,
    close: c.close,
    volume: c.volume,
    trades: String(c.trades),
    bid: c.bid,
    ask: c.ask,
    f: c.firstTradeId === null ? null : String(c.firstTradeId),
  }
}

const sorted = (cs: Candle[]) =>
  [...cs].sort((a, b) => a.symbol.localeCompare(b.symbol) || a.openTime - b.openTime).map(asRow)

for (const kind of pgTargets()) {
  describe(`durable sink on ${kind}`, { timeout: 60_000 }, () => {
    test('an outage longer than every retry: candles spool, replay, and are all there exactly once', async () => {
      const o = await openOutage(kind)
      const tmp = tempDir()
      try {
        const { writer, spool, sink, seen } = rig(o.db, tmp.dir)
        sink.start()
        const all: Candle[] = []
        const feed = async (from: number, to: number) => {
          for (let m = from; m < to; m++) {
            for (const c of byMinute(m)) {
              all.push(c)
              sink.add(c)
            }
            await new Promise((r) => setTimeout(r, 2))
          }
        }
        await feed(0, 20)
        await until('first candles written', async () => (await countCandles(o.direct)) === 80)
        o.down()
        await feed(20, 40)
        await until('the outage batches spooled', () => writer.bufferSize === 0 && spool.records > 0)
        o.up()
        await feed(40, 60)
        await until('every candle stored and the spool empty', async () => {
          return (
            spool.records === 0 && writer.bufferSize === 0 && (await countCandles(o.direct)) === all.length
          )
        })
        const rows = (await o.direct.query(ROW_SQL)).rows
        assert.deepEqual(rows, sorted(all))
        const spooled = seen.spooled.reduce((n, e) => n + e.candles, 0)
        const replayed = seen.replayed.reduce((n, e) => n + e.candles, 0)
        assert.ok(spooled > 0, 'something was spooled')
        assert.equal(replayed, spooled)
        assert.deepEqual(seen.rejected, [])
        const result = await sink.close()
        assert.deepEqual(result, { spooled: 0, lost: 0, timedOut: false })
        spool.close()
      } finally {
        await o.cleanup()
        tmp.cleanup()
      }
    })

    test('replay never overwrites a newer row, fills what it lacks, and is idempotent', async () => {
      const o = await openOutage(kind)
      const tmp = tempDir()
      try {
        const { writer, spool, sink } = rig(o.db, tmp.dir)
        const older0 = candle({ minute: 0, close: '60690.01000000', bid: '60690.00000000', receivedAt: 1 })
        const newer0 = candle({
          minute: 0,
          close: '60695.00000000',
          bid: '60694.00000000',
          ask: '60695.00000000',
        })
        const rest1 = candle({
          minute: 1,
          source: 'rest',
          bid: null,
          bidQty: null,
          ask: null,
          askQty: null,
          firstTradeId: null,
          lastTradeId: null,
        })
        const ws1 = candle({ minute: 1 })
        const only2 = candle({ minute: 2 })
        writer.add(newer0)
        writer.add(rest1)
        await writer.flush()
        spool.append([older0, ws1, only2])
        await sink.replayNow()
        assert.equal(spool.records, 0)
        const expected = sorted([newer0, ws1, only2])
        assert.deepEqual((await o.direct.query(ROW_SQL)).rows, expected)
        // Replaying the same batch again (a crash before the marker moved) changes nothing.
        spool.append([older0, ws1, only2])
        await sink.replayNow()
        assert.deepEqual((await o.direct.query(ROW_SQL)).rows, expected)
        await sink.close()
        spool.close()
      } finally {
        await o.cleanup()
        tmp.cleanup()
      }
    })

    test('a row the database refuses is reported as rejected, never spooled', async () => {
      const o = await openOutage(kind)
      const tmp = tempDir()
      try {
        const { spool, sink, seen } = rig(o.db, tmp.dir)
        const bad = candle({ minute: 1, high: '1.00000000', low: '2.00000000' })
        sink.add(candle({ minute: 0 }))
        sink.add(bad)
        sink.add(candle({ minute: 2 }))
        await until('the bad row rejected', () => seen.rejected.length === 1)
        await sink.close()
        assert.deepEqual(seen.rejected[0]?.candles, [bad])
        assert.equal(spool.records, 0)
        assert.equal(await countCandles(o.direct), 2)
        // The same row found in an old spool is rejected at replay too, and does not block the rest.
        spool.append([bad, candle({ minute: 3 })])
        spool.close()
        const replaying = rig(o.db, tmp.dir)
        await replaying.sink.replayNow()
        assert.equal(replaying.seen.rejected.length, 1)
        assert.equal(await countCandles(o.direct), 3)
        assert.equal(replaying.spool.records, 0)
        replaying.spool.close()
      } finally {
        await o.cleanup()
        tmp.cleanup()
      }
    })

    test('a database that refuses every write (table gone) keeps the candles spooled until it is back', async () => {
      const o = await openOutage(kind)
      const tmp = tempDir()
      try {
        const { spool, sink, seen } = rig(o.db, tmp.dir)
        sink.start()
        // A failure about the database, not the rows (42P01 undefined_table): nothing may be rejected.
        await o.direct.exec('ALTER TABLE candles_1m RENAME TO candles_1m_away')
        const cs = Array.from({ length: 6 }, (_, m) => byMinute(m)).flat()
        for (const c of cs) sink.add(c)
        await until('all spooled', () => spool.candles === cs.length)
        assert.deepEqual(seen.rejected, [])
        assert.equal(seen.spooled[0]?.reason, 'write_failed')
        assert.equal((seen.spooled[0]?.error as { code?: string } | undefined)?.code, '42P01')
        await until('a replay tried and stopped', () => seen.replay_failed.length > 0)
        assert.equal(spool.candles, cs.length, 'a failed replay keeps every candle')
        await o.direct.exec('ALTER TABLE candles_1m_away RENAME TO candles_1m')
        await until('replayed', () => spool.records === 0)
        await sink.close()
        assert.deepEqual((await o.direct.query(ROW_SQL)).rows, sorted(cs))
        assert.deepEqual(seen.rejected, [])
        spool.close()
      } finally {
        await o.cleanup()
        tmp.cleanup()
      }
    })

    test('a full spool holds the newest candles in memory, then spools and replays them all', async () => {
      const o = await openOutage(kind)
      const tmp = tempDir()
      try {
        const probe = rig(o.db, join(tmp.dir, 'probe'))
        probe.spool.append(byMinute(0))
        const perBatch = probe.spool.bytes
        probe.spool.close()
        // Room for about three batches of four candles.
        const { spool, sink, seen } = rig(o.db, tmp.dir, Math.floor(perBatch * 3.5))
        sink.start()
        o.down()
        const cs: Candle[] = []
        for (let m = 0; m < 12; m++) {
          const batch = byMinute(m)
          cs.push(...batch)
          for (const c of batch) sink.add(c)
          await until(`minute ${m} spooled or held`, () => spool.candles + sink.heldCandles === cs.length)
        }
        assert.ok(seen.full.length > 0, 'the spool reported it was full')
        assert.ok(sink.heldCandles > 0, 'the newest candles are held in memory')
        assert.ok(spool.bytes <= Math.floor(perBatch * 3.5), 'the bound holds')
        assert.equal(sink.bufferSize >= sink.heldCandles, true)
        o.up()
        await until('everything replayed', () => spool.records === 0 && sink.heldCandles === 0, 30_000)
        await sink.close()
        assert.deepEqual((await o.direct.query(ROW_SQL)).rows, sorted(cs))
        spool.close()
      } finally {
        await o.cleanup()
        tmp.cleanup()
      }
    })

    test('shutdown with the database down spools everything; the next start replays it', async () => {
      const o = await openOutage(kind)
      const tmp = tempDir()
      try {
        const first = rig(o.db, tmp.dir)
        first.sink.start()
        o.down()
        const cs = Array.from({ length: 10 }, (_, m) => byMinute(m)).flat()
        for (const c of cs) first.sink.add(c)
        const r = await first.sink.close()
        assert.deepEqual(r.lost, 0)
        assert.equal(first.spool.candles, cs.length)
        first.spool.close()
        o.up()
        const second = rig(o.db, tmp.dir)
        second.sink.start()
        // The rows are visible when the replay commits; its 'replayed' event follows.
        await until(
          'the spool replayed at start',
          async () => (await countCandles(o.direct)) === cs.length && second.seen.replayed.length > 0,
        )
        assert.deepEqual((await o.direct.query(ROW_SQL)).rows, sorted(cs))
        // What changed under the features, per market and symbol, for the app to repair.
        const spans = second.seen.replayed.flatMap((e) => e.spans)
        assert.deepEqual(
          [...spans].sort((a, b) => a.symbol.localeCompare(b.symbol)),
          [...SYMBOLS].sort().map((symbol) => ({
            market: 'spot',
            symbol,
            fromOpenTime: byMinute(0)[0]?.openTime,
            toOpenTime: byMinute(9)[0]?.openTime,
          })),
        )
        await second.sink.close()
        second.spool.close()
      } finally {
        await o.cleanup()
        tmp.cleanup()
      }
    })

    test('shutdown timeout with a hung database spools what was not confirmed', async () => {
      const o = await openOutage(kind)
      const tmp = tempDir()
      try {
        const first = rig(o.db, tmp.dir)
        // Warm the pool so the hang hits a query, not a connect.
        await o.db.query('SELECT 1')
        o.hang()
        const cs = Array.from({ length: 5 }, (_, m) => byMinute(m)).flat()
        for (const c of cs) first.sink.add(c)
        const r = await first.sink.close({ timeoutMs: 300 })
        assert.equal(r.timedOut, true)
        assert.equal(r.spooled, cs.length)
        assert.equal(r.lost, 0)
        first.spool.close()
        o.resume()
        const second = rig(o.db, tmp.dir)
        second.sink.start()
        await until(
          'replayed',
          async () => second.spool.records === 0 && (await countCandles(o.direct)) === cs.length,
        )
        assert.deepEqual((await o.direct.query(ROW_SQL)).rows, sorted(cs))
        await second.sink.close()
        second.spool.close()
      } finally {
        await o.cleanup()
        tmp.cleanup()
      }
    })
  })
}
