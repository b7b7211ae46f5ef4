import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  buildCandleUpsert,
  CANDLE_FILL_SQL,
  CANDLE_UPSERT_SQL,
  dedupeCandles,
} from '../../src/store/candle-sql.ts'
import { candle, T0 } from './candle-fixture.ts'

test('one set-based statement: unnest of typed arrays, ON CONFLICT on the primary key', () => {
  const q = buildCandleUpsert([candle(), candle({ minute: 1 })])
  assert.match(q.text, /^INSERT INTO candles_1m AS c \(/)
  assert.match(q.text, /FROM unnest\(\$1::text\[\], \$2::text\[\], \$3::int8\[\]/)
  assert.match(q.text, /timestamptz 'epoch' \+ u\.open_time \* interval '1 millisecond'/)
  assert.match(q.text, /\$5::numeric\[\]/)
  assert.match(q.text, /ON CONFLICT \(market, symbol, open_time\) DO UPDATE/)
  assert.equal(q.text, CANDLE_UPSERT_SQL)
  assert.ok(q.name?.startsWith('candles_upsert_'))
  assert.equal(q.values.length, 21)
  assert.equal(q.values[1], '{"BTCUSDT","BTCUSDT"}')
})

test('fill mode: the same insert and parameters, a conflict rule that only fills what is missing', () => {
  const batch = [candle(), candle({ minute: 1 })]
  const latest = buildCandleUpsert(batch)
  const fill = buildCandleUpsert(batch, 'fill')
  assert.equal(fill.text, CANDLE_FILL_SQL)
  assert.deepEqual(fill.values, latest.values)
  assert.notEqual(fill.name, latest.name, 'a prepared statement per mode')
  const insert = (t: string) => t.slice(0, t.indexOf('ON CONFLICT'))
  assert.equal(insert(fill.text), insert(latest.text))
  assert.doesNotMatch(fill.text, /\bopen = excluded\.open\b/, 'fill never overwrites a stored value')
})

test('decimals are passed as the exchange strings, times as epoch milliseconds', () => {
  const q = buildCandleUpsert([candle({ open: '60685.22000000', low: '0.00000001' })])
  assert.equal(q.values[4], '{"60685.22000000"}')
  assert.equal(q.values[6], '{"0.00000001"}')
  assert.equal(q.values[2], `{"${T0}"}`)
  assert.equal(q.values[3], `{"${T0 + 59_999}"}`)
  // No bid/ask: NULL elements, unquoted.
  assert.equal(
    buildCandleUpsert([candle({ bid: null, bidQty: null, ask: null, askQty: null })]).values[15],
    '{NULL}',
  )
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
