import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { test } from 'node:test'
import {
  isConnectionFailure,
  isLockNotAvailable,
  isRowRejection,
  isStoreError,
  isTransientDbError,
  StoreError,
} from '../../src/store/errors.ts'
import { openDb } from '../../src/store/open-db.ts'

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code })

test('SQLSTATE classes and codes decide what is transient', () => {
  for (const code of [
    '08000',
    '08006',
    '08001',
    '53300',
    '53100',
    '57P01',
    '57P02',
    '57P03',
    '40001',
    '40P01',
    '55P03',
    '57014',
  ]) {
    assert.equal(isTransientDbError(withCode(code)), true, code)
  }
  for (const code of ['23505', '23514', '22P02', '42P01', '42601', '28P01', '3D000', 'XX000']) {
    assert.equal(isTransientDbError(withCode(code)), false, code)
  }
})

test('node network errors are transient, by code; other values are not', () => {
  for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'EAI_AGAIN']) {
    assert.equal(isTransientDbError(withCode(code)), true, code)
  }
  assert.equal(isTransientDbError(withCode('ERR_INVALID_ARG_TYPE')), false)
  assert.equal(isTransientDbError(new Error('boom')), false)
  assert.equal(isTransientDbError(null), false)
  assert.equal(isTransientDbError('ECONNREFUSED'), false)
  // A message that looks transient does not count when a code says otherwise.
  assert.equal(isTransientDbError(withCode('23514', 'Connection terminated')), false)
})

test("pg's code-less connection errors and wrapped causes are transient", () => {
  assert.equal(isTransientDbError(new Error('Connection terminated unexpectedly')), true)
  assert.equal(isTransientDbError(new Error('timeout exceeded when trying to connect')), true)
  const wrapped = new StoreError('DB_CONNECT_FAILED', 'cannot reach', { cause: withCode('ECONNREFUSED') })
  assert.equal(isTransientDbError(wrapped), true)
  assert.equal(isTransientDbError(new StoreError('DATA_DIR_LOCKED', 'in use')), false)
  assert.equal(isTransientDbError(new AggregateError([new Error('a'), withCode('ECONNREFUSED')])), true)
  assert.ok(isStoreError(wrapped, 'DB_CONNECT_FAILED'))
  assert.equal(wrapped.name, 'StoreError')
})

test('only data and integrity errors (classes 22, 23) reject the rows themselves', () => {
  for (const code of ['22003', '22007', '23514', '23505', '22P02']) {
    assert.equal(isRowRejection(withCode(code)), true, code)
  }
  // About the database, not the rows: read-only replica, privilege, missing table, server away.
  for (const code of ['25006', '42501', '42P01', '42883', '3D000', '08006', '57P01', '53100']) {
    assert.equal(isRowRejection(withCode(code)), false, code)
  }
  assert.equal(isRowRejection(new Error('Connection terminated unexpectedly')), false)
  assert.equal(isRowRejection(withCode('ECONNREFUSED')), false)
  assert.equal(isRowRejection(new StoreError('DB_CONNECT_FAILED', 'x', { cause: withCode('23514') })), true)
  assert.equal(isTransientDbError(new Error('Query read timeout')), true)
})

test('at start only an unreachable or not-yet-accepting server is waited for', () => {
  for (const e of [
    withCode('ECONNREFUSED'),
    withCode('ENOTFOUND'),
    withCode('ETIMEDOUT'),
    withCode('08006'),
    withCode('57P03'),
    withCode('57P01'),
    new Error('Connection terminated unexpectedly'),
    new StoreError('DB_CONNECT_FAILED', 'cannot reach', { cause: withCode('ECONNREFUSED') }),
    new StoreError('MIGRATION_FAILED', 'cut', { cause: withCode('57P01') }),
  ])
    assert.equal(isConnectionFailure(e), true, String((e as { code?: string }).code ?? e.message))
  // Transient for a batch, but a migration that keeps failing this way is not worth waiting for.
  for (const code of ['57014', '53100', '58030', '40001', '55P03', '28P01', '3D000'])
    assert.equal(isConnectionFailure(withCode(code)), false, code)
  assert.equal(
    isConnectionFailure(new StoreError('MIGRATION_FAILED', 'x', { cause: withCode('57014') })),
    false,
  )
  assert.equal(isConnectionFailure(new StoreError('DATA_DIR_LOCKED', 'in use')), false)
})

test('a refused connection is transient and its error never shows the password', async () => {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as { port: number }).port
  await new Promise<void>((r) => srv.close(() => r()))
  const secret = 's3cr3t-p4ss'
  const db = await openDb({
    kind: 'postgres',
    connectionString: `postgres://feeder:${secret}@127.0.0.1:${port}/market?sslmode=disable`,
    poolMin: 0,
    poolMax: 1,
    idleTimeoutMs: 1_000,
    connectionTimeoutMs: 2_000,
  })
  try {
    const err = await db.query('SELECT 1').then(
      () => assert.fail('expected a refusal'),
      (e: unknown) => e,
    )
    assert.equal(isTransientDbError(err), true)
    assert.ok(isStoreError(err, 'DB_CONNECT_FAILED'))
    assert.match(err.message, /feeder@127\.0\.0\.1/)
    const everything =
      JSON.stringify(err, Object.getOwnPropertyNames(err)) + String(err.stack) + String(err.cause)
    assert.equal(everything.includes(secret), false)
  } finally {
    await db.close()
  }
})

test('an invalid DATABASE_URL is reported without echoing it', async () => {
  await assert.rejects(
    openDb({
      kind: 'postgres',
      connectionString: 'postgres://u:hunter2@[bad',
      poolMin: 0,
      poolMax: 1,
      idleTimeoutMs: 1,
    }),
    (err) => isStoreError(err, 'DB_CONFIG_INVALID') && !err.message.includes('hunter2'),
  )
})

test('a refresh refused for a concurrent one (55P03) is tried again; nothing else is', () => {
  const refused = Object.assign(
    new Error('could not refresh continuous aggregate "candles_5m" due to a concurrent refresh'),
    {
      code: '55P03',
    },
  )
  assert.ok(isLockNotAvailable(refused))
  assert.ok(
    isLockNotAvailable(new StoreError('MIGRATION_FAILED', 'schema migration failed', { cause: refused })),
  )
  for (const code of ['55000', '57P01', '40001', '42P01', 'ECONNRESET'])
    assert.ok(!isLockNotAvailable(Object.assign(new Error(code), { code })), code)
  assert.ok(!isLockNotAvailable(new Error('Connection terminated unexpectedly')))
})
