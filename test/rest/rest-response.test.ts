import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isRateLimitError, isRetryableRestError, RestError } from '../../src/binance/rest/rest-errors.ts'
import { interpretResponse, parseRetryAfter, parseUsedWeight } from '../../src/binance/rest/rest-response.ts'
import { fixtureText } from '../helpers/fixtures.ts'

const JSON_CT = 'application/json;charset=UTF-8'
const NOW = Date.UTC(2024, 0, 10)

function outcome(status: number, text: string, contentType = JSON_CT, retryAfter: string | null = null) {
  try {
    return { body: interpretResponse({ status, contentType, text, retryAfter }, NOW) }
  } catch (e) {
    assert.ok(e instanceof RestError, String(e))
    return {
      code: e.code,
      status: e.status,
      binanceCode: e.binanceCode,
      retryAfterMs: e.retryAfterMs,
      retryable: isRetryableRestError(e),
    }
  }
}

describe('interpretResponse', () => {
  it('2xx JSON → body', () => {
    assert.deepEqual(outcome(200, fixtureText('spot_rest_time.doc.json')), {
      body: { serverTime: 1499827319559 },
    })
    assert.deepEqual(outcome(200, fixtureText('spot_rest_ping.doc.json')), { body: {} })
  })

  const table: Array<[string, number, string, string, string | null, Record<string, unknown>]> = [
    [
      '-1121 invalid symbol',
      400,
      fixtureText('rest_error_invalid_symbol.doc.json'),
      JSON_CT,
      null,
      { code: 'UNKNOWN_SYMBOL', status: 400, binanceCode: -1121, retryable: false },
    ],
    [
      '-1100 illegal chars',
      400,
      '{"code":-1100,"msg":"x"}',
      JSON_CT,
      null,
      { code: 'BINANCE_ERROR', status: 400, binanceCode: -1100, retryable: false },
    ],
    [
      '-1130 invalid parameter',
      400,
      '{"code":-1130,"msg":"x"}',
      JSON_CT,
      null,
      { code: 'BINANCE_ERROR', status: 400, binanceCode: -1130, retryable: false },
    ],
    [
      '-1007 backend timeout on a 4xx',
      408,
      '{"code":-1007,"msg":"Timeout waiting for response"}',
      JSON_CT,
      null,
      { code: 'BINANCE_ERROR', status: 408, binanceCode: -1007, retryable: true },
    ],
    [
      '-1003 on 429 with Retry-After',
      429,
      fixtureText('rest_error_too_much_weight_-1003.reconstructed-from-log.json'),
      JSON_CT,
      '17',
      { code: 'HTTP_429', status: 429, binanceCode: -1003, retryAfterMs: 17_000, retryable: true },
    ],
    [
      '418 ban',
      418,
      '{"code":-1003,"msg":"Way too much request weight used; IP banned until 1."}',
      JSON_CT,
      '7200',
      { code: 'HTTP_418', status: 418, binanceCode: -1003, retryAfterMs: 7_200_000, retryable: false },
    ],
    [
      '503 -1008 server busy',
      503,
      '{"code":-1008,"msg":"busy"}',
      JSON_CT,
      null,
      { code: 'HTTP_5XX', status: 503, binanceCode: -1008, retryable: true },
    ],
    [
      '502 HTML from a proxy',
      502,
      '<html><body>Bad Gateway</body></html>',
      'text/html',
      null,
      { code: 'BAD_RESPONSE', status: 502, retryable: true },
    ],
    [
      '403 WAF HTML',
      403,
      '<html>Forbidden</html>',
      'text/html',
      null,
      { code: 'HTTP_4XX', status: 403, retryable: false },
    ],
    [
      '404 JSON without a Binance body',
      404,
      '{"error":"nope"}',
      JSON_CT,
      null,
      { code: 'HTTP_4XX', status: 404, retryable: false },
    ],
    [
      '200 HTML',
      200,
      '<!doctype html>',
      'text/html',
      null,
      { code: 'BAD_RESPONSE', status: 200, retryable: true },
    ],
    ['200 without content-type', 200, '[]', '', null, { code: 'BAD_RESPONSE', status: 200, retryable: true }],
    [
      '200 truncated JSON',
      200,
      '[[1,"2"',
      JSON_CT,
      null,
      { code: 'BAD_RESPONSE', status: 200, retryable: true },
    ],
    [
      '200 with a transient error body',
      200,
      '{"code":-1001,"msg":"DISCONNECTED"}',
      JSON_CT,
      null,
      { code: 'BINANCE_ERROR', status: 200, binanceCode: -1001, retryable: true },
    ],
    ['304', 304, '', JSON_CT, null, { code: 'BAD_RESPONSE', status: 304, retryable: true }],
  ]
  for (const [name, status, text, ct, ra, want] of table) {
    it(name, () => {
      const got = outcome(status, text, ct, ra) as Record<string, unknown>
      for (const k of Object.keys(got)) if (got[k] === undefined) delete got[k]
      assert.deepEqual(got, want)
    })
  }

  it('isRateLimitError picks 429 and 418 only', () => {
    assert.equal(isRateLimitError(new RestError('HTTP_429', 'x')), true)
    assert.equal(isRateLimitError(new RestError('HTTP_418', 'x')), true)
    assert.equal(isRateLimitError(new RestError('HTTP_5XX', 'x')), false)
    assert.equal(isRetryableRestError(new Error('x')), false)
  })
})

describe('headers', () => {
  it('Retry-After: seconds, HTTP date, garbage', () => {
    assert.equal(parseRetryAfter('120', NOW), 120_000)
    assert.equal(parseRetryAfter(' 0 ', NOW), 0)
    assert.equal(parseRetryAfter(new Date(NOW + 90_000).toUTCString(), NOW), 90_000)
    assert.equal(parseRetryAfter(new Date(NOW - 90_000).toUTCString(), NOW), 0)
    assert.equal(parseRetryAfter('soon', NOW), undefined)
    assert.equal(parseRetryAfter('-5', NOW), undefined)
    assert.equal(parseRetryAfter(null, NOW), undefined)
  })

  it('X-MBX-USED-WEIGHT-1M', () => {
    assert.equal(parseUsedWeight('42'), 42)
    assert.equal(parseUsedWeight(''), undefined)
    assert.equal(parseUsedWeight('4.2'), undefined)
    assert.equal(parseUsedWeight(null), undefined)
  })
})
