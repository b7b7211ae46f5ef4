/**
 * A migration whose session dies or is refused, on a real PostgreSQL: never an
 * unhandled 'error' event, never an endless wait. A backend terminated from
 * another session (57P01) is a connection failure the service waits out; a
 * refusal (no privilege) or a session ended with FATAL by the server is
 * MIGRATION_FAILED, exit 1, one line naming the cause.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import pg from 'pg'
import { isConnectionFailure, isStoreError, isTransientDbError } from '../../src/store/errors.ts'
import { migrate } from '../../src/store/migrate.ts'
import { openDb } from '../../src/store/open-db.ts'
import { runCli } from '../helpers/cli.ts'
import { admin, createTestDatabase, postgresOptions } from '../helpers/db.ts'
import { until } from '../helpers/until.ts'

const url = process.env.TEST_DATABASE_URL
/** The advisory lock every migration transaction takes first (src/store/migrate.ts). */
const MIGRATION_LOCK_KEY = '7352118409'

async function client(connectionString: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString })
  c.on('error', () => {})
  await c.connect()
  return c
}

describe('migration failures on a real PostgreSQL', {
  skip: url ? false : 'TEST_DATABASE_URL is not set',
}, () => {
  it('a backend terminated mid-migration is a connection failure; the next attempt completes', async (t) => {
    const target = await createTestDatabase()
    const blocker = await client(target.connectionString)
    const db = await openDb(postgresOptions(target.connectionString))
    t.after(async () => {
      await blocker.end().catch(() => {})
      await db.close()
      await target.cleanup()
    })
    // Hold the migration lock so the migration waits inside its transaction.
    await blocker.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY])
    const running = migrate(db)
    running.catch(() => {})
    const pid = await until('the migration waiting on its lock', async () => {
      const r = await blocker.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'data-feeder' AND wait_event_type = 'Lock'`,
      )
      return r.rows[0]?.pid
    })
    await blocker.query('SELECT pg_terminate_backend($1)', [pid])
    const err = await running.then(
      () => assert.fail('the migration should have failed'),
      (e: unknown) => e,
    )
    assert.equal(
      (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code,
      '57P01',
    )
    assert.equal(isConnectionFailure(err), true)
    await blocker.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY])
    const again = await migrate(db)
    assert.ok(again.applied.includes('001_candles_1m'))
  })

  it('a session the server ends with FATAL between two statements fails with that SQLSTATE, not a crash', async (t) => {
    const target = await createTestDatabase()
    const watcher = await client(target.connectionString)
    const db = await openDb(postgresOptions(target.connectionString))
    t.after(async () => {
      await watcher.end().catch(() => {})
      await db.close()
      await target.cleanup()
    })
    const err = await db
      .tx(async (q) => {
        const me = await q.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
        await q.exec("SET LOCAL idle_in_transaction_session_timeout = '50ms'")
        // Idle in the transaction until the server ends the session (FATAL 25P03, no query running:
        // pg emits it as an 'error' event on the client).
        await until(
          'the server ending the idle session',
          async () => {
            const r = await watcher.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [me.rows[0]?.pid])
            return r.rowCount === 0
          },
          10_000,
        )
        await q.query('SELECT 1')
      })
      .then(
        () => assert.fail('the transaction should have failed'),
        (e: unknown) => e as { code?: string; severity?: string },
      )
    assert.equal(err.code, '25P03')
    assert.equal(err.severity, 'FATAL')
    assert.equal(isTransientDbError(err), false)
    // The pool still works: the dead client was discarded.
    assert.equal((await db.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one, 1)
  })

  it('a role that may not create tables: MIGRATION_FAILED, exit 1, one line naming the cause', async (t) => {
    const target = await createTestDatabase()
    const role = `nocreate_${process.pid}_${Date.now().toString(36)}`
    t.after(async () => {
      await target.cleanup()
      await admin(url as string, `DROP ROLE IF EXISTS ${role}`)
    })
    await admin(url as string, `CREATE ROLE ${role} LOGIN`)
    // PostgreSQL 15 no longer lets every role create in schema public; make sure of it on any version.
    await admin(target.connectionString, 'REVOKE CREATE ON SCHEMA public FROM PUBLIC')
    const asRole = new URL(target.connectionString)
    asRole.username = role
    const db = await openDb(postgresOptions(asRole.toString()))
    try {
      const err = await migrate(db).then(
        () => assert.fail('the migration should have failed'),
        (e: unknown) => e,
      )
      assert.ok(isStoreError(err, 'MIGRATION_FAILED'), String(err))
      assert.match((err as Error).message, /permission denied .*\(42501\)/)
      assert.equal(isConnectionFailure(err), false)
    } finally {
      await db.close()
    }
    const r = await runCli(['migrate'], { DATABASE_URL: asRole.toString() })
    assert.equal(r.code, 1, r.stderr)
    const lines = r.stderr.trim().split('\n')
    assert.equal(lines.length, 1, r.stderr)
    assert.match(lines[0] as string, /^data-feeder: MIGRATION_FAILED: .*permission denied/)
    assert.doesNotMatch(r.stderr, /Emitted 'error' event|at .*node_modules/)
  })
})
