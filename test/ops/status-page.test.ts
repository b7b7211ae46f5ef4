/**
 * The status page in a real browser: a database holding a known day (a hole,
 * late-filled minutes, quality log rows including one that tries to inject
 * markup), the real app streaming from the simulator, and headless Chromium
 * (Debian's /usr/bin/chromium through playwright-core) reading the DOM.
 * Leaves a screenshot in test-results/status-page.png.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { chromium } from 'playwright-core'
import { createApp } from '../../src/app/app.ts'
import { loadConfig } from '../../src/config/config.ts'
import { MINUTE_MS } from '../../src/core/records.ts'
import { scaledClock } from '../../src/simulator/scaled-clock.ts'
import { startSimulator } from '../../src/simulator/server.ts'
import { migrate } from '../../src/store/migrate.ts'
import { insertQualityLog } from '../../src/store/quality-log.ts'
import { REPO } from '../helpers/cli.ts'
import { pgTargets } from '../helpers/db.ts'
import { feederTarget } from '../helpers/feeder-target.ts'
import { capturedLogger } from '../helpers/log-capture.ts'
import { until } from '../helpers/until.ts'
import { checkExposition } from './exposition.ts'
import { insertCandles, LAYOUT, layoutCandles } from './status-data.ts'

const CHROMIUM = '/usr/bin/chromium'
const SKIP = existsSync(CHROMIUM) ? false : `${CHROMIUM} not installed (apt-get install -y chromium)`
const SYMBOLS = ['BTCUSDT', 'ETHUSDT'] as const
const XSS = '<img src=x onerror="window.__xss=1">bad frame'

interface DomView {
  status: string | null
  db: string | null
  stream: string | null
  uptime: string | null
  symbols: {
    symbol: string | null
    cells: Record<string, number>
    shown: { present: number; filled: number; missing: number; confirmed_empty: number; in_progress: number }
    lag: string
    text: string
  }[]
  quality: { event: string | null; text: string }[]
  injected: number
  chartOptions: (string | null)[]
  polyline: string
}

/**
 * What the test reads from the page. Plain JavaScript in a string: a function
 * would be compiled by tsx, whose helpers (__name) do not exist in the page.
 */
const READ_DOM = `(() => {
  const text = (sel) => { const e = document.querySelector(sel); return e ? e.textContent : null }
  const rows = Array.from(document.querySelectorAll('#symbols tr[data-symbol]'))
  return {
    status: text('#status'),
    db: text('#db'),
    stream: text('#stream'),
    uptime: text('#uptime'),
    symbols: rows.map((tr) => {
      const cells = { P: 0, F: 0, E: 0, M: 0, I: 0 }
      for (const r of tr.querySelectorAll('rect[data-state]')) {
        const st = r.getAttribute('data-state')
        cells[st] = (cells[st] || 0) + Number(r.getAttribute('data-n'))
      }
      const counts = tr.querySelector('td.counts')
      const lag = tr.querySelector('td.lag')
      return {
        symbol: tr.getAttribute('data-symbol'),
        cells,
        shown: {
          present: Number(counts && counts.getAttribute('data-present')),
          filled: Number(counts && counts.getAttribute('data-filled')),
          missing: Number(counts && counts.getAttribute('data-missing')),
          confirmed_empty: Number(counts && counts.getAttribute('data-confirmed-empty')),
          in_progress: Number(counts && counts.getAttribute('data-in-progress')),
        },
        lag: lag ? lag.textContent : '',
        text: tr.textContent || '',
      }
    }),
    quality: Array.from(document.querySelectorAll('#quality tr.q')).map((tr) => ({
      event: tr.getAttribute('data-event'),
      text: tr.textContent || '',
    })),
    injected: document.querySelectorAll('#quality img').length + (window.__xss || 0),
    chartOptions: Array.from(document.querySelectorAll('#chart-symbol option')).map((o) => o.textContent),
    polyline: (document.querySelector('#chart-line') || { getAttribute: () => '' }).getAttribute('points') || '',
  }
})()`

for (const kind of pgTargets()) {
  describe(`status page in Chromium on ${kind}`, () => {
    it('shows state, per-symbol completeness, quality log and chart from the database', {
      skip: SKIP,
    }, async (t) => {
      // The app's clock starts 12 s into minute E (three hours ago): the day shown is [E − 1440 min, E),
      // exactly the known data, and stays so until the next minute closes at E + 60 s.
      const E = Math.floor((Date.now() - 3 * 3_600_000) / MINUTE_MS) * MINUTE_MS
      const clock = scaledClock(1, E + 12_000)
      const target = await feederTarget(kind, { migrated: true })
      const seed = await target.open()
      try {
        await migrate(seed) // a no-op on the migrated PGlite template; creates the schema on PostgreSQL
        await insertCandles(seed, layoutCandles(E, { outside: false }))
        await insertQualityLog(seed, {
          eventType: 'gap_unfillable',
          symbol: 'BTCUSDT',
          gapStart: E - 300 * MINUTE_MS,
          gapEnd: E - 298 * MINUTE_MS,
          candlesMissing: 3,
          source: 'rest',
          errorMessage: 'Binance returned no rows for these minutes',
        })
        await insertQualityLog(seed, {
          eventType: 'invalid_message',
          symbol: 'ETHUSDT',
          source: 'ws',
          errorMessage: XSS,
        })
      } finally {
        await seed.close()
      }

      const sim = await startSimulator({ clock })
      const { logger } = capturedLogger('warn')
      const config = loadConfig({
        ...target.env,
        BINANCE_STREAM_URL: sim.wsBase,
        BINANCE_REST_URL: sim.httpBase,
        TRADING_SYMBOLS: SYMBOLS.join(',').toLowerCase(),
        HEALTH_CHECK_HOST: '127.0.0.1',
        HEALTH_CHECK_PORT: '0',
        BACKFILL_ENABLED: 'false',
        INITIAL_BACKFILL_MINUTES: '0',
        LOG_LEVEL: 'warn',
      })
      const app = createApp({ config, clock, logger })
      const userDataDir = mkdtempSync(join(tmpdir(), 'data-feeder-chromium-'))
      let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | null = null
      t.after(async () => {
        await context?.close()
        await app.stop('test end')
        await sim.close()
        await target.cleanup()
        rmSync(userDataDir, { recursive: true, force: true })
      })
      await app.start()
      const base = `http://127.0.0.1:${app.httpPort}`
      await until('the app ready', async () => (await fetch(`${base}/ready`)).status === 200)

      const html = await fetch(`${base}/`)
      assert.equal(html.status, 200, 'GET / serves the status page (route wired in app.ts)')
      assert.match(html.headers.get('content-type') ?? '', /^text\/html/)
      const json = await fetch(`${base}/status.json`)
      assert.equal(json.status, 200, 'GET /status.json (route wired in app.ts)')
      assert.match(json.headers.get('content-type') ?? '', /^application\/json/)

      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
        viewport: { width: 1280, height: 900 },
      })
      const page = context.pages()[0] ?? (await context.newPage())
      const problems: string[] = []
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
      page.on('console', (msg) => {
        if (msg.type() === 'error' || msg.type() === 'warning')
          problems.push(`console ${msg.type()}: ${msg.text()}`)
      })
      const elsewhere: string[] = []
      page.on('request', (req) => {
        if (!req.url().startsWith(base) && !req.url().startsWith('data:')) elsewhere.push(req.url())
      })
      await page.goto(`${base}/`)
      await page.waitForSelector('body[data-loaded]', { timeout: 15_000 })

      const view = (await page.evaluate(READ_DOM)) as DomView
      assert.ok(
        clock.now() < E + 58_000,
        'the test read the page before the next minute closed (it ran unusually slowly otherwise)',
      )

      assert.ok(view.status === 'healthy' || view.status === 'degraded', `status ${view.status}`)
      assert.equal(view.db, 'up')
      assert.equal(view.stream, 'up')
      assert.match(view.uptime ?? '', /\d+s$/)
      assert.deepEqual(
        view.symbols.map((s) => s.symbol),
        [...SYMBOLS],
      )
      for (const s of view.symbols) {
        const want = LAYOUT[s.symbol as keyof typeof LAYOUT]
        // BTCUSDT's hole is recorded gap_unfillable: Binance confirmed it empty, so it is not missing.
        const empty = s.symbol === 'BTCUSDT' ? want.missing : 0
        const cells = { P: want.present, F: want.filled, E: empty, M: want.missing - empty, I: 0 }
        assert.deepEqual(s.cells, cells, `${s.symbol} strip`)
        assert.deepEqual(
          s.shown,
          { ...want, missing: want.missing - empty, confirmed_empty: empty, in_progress: 0 },
          `${s.symbol} counts`,
        )
        assert.match(s.lag, /^\d+ s$/)
        assert.ok(s.text.includes(String(s.symbol)))
      }
      const gap = view.quality.find((q) => q.event === 'gap_unfillable')
      assert.ok(gap, JSON.stringify(view.quality))
      assert.match(gap.text, /BTCUSDT/)
      assert.match(gap.text, /Binance returned no rows for these minutes/)
      assert.match(gap.text, /3 missing/)
      const bad = view.quality.find((q) => q.event === 'invalid_message')
      assert.ok(bad?.text.includes(XSS), 'markup from the database is shown as text')
      assert.equal(view.injected, 0, 'and never becomes markup')

      assert.deepEqual(view.chartOptions, [...SYMBOLS])
      const points = view.polyline.trim().split(/\s+/)
      assert.equal(points.length, 120, 'the chart draws the last 120 closes')
      for (const p of points) assert.match(p, /^\d+(\.\d)?,\d+(\.\d)?$/)
      await page.selectOption('#chart-symbol', 'ETHUSDT')
      const eth = await page.getAttribute('#chart-line', 'data-points')
      assert.equal(eth, '60', 'ETHUSDT has an hour of candles')
      await page.selectOption('#chart-symbol', 'BTCUSDT')

      mkdirSync(join(REPO, 'test-results'), { recursive: true })
      await page.screenshot({ path: join(REPO, 'test-results', 'status-page.png'), fullPage: true })
      assert.deepEqual(problems, [], 'no script errors, CSP violations or failed loads')
      assert.deepEqual(elsewhere, [], 'the page loads nothing from elsewhere')

      // The same app's /metrics is clean exposition.
      const metrics = await (await fetch(`${base}/metrics`)).text()
      assert.deepEqual(checkExposition(metrics).problems, [])
    })
  })
}
