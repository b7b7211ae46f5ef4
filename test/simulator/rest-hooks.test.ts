import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import type { MalformKind } from '../../src/simulator/rest/hooks.ts'
import { type Simulator, startSimulator } from '../../src/simulator/server.ts'
import { ManualClock } from '../helpers/manual-clock.ts'
import { get, openTimes, usedWeight } from './rest-client.ts'
import { TestClient } from './ws-client.ts'

const T0 = Date.UTC(2024, 0, 1)
const MIN = 60_000
const NOW = T0 + 10 * MIN + 30_000
const FIVE = `/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${T0}&limit=5`

let clock: ManualClock
let sim: Simulator
beforeEach(async () => {
  clock = new ManualClock(NOW)
  sim = await startSimulator({ clock })
})
afterEach(() => sim.close())

describe('REST hooks: failNext and hangNext', () => {
  test('failNext(n) fails exactly the next n requests, default 500 with -1001 JSON', async () => {
    sim.hooks.rest.failNext(2)
    for (let i = 0; i < 2; i++) {
      const r = await get(sim, '/api/v3/ping')
      assert.equal(r.status, 500)
      assert.deepEqual(r.json(), {
        code: -1001,
        msg: 'Internal error; unable to process your request. Please try again.',
      })
    }
    assert.equal((await get(sim, '/api/v3/ping')).status, 200)
    assert.equal(sim.hooks.rest.stats().weightUsed, 1, 'failed requests are not charged')
  })

  test('502/503 answer a proxy HTML page; -1007 timeout and verbatim bodies on request', async () => {
    sim.hooks.rest.failNext(1, 502)
    sim.hooks.rest.failNext(1, 503)
    sim.hooks.rest.failNext(1, 504, 'timeout')
    sim.hooks.rest.failNext(1, 429, '{"code":-1003,"msg":"x"}', { 'Retry-After': '7' })
    const bad = await get(sim, FIVE)
    assert.equal(bad.status, 502)
    assert.match(bad.headers.get('content-type') ?? '', /^text\/html/)
    assert.match(bad.text, /<h1>502 Bad Gateway<\/h1>/)
    assert.throws(() => bad.json(), SyntaxError)
    const unavailable = await get(sim, FIVE)
    assert.equal(unavailable.status, 503)
    assert.match(unavailable.text, /^<html>/)
    const timeout = await get(sim, FIVE)
    assert.equal(timeout.status, 504)
    assert.equal((timeout.json() as { code: number }).code, -1007)
    const custom = await get(sim, FIVE)
    assert.equal(custom.status, 429)
    assert.equal(custom.headers.get('retry-after'), '7')
    assert.deepEqual(custom.json(), { code: -1003, msg: 'x' })
    assert.equal((await get(sim, FIVE)).status, 200)
  })

  test('hangNext(n): those requests never answer, others still do, close() ends them', async () => {
    sim.hooks.rest.hangNext(1)
    let settled = false
    const hung = fetch(`${sim.httpBase}/api/v3/ping`).finally(() => {
      settled = true
    })
    const next = await get(sim, '/api/v3/time')
    assert.equal(next.status, 200)
    assert.equal(settled, false)
    assert.equal(sim.hooks.rest.stats().requests, 2)
    await sim.close()
    await assert.rejects(hung)
  })
})

describe('REST hooks: malformNext', () => {
  const malformed = async (kind: MalformKind) => {
    sim.hooks.rest.malformNext(1, kind)
    assert.equal((await get(sim, '/api/v3/ping')).status, 200, 'other endpoints do not consume it')
    const r = await get(sim, FIVE)
    assert.equal(r.status, 200)
    const good = await get(sim, FIVE)
    assert.deepEqual(openTimes(good), [T0, T0 + MIN, T0 + 2 * MIN, T0 + 3 * MIN, T0 + 4 * MIN], 'only once')
    return { r, good: good.json() as unknown[][] }
  }

  test('wrong_column_count: the middle row has 11 columns', async () => {
    const { r } = await malformed('wrong_column_count')
    assert.deepEqual(
      (r.json() as unknown[][]).map((x) => x.length),
      [12, 12, 11, 12, 12],
    )
  })

  test('string_for_number: the middle openTime is a string', async () => {
    const { r, good } = await malformed('string_for_number')
    const rows = r.json() as unknown[][]
    assert.equal(rows[2]?.[0], String(good[2]?.[0]))
    assert.deepEqual(rows[1], good[1])
  })

  test('unordered: two neighbouring rows swapped', async () => {
    const { r } = await malformed('unordered')
    assert.deepEqual(openTimes(r), [T0, T0 + 2 * MIN, T0 + MIN, T0 + 3 * MIN, T0 + 4 * MIN])
  })

  test('duplicate_rows: the middle row twice', async () => {
    const { r, good } = await malformed('duplicate_rows')
    const rows = r.json() as unknown[][]
    assert.equal(rows.length, 6)
    assert.deepEqual(rows[2], good[2])
    assert.deepEqual(rows[3], good[2])
  })

  test('future_close: a past minute claims a closeTime in the future', async () => {
    const { r, good } = await malformed('future_close')
    const rows = r.json() as unknown[][]
    assert.ok((rows[2]?.[6] as number) > NOW)
    assert.deepEqual(rows[2]?.slice(0, 6), good[2]?.slice(0, 6))
  })

  test('html: 200 with an HTML page', async () => {
    const { r } = await malformed('html')
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/)
    assert.match(r.text, /^<!DOCTYPE html>/)
  })

  test('truncated_json: a JSON prefix that does not parse, still charged', async () => {
    const { r, good } = await malformed('truncated_json')
    assert.throws(() => r.json(), SyntaxError)
    assert.ok(JSON.stringify(good).startsWith(r.text))
    assert.equal(usedWeight(r), 3)
  })
})

describe('stream side shares the universe', () => {
  test('no frames for an unlisted symbol, nor before a listing; listed symbols unaffected', async () => {
    await sim.close()
    clock = new ManualClock(T0)
    sim = await startSimulator({ clock, listedAt: { ETHUSDT: T0 + 2 * MIN } })
    const c = await TestClient.open(`${sim.wsBase}/nopeusdt@kline_1m/ethusdt@kline_1m/ethusdt@bookTicker`)
    const frames: Array<Record<string, unknown>> = []
    let firstAt = Number.POSITIVE_INFINITY
    while (clock.now() < T0 + 3 * MIN + 1_000) {
      clock.advance(5_000)
      const got = await c.sync()
      if (got.length > 0) firstAt = Math.min(firstAt, clock.now())
      for (const t of got) frames.push(JSON.parse(t) as Record<string, unknown>)
    }
    c.ws.terminate()
    assert.ok(frames.length > 0)
    assert.ok(frames.every((f) => f.s === 'ETHUSDT'))
    assert.ok(firstAt >= T0 + 2 * MIN, 'nothing, not even bookTicker, before the listing')
    const kTimes = frames.flatMap((f) => (f.k ? [(f.k as { t: number }).t] : []))
    assert.ok(kTimes.every((t) => t >= T0 + 2 * MIN))
    assert.ok(frames.some((f) => (f.k as { x?: boolean } | undefined)?.x === true))
  })
})
