import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { Candle } from '../../src/core/records.ts'
import { countCandles } from '../../src/store/candle-queries.ts'
import { buildCandleUpsert } from '../../src/store/candle-sql.ts'
import {
  type CandleWriter,
  type CandleWriterOptions,
  createCandleWriter,
  type FailedBatch,
  type FlushInfo,
  type RetryInfo,
} from '../../src/store/candle-writer.ts'
import type { Db, Queryable } from '../../src/store/db.ts'
import { isStoreError, isTransientDbError } from '../../src/store/errors.ts'
import { openDb } from '../../src/store/open-db.ts'
import { openTestDb, pgTargets, type TestDb } from '../helpers/db.ts'
import { ManualClock } from '../helpers/manual-clock.ts'
import { candle } from './candle-fixture.ts'

type Ev = { flushed: FlushInfo; retry: RetryInfo; failed: FailedBatch }

/** Collects a writer's events and lets a test await the next one of a kind. */
function recorder(w: CandleWriter) {
  const seen: { [K in keyof Ev]: Ev[K][] } = { flushed: [], retry: [], failed: [] }
  const waiting: Array<{ kind: keyof Ev; n: number; resolve: () => void }> = []
  const check = () => {
    for (const x of [...waiting]) {
      if (seen[x.kind].length >= x.n) {
        waiting.splice(waiting.indexOf(x), 1)
        x.resolve()
      }
    }
  }
  w.on('flushed', (i) => {
    seen.flushed.push(i)
    check()
  })
  w.on('retry', (i) => {
    seen.retry.push(i)
    check()
  })
  w.on('failed', (i) => {
    seen.failed.push(i)
    check()
  })
  return {
    seen,
    /** Resolves once `n` events of `kind` have been seen in total. */
    count(kind: keyof Ev, n: number): Promise<void> {
      return new Promise((resolve) => {
        waiting.push({ kind, n, resolve })
        check()
      })
    },
  }
}

async function refusedPort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as { port: number }).port
  await new Promise<void>((r) => srv.close(() => r()))
  return port
}

/** A real Db whose first `failures` queries go to a port that refuses connections (real ECONNREFUSED). */
function flaky(real: Db, refusing: Db, failures: { left: number }): Db {
  return {
    kind: real.kind,
    query: (text, params) => (failures.left-- > 0 ? refusing.query(text, params) : real.query(text, params)),
    exec: (sql) => real.exec(sql),
    tx: <T>(fn: (q: Queryable) => Promise<T>) => real.tx(fn),
    ping: () => real.ping(),
    poolSize: () => real.poolSize(),
    close: () => real.close(),
  } as Db
}

for (const kind of pgTargets()) {
  describe(`candle writer on ${kind}`, () => {
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

    const make = (over: Partial<CandleWriterOptions> & { clock: ManualClock }) =>
      createCandleWriter({
        db: t.db,
        maxBatch: 10,
        maxWaitMs: 1_000,
        maxRetries: 3,
        random: () => 0.5,
        ...over,
      })

    test('an idle writer writes a lone candle at once, without waiting maxWaitMs', async () => {
      const clock = new ManualClock()
      const w = make({ clock, maxWaitMs: 60_000 })
      const ev = recorder(w)
      w.add(candle({ symbol: 'IDLEUSDT' }))
      assert.equal(w.bufferSize, 1)
      await ev.count('flushed', 1)
      assert.equal(ev.seen.flushed[0]?.size, 1)
      assert.equal(ev.seen.flushed[0]?.attempts, 1)
      assert.equal(ev.seen.flushed[0]?.changed, 1)
      assert.equal(clock.timerCount, 0)
      assert.equal(w.bufferSize, 0)
      assert.equal(await countCandles(t.db, { symbol: 'IDLEUSDT' }), 1)
      await w.close()
    })

    test('bursts form batches of at most maxBatch; candles arriving during a write go out together next', async () => {
      const clock = new ManualClock()
      const w = make({ clock, maxBatch: 3 })
      const ev = recorder(w)
      for (let m = 0; m < 8; m++) w.add(candle({ symbol: 'BURSTUSDT', minute: m }))
      await w.flush()
      assert.deepEqual(
        ev.seen.flushed.map((f) => f.size),
        [3, 3, 2],
      )
      // One candle goes out alone; the two that arrive while it is in flight form the next batch.
      w.add(candle({ symbol: 'BURSTUSDT', minute: 10 }))
      await Promise.resolve()
      w.add(candle({ symbol: 'BURSTUSDT', minute: 11 }))
      w.add(candle({ symbol: 'BURSTUSDT', minute: 12 }))
      await w.flush()
      assert.deepEqual(
        ev.seen.flushed.slice(3).map((f) => f.size),
        [1, 2],
      )
      assert.equal(await countCandles(t.db, { symbol: 'BURSTUSDT' }), 11)
      await w.close()
    })

    test('a transient error (ECONNREFUSED) is retried after a jittered backoff on the clock, then succeeds', async () => {
      const clock = new ManualClock()
      const w = make({ clock, db: flaky(t.db, refusing, { left: 1 }), retryBaseMs: 100 })
      const ev = recorder(w)
      w.add(candle({ symbol: 'RETRYUSDT' }))
      await ev.count('retry', 1)
      const r = ev.seen.retry[0] as RetryInfo
      assert.equal(r.attempt, 1)
      assert.equal(r.delayMs, 75) // 100 × (0.5 + 0.5 × 0.5)
      assert.ok(isTransientDbError(r.error))
      assert.equal(ev.seen.flushed.length, 0)
      clock.advance(75)
      await ev.count('flushed', 1)
      assert.equal(ev.seen.flushed[0]?.attempts, 2)
      assert.equal(ev.seen.flushed[0]?.durationMs, 75)
      assert.equal(await countCandles(t.db, { symbol: 'RETRYUSDT' }), 1)
      await w.close()
    })

    test('maxWaitMs bounds a backoff: candles that arrive meanwhile join an early retry', async () => {
      const clock = new ManualClock()
      const w = make({
        clock,
        db: flaky(t.db, refusing, { left: 1 }),
        retryBaseMs: 60_000,
        retryMaxMs: 60_000,
      })
      const ev = recorder(w)
      w.add(candle({ symbol: 'WAITUSDT', minute: 0 }))
      await ev.count('retry', 1)
      w.add(candle({ symbol: 'WAITUSDT', minute: 1 }))
      assert.equal(w.bufferSize, 2)
      clock.advance(999)
      assert.equal(ev.seen.flushed.length, 0)
      clock.advance(1)
      await ev.count('flushed', 1)
      assert.equal(ev.seen.flushed[0]?.size, 2)
      assert.equal(ev.seen.flushed[0]?.attempts, 2)
      assert.equal(await countCandles(t.db, { symbol: 'WAITUSDT' }), 2)
      await w.close()
    })

    test('a batch still failing after maxRetries is emitted as failed and kept, nothing lost', async () => {
      const clock = new ManualClock()
      const w = make({ clock, db: flaky(t.db, refusing, { left: 100 }), maxRetries: 2 })
      const ev = recorder(w)
      const cs = [candle({ symbol: 'LOSTUSDT', minute: 0 }), candle({ symbol: 'LOSTUSDT', minute: 1 })]
      for (const c of cs) w.add(c)
      await ev.count('retry', 1)
      clock.advance(ev.seen.retry[0]?.delayMs ?? 0)
      await ev.count('retry', 2)
      assert.equal(ev.seen.retry[1]?.delayMs, 150)
      clock.advance(150)
      await ev.count('failed', 1)
      assert.deepEqual(ev.seen.failed[0]?.candles, cs)
      assert.ok(isTransientDbError(ev.seen.failed[0]?.error))
      assert.equal(w.bufferSize, 0)
      assert.deepEqual(w.takeFailed(), cs)
      assert.deepEqual(w.takeFailed(), [])
      await w.close()
    })

    test('a non-transient error is not retried: bad candles are isolated and failed, good ones written', async () => {
      const clock = new ManualClock()
      const w = make({ clock })
      const ev = recorder(w)
      const bad = candle({ symbol: 'MIXUSDT', minute: 2, high: '1', low: '2' })
      for (let m = 0; m < 5; m++) w.add(m === 2 ? bad : candle({ symbol: 'MIXUSDT', minute: m }))
      await w.flush()
      assert.equal(ev.seen.retry.length, 0)
      assert.equal(ev.seen.failed.length, 1)
      assert.deepEqual(ev.seen.failed[0]?.candles, [bad])
      assert.equal((ev.seen.failed[0]?.error as { code?: string } | undefined)?.code, '23514')
      assert.equal(await countCandles(t.db, { symbol: 'MIXUSDT' }), 4)
      assert.deepEqual(w.takeFailed(), [bad])
      await w.close()
    })

    test('write(batch) resolves to what was written and what failed, and only this batch', async () => {
      const clock = new ManualClock()
      const w = make({ clock })
      const other = candle({ symbol: 'OTHERUSDT', minute: 1, high: '1', low: '2' })
      w.add(other) // fails too, but belongs to no write() below
      const bad = candle({ symbol: 'WRTUSDT', minute: 3, high: '1', low: '2' })
      const good = [0, 1, 2, 4].map((m) => candle({ symbol: 'WRTUSDT', minute: m }))
      const r = await w.write([...good.slice(0, 3), bad, good[3] as Candle])
      assert.deepEqual(r.written, good)
      assert.equal(r.failed.length, 1)
      assert.deepEqual(r.failed[0]?.candles, [bad])
      assert.equal((r.failed[0]?.error as { code?: string } | undefined)?.code, '23514')
      assert.equal(await countCandles(t.db, { symbol: 'WRTUSDT' }), 4)
      await w.close()
    })

    test('later data for a key is never overwritten by an earlier batch', async () => {
      const clock = new ManualClock()
      const w = make({ clock, db: flaky(t.db, refusing, { left: 1 }), maxBatch: 1 })
      const ev = recorder(w)
      w.add(candle({ symbol: 'ORDUSDT', close: '60690.01000000' }))
      await ev.count('retry', 1)
      w.add(candle({ symbol: 'ORDUSDT', close: '60690.02000000' }))
      clock.advance(1_000)
      await w.flush()
      const r = await t.db.query<{ close: string }>(
        `SELECT close::text FROM candles_1m WHERE symbol = 'ORDUSDT'`,
      )
      assert.equal(r.rows[0]?.close, '60690.02000000')
      await w.close()
    })

    test('close flushes, is idempotent, and later candles are failed loudly', async () => {
      const clock = new ManualClock()
      const w = make({ clock })
      const ev = recorder(w)
      w.add(candle({ symbol: 'CLOSEUSDT' }))
      const a = w.close()
      const b = w.close()
      assert.equal(a, b)
      await a
      assert.equal(await countCandles(t.db, { symbol: 'CLOSEUSDT' }), 1)
      const late = candle({ symbol: 'CLOSEUSDT', minute: 1 })
      w.add(late)
      assert.ok(isStoreError(ev.seen.failed[0]?.error, 'WRITER_CLOSED'))
      assert.deepEqual(w.takeFailed(), [late])
    })

    if (kind === 'pglite') {
      test('PGlite batches are capped at 1 000 rows', async () => {
        const w = make({ clock: new ManualClock(), maxBatch: 5_000 })
        const ev = recorder(w)
        const many: Candle[] = []
        for (let m = 0; m < 2_500; m++) many.push(candle({ symbol: 'CAPUSDT', minute: m }))
        for (const c of many) w.add(c)
        await w.flush()
        assert.deepEqual(
          ev.seen.flushed.map((f) => f.size),
          [1_000, 1_000, 500],
        )
        await w.close()
      })
    }

    if (kind === 'postgres') {
      test('a backend terminated mid-write (57P01) is retried on a new connection', async () => {
        const clock = new ManualClock()
        const w = make({ clock, retryBaseMs: 10 })
        const ev = recorder(w)
        const blocker = await openDb(t.options)
        await blocker.query(buildCandleUpsert([candle({ symbol: 'TERMUSDT' })]))
        let release: () => void = () => {}
        const held = new Promise<void>((r) => {
          release = r
        })
        // Hold the row lock of the candle the writer is about to upsert.
        let locked: () => void = () => {}
        const isLocked = new Promise<void>((r) => {
          locked = r
        })
        const lockTx = blocker.tx(async (q) => {
          await q.query(`SELECT 1 FROM candles_1m WHERE symbol = 'TERMUSDT' FOR UPDATE`)
          locked()
          await held
        })
        try {
          await isLocked
          w.add(candle({ symbol: 'TERMUSDT', close: '60690.05000000' }))
          let pid: number | undefined
          for (let i = 0; pid === undefined; i++) {
            assert.ok(i < 1_000, 'the writer never blocked on the row lock')
            const r = await blocker.query<{ pid: number }>(
              `SELECT pid FROM pg_stat_activity
               WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO candles_1m%'`,
            )
            pid = r.rows[0]?.pid
          }
          await blocker.query('SELECT pg_terminate_backend($1)', [pid])
          await ev.count('retry', 1)
          assert.equal((ev.seen.retry[0]?.error as { code?: string } | undefined)?.code, '57P01')
          release()
          await lockTx
          clock.advance(10)
          await ev.count('flushed', 1)
          assert.equal(ev.seen.flushed[0]?.attempts, 2)
          const r = await t.db.query<{ close: string }>(
            `SELECT close::text FROM candles_1m WHERE symbol = 'TERMUSDT'`,
          )
          assert.equal(r.rows[0]?.close, '60690.05000000')
        } finally {
          release()
          await lockTx.catch(() => {})
          await blocker.close()
          clock.advance(60_000) // let any pending retry run so close() cannot wait on the clock
          await w.close()
        }
      })
    }
  })
}
