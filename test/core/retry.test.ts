import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import {
  Backoff,
  delayFor,
  offsetJitter,
  retry,
  SCHEDULES,
  type Schedule,
  schedule,
} from '../../src/core/retry.ts'
import { ManualClock } from '../helpers/manual-clock.ts'

/** A schedule's row as docs/OPERATIONS.md writes it. */
export function scheduleRow(name: string, s: Schedule): string {
  const ms = (n: number) =>
    n % 60_000 === 0 ? `${n / 60_000} min` : n % 1000 === 0 ? `${n / 1000} s` : `${n} ms`
  if (s.kind === 'exponential') {
    const [lo, hi] = [Math.min(...s.jitter), Math.max(...s.jitter)]
    return `| \`${name}\` | ${ms(s.baseMs)} doubling to ${ms(s.maxMs)} | × ${lo}–${hi} | ${s.use} |`
  }
  if (s.kind === 'offset')
    return `| \`${name}\` | after the wait it follows | + ${ms(s.minMs)} + [0, ${ms(s.spreadMs)}) | ${s.use} |`
  return `| \`${name}\` | the period | ± ${ms(s.spreadMs)} | ${s.use} |`
}

describe('retry schedules', () => {
  test('docs/OPERATIONS.md quotes every schedule, number for number', () => {
    const doc = readFileSync('docs/OPERATIONS.md', 'utf8')
    for (const [name, s] of Object.entries(SCHEDULES)) assert.ok(doc.includes(scheduleRow(name, s)), name)
  })

  test('exponential rows double up to their cap; the jitter factor runs from jitter[0] to jitter[1]', () => {
    const s = SCHEDULES['db.write']
    assert.deepEqual(
      [1, 2, 3, 6, 7, 40].map((a) => delayFor(s, a, () => 1)),
      [100, 200, 400, 3_200, 5_000, 5_000],
    )
    assert.deepEqual(
      [1, 2, 3].map((a) => delayFor(s, a, () => 0)),
      [50, 100, 200],
    )
    const r = SCHEDULES['stream.reconnect']
    assert.equal(
      delayFor(r, 4, () => 0),
      8_000,
      'random 0: the cap itself',
    )
    assert.equal(
      delayFor(r, 4, () => 1),
      6_400,
      'random 1: 20 % shorter',
    )
  })

  test('overrides replace the numbers, not the shape', () => {
    const s = schedule('spool.replay', { baseMs: 10, maxMs: 80 })
    assert.deepEqual(s.jitter, SCHEDULES['spool.replay'].jitter)
    assert.equal(
      delayFor(s, 9, () => 0.5),
      80,
    )
  })

  test('offset jitter is min + [0, spread)', () => {
    assert.equal(
      offsetJitter(SCHEDULES['rest.pause'], () => 0.5),
      1_250,
    )
    assert.equal(
      offsetJitter(SCHEDULES['rest.pause'], () => Number.NaN),
      1_250,
    )
  })

  test('a Backoff walks the schedule and starts over after reset()', () => {
    const b = new Backoff(SCHEDULES['db.start'], () => 1)
    assert.deepEqual([b.next(), b.next(), b.next()], [1_000, 2_000, 4_000])
    b.reset()
    assert.equal(b.next(), 1_000)
  })

  test('retry(): transient failures wait on the injected clock; others throw at once', async () => {
    const clock = new ManualClock(0)
    const delays: number[] = []
    let calls = 0
    const done = retry(
      async () => {
        calls++
        if (calls < 3) throw new Error('transient')
        return 'ok'
      },
      {
        schedule: SCHEDULES['db.write'],
        clock,
        random: () => 1,
        maxRetries: 5,
        retryable: (e) => (e as Error).message === 'transient',
        onRetry: (i) => delays.push(i.delayMs),
      },
    )
    for (let i = 0; i < 50 && calls < 3; i++) {
      await new Promise((r) => setImmediate(r))
      clock.advance(10_000)
    }
    assert.equal(await done, 'ok')
    assert.deepEqual(delays, [100, 200])
    await assert.rejects(
      retry(async () => Promise.reject(new Error('fatal')), {
        schedule: SCHEDULES['db.write'],
        clock,
        random: () => 1,
        maxRetries: 5,
        retryable: () => false,
      }),
      /fatal/,
    )
  })

  test('retry(): aborting the signal ends the wait with its reason', async () => {
    const clock = new ManualClock(0)
    const ac = new AbortController()
    const done = retry(async () => Promise.reject(new Error('down')), {
      schedule: SCHEDULES['db.start'],
      clock,
      random: () => 0,
      maxRetries: Number.POSITIVE_INFINITY,
      retryable: () => true,
      onRetry: () => ac.abort(new Error('cancelled')),
      signal: ac.signal,
    })
    await assert.rejects(done, /cancelled/)
  })
})
