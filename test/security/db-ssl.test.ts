/**
 * DB_SSLMODE=require: refused with a clear error by a server without SSL (the
 * machine's main cluster has ssl = off, checked with SHOW ssl), and an encrypted
 * session with one that has it (a throwaway cluster, see ssl-cluster.ts).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Db, SslMode } from '../../src/store/db.ts'
import { openDb } from '../../src/store/open-db.ts'
import { runCli } from '../helpers/cli.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { type SslCluster, startSslCluster } from './ssl-cluster.ts'

const MAIN = process.env.TEST_DATABASE_URL

function open(url: string, sslmode?: SslMode): Promise<Db> {
  return openDb({
    kind: 'postgres',
    connectionString: url,
    poolMin: 0,
    poolMax: 1,
    idleTimeoutMs: 1_000,
    connectionTimeoutMs: 3_000,
    ...(sslmode ? { sslmode } : {}),
  })
}

async function sslOf(db: Db): Promise<boolean> {
  const r = await db.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
  return r.rows[0]?.ssl === true
}

describe('DB_SSLMODE against the main test server', {
  skip: MAIN ? false : 'TEST_DATABASE_URL not set',
}, () => {
  test('with ssl off on the server, require fails with a clear error and no password', async () => {
    const plain = await open(MAIN as string, 'disable')
    const show = await plain.query<{ ssl: string }>('SHOW ssl')
    await plain.close()
    if (show.rows[0]?.ssl !== 'off') return // an SSL-enabled server: the cluster test below covers it
    const url = new URL(MAIN as string)
    url.password = 'Zebra-Secret-ssl-42'
    const err = await (async () => {
      const db = await open(url.toString(), 'require')
      try {
        await db.query('SELECT 1')
      } finally {
        await db.close()
      }
    })().then(
      () => null,
      (e: unknown) => e as Error,
    )
    assert.ok(err, 'require must not fall back to a clear-text session')
    assert.match(err.message, /does not support SSL/i)
    assert.doesNotMatch(`${err.message} ${err.stack ?? ''}`, /Zebra-Secret/)
  })

  test('prefer falls back to clear text on a server without SSL', async () => {
    const db = await open(MAIN as string, 'prefer')
    try {
      await db.query('SELECT 1')
    } finally {
      await db.close()
    }
  })

  test('sslmode=require inside the URL is honoured by the Db', async () => {
    const url = new URL(MAIN as string)
    url.searchParams.set('sslmode', 'require')
    const db = await open(url.toString())
    try {
      await assert.rejects(db.query('SELECT 1'), /SSL/)
    } finally {
      await db.close()
    }
  })

  test('the CLI honours sslmode=require inside DATABASE_URL', async () => {
    const target = await createTestDatabase()
    try {
      const url = new URL(target.connectionString)
      url.searchParams.set('sslmode', 'require')
      const r = await runCli(['migrate'], { DATABASE_URL: url.toString() })
      assert.equal(r.code, 1)
      assert.match(r.stderr, /SSL/)
    } finally {
      await target.cleanup()
    }
  })
})

describe('DB_SSLMODE against a throwaway SSL cluster', { timeout: 60_000 }, () => {
  let cluster: SslCluster | null = null
  before(async () => {
    cluster = await startSslCluster()
  })
  after(() => cluster?.stop())

  test('require gets an encrypted session; disable gets a clear one', async (t) => {
    if (cluster === null) return t.skip('initdb, pg_ctl or openssl not available')
    const enc = await open(cluster.url, 'require')
    try {
      assert.equal(await sslOf(enc), true)
    } finally {
      await enc.close()
    }
    const clear = await open(cluster.url, 'disable')
    try {
      assert.equal(await sslOf(clear), false)
    } finally {
      await clear.close()
    }
  })

  test('verify-full refuses a self-signed certificate', async (t) => {
    if (cluster === null) return t.skip('initdb, pg_ctl or openssl not available')
    const err = await (async () => {
      const db = await open(cluster?.url as string, 'verify-full')
      try {
        await db.query('SELECT 1')
      } finally {
        await db.close()
      }
    })().then(
      () => null,
      (e: unknown) => e as Error,
    )
    assert.ok(err)
    assert.match(String(err.message), /self[- ]signed|certificate/i)
  })
})
