import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decodeFrame } from '../../src/binance/ws/decode.ts'
import { CandleAssembler } from '../../src/candles/candle-assembler.ts'
import { compareDecimal } from '../../src/candles/decimal.ts'
import type { KlineEvent, StreamEvent } from '../../src/core/records.ts'
import { fixtureText } from '../helpers/fixtures.ts'

const NOW = 1633998301755

function event(name: string): StreamEvent {
  const r = decodeFrame(fixtureText(name), NOW)
  assert.ok(r.ok)
  return r.event
}

function kline(overrides: Partial<KlineEvent>): KlineEvent {
  const k = event('binanceus_ws_kline_1m_closed.raw.capture.json')
  assert.equal(k.type, 'kline')
  return { ...(k as KlineEvent), ...overrides }
}

describe('CandleAssembler', () => {
  it('stores only closed klines, with the last book at or before the close attached', () => {
    const a = new CandleAssembler(['omgbusd'], 'spot')
    assert.deepEqual(a.accept(kline({ closed: false }), NOW), { kind: 'forming' })
    const noBook = a.accept(kline({}), NOW)
    assert.equal(noBook.kind, 'candle')
    assert.equal(noBook.kind === 'candle' && noBook.candle.bid, null)

    const book = (u: number, bid: string) =>
      ({
        type: 'book_ticker',
        symbol: 'OMGBUSD',
        updateId: u,
        eventTime: null,
        transactionTime: null,
        receivedAt: NOW,
        bid,
        bidQty: '1',
        ask: '13.8',
        askQty: '2',
      }) as const
    const close = kline({}).closeTime
    assert.deepEqual(a.accept(book(10, '13.7'), close - 500), { kind: 'book' })
    a.accept(book(9, '13.1'), close - 400) // older update from an overlapping connection: ignored
    a.accept(book(11, '13.75'), close + 1) // after the close, before the x=true frame: not this minute's
    const r = a.accept(kline({}), NOW)
    assert.equal(r.kind, 'candle')
    if (r.kind !== 'candle') return
    assert.deepEqual(
      {
        bid: r.candle.bid,
        bidQty: r.candle.bidQty,
        ask: r.candle.ask,
        askQty: r.candle.askQty,
        quoteTime: r.candle.quoteTime,
      },
      { bid: '13.7', bidQty: '1', ask: '13.8', askQty: '2', quoteTime: close - 500 },
    )
    assert.equal(r.candle.open, '13.72120000')
    assert.equal(r.candle.source, 'ws')
    assert.equal(r.candle.market, 'spot')
  })

  it('refuses symbols that were not subscribed', () => {
    const a = new CandleAssembler(['BTCUSDT'], 'spot')
    const r = a.accept(kline({}), NOW)
    assert.equal(r.kind === 'rejected' && r.reason, 'unsubscribed_symbol')
    const b = a.accept(event('spot_ws_bookTicker.raw.capture.json'), NOW)
    assert.equal(b.kind === 'rejected' && b.reason, 'unsubscribed_symbol')
  })

  const impossible: [string, Partial<KlineEvent>, string][] = [
    ['high below low', { high: '13.0', low: '13.5' }, 'impossible_values'],
    ['close above high', { close: '14.00000000' }, 'impossible_values'],
    ['open below low', { open: '13.00000000' }, 'impossible_values'],
    ['taker volume above volume', { takerBuyBase: '600' }, 'impossible_values'],
    ['close time not open + 59 999', { closeTime: 1633998300000 }, 'bad_times'],
    ['open time off the minute', { openTime: 1633998240001, closeTime: 1633998300000 }, 'bad_times'],
    [
      'far in the future',
      { openTime: NOW + 3_600_000 - (NOW % 60000), closeTime: NOW + 3_659_999 - (NOW % 60000) },
      'future',
    ],
    ['not a 1m kline', { interval: '5m' }, 'not_1m'],
  ]
  for (const [name, o, reason] of impossible) {
    it(`rejects ${name}`, () => {
      const r = new CandleAssembler(['OMGBUSD'], 'spot').accept(kline(o), NOW)
      assert.equal(r.kind, 'rejected')
      assert.equal(r.kind === 'rejected' && r.reason, reason)
    })
  }
})

describe('compareDecimal', () => {
  it('orders decimal strings exactly', () => {
    const cases: [string, string, number][] = [
      ['1', '1.0', 0],
      ['0.00000001', '0', 1],
      ['10', '9.99999999', 1],
      ['60685.22000000', '60685.22', 0],
      ['60685.21999999', '60685.22', -1],
      ['0001.5', '1.50', 0],
      ['123456789012345678901234567890.1', '123456789012345678901234567890.09', 1],
    ]
    for (const [a, b, want] of cases) {
      assert.equal(compareDecimal(a, b), want, `${a} vs ${b}`)
      assert.equal(compareDecimal(b, a), want === 0 ? 0 : -want, `${b} vs ${a}`)
    }
  })

  it('agrees with exact arithmetic on random decimals (integer parts, fractions, leading zeros)', () => {
    let seed = 17
    const rnd = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed % n
    }
    const digits = (n: number) => Array.from({ length: n }, () => String(rnd(10))).join('')
    const decimal = () => {
      const int = rnd(4) === 0 ? '0' : `${'0'.repeat(rnd(3))}${digits(1 + rnd(6))}`
      return rnd(3) === 0 ? int : `${int}.${digits(1 + rnd(9))}`
    }
    // Exact value as a BigInt scaled by 10^20.
    const scaled = (s: string) => {
      const [i = '0', f = ''] = s.split('.')
      return BigInt(i) * 10n ** 20n + BigInt(f.padEnd(20, '0'))
    }
    for (let k = 0; k < 5_000; k++) {
      const a = decimal()
      const b = rnd(5) === 0 ? a.replace(/^0*/, '0') : decimal()
      const x = scaled(a)
      const y = scaled(b)
      assert.equal(compareDecimal(a, b), x < y ? -1 : x > y ? 1 : 0, `${a} vs ${b}`)
    }
  })
})
