/**
 * Candles with impossible values, from every way in (stream kline, REST row),
 * are rejected with a reason and never become a Candle.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { parseKlineRows } from '../../src/binance/rest/rest-rows.ts'
import { decodeFrame } from '../../src/binance/ws/decode.ts'
import { CandleAssembler } from '../../src/candles/candle-assembler.ts'
import { compareDecimal } from '../../src/candles/decimal.ts'
import { DECIMAL_STRING, FUZZ } from './mutations.ts'

const MIN = 60_000
const T = Date.UTC(2024, 0, 1, 12, 0)
const NOW = T + 2 * MIN

interface K {
  t: number
  T: number
  o: string
  h: string
  l: string
  c: string
  v: string
  V: string
  i?: string
}

const good: K = { t: T, T: T + MIN - 1, o: '10.5', h: '11.0', l: '10.0', c: '10.7', v: '5.0', V: '2.5' }

function viaStream(k: K) {
  const frame = JSON.stringify({
    e: 'kline',
    E: k.T + 1,
    s: 'BTCUSDT',
    k: { ...k, i: k.i ?? '1m', s: 'BTCUSDT', f: 1, L: 2, n: 2, x: true, q: '50.0', Q: '25.0' },
  })
  const d = decodeFrame(frame, NOW)
  if (!d.ok) return { kind: 'decode_rejected', reason: d.reason }
  return new CandleAssembler(['BTCUSDT'], 'spot').accept(d.event, NOW)
}

function viaRest(k: K) {
  const row = [k.t, k.o, k.h, k.l, k.c, k.v, k.T, '50.0', 2, k.V, '25.0', '0']
  const page = parseKlineRows([row], 'BTCUSDT', NOW + 10 * 365 * 24 * 60 * MIN)
  return { candles: page.candles.length, reasons: page.rejected.map((r) => r.reason) }
}

const CASES: Array<[string, Partial<K>, string, string]> = [
  ['high below low', { h: '9.0', l: '10.0' }, 'impossible_values', 'impossible_values'],
  ['high below open', { h: '10.6', o: '10.9' }, 'impossible_values', 'impossible_values'],
  ['low above close', { l: '10.8' }, 'impossible_values', 'impossible_values'],
  ['taker volume above volume', { V: '6.0' }, 'impossible_values', 'impossible_values'],
  ['close time not open + 59 999', { T: T + MIN }, 'bad_times', 'bad_times'],
  ['open time off the minute', { t: T + 1, T: T + MIN }, 'bad_times', 'bad_times'],
  ['not a 1m kline', { i: '5m' }, 'not_1m', '-'],
]

describe('impossible candles are rejected with a reason', () => {
  for (const [name, over, stream, rest] of CASES) {
    test(name, () => {
      const k = { ...good, ...over }
      const s = viaStream(k)
      assert.equal(s.kind, 'rejected')
      assert.equal((s as { reason: string }).reason, stream)
      if (rest !== '-') assert.deepEqual(viaRest(k), { candles: 0, reasons: [rest] })
    })
  }

  test('negative or exponent volume never decodes', () => {
    for (const v of ['-5.0', '5e3', '-0', ' 5']) {
      assert.deepEqual(viaStream({ ...good, v }), { kind: 'decode_rejected', reason: 'bad_field' })
      assert.deepEqual(viaRest({ ...good, v }), { candles: 0, reasons: ['bad_field'] })
    }
  })

  test('a minute far in the future is rejected (stream: future; REST: future or bad time)', () => {
    const t = T + 365 * 24 * 60 * MIN
    const s = viaStream({ ...good, t, T: t + MIN - 1 })
    assert.equal(s.kind, 'rejected')
    assert.equal((s as { reason: string }).reason, 'future')
    const beyond = Date.UTC(2200, 0, 1)
    assert.deepEqual(viaStream({ ...good, t: beyond, T: beyond + MIN - 1 }), {
      kind: 'decode_rejected',
      reason: 'bad_field',
    })
  })

  test('the good case is accepted', () => {
    assert.equal(viaStream(good).kind, 'candle')
    assert.deepEqual(viaRest(good), { candles: 1, reasons: [] })
  })

  test('property: a candle comes out only when low ≤ open,close ≤ high and taker ≤ volume', () => {
    const arb = fc.record({
      o: DECIMAL_STRING,
      h: DECIMAL_STRING,
      l: DECIMAL_STRING,
      c: DECIMAL_STRING,
      v: DECIMAL_STRING,
      V: DECIMAL_STRING,
    })
    fc.assert(
      fc.property(arb, (x) => {
        const k = { ...good, ...x }
        const sane =
          compareDecimal(k.l, k.o) <= 0 &&
          compareDecimal(k.l, k.c) <= 0 &&
          compareDecimal(k.o, k.h) <= 0 &&
          compareDecimal(k.c, k.h) <= 0 &&
          compareDecimal(k.V, k.v) <= 0
        const s = viaStream(k)
        assert.equal(s.kind === 'candle', sane)
        if (!sane) assert.equal((s as { reason: string }).reason, 'impossible_values')
        assert.equal(viaRest(k).candles === 1, sane)
      }),
      FUZZ,
    )
  })
})
