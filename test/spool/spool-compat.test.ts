/**
 * A spool left by a release from before quote times: its version-1 records (21 fields, the
 * stream's −1 trade ids) replay into the current schema, beside version-2 records appended
 * after the upgrade, on PGlite and on PostgreSQL when TEST_DATABASE_URL is set.
 */
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { crc32 } from 'node:zlib'
import { systemClock } from '../../src/core/clock.ts'
import { openSpool } from '../../src/spool/spool.ts'
import { segmentPath } from '../../src/spool/spool-files.ts'
import { encodeRecord, scanRecords } from '../../src/spool/spool-record.ts'
import { replaySpool } from '../../src/spool/spool-replay.ts'
import { openTestDb, pgTargets } from '../helpers/db.ts'
import { candle, MIN, T0 } from '../store/candle-fixture.ts'
import { tempDir } from './spool-helpers.ts'

/** A record exactly as version 1 framed it: u32 length, u32 CRC-32, JSON `[1, spooledAt, tuples]`. */
function v1Record(tuples: unknown[][]): Buffer {
  const payload = Buffer.from(JSON.stringify([1, T0 + 5 * MIN, tuples]), 'utf8')
  const head = Buffer.alloc(8)
  head.writeUInt32LE(payload.length, 0)
  head.writeUInt32LE(crc32(payload), 4)
  return Buffer.concat([head, payload])
}

// market, symbol, open, close time, o, h, l, c, v, qv, n, V, Q, f, L, b, B, a, A, source, received
const EMPTY_MINUTE = ['spot', 'OLDUSDT', T0, T0 + 59_999, '5.0', '5.0', '5.0', '5.0', '0', '0', 0, '0', '0']
const TRADED_MINUTE = ['spot', 'OLDUSDT', T0 + MIN, T0 + MIN + 59_999, '5.0', '5.2', '4.9', '5.1', '3', '15']
const V1_TUPLES = [
  [...EMPTY_MINUTE, -1, -1, '4.9', '1', '5.1', '2', 'ws', T0 + 61_000],
  [...TRADED_MINUTE, 7, '1', '5', 100, 106, '5.0', '3', '5.2', '4', 'ws', T0 + 121_000],
]

test('version-1 records decode: no quote time, −1 trade ids as null', () => {
  const scan = scanRecords(v1Record(V1_TUPLES))
  assert.equal(scan.problem, null)
  const [empty, traded] = scan.records[0]?.candles ?? []
  assert.deepEqual(
    [empty?.firstTradeId, empty?.lastTradeId, empty?.trades, empty?.bid, empty?.quoteTime],
    [null, null, 0, '4.9', null],
  )
  assert.deepEqual([traded?.firstTradeId, traded?.lastTradeId, traded?.quoteTime], [100, 106, null])
  // A record of neither version is refused, not guessed at.
  const v3 = encodeRecord([candle()], T0)
  v3.write('3', 9)
  v3.writeUInt32LE(crc32(v3.subarray(8)), 4)
  assert.equal(scanRecords(v3).problem?.kind, 'corrupt')
})

test('version-2 records carry the quote time, and none without a quote', () => {
  const withQuote = candle({ quoteTime: T0 + 44_123 })
  const without = candle({ minute: 1, bid: null, bidQty: null, ask: null, askQty: null, quoteTime: null })
  const [a, b] = scanRecords(encodeRecord([withQuote, without], T0)).records[0]?.candles ?? []
  assert.deepEqual(a, withQuote)
  assert.deepEqual(b, without)
})

for (const kind of pgTargets()) {
  describe(`an older release's spool replays on ${kind}`, () => {
    test('version-1 and version-2 records in one segment, in order', async () => {
      const tmp = tempDir()
      const t = await openTestDb(kind)
      try {
        const v2 = candle({ symbol: 'OLDUSDT', minute: 2, quoteTime: T0 + 2 * MIN + 45_000 })
        writeFileSync(segmentPath(tmp.dir, 1), Buffer.concat([v1Record(V1_TUPLES), encodeRecord([v2], T0)]))
        const spool = openSpool({ dir: tmp.dir, maxBytes: 1 << 20, clock: systemClock })
        const refused: unknown[] = []
        const { result } = await replaySpool(spool, t.db, (_c, err) => refused.push(err))
        assert.deepEqual(refused, [])
        assert.deepEqual([result.done, result.records, result.candles], [true, 2, 3])
        assert.equal(spool.records, 0)
        spool.close()
        const rows = await t.db.query<Record<string, string | null>>(
          `SELECT (extract(epoch FROM open_time) * 1000)::int8::text AS t, trades::text AS n,
                  first_trade_id::text AS f, last_trade_id::text AS l, bid::text AS bid,
                  (extract(epoch FROM quote_time) * 1000)::int8::text AS qt
             FROM candles_1m WHERE symbol = 'OLDUSDT' ORDER BY open_time`,
        )
        assert.deepEqual(rows.rows, [
          { t: String(T0), n: '0', f: null, l: null, bid: '4.9', qt: null },
          { t: String(T0 + MIN), n: '7', f: '100', l: '106', bid: '5.0', qt: null },
          {
            t: String(T0 + 2 * MIN),
            n: '1234',
            f: '3000000000',
            l: '3000001233',
            bid: '60690.00000000',
            qt: String(T0 + 2 * MIN + 45_000),
          },
        ])
      } finally {
        await t.cleanup()
        tmp.cleanup()
      }
    })
  })
}
