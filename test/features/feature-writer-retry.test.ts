/**
 * The feature writer when the database is away longer than every retry: rows
 * are kept, tried again on a backoff on the injected clock, and all land once
 * it is back; a newer row for a key always wins over a kept one; the kept rows
 * are bounded; close() gives them one last try. PGlite (injected outage) and
 * real PostgreSQL through the TCP proxy when TEST_DATABASE_URL is set.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  createFeatureWriter,
  type FeatureFailure,
  type FeatureFlushInfo,
  type FeatureRetryInfo,
  type FeatureWriter,
  type FeatureWriterOptions,
} from '../../src/feature-store/feature-writer.ts'
import type { FeatureRow } from '../../src/features/feature-row.ts'
import type { Db } from '../../src/store/db.ts'
import { pgTargets } from '../helpers/db.ts'
import { ManualClock } from '../helpers/manual-clock.ts'
import { until } from '../helpers/until.ts'
import { openOutage } from '../spool/outage.ts'
import { MIN, T0 } from './series.ts'

function row(symbol: string, minute: number, closeZscore = 0.5): FeatureRow {
  return {
    market: 'spot',
    symbol,
    openTime: T0 + minute * MIN,
    windowSize: 60,
    closeZscore,
    closeMinmax: 0.25,
    volumeZscore: -1,
    volumeMinmax: 0,
    logReturn: null,
    spreadBpsZscore: null,
    takerBuyRatioZscore: 1.5,
    closeMean: 60000.5,
    closeStd: 0.01,
    windowCount: 60,
    windowFull: true,
    windowQuoted: 0,
  }
}

interface Seen {
  flushed: FeatureFlushInfo[]
  retry: FeatureRetryInfo[]
  failed: FeatureFailure[]
}

function events(w: FeatureWriter): Seen {
  const seen: Seen = { flushed: [], retry: [], failed: [] }
  w.on('flushed', (i) => seen.flushed.push(i))
  w.on('retry', (i) => seen.retry.push(i))
  w.on('failed', (i) => seen.failed.push(i))
  return seen
}

/** A real Db that counts the statements sent through it. */
function counting(db: Db): { db: Db; queries: () => number } {
  let n = 0
  return {
    db: {
      ...db,
      query: (text, params) => {
        n++
        return db.query(text, params)
      },
    } as Db,
    queries: () => n,
  }
}

/** symbol's rows as (minute, close_zscore), oldest first. */
async function stored(q: Db, symbol: string): Promise<Array<[number, number]>> {
  const r = await q.query<{ open_time: Date; z: number }>(
    'SELECT open_time, close_zscore AS z FROM feature_cache WHERE symbol = $1 ORDER BY open_time',
    [symbol],
  )
  return r.rows.map((x) => [(x.open_time.getTime() - T0) / MIN, x.z])
}

const OPTS = { intervalMs: 1_000, maxRetries: 2, retryBaseMs: 10, random: () => 0.5 } as const

for (const kind of pgTargets()) {
  describe(`feature writer retries on ${kind}`, { timeout: 60_000 }, () => {
    /**
     * Drives one pass against a database that is down: after each retry (real
     * I/O) the clock is moved over its backoff, until the pass reports what it
     * kept (or dropped). `retriesBefore`: the retry count when the pass began.
     */
    async function failedPass(
      seen: Seen,
      clock: ManualClock,
      retriesBefore = seen.retry.length,
    ): Promise<FeatureFailure[]> {
      const failures = seen.failed.length
      for (let a = 1; a <= OPTS.maxRetries; a++) {
        await until(`retry ${a}`, () => seen.retry.length >= retriesBefore + a)
        clock.advance((seen.retry[retriesBefore + a - 1] as FeatureRetryInfo).delayMs)
      }
      await until('the pass reported', () => seen.failed.length > failures)
      return seen.failed.slice(failures)
    }

    test('an outage longer than every retry: rows are kept, retried on a doubling backoff, and all land when the database is back', async () => {
      const o = await openOutage(kind)
      try {
        const clock = new ManualClock()
        const c = counting(o.db)
        const w = createFeatureWriter({ db: c.db, clock, ...OPTS, maxBatch: 3 })
        const seen = events(w)
        const rows = Array.from({ length: 10 }, (_, m) => row('KEEPUSDT', m))
        o.down()
        w.add(rows)
        let sent = c.queries()
        clock.advance(OPTS.intervalMs)
        const backoffs: number[] = []
        for (let round = 1; round <= 4; round++) {
          const [f, ...more] = await failedPass(seen, clock)
          assert.deepEqual(more, [])
          assert.equal(f?.final, false)
          assert.deepEqual(f?.rows, rows, 'every row kept, in order')
          assert.equal(
            c.queries() - sent,
            1 + OPTS.maxRetries,
            'the batches after the failed one wait unsent',
          )
          assert.equal(w.bufferSize, rows.length)
          assert.deepEqual(w.takeFailed(), [])
          backoffs.push(f?.retryInMs as number)
          sent = c.queries()
          if (round < 4) clock.advance(f?.retryInMs as number)
        }
        // intervalMs doubling, times the jitter factor (0.75 with random = 0.5).
        assert.deepEqual(backoffs, [750, 1_500, 3_000, 6_000])
        // The fifth try finds the database back.
        o.up()
        clock.advance(backoffs[3] as number)
        await until('every row written', () => w.bufferSize === 0)
        assert.deepEqual(
          await stored(o.direct, 'KEEPUSDT'),
          rows.map((r) => [(r.openTime - T0) / MIN, 0.5]),
        )
        assert.equal(
          seen.flushed.reduce((n, e) => n + e.size, 0),
          rows.length,
        )
        // A success resets the backoff: the next outage starts again at the interval.
        o.down()
        w.add([row('KEEPUSDT', 10)])
        clock.advance(OPTS.intervalMs)
        assert.equal((await failedPass(seen, clock))[0]?.retryInMs, 750)
        o.up()
        await w.close()
        assert.equal(w.bufferSize, 0)
        assert.equal((await stored(o.direct, 'KEEPUSDT')).length, 11)
        assert.ok(seen.failed.every((e) => !e.final))
      } finally {
        await o.cleanup()
      }
    })

    test('a newer row for a key is never overwritten by the kept older one (superseded while kept, and while in flight)', async () => {
      const o = await openOutage(kind)
      try {
        const clock = new ManualClock()
        const w = createFeatureWriter({ db: o.db, clock, ...OPTS })
        const seen = events(w)
        o.down()
        w.add([row('NEWUSDT', 0, 1), row('NEWUSDT', 1, 1), row('NEWUSDT', 2, 1)])
        clock.advance(OPTS.intervalMs)
        // Minute 1 is recomputed while its first version is being retried.
        await until('the first retry', () => seen.retry.length === 1)
        w.add([row('NEWUSDT', 1, 2)])
        const [f] = await failedPass(seen, clock, 0)
        assert.equal(f?.final, false)
        assert.deepEqual(
          f?.rows.map((r) => (r.openTime - T0) / MIN),
          [0, 2],
          'minute 1 is not kept: its newer row waits in the buffer',
        )
        // Minute 0 is recomputed while its first version is kept.
        w.add([row('NEWUSDT', 0, 3)])
        assert.equal(w.bufferSize, 3)
        o.up()
        // Past the kept rows' retry and the buffer's interval, and much later.
        clock.advance(f?.retryInMs as number)
        await until('written', () => w.bufferSize === 0)
        clock.advance(OPTS.intervalMs)
        await w.flush()
        clock.advance(10 * 60_000)
        await w.close()
        assert.deepEqual(await stored(o.direct, 'NEWUSDT'), [
          [0, 3],
          [1, 2],
          [2, 1],
        ])
        assert.deepEqual(w.takeFailed(), [])
      } finally {
        await o.cleanup()
      }
    })

    test('a failure of the database, not the rows (feature_cache renamed away, 42P01): kept without splitting, written once it is back', async () => {
      const o = await openOutage(kind)
      try {
        const clock = new ManualClock()
        const c = counting(o.db)
        const w = createFeatureWriter({ db: c.db, clock, ...OPTS, maxBatch: 4 })
        const seen = events(w)
        const rows = Array.from({ length: 10 }, (_, m) => row('AWAYUSDT', m))
        await o.direct.exec('ALTER TABLE feature_cache RENAME TO feature_cache_away')
        w.add(rows)
        await w.flush()
        assert.equal(c.queries(), 1, 'one statement: neither split nor the next batches sent')
        assert.equal(seen.retry.length, 0, 'not transient: not retried at once')
        assert.equal(seen.failed.length, 1)
        const f = seen.failed[0] as FeatureFailure
        assert.equal(f.final, false)
        assert.equal((f.error as { code?: string }).code, '42P01')
        assert.deepEqual(f.rows, rows)
        assert.equal(w.bufferSize, rows.length)
        await o.direct.exec('ALTER TABLE feature_cache_away RENAME TO feature_cache')
        clock.advance(f.retryInMs as number)
        await until('written', () => w.bufferSize === 0)
        assert.equal((await stored(o.direct, 'AWAYUSDT')).length, rows.length)
        await w.close()
        assert.equal(seen.failed.length, 1)
      } finally {
        await o.cleanup()
      }
    })

    test('kept rows are bounded: beyond maxKeptRows the longest waiting are dropped, reported final', async () => {
      const o = await openOutage(kind)
      try {
        const clock = new ManualClock()
        const opts: FeatureWriterOptions = { db: o.db, clock, ...OPTS, maxKeptRows: 4 }
        const w = createFeatureWriter(opts)
        const seen = events(w)
        o.down()
        w.add([0, 1, 2].map((m) => row('CAPUSDT', m)))
        clock.advance(OPTS.intervalMs)
        const [first] = await failedPass(seen, clock)
        assert.equal(first?.rows.length, 3)
        w.add([3, 4, 5].map((m) => row('CAPUSDT', m)))
        clock.advance(first?.retryInMs as number) // the kept rows and the new ones go out together
        const [kept, dropped, ...more] = await failedPass(seen, clock)
        assert.deepEqual(more, [])
        assert.ok(kept !== undefined && dropped !== undefined)
        assert.equal(kept.final, false)
        assert.equal(kept.rows.length, 6)
        assert.equal(dropped.final, true)
        assert.equal((dropped.error as { code?: string }).code, 'FEATURE_RETRY_OVERFLOW')
        assert.deepEqual(
          dropped.rows.map((r) => (r.openTime - T0) / MIN),
          [0, 1],
        )
        assert.equal(w.bufferSize, 4)
        o.up()
        await w.close()
        assert.deepEqual(
          (await stored(o.direct, 'CAPUSDT')).map(([m]) => m),
          [2, 3, 4, 5],
        )
        assert.deepEqual(w.takeFailed(), [], 'dropped rows are not held on to')
      } finally {
        await o.cleanup()
      }
    })

    test('close() tries kept rows once more: written when the database is back, final when it is not', async () => {
      const o = await openOutage(kind)
      try {
        const clock = new ManualClock()
        o.down()
        const back = createFeatureWriter({ db: o.db, clock, ...OPTS })
        const backSeen = events(back)
        back.add([row('CLOSEUSDT', 0), row('CLOSEUSDT', 1)])
        clock.advance(OPTS.intervalMs)
        await failedPass(backSeen, clock)
        o.up()
        await back.close() // before the kept rows' retry is due
        assert.equal(back.bufferSize, 0)
        assert.equal((await stored(o.direct, 'CLOSEUSDT')).length, 2)

        o.down()
        const gone = createFeatureWriter({ db: o.db, clock, ...OPTS })
        const goneSeen = events(gone)
        const rows = [row('GONEUSDT', 0), row('GONEUSDT', 1)]
        gone.add(rows)
        clock.advance(OPTS.intervalMs)
        assert.equal((await failedPass(goneSeen, clock))[0]?.final, false)
        const closing = gone.close()
        const [last] = await failedPass(goneSeen, clock)
        await closing
        assert.equal(last?.final, true)
        assert.deepEqual(last?.rows, rows)
        assert.deepEqual(gone.takeFailed(), rows)
        assert.equal(gone.bufferSize, 0)
        assert.equal(clock.timerCount, 0, 'no retry left armed')
      } finally {
        await o.cleanup()
      }
    })
  })
}
