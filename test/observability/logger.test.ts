/**
 * The log edge: repeats of the same warning or error are rate-limited per code
 * and symbol (with a count on the next line let through), other lines are not.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LogRateLimiter } from '../../src/observability/logger.ts'
import { capturedLogger } from '../helpers/log-capture.ts'

test('a flood of one error code becomes ten lines a minute; other codes and symbols pass', () => {
  const { logger, lines } = capturedLogger()
  for (let i = 0; i < 50; i++) logger.error({ code: 'DB_WRITE_FAILED', n: i }, 'write failed')
  for (let i = 0; i < 3; i++) logger.warn({ code: 'GAP_DETECTED', symbol: 'BTCUSDT' }, 'gap')
  for (let i = 0; i < 3; i++) logger.warn({ code: 'GAP_DETECTED', symbol: 'ETHUSDT' }, 'gap')
  for (let i = 0; i < 30; i++) logger.info({ code: 'STREAM_CONNECTED' }, 'info lines are never limited')
  assert.equal(lines.filter((l) => l.code === 'DB_WRITE_FAILED').length, 10)
  assert.deepEqual(
    lines.filter((l) => l.code === 'DB_WRITE_FAILED').map((l) => l.n),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  )
  assert.equal(lines.filter((l) => l.code === 'GAP_DETECTED').length, 6)
  assert.equal(lines.filter((l) => l.code === 'STREAM_CONNECTED').length, 30)
})

test('the limiter counts what it held back and reports it on the next line let through', () => {
  const r = new LogRateLimiter(60_000, 2)
  assert.equal(r.admit('x', 0), 0)
  assert.equal(r.admit('x', 1), 0)
  assert.equal(r.admit('x', 2), null)
  assert.equal(r.admit('x', 3), null)
  assert.equal(r.admit('y', 4), 0, 'kinds are independent')
  assert.equal(r.admit('x', 60_000), 2, 'a new window reports the two held back')
  assert.equal(r.admit('x', 60_001), 0)
  assert.equal(r.admit('x', 60_002), null)
})
