import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isRestError, isRetryableRestError } from '../../src/binance/rest/rest-errors.ts'
import { parseKlineRows } from '../../src/binance/rest/rest-rows.ts'
import { fixtureText } from '../helpers/fixtures.ts'
import { klineRow, MIN } from './fake-binance.ts'

const T0 = 1_499_040_000_000 // the documented example's open time (a minute start)
const LATER = T0 + 30 * 24 * 60 * MIN

function docRows(name: string): unknown[][] {
  return JSON.parse(fixtureText(name)) as unknown[][]
}

/** The documented row with its close time made that of a 1m kline. */
function oneMinute(row: unknown[]): unknown[] {
  const r = [...row]
  r[6] = T0 + MIN - 1
  return r
}

function rowAt(t: number, patch: Record<number, unknown> = {}): unknown[] {
  const r = klineRow(t)
  for (const [i, v] of Object.entries(patch)) r[Number(i)] = v
  return r
}

function assertBadPage(fn: () => unknown, detail: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isRestError(e, 'BAD_RESPONSE'), String(e))
    assert.match(e.message, detail)
    assert.equal(isRetryableRestError(e), true)
    return true
  })
}

describe('parseKlineRows: documented fixtures', () => {
  it('reads the spot doc row as it is: structure fine, but its close time is a week later, so not a 1m candle', () => {
    const page = parseKlineRows(docRows('spot_rest_klines.doc.json'), 'ETHBTC', LATER)
    assert.equal(page.rawCount, 1)
    assert.equal(page.lastOpenTime, T0)
    assert.deepEqual(page.candles, [])
    assert.deepEqual(
      page.rejected.map((r) => [r.index, r.reason]),
      [[0, 'bad_times']],
    )
  })

  it('turns the spot doc row (1m close time) into the exact candle, decimals verbatim', () => {
    const page = parseKlineRows([oneMinute(docRows('spot_rest_klines.doc.json')[0] ?? [])], 'ETHBTC', LATER, {
      receivedAt: LATER + 5,
    })
    assert.deepEqual(page.rejected, [])
    assert.deepEqual(page.candles, [
      {
        type: 'candle',
        market: 'spot',
        symbol: 'ETHBTC',
        openTime: T0,
        closeTime: T0 + 59_999,
        open: '0.01634790',
        high: '0.80000000',
        low: '0.01575800',
        close: '0.01577100',
        volume: '148976.11427815',
        quoteVolume: '2434.19055334',
        trades: 308,
        takerBuyBase: '1756.87402397',
        takerBuyQuote: '28.46694368',
        firstTradeId: null,
        lastTradeId: null,
        bid: null,
        bidQty: null,
        ask: null,
        askQty: null,
        quoteTime: null,
        source: 'rest',
        receivedAt: LATER + 5,
      },
    ])
  })

  it('ignores the non-zero 12th column of the futures doc row', () => {
    const row = oneMinute(docRows('futures_rest_klines.doc.json')[0] ?? [])
    assert.equal(row[11], '17928899.62484339')
    const page = parseKlineRows([row], 'ETHBTC', LATER)
    assert.equal(page.candles.length, 1)
    assert.equal(page.candles[0]?.takerBuyQuote, '28.46694368')
    assert.deepEqual(page.rejected, [])
  })
})

describe('parseKlineRows: bad rows are rejected, the rest kept', () => {
  const cases: Array<[string, Record<number, unknown> | unknown, string, RegExp]> = [
    ['11 columns', 'drop', 'bad_row', /11 columns/],
    ['13 columns', 'add', 'bad_row', /13 columns/],
    ['row not an array', { kind: 'object' }, 'bad_row', /not an array/],
    ['open time as a string', { 0: 'T' }, 'bad_field', /openTime/],
    ['close time as a string', { 6: 'T' }, 'bad_field', /closeTime/],
    ['trades as a string', { 8: '308' }, 'bad_field', /trades/],
    ['negative trades', { 8: -1 }, 'bad_field', /trades/],
    ['fractional trades', { 8: 1.5 }, 'bad_field', /trades/],
    ['open as a number', { 1: 1000.5 }, 'bad_field', /open/],
    ['volume as null', { 5: null }, 'bad_field', /volume/],
    ['exponent decimal', { 4: '1e-5' }, 'bad_field', /close/],
    ['negative decimal', { 3: '-1.00000000' }, 'bad_field', /low/],
    ['plus sign', { 2: '+1000.00000000' }, 'bad_field', /high/],
    ['padded decimal', { 7: ' 12.5' }, 'bad_field', /quoteVolume/],
    ['empty decimal', { 9: '' }, 'bad_field', /takerBuyBase/],
    ['dangling point', { 10: '12.' }, 'bad_field', /takerBuyQuote/],
    ['NaN text', { 1: 'NaN' }, 'bad_field', /open/],
    ['close time ≠ open + 59 999', { 6: 'T+60000' }, 'bad_times', /T=/],
    ['high below low', { 2: '900.00000000' }, 'impossible_values', /h=900/],
    ['taker buy volume above volume', { 9: '13.00000000' }, 'impossible_values', /taker/],
  ]
  for (const [name, patch, reason, detail] of cases) {
    it(name, () => {
      const t = T0 + 10 * MIN
      let bad: unknown
      if (patch === 'drop') bad = klineRow(t).slice(0, 11)
      else if (patch === 'add') bad = [...klineRow(t), '0']
      else if (!Array.isArray(patch) && typeof patch === 'object' && patch !== null && 'kind' in patch)
        bad = patch
      else {
        const p = { ...(patch as Record<number, unknown>) }
        if (p[0] === 'T') p[0] = String(t)
        if (p[6] === 'T') p[6] = String(t + MIN - 1)
        if (p[6] === 'T+60000') p[6] = t + MIN
        bad = rowAt(t, p)
      }
      const rows = [klineRow(t - MIN), bad, klineRow(t + MIN)]
      const page = parseKlineRows(rows, 'BTCUSDT', LATER)
      assert.equal(page.rawCount, 3)
      assert.equal(page.rejected.length, 1, JSON.stringify(page.rejected))
      assert.equal(page.rejected[0]?.index, 1)
      assert.equal(page.rejected[0]?.reason, reason)
      assert.match(page.rejected[0]?.detail ?? '', detail)
      assert.deepEqual(
        page.candles.map((c) => c.openTime),
        [t - MIN, t + MIN],
      )
      assert.equal(page.lastOpenTime, t + MIN)
    })
  }

  it('a page in microseconds (X-MBX-TIME-UNIT) is not read as milliseconds', () => {
    const rows = [0, 1].map((i) => {
      const r = klineRow(T0 + i * MIN)
      r[0] = (T0 + i * MIN) * 1000
      r[6] = (T0 + (i + 1) * MIN) * 1000 - 1
      return r
    })
    const page = parseKlineRows(rows, 'BTCUSDT', LATER)
    assert.deepEqual(
      page.rejected.map((r) => [r.reason, r.detail.startsWith('openTime')]),
      [
        ['bad_field', true],
        ['bad_field', true],
      ],
    )
  })

  it('a minute far ahead of our clock is rejected as future', () => {
    const now = T0 + 100 * MIN
    const page = parseKlineRows([klineRow(T0), klineRow(now + 5 * MIN)], 'BTCUSDT', now)
    assert.deepEqual(
      page.rejected.map((r) => r.reason),
      ['future'],
    )
  })
})

describe('parseKlineRows: the still-open minute', () => {
  it('is skipped, not rejected, and still counts for lastOpenTime', () => {
    const current = T0 + 5 * MIN
    const now = current + 30_000
    const rows = [0, 1, 2, 3, 4, 5].map((i) => klineRow(T0 + i * MIN))
    const page = parseKlineRows(rows, 'BTCUSDT', now)
    assert.equal(page.candles.length, 5)
    assert.equal(page.skippedOpen, 1)
    assert.deepEqual(page.rejected, [])
    assert.equal(page.lastOpenTime, current)
  })

  it('closeTime === now is not closed yet', () => {
    const page = parseKlineRows([klineRow(T0)], 'BTCUSDT', T0 + MIN - 1)
    assert.equal(page.candles.length, 0)
    assert.equal(page.skippedOpen, 1)
    const after = parseKlineRows([klineRow(T0)], 'BTCUSDT', T0 + MIN)
    assert.equal(after.candles.length, 1)
  })
})

describe('parseKlineRows: structurally broken pages throw BAD_RESPONSE', () => {
  it('{} instead of an array', () =>
    assertBadPage(() => parseKlineRows({}, 'BTCUSDT', LATER), /expected an array/))
  it('null', () => assertBadPage(() => parseKlineRows(null, 'BTCUSDT', LATER), /got null/))
  it('an error object', () =>
    assertBadPage(() => parseKlineRows({ code: -1121, msg: 'Invalid symbol.' }, 'BTCUSDT', LATER), /array/))
  it('unordered rows', () =>
    assertBadPage(
      () => parseKlineRows([klineRow(T0 + MIN), klineRow(T0), klineRow(T0 + 2 * MIN)], 'BTCUSDT', LATER),
      /is before/,
    ))
  it('duplicate rows', () =>
    assertBadPage(() => parseKlineRows([klineRow(T0), klineRow(T0)], 'BTCUSDT', LATER), /duplicates/))
  it('a row before startTime', () =>
    assertBadPage(
      () => parseKlineRows([klineRow(T0)], 'BTCUSDT', LATER, { startTime: T0 + MIN }),
      /< startTime/,
    ))
  it('a row after endTime', () =>
    assertBadPage(
      () => parseKlineRows([klineRow(T0), klineRow(T0 + MIN)], 'BTCUSDT', LATER, { endTime: T0 + 59_999 }),
      /> endTime/,
    ))
  it('more rows than the limit', () =>
    assertBadPage(
      () => parseKlineRows([klineRow(T0), klineRow(T0 + MIN)], 'BTCUSDT', LATER, { limit: 1 }),
      /2 rows for limit 1/,
    ))
  it('no row with a readable open time', () =>
    assertBadPage(() => parseKlineRows([{}, 'x'], 'BTCUSDT', LATER), /readable open time/))

  it('an empty array is a valid empty page', () => {
    const page = parseKlineRows([], 'BTCUSDT', LATER)
    assert.deepEqual(page, { candles: [], rejected: [], lastOpenTime: null, rawCount: 0, skippedOpen: 0 })
  })
})
