import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ConfigError, describeDatabase, loadConfig } from '../../src/config/config.ts'

function fails(env: Record<string, string>, variable: string): ConfigError {
  try {
    loadConfig(env)
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e))
    assert.equal(e.variable, variable)
    assert.match(e.message, new RegExp(`^${variable}: .+ \\(example: ${variable}=.+\\)$`))
    assert.ok(!e.message.includes('\n'), 'one line')
    return e
  }
  assert.fail(`expected ${variable} to be rejected`)
}

describe('loadConfig', () => {
  it('defaults match the contract', () => {
    const c = loadConfig({})
    assert.equal(c.streamUrl, 'wss://stream.binance.com:9443/ws')
    assert.equal(c.restUrl, 'https://api.binance.com')
    assert.deepEqual(c.symbols, ['BTCUSDT'])
    assert.deepEqual(c.database, { kind: 'pglite', dataDir: './data' })
    assert.equal(c.batchMaxCandles, 10)
    assert.equal(c.batchMaxWaitMs, 1000)
    assert.equal(c.dbMaxRetries, 3)
    assert.equal(c.initialBackfillMinutes, 1440)
    assert.equal(c.gapDetectionThresholdS, 70)
    assert.equal(c.gapHandlerUrl, null)
    assert.equal(c.backfillEnabled, true)
    assert.equal(c.featureUpdateIntervalS, 60)
    assert.deepEqual(c.featureWindows, [60])
    assert.equal(c.healthPort, 8080)
    assert.equal(c.healthHost, '0.0.0.0')
    assert.equal(c.logLevel, 'info')
    assert.equal(c.logFormat, 'json')
    assert.equal(c.shutdownTimeoutMs, 10000)
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.symbols) && Object.isFrozen(c.database))
    assert.deepEqual(c.timescale, {
      mode: 'auto',
      compressAfter: '7 days',
      chunkInterval: '1 day',
      retention1m: null,
      retentionAggregates: null,
      explicit: [],
    })
  })

  it('TimescaleDB settings: intervals in canonical form, retention off by default or by name', () => {
    const c = loadConfig({
      TIMESCALEDB: 'on',
      TIMESCALE_COMPRESS_AFTER: '3d',
      TIMESCALE_CHUNK_INTERVAL: ' 12 Hours ',
      RETENTION_1M: '400 days',
      RETENTION_AGGREGATES: 'off',
    })
    assert.deepEqual(c.timescale, {
      mode: 'on',
      compressAfter: '3 days',
      chunkInterval: '12 hours',
      retention1m: '400 days',
      retentionAggregates: null,
      explicit: [
        'TIMESCALEDB',
        'TIMESCALE_COMPRESS_AFTER',
        'TIMESCALE_CHUNK_INTERVAL',
        'RETENTION_1M',
        'RETENTION_AGGREGATES',
      ],
    })
    assert.equal(loadConfig({ RETENTION_1M: '1 year' }).timescale.retention1m, '1 years')
  })

  it('pretty logs by default on a terminal', () => {
    assert.equal(loadConfig({}, { isTty: true }).logFormat, 'pretty')
    assert.equal(loadConfig({ LOG_FORMAT: 'json' }, { isTty: true }).logFormat, 'json')
  })

  it('TRADING_SYMBOLS replaces TRADING_SYMBOL; case-insensitive, de-duplicated', () => {
    assert.deepEqual(loadConfig({ TRADING_SYMBOL: 'ethusdt' }).symbols, ['ETHUSDT'])
    assert.deepEqual(
      loadConfig({ TRADING_SYMBOL: 'ethusdt', TRADING_SYMBOLS: ' btcusdt, BNBbtc ,btcusdt,' }).symbols,
      ['BTCUSDT', 'BNBBTC'],
    )
  })

  it('DATABASE_URL wins over DB_*; DB_HOST selects a real PostgreSQL', () => {
    const a = loadConfig({ DATABASE_URL: 'postgres://u:pw@h:5433/d', DB_HOST: 'other' })
    assert.equal(a.database.kind, 'postgres')
    assert.equal(a.database.kind === 'postgres' && a.database.connectionString, 'postgres://u:pw@h:5433/d')
    const b = loadConfig({
      DB_HOST: 'db',
      DB_NAME: 'm',
      DB_USER: 'f',
      DB_PASSWORD: 's',
      DB_SSLMODE: 'require',
    })
    assert.deepEqual(b.database, {
      kind: 'postgres',
      host: 'db',
      port: 5432,
      database: 'm',
      user: 'f',
      password: 's',
      sslmode: 'require',
      poolMin: 2,
      poolMax: 5,
      idleTimeoutMs: 60000,
    })
  })

  it('describeDatabase never shows the password', () => {
    const a = loadConfig({ DATABASE_URL: 'postgres://feeder:hunter2@db:5432/market' })
    assert.equal(describeDatabase(a.database), 'postgres://feeder@db:5432/market')
    const b = loadConfig({ DB_HOST: 'db', DB_USER: 'feeder', DB_PASSWORD: 'hunter2' })
    assert.ok(!describeDatabase(b.database).includes('hunter2'))
  })

  const bad: [Record<string, string>, string, RegExp][] = [
    [{ BATCH_MAX_CANDLES: 'ten' }, 'BATCH_MAX_CANDLES', /whole number/],
    [{ BATCH_MAX_CANDLES: '0' }, 'BATCH_MAX_CANDLES', /at least 1/],
    [{ BATCH_MAX_WAIT_MS: '1.5' }, 'BATCH_MAX_WAIT_MS', /whole number/],
    [{ HEALTH_CHECK_PORT: '70000' }, 'HEALTH_CHECK_PORT', /at most 65535/],
    [{ DB_PORT: 'x' }, 'DB_PORT', /whole number/],
    [{ BINANCE_STREAM_URL: 'https://stream.binance.com' }, 'BINANCE_STREAM_URL', /ws:\/\/ or wss:\/\//],
    [{ BINANCE_REST_URL: 'not a url' }, 'BINANCE_REST_URL', /http/],
    [{ TRADING_SYMBOLS: 'btc-usdt' }, 'TRADING_SYMBOLS', /letters and digits/],
    [{ TRADING_SYMBOL: ' , ' }, 'TRADING_SYMBOL', /at least one/],
    [{ BACKFILL_ENABLED: 'maybe' }, 'BACKFILL_ENABLED', /true or false/],
    [{ FEATURE_WINDOWS: '60,abc' }, 'FEATURE_WINDOWS', /whole numbers/],
    [{ FEATURE_WINDOWS: '1' }, 'FEATURE_WINDOWS', /between 2/],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL', /one of/],
    [{ LOG_FORMAT: 'xml' }, 'LOG_FORMAT', /json or pretty/],
    [{ DB_SSLMODE: 'always' }, 'DB_SSLMODE', /one of/],
    [{ DB_POOL_MIN: '9', DB_POOL_MAX: '3' }, 'DB_POOL_MIN', /above DB_POOL_MAX/],
    [{ SHUTDOWN_TIMEOUT_MS: '-1' }, 'SHUTDOWN_TIMEOUT_MS', /at least/],
    [{ GAP_HANDLER_URL: 'ftp://x' }, 'GAP_HANDLER_URL', /http/],
    [{ TIMESCALEDB: 'yes' }, 'TIMESCALEDB', /auto, on or off/],
    [{ TIMESCALE_COMPRESS_AFTER: 'soon' }, 'TIMESCALE_COMPRESS_AFTER', /positive interval/],
    [{ TIMESCALE_COMPRESS_AFTER: '0 days' }, 'TIMESCALE_COMPRESS_AFTER', /positive interval/],
    [
      { TIMESCALE_CHUNK_INTERVAL: '1 month' },
      'TIMESCALE_CHUNK_INTERVAL',
      /units: minutes, hours, days, weeks/,
    ],
    [{ RETENTION_1M: '-5 days' }, 'RETENTION_1M', /positive interval/],
    [{ RETENTION_AGGREGATES: '5 days; DROP TABLE x' }, 'RETENTION_AGGREGATES', /positive interval/],
  ]
  for (const [env, variable, problem] of bad) {
    it(`rejects ${variable}=${Object.values(env).join('/')}`, () => {
      assert.match(fails(env, variable).message, problem)
    })
  }

  it('a bad secret is named but its value is never echoed', () => {
    const e = fails({ DATABASE_URL: 'mysql://u:hunter2@h/d' }, 'DATABASE_URL')
    assert.ok(!e.message.includes('hunter2'), e.message)
  })
})
