import assert from 'node:assert/strict'
import { test } from 'node:test'
import { buildCandleUpsert, CANDLE_UPSERT_SQL, dedupeCandles } from '../../src/store/candle-sql.ts'
import { candle, T0 } from './candle-fixture.ts'

test('one set-based statement: unnest of typed arrays, ON CONFLICT on the primary key', () => {
  const q = buildCandleUpsert([candle(), candle({ minute: 1 })])
  assert.match(q.text, /^INSERT INTO candles_1m AS c \(/)
  assert.match(q.text, /FROM unnest\(\$1::text\[\], \$2::text\[\], \$3::timestamptz\[\]/)
  assert.match(q.text, /\$5::numeric\[\]/)
  assert.match(q.text, /ON CONFLICT \(market, symbol, open_time\) DO UPDATE/)
  assert.equal(q.text, CANDLE_UPSERT_SQL)
  assert.ok(q.name?.startsWith('candles_upsert_'))
  assert.equal(q.values.length, 20)
  for (const col of q.values) assert.equal((col as unknown[]).length, 2)
})

test('decimals are passed as the exchange strings, times as ISO instants', () => {
  const q = buildCandleUpsert([candle({ open: '60685.22000000', low: '0.00000001' })])
  const v = q.values as unknown[][]
  assert.deepEqual(v[4], ['60685.22000000'])
  assert.deepEqual(v[6], ['0.00000001'])
  assert.deepEqual(v[2], [new Date(T0).toISOString()])
  assert.deepEqual(v[3], [new Date(T0 + 59_999).toISOString()])
  for (const col of v.slice(4, 10)) assert.equal(typeof col[0], 'string')
})

test('duplicates in a batch: last wins, earlier bid/ask and trade ids fill in, first source kept', () => {
  const first = candle({ source: 'ws', close: '1.0', bid: '5.0', bidQty: '1', ask: '6.0', askQty: '2' })
  const other = candle({ minute: 1 })
  const last = candle({
    source: 'rest',
    close: '2.0',
    bid: null,
    bidQty: null,
    ask: null,
    askQty: null,
    firstTradeId: null,
    lastTradeId: null,
  })
  const out = dedupeCandles([first, other, last])
  assert.equal(out.length, 2)
  assert.equal(out[0]?.close, '2.0')
  assert.equal(out[0]?.bid, '5.0')
  assert.equal(out[0]?.askQty, '2')
  assert.equal(out[0]?.firstTradeId, first.firstTradeId)
  assert.equal(out[0]?.source, 'ws')
  assert.equal(out[1], other)
  const withBook = dedupeCandles([first, candle({ bid: '7.0', bidQty: '1', ask: '8.0', askQty: '1' })])
  assert.equal(withBook[0]?.bid, '7.0')
})

test('different markets or symbols with the same minute are different keys', () => {
  assert.equal(dedupeCandles([candle(), candle({ symbol: 'ETHUSDT' })]).length, 2)
})
