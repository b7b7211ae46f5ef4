/**
 * The status page's read queries and JSON over known data, on PGlite and
 * (with TEST_DATABASE_URL) a real PostgreSQL.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { MINUTE_MS } from '../../src/core/records.ts'
import { statusData } from '../../src/http/status-data.ts'
import { renderStatusPage } from '../../src/http/status-page.ts'
import { insertQualityLog } from '../../src/store/quality-log.ts'
import {
  latestCandles,
  minuteCompleteness,
  recentCloses,
  recentQualityLogs,
  toRuns,
} from '../../src/store/status-queries.ts'
import { openTestDb, pgTargets, type TestDb } from '../helpers/db.ts'
import { insertCandles, LAYOUT, layoutCandles, simCandle } from './status-data.ts'

const END = Date.UTC(2024, 2, 10, 12, 0)
const START = END - 1440 * MINUTE_MS

function count(cells: string, ch: string): number {
  return cells.split('').filter((c) => c === ch).length
}

describe('toRuns', () => {
  it('run-length encodes and counts', () => {
    assert.deepEqual(toRuns('PPPFMMPEEI'), {
      runs: [
        ['P', 3],
        ['F', 1],
        ['M', 2],
        ['P', 1],
        ['E', 2],
        ['I', 1],
      ],
      present: 4,
      filled: 1,
      missing: 2,
      confirmed_empty: 2,
      in_progress: 1,
    })
    assert.deepEqual(toRuns(''), {
      runs: [],
      present: 0,
      filled: 0,
      missing: 0,
      confirmed_empty: 0,
      in_progress: 0,
    })
  })
})

describe('renderStatusPage', () => {
  it('is one self-contained document: inline style and script, nothing fetched from elsewhere', () => {
    const html = renderStatusPage()
    assert.match(html, /^<!doctype html>/)
    assert.doesNotMatch(html, /<script[^>]+src=/i)
    assert.doesNotMatch(html, /<link[^>]+stylesheet/i)
    assert.doesNotMatch(
      html,
      /https?:\/\/(?!www\.w3\.org\/2000\/svg)/,
      'no absolute URLs but the SVG namespace',
    )
    assert.doesNotMatch(html, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/)
    assert.match(html, /Content-Security-Policy" content="default-src 'none'; script-src 'sha256-/)
    assert.match(html, /fetch\('status\.json'/)
    assert.equal(renderStatusPage(), html)
  })
})

for (const kind of pgTargets()) {
  describe(`status queries on ${kind}`, () => {
    let t: TestDb
    before(async () => {
      t = await openTestDb(kind)
      await insertCandles(t.db, layoutCandles(END))
      await insertQualityLog(t.db, {
        eventType: 'gap_unfillable',
        symbol: 'btcusdt',
        gapStart: END - 300 * MINUTE_MS,
        gapEnd: END - 298 * MINUTE_MS,
        candlesMissing: 3,
        source: 'rest',
        errorMessage: 'Binance returned no rows',
      })
      for (let i = 0; i < 25; i++) {
        await insertQualityLog(t.db, { eventType: 'ws_reconnected', errorMessage: `reconnect ${i}` })
      }
    })
    after(async () => {
      await t?.cleanup()
    })

    it('marks every minute of the day present, filled late, confirmed empty or missing, oldest first', async () => {
      const grid = await minuteCompleteness(t.db, {
        market: 'spot',
        symbols: ['btcusdt', 'ETHUSDT', 'NOPEUSDT'],
        from: START,
        to: END,
      })
      assert.deepEqual([...grid.keys()].sort(), ['BTCUSDT', 'ETHUSDT', 'NOPEUSDT'])
      const btc = grid.get('BTCUSDT') ?? ''
      assert.equal(btc.length, 1440)
      assert.equal(count(btc, 'P'), LAYOUT.BTCUSDT.present)
      assert.equal(count(btc, 'F'), LAYOUT.BTCUSDT.filled)
      // The hole is recorded gap_unfillable: Binance confirmed it empty.
      assert.equal(count(btc, 'E'), LAYOUT.BTCUSDT.missing)
      assert.equal(count(btc, 'M'), 0)
      // index i ↔ minute START + i min; the hole is end−300..end−298 → indices 1140..1142
      assert.equal(btc.slice(1139, 1144), 'PEEEP')
      assert.equal(btc.slice(939, 946), 'PFFFFFP')
      assert.equal(btc[740], 'F', 'archive counts as filled late')
      const eth = grid.get('ETHUSDT') ?? ''
      assert.equal(eth, 'M'.repeat(1380) + 'P'.repeat(60))
      assert.equal(grid.get('NOPEUSDT'), 'M'.repeat(1440))
    })

    it('honours the window bounds exactly ([from, to))', async () => {
      const grid = await minuteCompleteness(t.db, {
        market: 'spot',
        symbols: ['BTCUSDT'],
        from: END - 2 * MINUTE_MS,
        to: END + MINUTE_MS,
      })
      assert.equal(grid.get('BTCUSDT'), 'PPP')
      const empty = await minuteCompleteness(t.db, {
        market: 'spot',
        symbols: ['BTCUSDT'],
        from: END,
        to: END,
      })
      assert.equal(empty.get('BTCUSDT'), '')
      const other = await minuteCompleteness(t.db, {
        market: 'futures',
        symbols: ['BTCUSDT'],
        from: END - MINUTE_MS,
        to: END,
      })
      assert.equal(other.get('BTCUSDT'), 'M', 'another market is another series')
      await assert.rejects(
        minuteCompleteness(t.db, { market: 'spot', symbols: ['BTCUSDT'], from: END + 1, to: END }),
        RangeError,
      )
    })

    it('reads the newest candle per symbol and the last closes, oldest first', async () => {
      const latest = await latestCandles(t.db, 'spot', ['BTCUSDT', 'ethusdt', 'NOPEUSDT'])
      assert.deepEqual(latest.get('BTCUSDT'), {
        openTime: END,
        close: simCandle('BTCUSDT', END).close,
        source: 'ws',
      })
      assert.equal(latest.get('ETHUSDT')?.openTime, END - MINUTE_MS)
      assert.equal(latest.get('NOPEUSDT'), null)

      const closes = await recentCloses(t.db, 'spot', ['BTCUSDT', 'ETHUSDT', 'NOPEUSDT'], 120)
      const btc = closes.get('BTCUSDT') ?? []
      assert.equal(btc.length, 120)
      assert.deepEqual(btc[119], [END, simCandle('BTCUSDT', END).close])
      assert.deepEqual(btc[0], [END - 119 * MINUTE_MS, simCandle('BTCUSDT', END - 119 * MINUTE_MS).close])
      assert.equal(closes.get('ETHUSDT')?.length, 60)
      assert.deepEqual(closes.get('NOPEUSDT'), [])
    })

    it('reads the newest data_quality_logs rows first', async () => {
      const rows = await recentQualityLogs(t.db, 20)
      assert.equal(rows.length, 20)
      assert.equal(rows[0]?.errorMessage, 'reconnect 24')
      assert.equal(rows[19]?.errorMessage, 'reconnect 5')
      const all = await recentQualityLogs(t.db, 100)
      const gap = all.find((r) => r.eventType === 'gap_unfillable')
      assert.deepEqual(gap && { ...gap, id: 'x', createdAt: 0 }, {
        id: 'x',
        createdAt: 0,
        market: 'spot',
        symbol: 'BTCUSDT',
        eventType: 'gap_unfillable',
        gapStart: END - 300 * MINUTE_MS,
        gapEnd: END - 298 * MINUTE_MS,
        candlesMissing: 3,
        candlesRecovered: null,
        source: 'rest',
        errorMessage: 'Binance returned no rows',
        resolved: false,
      })
    })

    it('builds the status JSON: window ending at the last closed minute, lag, runs, closes, quality', async () => {
      const health = { status: 'healthy', uptime_seconds: 5 }
      const now = END + MINUTE_MS + 30_000 // the minute END closed 30 s ago
      const d = await statusData(t.db, { now, health, symbols: ['btcusdt', 'ETHUSDT'], qualityRows: 5 })
      assert.equal(d.database.ok, true)
      assert.equal(d.health, health)
      assert.deepEqual(d.window, {
        from: new Date(START + MINUTE_MS).toISOString(),
        to: new Date(END + MINUTE_MS).toISOString(),
        minutes: 1440,
      })
      const [btc, eth] = d.symbols
      assert.equal(btc?.symbol, 'BTCUSDT')
      assert.equal(btc?.last_candle_time, new Date(END).toISOString())
      assert.equal(btc?.lag_seconds, 30)
      // the window moved a minute on: END−1440 (present) left it, END (present) joined.
      assert.equal(btc?.completeness.present, LAYOUT.BTCUSDT.present)
      assert.equal(btc?.completeness.filled, LAYOUT.BTCUSDT.filled)
      assert.equal(btc?.completeness.confirmed_empty, LAYOUT.BTCUSDT.missing)
      assert.equal(btc?.completeness.missing, 0)
      assert.equal(
        btc?.completeness.runs.reduce((n, r) => n + r[1], 0),
        1440,
      )
      assert.equal(btc?.closes.length, 120)
      assert.equal(eth?.completeness.present, 60)
      assert.equal(d.quality.length, 5)
      assert.equal(d.quality[0]?.error_message, 'reconnect 24')
      assert.equal(d.symbols_total, 2)
      // Just after a minute boundary, the minute that closed a moment ago is not yet judged.
      const early = await statusData(t.db, { now: END + MINUTE_MS + 3_000, health, symbols: ['BTCUSDT'] })
      assert.equal(early.window.to, new Date(END).toISOString())
      const capped = await statusData(t.db, { now, health, symbols: ['BTCUSDT', 'ETHUSDT'], maxSymbols: 1 })
      assert.deepEqual(
        capped.symbols.map((s) => s.symbol),
        ['BTCUSDT'],
      )
      assert.equal(capped.symbols_total, 2)
    })
  })
}

describe('statusData without a usable database', () => {
  it('reports the database as not ok instead of throwing', async () => {
    const health = { status: 'unhealthy' }
    const none = await statusData(null, { now: END, health, symbols: ['BTCUSDT'] })
    assert.equal(none.database.ok, false)
    assert.equal(none.symbols[0]?.symbol, 'BTCUSDT')
    const broken = {
      query: () => Promise.reject(Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' })),
      exec: () => Promise.resolve(),
    }
    const d = await statusData(broken, { now: END, health, symbols: ['BTCUSDT'] })
    assert.deepEqual(d.database, { ok: false, error: 'ECONNREFUSED: connection refused' })
    assert.equal(d.symbols[0]?.lag_seconds, null)
  })
})
