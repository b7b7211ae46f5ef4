import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { BookState } from '../../src/candles/book-state.ts'
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
