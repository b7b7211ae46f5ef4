/**
 * The README's offline demo, run as written: its commands are read from the
 * README itself (only the two ports are swapped for free ones, and DATA_DIR
 * for a scratch directory), the simulator sped up as the README says. Live
 * candles must land with bid/ask, and none may be refused as "future": the
 * feeder follows the simulator's fast clock.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { openDb } from '../../src/store/open-db.ts'
import { freePort, REPO, startCli } from '../helpers/cli.ts'
import { until } from '../helpers/until.ts'

interface Demo {
  simulateArgs: string[]
  env: Record<string, string>
  simPort: string
  httpPort: string
}

/** The shell block under "## Try it offline": `npx data-feeder simulate …`, `VARS… npm start`, `curl`. */
function readDemo(): Demo {
  const readme = readFileSync(`${REPO}/README.md`, 'utf8')
  const section = readme.slice(readme.indexOf('## Try it offline'))
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1]
  assert.ok(block, 'the README has an offline demo block')
  const lines = block.replace(/\\\n\s*/g, '').split('\n')
  const sim = lines.find((l) => l.startsWith('npx data-feeder simulate'))
  const start = lines.find((l) => l.trim().endsWith('npm start'))
  assert.ok(sim && start, block)
  const simulateArgs = sim.replace(/&\s*$/, '').trim().split(/\s+/).slice(2)
  const env = Object.fromEntries(
    start
      .replace(/npm start\s*$/, '')
      .trim()
      .split(/\s+/)
      .map((a) => a.split('=', 2) as [string, string]),
  )
  const simPort = simulateArgs[simulateArgs.indexOf('--port') + 1] as string
  return { simulateArgs, env, simPort, httpPort: env.HEALTH_CHECK_PORT as string }
}

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text()
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0)
}

describe('README offline demo', () => {
  it('runs as written, with the simulator sped up: live candles land with bid/ask, none refused', async (t) => {
    const demo = readDemo()
    assert.ok(demo.simulateArgs.includes('--speed'), 'the demo runs the simulator sped up')
    const simPort = String(await freePort())
    const httpPort = String(await freePort())
    const swap = (v: string) => v.replaceAll(demo.simPort, simPort).replaceAll(demo.httpPort, httpPort)
    const sim = startCli(demo.simulateArgs.map(swap), {})
    t.after(() => sim.child.kill('SIGKILL'))
    await until('the simulator listening', () => sim.lines.some((l) => l.port !== undefined), 30_000)
    const dataDir = mkdtempSync(join(tmpdir(), 'feeder-demo-'))
    t.after(() => rmSync(dataDir, { recursive: true, force: true }))
    const env = {
      ...Object.fromEntries(Object.entries(demo.env).map(([k, v]) => [k, swap(v)])),
      DATA_DIR: dataDir,
    }
    const feeder = startCli(['run'], env)
    t.after(() => feeder.child.kill('SIGKILL'))
    const base = `http://127.0.0.1:${httpPort}`
    // A closed candle per symbol every simulated minute, i.e. every second.
    await until(
      'six live candles',
      async () => {
        const h = await fetch(`${base}/health`)
          .then((r) => r.json() as Promise<{ candles_processed: number }>)
          .catch(() => null)
        return (h?.candles_processed ?? 0) >= 6
      },
      180_000,
    )
    assert.equal(await metric(base, 'feeder_ws_invalid_frames_total{reason="future"}'), 0)
    assert.ok(
      feeder.lines.some((l) => l.code === 'EXCHANGE_CLOCK_RATE'),
      'the fast clock was noticed',
    )
    feeder.child.kill('SIGTERM')
    assert.equal(await feeder.exited, 0, feeder.stderr())
    const db = await openDb({ kind: 'pglite', dataDir })
    try {
      const r = await db.query<{ symbol: string; n: number }>(
        `SELECT symbol, count(*)::int AS n FROM candles_1m WHERE source = 'ws' AND bid IS NOT NULL AND ask IS NOT NULL
         GROUP BY symbol ORDER BY symbol`,
      )
      assert.deepEqual(
        r.rows.map((x) => x.symbol),
        ['BTCUSDT', 'ETHUSDT'],
      )
      for (const row of r.rows) assert.ok(row.n >= 2, `${row.symbol}: ${row.n} live candles with bid/ask`)
    } finally {
      await db.close()
    }
  })
})
