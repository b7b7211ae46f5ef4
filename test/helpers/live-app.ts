/**
 * The simulator and the app in one process on a shared scaled clock, against
 * a test database: minutes pass in seconds.
 */
import { type App, type AppDeps, createApp } from '../../src/app/app.ts'
import { loadConfig } from '../../src/config/config.ts'
import type { Clock } from '../../src/core/clock.ts'
import { MINUTE_MS } from '../../src/core/records.ts'
import { scaledClock } from '../../src/simulator/scaled-clock.ts'
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/server.ts'
import { detectGaps } from '../../src/store/candle-queries.ts'
import type { Db } from '../../src/store/db.ts'
import type { DbKind } from './db.ts'
import { type FeederTarget, feederTarget } from './feeder-target.ts'
import { capturedLogger } from './log-capture.ts'

export const SPEED = 60

export interface LiveRig {
  readonly clock: Clock
  readonly sim: Simulator
  readonly target: FeederTarget
  /** Starts an app (a new one after a stop: a restart). */
  startApp(
    env?: Record<string, string>,
    deps?: Partial<AppDeps>,
  ): Promise<{ app: App; lines: Record<string, unknown>[] }>
  close(): Promise<void>
}

/** The simulator's clock starts `hoursBack` in the past, a few seconds before a minute boundary. */
export async function liveRig(kind: DbKind, simOpts: SimulatorOptions = {}, hoursBack = 1): Promise<LiveRig> {
  const epoch = Math.floor((Date.now() - hoursBack * 3_600_000) / MINUTE_MS) * MINUTE_MS - 20_000
  const clock = scaledClock(SPEED, epoch)
  const sim = await startSimulator({ clock, ...simOpts })
  const target = await feederTarget(kind)
  const apps: App[] = []
  return {
    clock,
    sim,
    target,
    async startApp(env = {}, deps = {}) {
      const { logger, lines } = capturedLogger()
      const config = loadConfig({
        ...target.env,
        BINANCE_STREAM_URL: sim.wsBase,
        BINANCE_REST_URL: sim.httpBase,
        HEALTH_CHECK_HOST: '127.0.0.1',
        HEALTH_CHECK_PORT: '0',
        LOG_LEVEL: 'debug',
        ...env,
      })
      const app = createApp({ config, clock, logger, ...deps })
      apps.push(app)
      await app.start()
      return { app, lines }
    },
    async close() {
      for (const a of apps) await a.stop('test end')
      await sim.close()
      await target.cleanup()
    },
  }
}

export async function missingMinutes(db: Db, symbol: string, from: number, to: number): Promise<number> {
  const gaps = await detectGaps(db, 'spot', symbol, from, to + MINUTE_MS)
  return gaps.reduce((n, g) => n + g.missing, 0)
}
