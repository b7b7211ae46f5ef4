/**
 * decodeFrame under hostile input: mutated, truncated, oversized and
 * type-swapped versions of the real frames. It never throws, answers ok or a
 * typed rejection, and whatever it lets through is well-formed; a closed kline
 * it lets through is a stored candle only if the candle rules pass.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { type DecodeResult, decodeFrame, type RejectReason } from '../../src/binance/ws/decode.ts'
import { candleFromKline, checkCandleFields } from '../../src/candles/closed-candle.ts'
import { fixtureNames, fixtureText } from '../helpers/fixtures.ts'
import { DECIMAL_STRING, FUZZ, jsonMutation, textMutation } from './mutations.ts'

const RX = 1_700_000_000_000
const REASONS: ReadonlySet<RejectReason> = new Set([
  'invalid_json',
  'not_an_object',
  'unknown_shape',
  'bad_field',
  'stream_mismatch',
  'oversized',
])
const DECIMAL = /^(?:0|[1-9]\d{0,29})(?:\.\d{1,20})?$/
const CANDLE_REASONS = new Set(['not_1m', 'bad_times', 'future', 'impossible_values'])

const FRAMES = fixtureNames()
  .filter((f) => /_ws_|_response/.test(f))
  .map((f) => fixtureText(f))

/** The property every answer must have, whatever the input. */
function wellFormed(text: string): void {
  let r: DecodeResult
  try {
    r = decodeFrame(text, RX)
  } catch (err) {
    assert.fail(`decodeFrame threw on ${JSON.stringify(text.slice(0, 200))}: ${String(err)}`)
  }
  if (!r.ok) {
    assert.ok(REASONS.has(r.reason), r.reason)
    assert.equal(typeof r.detail, 'string')
    assert.ok(r.detail.length <= 200)
    return
  }
  const e = r.event
  assert.equal(e.receivedAt, RX)
  if (e.type === 'kline') {
    for (const d of [
      e.open,
      e.high,
      e.low,
      e.close,
      e.volume,
      e.quoteVolume,
      e.takerBuyBase,
      e.takerBuyQuote,
    ]) {
      assert.match(d, DECIMAL)
    }
    assert.ok(e.closeTime > e.openTime)
    assert.ok(Number.isSafeInteger(e.trades) && e.trades >= 0)
    if (e.closed) {
      const c = candleFromKline(e, undefined, 'spot', RX)
      if (c.ok) assert.equal(checkCandleFields(c.candle, RX), null)
      else assert.ok(CANDLE_REASONS.has(c.reason), c.reason)
    }
  } else if (e.type === 'book_ticker') {
    for (const d of [e.bid, e.bidQty, e.ask, e.askQty]) assert.match(d, DECIMAL)
  }
}

describe('decodeFrame fuzz', () => {
  test('text-level damage to every fixture frame', () => {
    const arb = fc.constantFrom(...FRAMES).chain((t) => textMutation(t))
    fc.assert(fc.property(arb, wellFormed), FUZZ)
  })

  test('type-swapped, deleted and added fields in every fixture frame', () => {
    const arb = fc.constantFrom(...FRAMES).chain((t) => jsonMutation(JSON.parse(t)))
    fc.assert(
      fc.property(arb, (doc) => wellFormed(JSON.stringify(doc) ?? 'undefined')),
      FUZZ,
    )
  })

  test('arbitrary JSON and arbitrary text', () => {
    fc.assert(fc.property(fc.json(), wellFormed), FUZZ)
    fc.assert(fc.property(fc.string({ maxLength: 200 }), wellFormed), FUZZ)
  })

  test('oversized frames are refused before parsing', () => {
    const r = decodeFrame(`{"e":"kline","pad":"${'x'.repeat(70_000)}"}`, RX)
    assert.deepEqual(r.ok ? null : r.reason, 'oversized')
  })
})

describe('decodeFrame round trip', () => {
  const MIN = 60_000
  const kline = fc.record({
    symbol: fc.stringMatching(/^[A-Z0-9]{2,30}$/),
    minute: fc.integer({ min: 25_000_000, max: 60_000_000 }),
    E: fc.nat({ max: 59_999 }),
    f: fc.integer({ min: -1, max: 2 ** 40 }),
    n: fc.nat({ max: 1_000_000 }),
    o: DECIMAL_STRING,
    h: DECIMAL_STRING,
    l: DECIMAL_STRING,
    c: DECIMAL_STRING,
    v: DECIMAL_STRING,
    q: DECIMAL_STRING,
    V: DECIMAL_STRING,
    Q: DECIMAL_STRING,
    x: fc.boolean(),
    combined: fc.boolean(),
  })

  test('a valid kline frame decodes to exactly its values', () => {
    fc.assert(
      fc.property(kline, (k) => {
        const t = k.minute * MIN
        // f = −1: a minute without trades, which Binance sends as f = L = −1, n = 0.
        const empty = k.f === -1
        const n = empty ? 0 : k.n
        const last = empty ? -1 : k.f + n
        const data = {
          e: 'kline',
          E: t + k.E,
          s: k.symbol,
          k: {
            t,
            T: t + MIN - 1,
            s: k.symbol,
            i: '1m',
            f: k.f,
            L: last,
            o: k.o,
            c: k.c,
            h: k.h,
            l: k.l,
            v: k.v,
            n,
            x: k.x,
            q: k.q,
            V: k.V,
            Q: k.Q,
            B: '0',
          },
        }
        const stream = `${k.symbol.toLowerCase()}@kline_1m`
        const text = JSON.stringify(k.combined ? { stream, data } : data)
        const r = decodeFrame(text, RX)
        assert.ok(r.ok, r.ok ? '' : `${r.reason} ${r.detail}`)
        assert.equal(r.stream, k.combined ? stream : null)
        assert.deepEqual(r.event, {
          type: 'kline',
          symbol: k.symbol,
          eventTime: data.E,
          receivedAt: RX,
          interval: '1m',
          openTime: t,
          closeTime: t + MIN - 1,
          firstTradeId: empty ? null : k.f,
          lastTradeId: empty ? null : last,
          open: k.o,
          high: k.h,
          low: k.l,
          close: k.c,
          volume: k.v,
          quoteVolume: k.q,
          trades: n,
          takerBuyBase: k.V,
          takerBuyQuote: k.Q,
          closed: k.x,
        })
      }),
      FUZZ,
    )
  })

  test('every fixture kline and bookTicker keeps its strings verbatim', () => {
    for (const text of FRAMES) {
      const raw = JSON.parse(text) as Record<string, unknown>
      const data = (raw.data ?? raw) as Record<string, unknown>
      const r = decodeFrame(text, RX)
      if (!r.ok) continue
      if (r.event.type === 'kline') {
        const k = data.k as Record<string, unknown>
        const e = r.event
        assert.deepEqual(
          [e.open, e.high, e.low, e.close, e.volume, e.quoteVolume, e.takerBuyBase, e.takerBuyQuote],
          [k.o, k.h, k.l, k.c, k.v, k.q, k.V, k.Q],
        )
      } else if (r.event.type === 'book_ticker') {
        const e = r.event
        assert.deepEqual([e.bid, e.bidQty, e.ask, e.askQty], [data.b, data.B, data.a, data.A])
      }
    }
  })
})
