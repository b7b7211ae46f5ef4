import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decodeFrame } from '../../src/binance/ws/decode.ts'
import type { StreamEvent } from '../../src/core/records.ts'
import { fixtureNames, fixtureText } from '../helpers/fixtures.ts'

const RX = 1_700_000_000_000

function ok(text: string): { event: StreamEvent; stream: string | null } {
  const r = decodeFrame(text, RX)
  assert.ok(r.ok, `expected to decode: ${r.ok ? '' : `${r.reason} ${r.detail}`}`)
  return r
}

describe('decodeFrame on the shared fixtures', () => {
  const streamFixtures = fixtureNames().filter((f) => /_ws_|ws_error|_response/.test(f))

  it('covers every stream-side fixture', () => {
    assert.ok(streamFixtures.length >= 15, `found ${streamFixtures.length}`)
  })

  for (const name of streamFixtures) {
    if (name === 'ws_error_messages_table.doc.json') continue
    it(`decodes ${name}`, () => {
      const { event } = ok(fixtureText(name))
      assert.equal(event.receivedAt, RX)
    })
  }

  it('kline capture: every field, strings kept verbatim', () => {
    const { event, stream } = ok(fixtureText('binanceus_ws_kline_1m_closed.combined.capture.json'))
    assert.equal(stream, 'omgbusd@kline_1m')
    assert.deepEqual(event, {
      type: 'kline',
      symbol: 'OMGBUSD',
      eventTime: 1633998301755,
      receivedAt: RX,
      interval: '1m',
      openTime: 1633998240000,
      closeTime: 1633998299999,
      firstTradeId: 439572,
      lastTradeId: 439585,
      open: '13.72120000',
      high: '13.80760000',
      low: '13.72120000',
      close: '13.76640000',
      volume: '536.51000000',
      quoteVolume: '7387.12073500',
      trades: 14,
      takerBuyBase: '231.60000000',
      takerBuyQuote: '3187.75743000',
      closed: true,
    })
  })

  it('raw and combined captures decode to the same event', () => {
    for (const base of [
      'binanceus_ws_kline_1m_closed',
      'spot_ws_kline_1m_open',
      'spot_ws_bookTicker',
      'spot_ws_serverShutdown',
    ]) {
      const kind = base === 'spot_ws_serverShutdown' ? 'doc' : 'capture'
      const raw = ok(fixtureText(`${base}.raw.${kind}.json`))
      const combined = ok(fixtureText(`${base}.combined.${kind}.json`))
      assert.deepEqual(raw.event, combined.event)
      assert.equal(raw.stream, null)
      assert.ok(combined.stream)
    }
  })

  it('spot bookTicker: six fields, no exchange time', () => {
    const { event } = ok(fixtureText('spot_ws_bookTicker.raw.capture.json'))
    assert.deepEqual(event, {
      type: 'book_ticker',
      symbol: 'NKNUSDT',
      updateId: 499869768,
      eventTime: null,
      transactionTime: null,
      receivedAt: RX,
      bid: '0.35210000',
      bidQty: '672.00000000',
      ask: '0.35260000',
      askQty: '3199.00000000',
    })
  })

  it('futures bookTicker keeps its event time', () => {
    const { event } = ok(fixtureText('futures_ws_bookTicker.raw.doc.json'))
    assert.equal(event.type, 'book_ticker')
    assert.equal(event.type === 'book_ticker' && event.eventTime, 1568014460893)
  })

  it('control replies: result, nested error, null id', () => {
    assert.deepEqual(ok(fixtureText('ws_subscribe_response.doc.json')).event, {
      type: 'control_result',
      id: 1,
      result: null,
      receivedAt: RX,
    })
    assert.deepEqual(ok(fixtureText('ws_list_subscriptions_response.doc.json')).event, {
      type: 'control_result',
      id: 3,
      result: ['btcusdt@aggTrade'],
      receivedAt: RX,
    })
    assert.deepEqual(ok(fixtureText('ws_error_invalid_stream.observed.json')).event, {
      type: 'control_error',
      id: 2,
      code: 2,
      msg: 'Invalid request: invalid stream',
      receivedAt: RX,
    })
    assert.deepEqual(ok(fixtureText('ws_error_invalid_json.observed.json')).event, {
      type: 'control_error',
      id: null,
      code: 3,
      msg: 'Invalid json',
      receivedAt: RX,
    })
  })

  it('documented top-level error form is accepted too', () => {
    const table = JSON.parse(fixtureText('ws_error_messages_table.doc.json')) as {
      documented_message: string
    }[]
    const sample = table[0]?.documented_message.replace('%s', '7') ?? ''
    assert.deepEqual(ok(sample).event, {
      type: 'control_error',
      id: 7,
      code: 0,
      msg: 'Unknown property',
      receivedAt: RX,
    })
  })
})

describe('control errors without a request id', () => {
  // Most rows of Binance's error table carry no `id` at all (the request may not have been
  // parsed far enough to have one); they are control errors all the same, with id null.
  const table = JSON.parse(fixtureText('ws_error_messages_table.doc.json')) as {
    documented_message: string
  }[]

  it('every documented error message decodes as a control error', () => {
    assert.ok(table.length >= 9)
    for (const row of table) {
      const text = row.documented_message.replaceAll('%s', '7')
      const doc = JSON.parse(text) as { code: number; msg: string; id?: number }
      assert.deepEqual(ok(text).event, {
        type: 'control_error',
        id: doc.id ?? null,
        code: doc.code,
        msg: doc.msg,
        receivedAt: RX,
      })
    }
  })

  it('the nested wire form without id decodes too', () => {
    const observed = JSON.parse(fixtureText('ws_error_invalid_stream.observed.json'))
    delete observed.id
    assert.deepEqual(ok(JSON.stringify(observed)).event, {
      type: 'control_error',
      id: null,
      code: 2,
      msg: 'Invalid request: invalid stream',
      receivedAt: RX,
    })
  })

  it('an error without code or msg is still malformed', () => {
    for (const text of ['{"error":{"msg":"x"}}', '{"error":{"code":"2","msg":"x"}}', '{"error":"boom"}']) {
      const r = decodeFrame(text, RX)
      assert.equal(r.ok, false, text)
    }
  })
})

describe('decodeFrame rejects what is not Binance market data', () => {
  const kline = JSON.parse(fixtureText('binanceus_ws_kline_1m_closed.raw.capture.json'))

  function mutated(path: string[], value: unknown): string {
    const copy = structuredClone(kline)
    let o = copy
    for (const p of path.slice(0, -1)) o = o[p]
    const last = path.at(-1) as string
    if (value === undefined) delete o[last]
    else o[last] = value
    return JSON.stringify(copy)
  }

  const cases: [string, string, string][] = [
    ['truncated', fixtureText('binanceus_ws_kline_1m_closed.raw.capture.json').slice(0, 90), 'invalid_json'],
    ['empty', '', 'invalid_json'],
    ['array', '[1,2]', 'not_an_object'],
    ['number', '42', 'not_an_object'],
    ['null', 'null', 'not_an_object'],
    ['unknown event', '{"e":"trade","E":1}', 'unknown_shape'],
    ['price as number', mutated(['k', 'c'], 13.7664), 'bad_field'],
    ['negative price', mutated(['k', 'o'], '-1.0'), 'bad_field'],
    ['exponent price', mutated(['k', 'h'], '1e5'), 'bad_field'],
    ['missing close flag', mutated(['k', 'x'], undefined), 'bad_field'],
    ['close flag as string', mutated(['k', 'x'], 'true'), 'bad_field'],
    ['open time as string', mutated(['k', 't'], '1633998240000'), 'bad_field'],
    ['close before open', mutated(['k', 'T'], 1633998239999), 'bad_field'],
    ['time in seconds', mutated(['k', 't'], 1633998240), 'bad_field'],
    ['fractional trades', mutated(['k', 'n'], 1.5), 'bad_field'],
    ['first trade id -1 alone', mutated(['k', 'f'], -1), 'bad_field'],
    ['last trade id -1 alone', mutated(['k', 'L'], -1), 'bad_field'],
    ['trade id below -1', mutated(['k', 'f'], -2), 'bad_field'],
    ['lowercase symbol', mutated(['s'], 'omgbusd'), 'bad_field'],
    ['symbol with SQL', mutated(['s'], "X';DROP"), 'bad_field'],
    ['k.s differs', mutated(['k', 's'], 'BTCUSDT'), 'bad_field'],
    ['k missing', mutated(['k'], undefined), 'bad_field'],
    ['oversized', `{"e":"kline","pad":"${'x'.repeat(70_000)}"}`, 'oversized'],
    [
      'combined stream for another symbol',
      JSON.stringify({ stream: 'btcusdt@kline_1m', data: kline }),
      'stream_mismatch',
    ],
    ['book with missing ask', '{"u":1,"s":"BTCUSDT","b":"1.0","B":"1.0","A":"1.0"}', 'bad_field'],
    ['book with negative id', '{"u":-5,"s":"BTCUSDT","b":"1.0","B":"1.0","a":"1.0","A":"1.0"}', 'bad_field'],
    ['control id too long', `{"result":null,"id":"${'a'.repeat(37)}"}`, 'bad_field'],
  ]

  for (const [name, text, reason] of cases) {
    it(name, () => {
      const r = decodeFrame(text, RX)
      assert.equal(r.ok, false)
      assert.equal(r.ok === false && r.reason, reason)
    })
  }
})

describe('a minute without trades', () => {
  // The captured closed kline as Binance sends a minute in which nothing traded.
  const capture = JSON.parse(fixtureText('binanceus_ws_kline_1m_closed.raw.capture.json'))
  const empty = structuredClone(capture)
  Object.assign(empty.k, { f: -1, L: -1, n: 0, o: '13.7664', h: '13.7664', l: '13.7664', c: '13.7664' })
  Object.assign(empty.k, { v: '0.00000000', q: '0.00000000', V: '0.00000000', Q: '0.00000000' })

  it('decodes with null trade ids (as REST rows have) and trades = 0', () => {
    const { event } = ok(JSON.stringify(empty))
    assert.equal(event.type, 'kline')
    if (event.type !== 'kline') return
    assert.deepEqual([event.firstTradeId, event.lastTradeId, event.trades], [null, null, 0])
  })

  it('-1 ids with trades counted are refused', () => {
    const r = decodeFrame(JSON.stringify({ ...empty, k: { ...empty.k, n: 3 } }), RX)
    assert.deepEqual(r.ok === false && [r.reason, r.detail.startsWith('kline.k.f/L/n')], ['bad_field', true])
  })

  it('a minute with trades keeps its ids', () => {
    const { event } = ok(JSON.stringify(capture))
    assert.deepEqual(event.type === 'kline' && [event.firstTradeId, event.lastTradeId], [439572, 439585])
  })
})
