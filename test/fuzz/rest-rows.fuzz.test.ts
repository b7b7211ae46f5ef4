/**
 * parseKlineRows under hostile input: pages derived from the fixtures and from
 * generated valid rows, with cells type-swapped, rows cut, added, reordered or
 * replaced. The only thing it may throw is RestError BAD_RESPONSE; every row is
 * accounted for; every candle it returns passes the candle rules.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { isRestError } from '../../src/binance/rest/rest-errors.ts'
import { DECIMAL_RE, type KlineWindow, parseKlineRows } from '../../src/binance/rest/rest-rows.ts'
import { checkCandleFields } from '../../src/candles/closed-candle.ts'
import { compareDecimal } from '../../src/candles/decimal.ts'
import { fixtureText } from '../helpers/fixtures.ts'
import { DECIMAL_STRING, FUZZ, jsonMutation, swapped } from './mutations.ts'

const MIN = 60_000
const T0 = Date.UTC(2024, 0, 1)
const NOW = T0 + 10 * MIN + 30_000
const REASONS = new Set(['bad_row', 'bad_field', 'bad_times', 'future', 'impossible_values'])

function checkPage(body: unknown, window: KlineWindow = {}): void {
  let page: ReturnType<typeof parseKlineRows>
  try {
    page = parseKlineRows(body, 'BTCUSDT', NOW, window)
  } catch (err) {
    assert.ok(isRestError(err, 'BAD_RESPONSE'), `unexpected throw: ${String(err)}`)
    return
  }
  assert.ok(Array.isArray(body))
  assert.equal(page.rawCount, body.length)
  assert.equal(page.candles.length + page.rejected.length + page.skippedOpen, page.rawCount)
  for (const r of page.rejected) {
    assert.ok(REASONS.has(r.reason), r.reason)
    assert.ok(r.detail.length <= 200)
  }
  let last = -Infinity
  for (const c of page.candles) {
    assert.equal(checkCandleFields(c, NOW), null)
    assert.ok(c.closeTime < NOW)
    assert.ok(c.openTime > last)
    last = c.openTime
    for (const d of [
      c.open,
      c.high,
      c.low,
      c.close,
      c.volume,
      c.quoteVolume,
      c.takerBuyBase,
      c.takerBuyQuote,
    ]) {
      assert.match(d, DECIMAL_RE)
    }
  }
}

/** A valid row for minute `m` after T0 (low ≤ open, close ≤ high; taker ≤ volume). */
const validRow = (m: number) =>
  fc.tuple(DECIMAL_STRING, DECIMAL_STRING, DECIMAL_STRING, fc.nat({ max: 10_000 })).map(([a, b, v, n]) => {
    const [lo, hi] = compareDecimal(a, b) <= 0 ? [a, b] : [b, a]
    return [T0 + m * MIN, lo, hi, lo, hi, v, T0 + m * MIN + MIN - 1, '1.0', n, '0', '0', '0']
  })

const validPage = fc
  .integer({ min: 1, max: 12 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, m) => validRow(m))))

describe('parseKlineRows fuzz', () => {
  test('generated valid pages parse completely, verbatim', () => {
    fc.assert(
      fc.property(validPage, (rows) => {
        const page = parseKlineRows(rows, 'BTCUSDT', NOW)
        assert.deepEqual(page.rejected, [])
        const closed = rows.filter((r) => (r[6] as number) < NOW)
        assert.deepEqual(
          page.candles.map((c) => [c.openTime, c.open, c.high, c.low, c.close, c.volume]),
          closed.map((r) => r.slice(0, 6)),
        )
        checkPage(rows)
      }),
      FUZZ,
    )
  })

  test('one cell of a valid page replaced by a hostile value', () => {
    const arb = validPage.chain((rows) =>
      fc.tuple(fc.nat({ max: rows.length - 1 }), fc.nat({ max: 13 }), swapped).map(([r, col, v]) => {
        const copy = rows.map((x) => [...x])
        ;(copy[r] as unknown[])[col] = v
        return copy
      }),
    )
    fc.assert(
      fc.property(arb, (rows) => checkPage(rows)),
      FUZZ,
    )
  })

  test('rows cut, extended, duplicated, reordered or replaced', () => {
    const arb = validPage.chain((rows) =>
      fc.oneof(
        fc.nat({ max: 11 }).map((k) => rows.map((r, i) => (i === 0 ? r.slice(0, k) : r))),
        swapped.map((v) => [...rows, [...(rows[0] as unknown[]), v]]),
        fc.constant([...rows, rows[0]]),
        fc.constant([...rows].reverse()),
        swapped.map((v) => [v, ...rows.slice(1)]),
      ),
    )
    fc.assert(
      fc.property(arb, (rows) => checkPage(rows)),
      FUZZ,
    )
  })

  test('structural damage to the fixture pages, and windows that do not match', () => {
    for (const name of ['spot_rest_klines.doc.json', 'futures_rest_klines.doc.json']) {
      const doc = JSON.parse(fixtureText(name)) as unknown
      fc.assert(
        fc.property(jsonMutation(doc), (body) => checkPage(body)),
        FUZZ,
      )
    }
    const window = fc.record({
      startTime: fc.option(fc.integer({ min: T0 - MIN, max: T0 + 20 * MIN }), { nil: undefined }),
      endTime: fc.option(fc.integer({ min: T0 - MIN, max: T0 + 20 * MIN }), { nil: undefined }),
      limit: fc.option(fc.nat({ max: 20 }), { nil: undefined }),
    })
    fc.assert(
      fc.property(validPage, window, (rows, w) => checkPage(rows, w)),
      FUZZ,
    )
  })

  test('any JSON value as the body', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => checkPage(body)),
      FUZZ,
    )
  })
})
