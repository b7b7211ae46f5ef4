/**
 * The service spawned on the embedded database against an in-process simulator,
 * and `data-feeder sql` to look into that database while it runs.
 */

import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import { systemClock } from '../../src/core/clock.ts'
import { startSimulator } from '../../src/simulator/server.ts'
import { type CliProcess, freePort, runCli, startCli } from './cli.ts'
import { pgliteDataDir } from './db.ts'
import { until } from './until.ts'

export interface EmbeddedRig {
  readonly dataDir: string
  readonly port: number
  /** The environment of `data-feeder run` on this rig. */
  readonly env: Record<string, string>
}

/** A simulator listing `symbols` and a private DATA_DIR (migrated or not); both go when the test ends. */
export async function embeddedRig(
  t: TestContext,
  o: { symbols: readonly string[]; initialMinutes: number; migrated: boolean },
): Promise<EmbeddedRig> {
  const sim = await startSimulator({ clock: systemClock, symbols: [...o.symbols] })
  const dir = await pgliteDataDir({ migrated: o.migrated })
  t.after(async () => {
    await sim.close()
    await dir.cleanup()
  })
  const port = await freePort()
  const env = {
    DATA_DIR: dir.dataDir,
    BINANCE_STREAM_URL: sim.wsBase,
    BINANCE_REST_URL: sim.httpBase,
    TRADING_SYMBOLS: o.symbols.join(','),
    BACKFILL_ENABLED: 'true',
    INITIAL_BACKFILL_MINUTES: String(o.initialMinutes),
    HEALTH_CHECK_HOST: '127.0.0.1',
    HEALTH_CHECK_PORT: String(port),
  }
  return { dataDir: dir.dataDir, port, env }
}

/** `data-feeder run` on the rig, once it holds its database (before that, `sql` would open it itself). */
export async function startHolding(t: TestContext, rig: EmbeddedRig): Promise<CliProcess> {
  const p = startCli(['run'], rig.env)
  t.after(() => p.child.kill('SIGKILL'))
  await until('the service holds its database', () => p.lines.some((l) => l.msg === 'database ready'), 60_000)
  return p
}

/** The number `SELECT count(*) AS n …` answers through `data-feeder sql`. */
export async function sqlCount(dataDir: string, statement: string): Promise<number> {
  const r = await runCli(['sql', '--json', statement], { DATA_DIR: dataDir })
  assert.equal(r.code, 0, r.stderr)
  return Number((JSON.parse(r.stdout) as { n: string }).n)
}
