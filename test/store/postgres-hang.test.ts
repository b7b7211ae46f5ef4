/**
 * A real PostgreSQL behind a TCP proxy that holds the bytes: the server neither
 * answers nor fails. The store's client-side query timeout must turn that into
 * a transient error (so the writer retries and then spools) and drop the stuck
 * connection, so the pool serves again once the network does.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { isStoreError, isTransientDbError } from '../../src/store/errors.ts'
import { openDb } from '../../src/store/open-db.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { startTcpProxy } from '../helpers/tcp-proxy.ts'

const PG = process.env.TEST_DATABASE_URL ? false : 'needs TEST_DATABASE_URL'

describe('a hung PostgreSQL', { skip: PG }, () => {
  test('queries and transactions fail as transient after the query timeout; the pool recovers', async (t) => {
    const target = await createTestDatabase()
    const url = new URL(target.connectionString)
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) })
    const db = await openDb({
      kind: 'postgres',
      connectionString: proxy.url(target.connectionString),
      poolMin: 0,
      poolMax: 2,
      idleTimeoutMs: 10_000,
      connectionTimeoutMs: 1_000,
      queryTimeoutMs: 300,
      onPoolError: () => {},
    })
    t.after(async () => {
      proxy.resume()
      await db.close()
      await proxy.close()
      await target.cleanup()
    })
    await db.query('SELECT 1')
    await db.tx(async (q) => q.query('SELECT 1'))

    proxy.pause()
    const t0 = Date.now()
    const err = await db.query('SELECT 1').then(
      () => null,
      (e: unknown) => e,
    )
    assert.ok(err !== null, 'a hung query must fail, not wait forever')
    assert.equal(isTransientDbError(err), true)
    assert.ok(isStoreError(err, 'DB_CONNECT_FAILED'), String(err))
    const txErr = await db
      .tx(async (q) => q.query('SELECT 1'))
      .then(
        () => null,
        (e: unknown) => e,
      )
    assert.ok(txErr !== null && isTransientDbError(txErr), String(txErr))
    // Two timeouts (query, BEGIN of the transaction), not a ROLLBACK waiting behind a lost answer too.
    assert.ok(Date.now() - t0 < 5_000, `gave up after ${Date.now() - t0} ms`)

    proxy.resume()
    const r = await db.query<{ n: number }>('SELECT 41 + 1 AS n')
    assert.equal(r.rows[0]?.n, 42)
  })
})
