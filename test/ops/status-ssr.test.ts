/**
 * The status page as `curl` sees it, and /health, from the real app streaming
 * from the simulator over a database that holds a known day with exactly one
 * missing minute (backfill off, so nothing repairs it):
 * - GET / carries the symbols, their lag, their coverage counts and a red
 *   missing-minute marker in the HTML itself, with data from the database
 *   escaped;
 * - /health turns `degraded` for that one minute, and names it.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createApp } from '../../src/app/app.ts'
import { loadConfig } from '../../src/config/config.ts'
import { MINUTE_MS } from '../../src/core/records.ts'
import { scaledClock } from '../../src/simulator/scaled-clock.ts'
import { startSimulator } from '../../src/simulator/server.ts'
import { migrate } from '../../src/store/migrate.ts'
import { insertQualityLog } from '../../src/store/quality-log.ts'
import { pgTargets } from '../helpers/db.ts'
import { feederTarget } from '../helpers/feeder-target.ts'
import { capturedLogger } from '../helpers/log-capture.ts'
import { until } from '../helpers/until.ts'
import { insertCandles, simCandle } from './status-data.ts'

const XSS = '<script>window.__xss=1</script>"quoted" & more'

interface Health {
  status: string
  reasons: string[]
  details: { coverage_checked_at: string | null }
  symbols: Record<string, { missing_minutes: number | null }>
}

for (const kind of pgTargets()) {
  describe(`status page HTML and /health coverage on ${kind}`, () => {
    it('one missing minute is in the server-rendered page, in red, and makes /health degraded', async (t) => {
      // The app's clock starts 12 s into minute E, three hours ago: the day shown is [E − 1440 min, E).
      const E = Math.floor((Date.now() - 3 * 3_600_000) / MINUTE_MS) * MINUTE_MS
      const HOLE = E - 100 * MINUTE_MS
      const clock = scaledClock(1, E + 12_000)
      const target = await feederTarget(kind, { migrated: true })
      const seed = await target.open()
      try {
        await migrate(seed)
        const candles = []
        for (let i = 1; i <= 1440; i++) {
          const at = E - i * MINUTE_MS
          if (at !== HOLE) candles.push(simCandle('BTCUSDT', at))
          if (i <= 60) candles.push(simCandle('ETHUSDT', at))
        }
        await insertCandles(seed, candles)
        await insertQualityLog(seed, { eventType: 'invalid_message', symbol: 'ETHUSDT', errorMessage: XSS })
      } finally {
        await seed.close()
      }
      const sim = await startSimulator({ clock })
      const config = loadConfig({
        ...target.env,
        BINANCE_STREAM_URL: sim.wsBase,
        BINANCE_REST_URL: sim.httpBase,
        TRADING_SYMBOLS: 'btcusdt,ethusdt',
        HEALTH_CHECK_HOST: '127.0.0.1',
        HEALTH_CHECK_PORT: '0',
        BACKFILL_ENABLED: 'false',
        INITIAL_BACKFILL_MINUTES: '0',
        LOG_LEVEL: 'warn',
      })
      const app = createApp({ config, clock, logger: capturedLogger('warn').logger })
      t.after(async () => {
        await app.stop('test end')
        await sim.close()
        await target.cleanup()
      })
      await app.start()
      const base = `http://127.0.0.1:${app.httpPort}`
      await until('the app ready', async () => (await fetch(`${base}/ready`)).status === 200)

      let health: Health | null = null
      await until('/health has counted the missing minutes', async () => {
        health = (await (await fetch(`${base}/health`)).json()) as Health
        return health.details.coverage_checked_at !== null
      })
      const h = health as unknown as Health
      assert.equal(h.status, 'degraded', JSON.stringify(h.reasons))
      assert.ok(h.reasons.includes('missing minutes in the last 24 h: BTCUSDT 1'), JSON.stringify(h.reasons))
      assert.equal(h.symbols.BTCUSDT?.missing_minutes, 1)
      // ETHUSDT is tracked for an hour: its covered window starts at its first candle.
      assert.equal(h.symbols.ETHUSDT?.missing_minutes, 0)

      const res = await fetch(`${base}/`)
      assert.equal(res.status, 200)
      const html = await res.text()
      const body = html.slice(html.indexOf('<body>'), html.indexOf('<script>'))
      assert.match(body, /<span id="status" class="badge degraded">degraded<\/span>/)
      assert.match(body, /missing minutes in the last 24 h: BTCUSDT 1/)
      const row = (symbol: string) => {
        const m = body.match(new RegExp(`<tr data-symbol="${symbol}">(.*?)</tr>`))
        assert.ok(m, `a row for ${symbol} in the HTML`)
        return m[1] as string
      }
      const btc = row('BTCUSDT')
      assert.match(btc, /<td class="sym">BTCUSDT<\/td>/)
      assert.match(btc, /<td class="num lag">\d+ s<\/td>/)
      assert.match(btc, /<td class="num counts missing"[^>]* data-missing="1"[^>]*>\d+ \/ 0 \/ 1<\/td>/)
      // The missing minute: a rect of one minute in the missing (red) state, titled with its time.
      const hole = new Date(HOLE)
        .toISOString()
        .replace('T', ' ')
        .replace(/:\d\d\.\d+Z$/, 'Z')
      assert.match(
        btc,
        new RegExp(`class="st-M" data-state="M" data-n="1"><title>${hole}: missing \\(1 min\\)</title>`),
      )
      assert.match(html, /rect\.st-M\{fill:var\(--bad\)\}/)
      // Wide enough to see: a marker of 4 minutes centred on it, drawn over its neighbours.
      assert.match(btc, /<rect x="[\d.]+" y="0" width="4" height="1" class="st-M mark"><\/rect><\/svg>/)
      assert.match(html, /--bad:#f85149/)
      const eth = row('ETHUSDT')
      assert.match(eth, /<td class="num lag">\d+ s<\/td>/)
      assert.match(eth, /data-missing="1380"[^>]*>60 \/ 0 \/ 1380<\/td>/)
      // Data from the database is text, never markup.
      assert.ok(body.includes('&lt;script&gt;window.__xss=1&lt;/script&gt;&quot;quoted&quot; &amp; more'))
      assert.ok(!body.includes('<script>window.__xss'))
      assert.match(body, /<option value="BTCUSDT">BTCUSDT<\/option><option value="ETHUSDT">ETHUSDT<\/option>/)
    })
  })
}
