/**
 * The embedded database never holds the service's event loop: the CLI, spawned on an
 * embedded DATA_DIR that is not yet migrated, runs its start-up backfill (migration,
 * a day of history per symbol from the simulator's REST, feature warm-up) while /live
 * is asked again and again from the moment it listens; every answer comes within 1 s.
 * And the worker thread that owns the database loses nothing to `kill -9`.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { DEFAULT_SYMBOLS } from '../../src/simulator/universe.ts'
import { startCli } from '../helpers/cli.ts'
import { embeddedRig, sqlCount, startHolding } from '../helpers/embedded-service.ts'
import { until } from '../helpers/until.ts'

const SYMBOLS = DEFAULT_SYMBOLS.slice(0, 4)
const MINUTES = 1440
const LIVE_BOUND_MS = 1_000
const COUNT = 'SELECT count(*) AS n FROM candles_1m'

function metric(page: string, name: string): number {
  let sum = 0
  for (const line of page.split('\n'))
    if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{'))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  return sum
}

function refused(err: unknown): boolean {
  return (err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED'
}

it('/live answers within 1 s throughout a start-up backfill on the embedded database', async (t) => {
  const rig = await embeddedRig(t, { symbols: SYMBOLS, initialMinutes: MINUTES, migrated: false })
  const base = `http://127.0.0.1:${rig.port}`
  const p = startCli(['run'], rig.env)
  t.after(() => p.child.kill('SIGKILL'))

  const expected = SYMBOLS.length * (MINUTES - 2)
  const deadline = Date.now() + 240_000
  let answers = 0
  let whileBackfilling = 0
  for (;;) {
    if (p.child.exitCode !== null) assert.fail(`the feeder exited ${p.child.exitCode}: ${p.stderr()}`)
    if (Date.now() > deadline)
      assert.fail(`no complete backfill within 240 s (${answers} answers from /live)`)
    const t0 = performance.now()
    try {
      const r = await fetch(`${base}/live`, { signal: AbortSignal.timeout(LIVE_BOUND_MS) })
      assert.equal(r.status, 200)
      await r.arrayBuffer()
    } catch (err) {
      // Before the HTTP server listens there is nobody to answer; once it has, refusal is a failure.
      if (answers === 0 && refused(err)) {
        await delay(20)
        continue
      }
      assert.fail(`/live did not answer within ${LIVE_BOUND_MS} ms after ${answers} answers: ${String(err)}`)
    }
    answers++
    assert.ok(performance.now() - t0 < LIVE_BOUND_MS)
    const page = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(30_000) })).text()
    const candles = metric(page, 'feeder_backfill_candles_total')
    if (candles >= expected && metric(page, 'feeder_backfill_pending_jobs') === 0) break
    if (p.lines.some((l) => l.msg === 'database ready')) whileBackfilling++
    await delay(50)
  }
  assert.ok(whileBackfilling >= 3, `/live was asked only ${whileBackfilling} times during the backfill`)
  p.child.kill('SIGTERM')
  assert.equal(await p.exited, 0)
})

it('kill -9 once the start-up backfill commits on the embedded database: every committed row survives, a restart completes the day', async (t) => {
  const rig = await embeddedRig(t, { symbols: SYMBOLS, initialMinutes: MINUTES, migrated: true })
  const one = await startHolding(t, rig)
  const committed = await until(
    'some of the backfill committed',
    async () => {
      const n = await sqlCount(rig.dataDir, COUNT)
      return n > 0 ? n : null
    },
    60_000,
  )
  one.child.kill('SIGKILL')
  assert.equal(await one.exited, 'SIGKILL')
  // The killed service's lock is stale: `sql` takes it over and opens the database itself.
  assert.ok((await sqlCount(rig.dataDir, COUNT)) >= committed)

  const two = await startHolding(t, rig)
  await until(
    'the whole day stored',
    async () => (await sqlCount(rig.dataDir, COUNT)) >= SYMBOLS.length * (MINUTES - 2),
    180_000,
  )
  two.child.kill('SIGTERM')
  assert.equal(await two.exited, 0)
})
