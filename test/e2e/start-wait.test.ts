/**
 * A start waiting for an unreachable PostgreSQL: stop() ends the wait, and
 * nothing (writer, spool, stream) starts after the stop.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'
import { createApp } from '../../src/app/app.ts'
import { loadConfig } from '../../src/config/config.ts'
import { systemClock } from '../../src/core/clock.ts'
import { isStoreError } from '../../src/store/errors.ts'
import { freePort } from '../helpers/cli.ts'
import { capturedLogger } from '../helpers/log-capture.ts'
import { until } from '../helpers/until.ts'

it('stop() during the wait for the database ends the start; nothing starts afterwards', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'feeder-startwait-'))
  t.after(() => rmSync(dataDir, { recursive: true, force: true }))
  const { logger, lines } = capturedLogger()
  const dead = await freePort()
  const config = loadConfig({
    DATABASE_URL: `postgres://feeder@127.0.0.1:${dead}/feeder`,
    DATA_DIR: dataDir,
    BINANCE_STREAM_URL: `ws://127.0.0.1:${dead}/ws`,
    BINANCE_REST_URL: `http://127.0.0.1:${dead}`,
    TRADING_SYMBOLS: 'btcusdt',
    HEALTH_CHECK_HOST: '127.0.0.1',
    HEALTH_CHECK_PORT: '0',
    LOG_LEVEL: 'debug',
  })
  const app = createApp({ config, clock: systemClock, logger })
  const started = app.start().then(
    () => null,
    (err: unknown) => err,
  )
  await until('waiting for the database', () => lines.some((l) => l.code === 'DB_UNAVAILABLE_AT_START'))
  assert.equal((await fetch(`http://127.0.0.1:${app.httpPort}/live`)).status, 200)
  assert.equal(await app.stop('test'), true)
  const err = await started
  assert.ok(isStoreError(err, 'START_CANCELLED'), String(err))
  assert.equal(app.db, null)
  assert.ok(!lines.some((l) => l.msg === 'database ready' || l.msg === 'streaming'))
})

it('a database that does not accept the connection for another reason is not waited for', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'feeder-startwait-'))
  t.after(() => rmSync(dataDir, { recursive: true, force: true }))
  const main = process.env.TEST_DATABASE_URL
  if (!main) return t.skip('needs TEST_DATABASE_URL')
  const url = new URL(main)
  url.pathname = '/df_no_such_database_for_start'
  const { logger, lines } = capturedLogger()
  const app = createApp({
    config: loadConfig({
      DATABASE_URL: url.toString(),
      DATA_DIR: dataDir,
      BINANCE_REST_URL: `http://127.0.0.1:${await freePort()}`,
      TRADING_SYMBOLS: 'btcusdt',
      HEALTH_CHECK_HOST: '127.0.0.1',
      HEALTH_CHECK_PORT: '0',
    }),
    clock: systemClock,
    logger,
  })
  await assert.rejects(app.start(), /does not exist/)
  await app.stop('start failed')
  assert.ok(!lines.some((l) => l.code === 'DB_UNAVAILABLE_AT_START'))
})
