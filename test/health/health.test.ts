import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type HealthSnapshot, healthBody, healthStatus, readiness } from '../../src/health/health.ts'

const NOW = Date.UTC(2024, 0, 1, 12, 0, 30)

function snap(o: Partial<HealthSnapshot> = {}): HealthSnapshot {
  return {
    now: NOW,
    // In step with ours unless a test says otherwise.
    exchangeNow: o.now ?? NOW,
    exchangeOffsetMs: 0,
    startedAt: NOW - 90_500,
    candlesProcessed: 3,
    candlesInDb: 42,
    lastCandleOpenTime: NOW - 90_000,
    databaseConnected: true,
    streamConnections: { total: 1, connected: 1 },
    pendingBackfills: 0,
    errors24h: 0,
    memoryMb: 80,
    bufferSize: 0,
    dbPoolSize: 2,
    spoolBytes: 0,
    spoolHeldCandles: 0,
    featuresWarmedUp: true,
    gapCheckLast: null,
    timescale: null,
    symbols: [{ symbol: 'BTCUSDT', lastCandleOpenTime: NOW - 90_000, candlesProcessed: 3 }],
    ...o,
  }
}

describe('health rules', () => {
  it('healthy when everything is up and fresh', () => {
    assert.deepEqual(healthStatus(snap()), { status: 'healthy', reasons: [] })
  })

  it("lags and staleness are measured on Binance's clock, not this host's", () => {
    // This host's clock is 10 minutes fast: the data is fresh all the same.
    const fast = snap({ now: NOW + 600_000, exchangeNow: NOW, exchangeOffsetMs: -600_000 })
    assert.equal(healthStatus(fast).status, 'healthy')
    const body = healthBody(fast)
    assert.equal(body.symbols.BTCUSDT?.lag_seconds, 30)
    assert.equal(body.details.exchange_clock_offset_ms, -600_000)
    // And 10 minutes slow: the data is stale although our clock says otherwise.
    assert.match(healthStatus(snap({ exchangeNow: NOW + 600_000 })).reasons.join(), /stale data: BTCUSDT/)
  })

  it('unhealthy when the database or any stream connection is down', () => {
    assert.equal(healthStatus(snap({ databaseConnected: false })).status, 'unhealthy')
    assert.equal(healthStatus(snap({ streamConnections: { total: 2, connected: 1 } })).status, 'unhealthy')
    assert.equal(healthStatus(snap({ streamConnections: { total: 0, connected: 0 } })).status, 'unhealthy')
  })

  it('degraded on a non-empty spool, memory, error rate or stale data', () => {
    assert.equal(healthStatus(snap({ spoolBytes: 10 })).status, 'degraded')
    const full = healthBody(snap({ spoolBytes: 10, spoolHeldCandles: 7 }))
    assert.equal(full.status, 'degraded')
    assert.equal(full.details.spool_full, true)
    assert.equal(full.details.spool_held_candles, 7)
    assert.ok(full.reasons.some((r) => r.startsWith('spool full: 7 candles')))
    assert.equal(healthBody(snap({})).details.spool_full, false)
    assert.equal(healthStatus(snap({ memoryMb: 5000 })).status, 'degraded')
    assert.equal(healthStatus(snap({ errors24h: 1000 })).status, 'degraded')
    const stale = NOW - 10 * 60_000
    const r = healthStatus(
      snap({ symbols: [{ symbol: 'BTCUSDT', lastCandleOpenTime: stale, candlesProcessed: 1 }] }),
    )
    assert.deepEqual(r, { status: 'degraded', reasons: ['stale data: BTCUSDT'] })
  })

  it("degraded by a single missing minute in a symbol's covered window, naming it", () => {
    const one = snap({
      coverageCheckedAt: NOW - 5_000,
      symbols: [
        { symbol: 'BTCUSDT', lastCandleOpenTime: NOW - 90_000, candlesProcessed: 3, missingMinutes: 1 },
        {
          symbol: 'ETHUSDT',
          market: 'usdm',
          lastCandleOpenTime: NOW - 90_000,
          candlesProcessed: 3,
          missingMinutes: 0,
        },
      ],
    })
    assert.deepEqual(healthStatus(one), {
      status: 'degraded',
      reasons: ['missing minutes in the last 24 h: BTCUSDT 1'],
    })
    const body = healthBody(one)
    assert.equal(body.symbols.BTCUSDT?.missing_minutes, 1)
    assert.equal(body.symbols['usdm:ETHUSDT']?.missing_minutes, 0)
    assert.equal(body.details.coverage_checked_at, new Date(NOW - 5_000).toISOString())
    const futures = snap({
      symbols: [
        {
          symbol: 'ETHUSDT',
          market: 'usdm',
          lastCandleOpenTime: NOW - 90_000,
          candlesProcessed: 3,
          missingMinutes: 2,
        },
      ],
    })
    assert.deepEqual(healthStatus(futures).reasons, ['missing minutes in the last 24 h: usdm:ETHUSDT 2'])
    // Not counted yet (or no candle yet): no verdict from coverage.
    const unknown = snap({
      symbols: [{ symbol: 'BTCUSDT', lastCandleOpenTime: null, candlesProcessed: 0, missingMinutes: null }],
    })
    assert.equal(healthStatus(unknown).status, 'healthy')
    assert.equal(healthBody(unknown).symbols.BTCUSDT?.missing_minutes, null)
    assert.equal(healthBody(snap()).details.coverage_checked_at, null)
  })

  it('the body has every contract field with its type', () => {
    const b = healthBody(snap())
    assert.equal(b.status, 'healthy')
    assert.equal(b.uptime_seconds, 90)
    assert.equal(b.candles_processed, 3)
    assert.equal(b.candles_in_db, 42)
    assert.equal(b.last_candle_time, new Date(NOW - 90_000).toISOString())
    assert.equal(b.database_connected, true)
    assert.equal(b.websocket_connected, true)
    assert.equal(b.pending_backfills, 0)
    assert.equal(b.errors_24h, 0)
    assert.equal(b.memory_mb, 80)
    assert.equal(b.timestamp, new Date(NOW).toISOString())
    assert.deepEqual(Object.keys(b.details).slice(0, 4), [
      'buffer_size',
      'db_pool_size',
      'features_warmed_up',
      'gap_check_last',
    ])
    assert.equal(b.details.gap_check_last, null)
    assert.deepEqual(b.symbols.BTCUSDT, {
      market: 'spot',
      symbol: 'BTCUSDT',
      last_candle_time: new Date(NOW - 90_000).toISOString(),
      lag_seconds: 30,
      candles_processed: 3,
      missing_minutes: null,
    })
  })

  it('a fresh process: no candle yet, no stream', () => {
    const b = healthBody(
      snap({
        lastCandleOpenTime: null,
        candlesInDb: null,
        streamConnections: { total: 1, connected: 0 },
        symbols: [],
      }),
    )
    assert.equal(b.status, 'unhealthy')
    assert.equal(b.last_candle_time, null)
    assert.equal(b.candles_in_db, 0)
    assert.equal(b.websocket_connected, false)
  })

  it('ready only when the database and every connection are up', () => {
    assert.deepEqual(readiness(snap()), { ready: true, reasons: [] })
    assert.deepEqual(
      readiness(snap({ databaseConnected: false, streamConnections: { total: 3, connected: 2 } })),
      {
        ready: false,
        reasons: ['database not connected', 'stream connections up 2/3'],
      },
    )
  })
})
