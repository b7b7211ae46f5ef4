import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { BookState, QUOTE_MINUTES_KEPT } from '../../src/candles/book-state.ts'
import type { BookTickerEvent } from '../../src/core/records.ts'

const T0 = Date.UTC(2024, 0, 1, 12, 0)

function book(updateId: number, bid: string, receivedAt: number, symbol = 'BTCUSDT'): BookTickerEvent {
  return {
    type: 'book_ticker',
    symbol,
    updateId,
    eventTime: null,
    transactionTime: null,
    receivedAt,
    bid,
    bidQty: '1',
    ask: '101',
    askQty: '2',
  }
}

describe('BookState', () => {
  it('keeps the newest update id; an older one arriving right behind it is a straggler', () => {
    const b = new BookState()
    assert.equal(b.update(book(10, '100', T0)), true)
    assert.equal(b.update(book(12, '100.5', T0 + 5)), true)
    // The same updates, a few ms late, from the socket being replaced.
    assert.equal(b.update(book(11, '100.2', T0 + 8)), false)
    assert.equal(b.update(book(12, '100.5', T0 + 9)), true, 'an equal id is the same quote')
    assert.equal(b.latest('BTCUSDT')?.bid, '100.5')
  })

  it('an id sequence that restarts on a new connection is taken, not frozen out', () => {
    const b = new BookState()
    b.update(book(9_000_000, '100', T0))
    // The connection dropped; the replacement (≥ 0.8 s of backoff later) counts from 1.
    assert.equal(b.update(book(1, '105', T0 + 800)), true)
    assert.equal(b.latest('BTCUSDT')?.bid, '105')
    assert.equal(b.update(book(2, '106', T0 + 900)), true)
    assert.equal(b.latest('BTCUSDT')?.updateId, 2)
  })

  it('a restart on the same connection is taken once the old quote is half a second old', () => {
    const b = new BookState()
    b.update(book(500, '100', T0))
    assert.equal(b.update(book(3, '99', T0 + 100)), false)
    assert.equal(b.update(book(4, '98', T0 + 499)), false)
    assert.equal(b.update(book(5, '97', T0 + 500)), true)
    assert.equal(b.update(book(6, '96', T0 + 510)), true)
    assert.equal(b.latest('BTCUSDT')?.bid, '96')
  })

  it('symbols are independent', () => {
    const b = new BookState()
    b.update(book(50, '1', T0, 'ETHUSDT'))
    assert.equal(b.update(book(1, '2', T0 + 1, 'BTCUSDT')), true)
    assert.equal(b.update(book(49, '3', T0 + 2, 'ETHUSDT')), false)
    assert.equal(b.size, 2)
  })
})

describe('BookState.asOfClose: the quote at or before a close', () => {
  const MIN = 60_000
  const close = (minute: number) => T0 + minute * MIN + 59_999

  it('takes the last quote at or before the close, not one received after it', () => {
    const b = new BookState()
    b.update(book(1, '100', T0 + 10_000))
    b.update(book(2, '101', T0 + 59_999)) // at the close itself: still this minute's
    b.update(book(3, '102', T0 + 60_000)) // after the close, before the x=true frame
    b.update(book(4, '103', T0 + 61_500))
    assert.deepEqual(
      { bid: b.asOfClose('BTCUSDT', close(0))?.quote.bid, at: b.asOfClose('BTCUSDT', close(0))?.quoteTime },
      { bid: '101', at: T0 + 59_999 },
    )
    assert.equal(b.latest('BTCUSDT')?.bid, '103')
    assert.equal(b.asOfClose('BTCUSDT', close(1))?.quote.bid, '103')
    assert.equal(b.asOfClose('ETHUSDT', close(0)), undefined)
  })

  it('the quote time is the receive time on the exchange clock, or the futures T where there is one', () => {
    const b = new BookState()
    // Spot: the local receive time is T0 + 59 000, but the exchange's clock read T0 + 60 200 then.
    b.update(book(1, '100', T0 + 59_000), T0 + 60_200)
    assert.equal(
      b.asOfClose('BTCUSDT', close(0)),
      undefined,
      'received after the close on the exchange clock',
    )
    assert.equal(b.asOfClose('BTCUSDT', close(1))?.quoteTime, T0 + 60_200)
    // Futures: T says when the book changed, whenever the frame is handled.
    const f = new BookState()
    f.update(
      { ...book(7, '99', T0 + 61_000), transactionTime: T0 + 59_990, eventTime: T0 + 59_995 },
      T0 + 61_000,
    )
    assert.deepEqual(f.asOfClose('BTCUSDT', close(0))?.quoteTime, T0 + 59_990)
  })

  it('a minute without a quote carries the latest earlier one, with its older time', () => {
    const b = new BookState()
    b.update(book(1, '100', T0 + 30_000))
    b.update(book(2, '104', T0 + 3 * MIN + 5_000))
    for (const m of [0, 1, 2])
      assert.deepEqual(b.asOfClose('BTCUSDT', close(m))?.quoteTime, T0 + 30_000, `minute ${m}`)
    assert.equal(b.asOfClose('BTCUSDT', close(3))?.quote.bid, '104')
  })

  it('a straggler is not taken as of any instant either', () => {
    const b = new BookState()
    b.update(book(10, '100', T0 + 59_000))
    assert.equal(b.update(book(9, '90', T0 + 59_100)), false)
    assert.equal(b.asOfClose('BTCUSDT', close(0))?.quote.bid, '100')
  })

  it('a quote whose time falls in an earlier kept minute goes to that minute, not to the newest', () => {
    const b = new BookState()
    const fut = (u: number, bid: string, t: number, rx: number): BookTickerEvent => ({
      ...book(u, bid, rx),
      transactionTime: t,
      eventTime: t,
    })
    b.update(fut(1, '100', T0 + 50_000, T0 + 50_010))
    b.update(fut(3, '102', T0 + 60_500, T0 + 60_510))
    // A newer id whose transaction time is before the close (the other socket lagged).
    assert.equal(b.update(fut(4, '101', T0 + 59_000, T0 + 61_000)), true)
    assert.equal(b.asOfClose('BTCUSDT', close(0))?.quote.bid, '101')
    assert.equal(b.asOfClose('BTCUSDT', close(1))?.quote.bid, '102')
    // One older than the one its minute holds changes nothing there.
    b.update(fut(5, '99', T0 + 55_000, T0 + 61_100))
    assert.equal(b.asOfClose('BTCUSDT', close(0))?.quote.bid, '101')
  })

  it('memory stays bounded: a few minutes kept per symbol, and a close older than them finds nothing', () => {
    const b = new BookState()
    for (let m = 0; m < 1_000; m++)
      for (let s = 0; s < 60; s++) b.update(book(m * 60 + s + 1, `${m}`, T0 + m * MIN + s * 1_000))
    const slots = (b as unknown as { bySymbol: Map<string, { slots: unknown[] }> }).bySymbol.get(
      'BTCUSDT',
    )?.slots
    assert.ok(slots !== undefined && slots.length <= QUOTE_MINUTES_KEPT + 2, `${slots?.length} minutes kept`)
    assert.equal(
      b.asOfClose('BTCUSDT', close(999 - QUOTE_MINUTES_KEPT))?.quote.bid,
      `${999 - QUOTE_MINUTES_KEPT}`,
    )
    assert.equal(b.asOfClose('BTCUSDT', close(990)), undefined)
  })
})
