import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { type ControlState, handleControl } from '../../src/simulator/control.ts'
import { lineColumn, topLevelMembers } from '../../src/simulator/json-scan.ts'
import { parseStreamName, parseTarget } from '../../src/simulator/streams.ts'

const FIX = '/work/shared/fixtures'
const fixture = (name: string): unknown => JSON.parse(readFileSync(`${FIX}/${name}`, 'utf8'))

const s = (name: string) => {
  const p = parseStreamName(name)
  assert.ok(p, name)
  return p
}
const empty: ControlState = { streams: [], combined: false }
const run = (req: unknown, state: ControlState = empty, max = 1024) =>
  handleControl(typeof req === 'string' ? req : JSON.stringify(req), state, max)
const reply = (req: unknown, state?: ControlState) => JSON.parse(run(req, state).reply) as unknown

describe('control: successful requests', () => {
  test('SUBSCRIBE answers {"result":null,"id":N} and adds streams once, in order', () => {
    const out = run({
      method: 'SUBSCRIBE',
      params: ['btcusdt@kline_1m', 'btcusdt@bookTicker', 'btcusdt@kline_1m'],
      id: 1,
    })
    assert.equal(out.reply, '{"result":null,"id":1}')
    assert.deepEqual(JSON.parse(out.reply), fixture('ws_subscribe_response.doc.json'))
    assert.deepEqual(
      out.next?.streams.map((x) => x.name),
      ['btcusdt@kline_1m', 'btcusdt@bookTicker'],
    )
  })

  test('UNSUBSCRIBE removes; LIST_SUBSCRIPTIONS lists', () => {
    const state = { streams: [s('btcusdt@kline_1m'), s('ethusdt@kline_1m')], combined: false }
    const out = run(
      { method: 'UNSUBSCRIBE', params: ['btcusdt@kline_1m', 'nknusdt@kline_1m'], id: 312 },
      state,
    )
    assert.deepEqual(JSON.parse(out.reply), fixture('ws_unsubscribe_response.doc.json'))
    assert.deepEqual(
      out.next?.streams.map((x) => x.name),
      ['ethusdt@kline_1m'],
    )
    assert.equal(
      run({ method: 'LIST_SUBSCRIPTIONS', id: 3 }, state).reply,
      '{"result":["btcusdt@kline_1m","ethusdt@kline_1m"],"id":3}',
    )
    assert.equal(run({ method: 'LIST_SUBSCRIPTIONS', id: 3 }).reply, '{"result":[],"id":3}')
  })

  test('SET_PROPERTY / GET_PROPERTY combined', () => {
    const set = run(fixture('ws_set_property_request.doc.json'))
    assert.deepEqual(JSON.parse(set.reply), fixture('ws_set_property_response.doc.json'))
    assert.equal(set.next?.combined, true)
    assert.deepEqual(
      reply(fixture('ws_get_property_request.doc.json'), { streams: [], combined: true }),
      fixture('ws_get_property_response.doc.json'),
    )
    assert.equal(
      run({ method: 'GET_PROPERTY', params: ['combined'], id: 2 }).reply,
      '{"result":false,"id":2}',
    )
  })

  test('ids: int64 echoed digit for digit, alphanumeric strings, null', () => {
    const big = '{"method":"LIST_SUBSCRIPTIONS","id":9223372036854775807}'
    assert.equal(run(big).reply, '{"result":[],"id":9223372036854775807}')
    assert.equal(
      run('{"method":"LIST_SUBSCRIPTIONS","id":-9223372036854775808}').reply,
      '{"result":[],"id":-9223372036854775808}',
    )
    assert.equal(
      run({ method: 'LIST_SUBSCRIPTIONS', id: 'abcDEF0123456789abcDEF0123456789abcd' }).reply,
      '{"result":[],"id":"abcDEF0123456789abcDEF0123456789abcd"}',
    )
    assert.equal(run({ method: 'LIST_SUBSCRIPTIONS', id: null }).reply, '{"result":[],"id":null}')
    // An "id" inside params does not confuse the echo.
    assert.equal(
      run('{"params":[{"id":5}],"method":"LIST_SUBSCRIPTIONS","id":7}').reply,
      '{"error":{"code":2,"msg":"Invalid request: too many parameters"},"id":7}',
    )
  })
})

describe('control: errors (nested form, as on the wire)', () => {
  const idErr =
    '{"error":{"code":2,"msg":"Invalid request: request ID must be an unsigned integer"},"id":null}'

  test('invalid stream in SUBSCRIBE matches the observed frame', () => {
    const state = { streams: [s('btcusdt@kline_1m')], combined: false }
    for (const bad of [
      'btcusdt@depth',
      'BTCUSDT@kline_1m',
      'btcusdt@kline_5m',
      'btcusdt@bookticker',
      '',
      5,
    ]) {
      const out = run({ method: 'SUBSCRIBE', params: ['ethusdt@kline_1m', bad], id: 2 }, state)
      assert.deepEqual(JSON.parse(out.reply), fixture('ws_error_invalid_stream.observed.json'))
      assert.equal(out.next, undefined, 'nothing subscribed')
    }
  })

  test('code 3 for invalid JSON, with id null', () => {
    const out = JSON.parse(run('{"method":"SUBSCRIBE",').reply) as {
      error: { code: number; msg: string }
      id: null
    }
    assert.equal(out.id, null)
    assert.equal(out.error.code, 3)
    assert.match(out.error.msg, /^Invalid JSON: expected value at line 1 column \d+$/)
    assert.equal(
      run('hello').reply,
      '{"error":{"code":3,"msg":"Invalid JSON: expected value at line 1 column 1"},"id":null}',
    )
  })

  test('code 2 for bad id types', () => {
    for (const id of [
      '1.5',
      '1e3',
      'true',
      '{}',
      '[]',
      '"has space"',
      `"${'a'.repeat(37)}"`,
      '9223372036854775808',
    ]) {
      assert.equal(run(`{"method":"LIST_SUBSCRIPTIONS","id":${id}}`).reply, idErr, id)
    }
    assert.equal(run('{"method":"LIST_SUBSCRIPTIONS"}').reply, idErr)
  })

  test('code 2 for missing or unknown method', () => {
    assert.equal(
      run('{"params":[],"id":4}').reply,
      '{"error":{"code":2,"msg":"Invalid request: missing field `method` at line 1 column 20"},"id":4}',
    )
    assert.equal(
      run('{"method":"SUBSCRIBEE","id":4}').reply,
      '{"error":{"code":2,"msg":"Invalid request: unknown variant `SUBSCRIBEE`, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY` at line 1 column 22"},"id":4}',
    )
    assert.match(run('{"method":7,"id":4}').reply, /unknown variant `7`/)
    assert.match(run('{"method":"subscribe","id":4}').reply, /"code":2,.*unknown variant `subscribe`/)
    assert.equal(
      run('[1,2]').reply,
      '{"error":{"code":2,"msg":"Invalid request: expected a JSON object"},"id":null}',
    )
  })

  test('property errors: codes 0, 1 and 2', () => {
    const err = (code: number, msg: string, id = 5) => ({ error: { code, msg }, id })
    assert.deepEqual(
      reply({ method: 'SET_PROPERTY', params: ['combine', true], id: 5 }),
      err(0, 'Unknown property'),
    )
    assert.deepEqual(reply({ method: 'GET_PROPERTY', params: ['foo'], id: 5 }), err(0, 'Unknown property'))
    assert.deepEqual(
      reply({ method: 'SET_PROPERTY', params: ['combined', 'true'], id: 5 }),
      err(1, 'Invalid value type: expected Boolean'),
    )
    assert.deepEqual(
      reply({ method: 'SET_PROPERTY', params: ['combined'], id: 5 }),
      err(1, 'Invalid value type: expected Boolean'),
    )
    const nameErr = err(2, 'Invalid request: property name must be a string')
    assert.deepEqual(reply({ method: 'SET_PROPERTY', params: [1, true], id: 5 }), nameErr)
    assert.deepEqual(reply({ method: 'GET_PROPERTY', params: [], id: 5 }), nameErr)
    assert.deepEqual(reply({ method: 'GET_PROPERTY', id: 5 }), nameErr)
    const many = err(2, 'Invalid request: too many parameters')
    assert.deepEqual(reply({ method: 'SET_PROPERTY', params: ['combined', true, 1], id: 5 }), many)
    assert.deepEqual(reply({ method: 'GET_PROPERTY', params: ['combined', true], id: 5 }), many)
  })

  test('SUBSCRIBE past the stream limit is refused as a whole', () => {
    const state = { streams: [s('a@kline_1m'), s('b@kline_1m')], combined: false }
    const out = handleControl(
      JSON.stringify({ method: 'SUBSCRIBE', params: ['c@kline_1m'], id: 9 }),
      state,
      2,
    )
    assert.equal(out.reply, '{"error":{"code":2,"msg":"Invalid request: more than 2 streams"},"id":9}')
    assert.equal(out.next, undefined)
    assert.equal(
      handleControl('{"method":"SUBSCRIBE","params":["a@kline_1m"],"id":9}', state, 2).reply,
      '{"result":null,"id":9}',
    )
    assert.deepEqual(reply({ method: 'SUBSCRIBE', id: 9 }), {
      error: { code: 2, msg: 'Invalid request: missing field `params`' },
      id: 9,
    })
  })
})

describe('stream names and URLs', () => {
  test('parseStreamName', () => {
    assert.deepEqual(parseStreamName('btcusdt@kline_1m'), {
      name: 'btcusdt@kline_1m',
      symbol: 'BTCUSDT',
      kind: 'kline',
    })
    assert.deepEqual(parseStreamName('nknusdt@bookTicker'), {
      name: 'nknusdt@bookTicker',
      symbol: 'NKNUSDT',
      kind: 'book',
    })
    for (const bad of [
      'btcusdt@kline_1m@+08:00',
      'btcusdt',
      '@kline_1m',
      '!bookTicker',
      'btc-usdt@kline_1m',
    ]) {
      assert.equal(parseStreamName(bad), null, bad)
    }
  })

  test('parseTarget: /ws, /ws/<s>[/<s>], /stream?streams=', () => {
    const t = (u: string) => parseTarget(u, 1024)
    const ws = t('/ws')
    assert.ok(ws.ok)
    assert.deepEqual(
      ws.ok && { path: ws.target.path, market: ws.target.market, combined: ws.target.combined },
      { path: '/ws', market: 'spot', combined: false },
    )
    assert.deepEqual(ws.ok && ws.target.streams, [])
    const raw = t('/ws/btcusdt@kline_1m/ethusdt@bookTicker')
    assert.ok(raw.ok && !raw.target.combined && raw.target.streams.length === 2)
    const comb = t('/stream?streams=btcusdt@kline_1m/btcusdt@bookTicker')
    assert.ok(comb.ok && comb.target.combined)
    assert.deepEqual(comb.ok && comb.target.streams.map((x) => x.name), [
      'btcusdt@kline_1m',
      'btcusdt@bookTicker',
    ])
    assert.ok(t('/stream').ok)
    assert.deepEqual(t('/ws/btcusdt@depth'), {
      ok: false,
      status: 400,
      code: 2,
      msg: 'Invalid request: invalid stream',
    })
    assert.equal(t('/stream?streams=btcusdt@kline_1m/BTCUSDT@kline_1m').ok, false)
    assert.deepEqual(t('/api/v3/klines'), { ok: false, status: 404, code: -1, msg: 'Not found' })
    assert.equal(parseTarget('/stream?streams=a@kline_1m/b@kline_1m', 1).ok, false)
    assert.equal(t('/ws/btcusdt@kline_1m?timeUnit=MICROSECOND').ok, false)
    assert.ok(t('/ws/btcusdt@kline_1m?timeUnit=millisecond').ok)
  })

  test('json-scan finds top-level members only', () => {
    const text = '{"a":{"id":1},"id": 123 ,"s":"x\\"y","arr":[1,{"id":2}],"n":null}'
    const m = topLevelMembers(text)
    const slice = (k: string) => {
      const e = m.get(k)
      return e && text.slice(e.start, e.end)
    }
    assert.equal(slice('id'), '123')
    assert.equal(slice('a'), '{"id":1}')
    assert.equal(slice('s'), '"x\\"y"')
    assert.equal(slice('arr'), '[1,{"id":2}]')
    assert.equal(slice('n'), 'null')
    assert.equal(lineColumn('ab\ncd', 4), 'line 2 column 2')
  })
})
