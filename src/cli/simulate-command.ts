import { systemClock } from '../core/clock.ts'
import type { Logger } from '../observability/logger.ts'
import { scaledClock } from '../simulator/scaled-clock.ts'
import { startSimulator } from '../simulator/server.ts'
import type { Command } from './args.ts'

type Simulate = Extract<Command, { name: 'simulate' }>

/** Serves the offline Binance-compatible endpoints until SIGTERM/SIGINT. */
export async function runSimulate(cmd: Simulate, logger: Logger): Promise<number> {
  const clock = cmd.speed === 1 ? systemClock : scaledClock(cmd.speed)
  const sim = await startSimulator({
    host: cmd.host,
    port: cmd.port,
    clock,
    log: (line) => logger.info({ component: 'simulator' }, line),
  })
  const usdm = sim.wsHostOf('usdm')
  const coinm = sim.wsHostOf('coinm')
  logger.info(
    { port: sim.port, stream: sim.wsBase, rest: sim.httpBase, usdm, coinm, speed: cmd.speed },
    `simulator listening: BINANCE_STREAM_URL=${sim.wsBase} BINANCE_REST_URL=${sim.httpBase}` +
      ` BINANCE_USDM_STREAM_URL=${usdm} BINANCE_USDM_REST_URL=${sim.httpBase}` +
      ` BINANCE_COINM_STREAM_URL=${coinm} BINANCE_COINM_REST_URL=${sim.httpBase}`,
  )
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolve())
  })
  await sim.close()
  return 0
}
