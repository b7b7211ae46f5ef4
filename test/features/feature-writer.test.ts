/** The feature writer's discipline: interval batching on the clock, retries, loud failures. */
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { after, before, describe, test } from 'node:test'
import {
  createFeatureWriter,
  type FeatureFailure,
  type FeatureFlushInfo,
  type FeatureRetryInfo,
  type FeatureWriter,
} from '../../src/feature-store/feature-writer.ts'
import type { FeatureRow } from '../../src/features/feature-row.ts'
import type { Db, Queryable } from '../../src/store/db.ts'
import { isTransientDbError } from '../../src/store/errors.ts'
import { openDb } from '../../src/store/open-db.ts'
import { openTestDb, pgTargets, type TestDb } from '../helpers/db.ts'
import { ManualClock } from '../helpers/manual-clock.ts'
import { MIN, T0 } from './series.ts'

function row(symbol: string, minute: number, over: Partial<FeatureRow> = {}): FeatureRow {
  return {
    market: 'spot',
    symbol,
    openTime: T0 + minute * MIN,
    windowSize: 60,
    closeZscore: 0.5,
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
    ...over,
  }
}

function events(w: FeatureWriter) {
  const seen = {
    flushed: [] as FeatureFlushInfo[],
    retry: [] as FeatureRetryInfo[],
    failed: [] as FeatureFailure[],
  }
  w.on('flushed', (i) => seen.flushed.push(i))
  w.on('retry', (i) => seen.retry.push(i))
  w.on('failed', (i) => seen.failed.push(i))
  return seen
}

/** Waits for the writer's real database round trip (a TimescaleDB chunk may need creating first). */
async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond() && Date.now() < deadline) await new Promise((r) => setImmediate(r))
  assert.ok(cond(), 'condition not reached')
}

async function refusedPort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as { port: number }).port
  await new Promise<void>((r) => srv.close(() => r()))
  return port
}

/** A real Db whose first `failures.left` queries go to a port that refuses connections (real ECONNREFUSED). */
function flaky(real: Db, refusing: Db, failures: { left: number }): Db {
  return {
    kind: real.kind,
    query: (text, params) => (failures.left-- > 0 ? refusing.query(text, params) : real.query(text, params)),
    exec: (sql) => real.exec(sql),
    execLong: (sql) => real.execLong(sql),
    tx: <T>(fn: (q: Queryable) => Promise<T>) => real.tx(fn),
    ping: () => real.ping(),
    poolSize: () => real.poolSize(),
    close: () => real.close(),
  } as Db
}

async function count(q: Queryable, symbol: string): Promise<number> {
  const r = await q.query<{ n: string }>('SELECT count(*) AS n FROM feature_cache WHERE symbol = $1', [
    symbol,
  ])
  return Number(r.rows[0]?.n)
}

for (const kind of pgTargets()) {
  describe(`feature writer on ${kind}`, () => {
    let t: TestDb
    let refusing: Db
    before(async () => {
      t = await openTestDb(kind)
      refusing = await openDb({
        kind: 'postgres',
        host: '127.0.0.1',
        port: await refusedPort(),
        sslmode: 'disable',
        poolMin: 0,
        poolMax: 1,
        idleTimeoutMs: 1_000,
        connectionTimeoutMs: 2_000,
      })
    })
    after(async () => {
      await refusing.close()
      await t.cleanup()
    })

    test('rows wait for the update interval on the clock, then go out as one upsert; the latest row for a key wins', async () => {
      const clock = new ManualClock()
      const w = createFeatureWriter({ db: t.db, clock, intervalMs: 60_000, maxRetries: 3 })
      const seen = events(w)
      w.add([row('BATCHUSDT', 0), row('BATCHUSDT', 1)])
      clock.advance(30_000)
      w.add([row('BATCHUSDT', 2), row('BATCHUSDT', 1, { closeZscore: 2 })])
      assert.equal(w.bufferSize, 3)
      clock.advance(29_999)
      await new Promise((r) => setImmediate(r))
      assert.equal(seen.flushed.length, 0)
      clock.advance(1)
      await until(() => seen.flushed.length === 1)
      assert.equal(seen.flushed[0]?.size, 3)
      assert.equal(seen.flushed[0]?.changed, 3)
      assert.equal(await count(t.db, 'BATCHUSDT'), 3)
      const r = await t.db.query<{ z: number }>(
        `SELECT close_zscore AS z FROM feature_cache WHERE symbol = 'BATCHUSDT' AND open_time = $1`,
        [new Date(T0 + MIN).toISOString()],
      )
      assert.equal(r.rows[0]?.z, 2)
      // An identical rewrite changes nothing.
      w.add([row('BATCHUSDT', 0)])
      await w.flush()
      assert.equal(seen.flushed[1]?.changed, 0)
      await w.close()
    })

    test('a transient error (ECONNREFUSED) is retried after a jittered backoff, then the batch is written', async () => {
      const clock = new ManualClock()
      const db = flaky(t.db, refusing, { left: 1 })
      const w = createFeatureWriter({
        db,
        clock,
        intervalMs: 1_000,
        maxRetries: 3,
        retryBaseMs: 100,
        random: () => 0.5,
      })
      const seen = events(w)
      w.add([row('RETRYUSDT', 0)])
      clock.advance(1_000)
      await until(() => seen.retry.length === 1)
      assert.equal(seen.retry[0]?.delayMs, 75)
      assert.ok(isTransientDbError(seen.retry[0]?.error))
      clock.advance(75)
      await until(() => seen.flushed.length === 1)
      assert.equal(seen.flushed[0]?.attempts, 2)
      assert.equal(await count(t.db, 'RETRYUSDT'), 1)
      await w.close()
    })

    test('still failing after maxRetries: emitted as failed, not final, and kept for a later try, nothing lost', async () => {
      const clock = new ManualClock()
      const failures = { left: 100 }
      const db = flaky(t.db, refusing, failures)
      const w = createFeatureWriter({
        db,
        clock,
        intervalMs: 1_000,
        maxRetries: 1,
        retryBaseMs: 10,
        random: () => 0.5,
      })
      const seen = events(w)
      const rows = [row('LOSTUSDT', 0), row('LOSTUSDT', 1)]
      w.add(rows)
      clock.advance(1_000)
      await until(() => seen.retry.length === 1)
      clock.advance(10)
      await until(() => seen.failed.length === 1)
      assert.deepEqual(seen.failed[0]?.rows, rows)
      assert.equal(seen.failed[0]?.final, false)
      assert.deepEqual(w.takeFailed(), [])
      assert.equal(w.bufferSize, 2)
      failures.left = 0
      await w.close()
      assert.equal(w.bufferSize, 0)
      assert.equal(await count(t.db, 'LOSTUSDT'), 2)
    })

    test('a non-transient error is not retried: the bad row is isolated and failed, good ones written', async () => {
      const clock = new ManualClock()
      const w = createFeatureWriter({ db: t.db, clock, intervalMs: 1_000, maxRetries: 3 })
      const seen = events(w)
      const bad = row('MIXUSDT', 2, { windowCount: 61 }) // violates feature_cache_window_count_chk
      w.add([row('MIXUSDT', 0), row('MIXUSDT', 1), bad, row('MIXUSDT', 3)])
      await w.flush()
      assert.equal(seen.retry.length, 0)
      assert.equal(seen.failed.length, 1)
      assert.deepEqual(seen.failed[0]?.rows, [bad])
      assert.equal(seen.failed[0]?.final, true, 'a row rejection is final')
      assert.deepEqual(w.takeFailed(), [bad])
      assert.equal(w.bufferSize, 0)
      assert.equal((seen.failed[0]?.error as { code?: string } | undefined)?.code, '23514')
      assert.equal(await count(t.db, 'MIXUSDT'), 3)
      await w.close()
      w.add([row('MIXUSDT', 9)])
      assert.equal(seen.failed.length, 2)
      assert.equal(seen.failed[1]?.final, true)
    })
  })
}
