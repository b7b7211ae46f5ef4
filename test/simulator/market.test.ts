import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  bookAsOfClose,
  bookAt,
  CLOSING_BOOK_AT_MS,
  closingBookId,
  quietBookMinute,
  simulatedBook,
} from '../../src/simulator/book.ts'
import { formatUnits, parseUnits } from '../../src/simulator/fixed.ts'
import { formingKline, simulatedKline } from '../../src/simulator/market.ts'

const T0 = Date.UTC(2024, 0, 1)
const MIN = 60_000
const SYMBOLS = [
  'BTCUSDT',
  'ETHUSDT',
  'NKNUSDT',
  'BNBUSDT',
  'SOLUSDT',
  'DOGEUSDT',
  'XRPBTC',
  'PEPEUSDT',
  'AB',
]
const DEC8 = /^\d+\.\d{8}$/

describe('fixed-point formatting', () => {
  test('formats 8 decimals exactly and round-trips', () => {
    assert.equal(formatUnits(6068522000000n), '60685.22000000')
    assert.equal(formatUnits(1n), '0.00000001')
    assert.equal(formatUnits(0n), '0.00000000')
    assert.equal(formatUnits(-150000000n), '-1.50000000')
    assert.equal(parseUnits('0.35270000'), 35_270_000n)
    assert.equal(parseUnits('12'), 1_200_000_000n)
    assert.equal(formatUnits(parseUnits('123456789012.12345678')), '123456789012.12345678')
  })
})

describe('simulatedKline', () => {
  test('is deterministic and case-insensitive in the symbol', () => {
    assert.deepEqual(simulatedKline('BTCUSDT', T0), simulatedKline('btcusdt', T0))
    assert.equal(simulatedKline('btcusdt', T0).symbol, 'BTCUSDT')
    assert.deepEqual(simulatedBook('ETHUSDT', T0 + MIN), simulatedBook('ethusdt', T0 + MIN))
  })

  test('rejects an openTime that is not a whole minute', () => {
    assert.throws(() => simulatedKline('BTCUSDT', T0 + 1), RangeError)
  })

  test('symbols have their own price scales', () => {
    const btc = Number(simulatedKline('BTCUSDT', T0).close)
    const nkn = Number(simulatedKline('NKNUSDT', T0).close)
    assert.ok(btc > 50_000 && btc < 70_000, `BTC ${btc}`)
    assert.ok(nkn > 0.3 && nkn < 0.4, `NKN ${nkn}`)
    assert.notEqual(simulatedKline('XRPBTC', T0).close, simulatedKline('PEPEUSDT', T0).close)
  })

  test('OHLCV invariants and trade-id contiguity over many minutes and symbols', () => {
    let zeroMinutes = 0
    for (const sym of SYMBOLS) {
      let prevLast: number | null = null
      for (let i = 0; i < 3_000; i++) {
        const t = T0 + i * MIN
        const k = simulatedKline(sym, t)
        assert.equal(k.openTime, t)
        assert.equal(k.closeTime, t + MIN - 1)
        for (const v of [
          k.open,
          k.high,
          k.low,
          k.close,
          k.volume,
          k.quoteVolume,
          k.takerBuyBase,
          k.takerBuyQuote,
        ]) {
          assert.match(v, DEC8)
        }
        const [o, h, l, c] = [k.open, k.high, k.low, k.close].map(parseUnits) as [
          bigint,
          bigint,
          bigint,
          bigint,
        ]
        assert.ok(l > 0n, `${sym} ${t} low > 0`)
        assert.ok(h >= o && h >= c && l <= o && l <= c, `${sym} ${t} ohlc`)
        assert.ok(parseUnits(k.volume) >= parseUnits(k.takerBuyBase))
        assert.ok(parseUnits(k.quoteVolume) >= parseUnits(k.takerBuyQuote))
        // Quote volume lies between volume×low and volume×high.
        const v = parseUnits(k.volume)
        const q = parseUnits(k.quoteVolume)
        assert.ok(q <= (v * h) / 100_000_000n && q >= (v * l) / 100_000_000n - 1n, `${sym} ${t} quote volume`)
        assert.ok(Number.isSafeInteger(k.trades) && k.trades >= 0)
        if (k.trades === 0) {
          zeroMinutes++
          assert.equal(k.firstTradeId, -1)
          assert.equal(k.lastTradeId, -1)
          assert.equal(k.volume, '0.00000000')
          assert.equal(k.quoteVolume, '0.00000000')
          assert.ok(k.open === k.high && k.high === k.low && k.low === k.close)
          continue
        }
        assert.equal(k.lastTradeId - k.firstTradeId + 1, k.trades)
        if (prevLast !== null) assert.equal(k.firstTradeId, prevLast + 1, `${sym} ${t} contiguous ids`)
        prevLast = k.lastTradeId
      }
    }
    assert.ok(zeroMinutes > 0, 'an occasional zero-trade minute exists')
  })

  test('trade ids are contiguous when minutes are asked for out of order, far in the future', () => {
    const far = Date.UTC(2031, 5, 17, 13, 7)
    const b = simulatedKline('ETHUSDT', far + MIN)
    const a = simulatedKline('ETHUSDT', far)
    assert.equal(b.firstTradeId, a.lastTradeId + 1)
  })
})

describe('formingKline', () => {
  test('is consistent with but not equal to the final candle', () => {
    for (const sym of ['BTCUSDT', 'NKNUSDT', 'DOGEUSDT']) {
      for (let i = 0; i < 200; i++) {
        const t = T0 + i * MIN
        const fin = simulatedKline(sym, t)
        let prevTrades = 0
        for (let e = 0; e < MIN; e += 2_000) {
          const k = formingKline(sym, t, e)
          if (!k) continue
          assert.equal(k.openTime, t)
          assert.equal(k.open, fin.open)
          assert.equal(k.firstTradeId, fin.firstTradeId)
          assert.ok(k.trades >= prevTrades && k.trades < fin.trades)
          prevTrades = k.trades
          assert.equal(k.lastTradeId, k.firstTradeId + k.trades - 1)
          const [h, l, c] = [k.high, k.low, k.close].map(parseUnits) as [bigint, bigint, bigint]
          assert.ok(h <= parseUnits(fin.high) && l >= parseUnits(fin.low) && c <= h && c >= l)
          assert.ok(parseUnits(k.volume) <= parseUnits(fin.volume))
          assert.ok(parseUnits(k.takerBuyBase) <= parseUnits(k.volume))
        }
      }
    }
  })
})

describe('book', () => {
  test('closing book: sane spread and quantities, ids rise minute by minute', () => {
    for (const sym of SYMBOLS) {
      let prev = -1
      for (let i = 0; i < 500; i++) {
        const t = T0 + i * MIN
        const b = simulatedBook(sym, t)
        assert.equal(b.updateId, closingBookId(sym, t))
        assert.ok(b.updateId > prev)
        prev = b.updateId
        assert.ok(parseUnits(b.ask) > parseUnits(b.bid) && parseUnits(b.bid) > 0n)
        assert.ok(parseUnits(b.bidQty) > 0n && parseUnits(b.askQty) > 0n)
        for (const v of [b.bid, b.bidQty, b.ask, b.askQty]) assert.match(v, DEC8)
      }
    }
  })

  test('regular book ids sit strictly between the closing books around them; none after the closing book', () => {
    let moved = 0
    for (let t = T0 + 1; t < T0 + 30 * MIN; t += 997) {
      const b = bookAt('BTCUSDT', t)
      const minute = Math.floor(t / MIN) * MIN
      if (t - minute >= CLOSING_BOOK_AT_MS || quietBookMinute('BTCUSDT', minute)) {
        assert.equal(b, null, `t=${t}: the book is still`)
        continue
      }
      assert.ok(b !== null, `t=${t}`)
      moved++
      assert.ok(b.updateId < closingBookId('BTCUSDT', minute), `t=${t}`)
      assert.ok(b.updateId > closingBookId('BTCUSDT', minute - MIN), `t=${t}`)
      const next = bookAt('BTCUSDT', t + 1)
      if (next !== null) assert.ok(next.updateId > b.updateId)
    }
    assert.ok(moved > 1000, `${moved} moving books`)
  })

  test('some minutes are quiet; the book as of their close is the latest earlier closing book', () => {
    const quiet: number[] = []
    for (let i = 0; i < 500; i++) if (quietBookMinute('BTCUSDT', T0 + i * MIN)) quiet.push(T0 + i * MIN)
    assert.ok(quiet.length > 10 && quiet.length < 60, `${quiet.length} quiet minutes of 500`)
    for (const q of quiet) {
      const asOf = bookAsOfClose('BTCUSDT', q)
      assert.ok(asOf !== null && asOf.minute < q)
      assert.deepEqual(asOf.book, simulatedBook('BTCUSDT', asOf.minute))
      for (let m = asOf.minute + MIN; m <= q; m += MIN) assert.ok(quietBookMinute('BTCUSDT', m))
    }
    const loud = T0
    assert.equal(quietBookMinute('BTCUSDT', loud), false)
    assert.deepEqual(bookAsOfClose('BTCUSDT', loud), { book: simulatedBook('BTCUSDT', loud), minute: loud })
  })
})
