import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  chunkStreams,
  combinedUrl,
  InvalidStreamUrlError,
  isInvalidSymbolError,
  planConnectionUrl,
  streamsFor,
} from '../../src/binance/ws/stream-names.ts'

describe('stream names', () => {
  test('two lowercase streams per symbol, de-duplicated', () => {
    assert.deepEqual(streamsFor(['BTCUSDT', 'ethusdt', 'btcusdt']), [
      'btcusdt@kline_1m',
      'btcusdt@bookTicker',
      'ethusdt@kline_1m',
      'ethusdt@bookTicker',
    ])
  })

  test('symbols that could smuggle anything into a URL are refused with a typed error', () => {
    for (const bad of ['', 'B', 'btc/usdt', 'BTC USDT', 'btcusdt@depth', 'A'.repeat(31), 'ÄBC', 'btc&x=1']) {
      assert.throws(
        () => streamsFor([bad]),
        (e: unknown) => isInvalidSymbolError(e) && e.code === 'INVALID_SYMBOL',
      )
    }
  })

  test('2500 streams chunk into 1024/1024/452', () => {
    const streams = Array.from({ length: 2500 }, (_, i) => `s${i}`)
    assert.deepEqual(
      chunkStreams(streams).map((c) => c.length),
      [1024, 1024, 452],
    )
    assert.deepEqual(chunkStreams([]), [])
    assert.throws(() => chunkStreams(streams, 0), RangeError)
  })

  test('combined URL from every base shape', () => {
    const s = ['btcusdt@kline_1m', 'btcusdt@bookTicker']
    const want = 'wss://stream.binance.com:9443/stream?streams=btcusdt@kline_1m/btcusdt@bookTicker'
    for (const base of [
      'wss://stream.binance.com:9443/ws',
      'wss://stream.binance.com:9443/ws/',
      'wss://stream.binance.com:9443',
      'wss://stream.binance.com:9443/',
      'wss://stream.binance.com:9443/stream',
      'wss://stream.binance.com:9443/ws/btcusdt@trade',
    ]) {
      assert.equal(combinedUrl(base, s), want, base)
    }
    assert.equal(combinedUrl('ws://127.0.0.1:4567/ws', ['a@b']), 'ws://127.0.0.1:4567/stream?streams=a@b')
    assert.equal(
      combinedUrl('wss://h/ws?timeUnit=MICROSECOND', ['a@b']),
      'wss://h/stream?streams=a@b&timeUnit=MICROSECOND',
    )
    assert.throws(() => combinedUrl('https://h/ws', s), InvalidStreamUrlError)
    assert.throws(() => combinedUrl('not a url', s), InvalidStreamUrlError)
  })

  test('a URL that would be too long keeps what fits and SUBSCRIBEs the rest', () => {
    const streams = streamsFor(Array.from({ length: 512 }, (_, i) => `SYM${i}USDT`))
    const plan = planConnectionUrl('wss://stream.binance.com:9443/ws', streams)
    assert.ok(plan.url.length <= 7_680)
    assert.ok(plan.toSubscribe.length > 0)
    assert.deepEqual([...plan.inUrl, ...plan.toSubscribe], streams)
    assert.equal(plan.url, combinedUrl('wss://stream.binance.com:9443/ws', plan.inUrl))
    const small = planConnectionUrl('wss://h/ws', streams.slice(0, 4))
    assert.equal(small.toSubscribe.length, 0)
  })
})
