import { createApp, dbOptions } from '../app/app.ts'
import type { Config } from '../config/config.ts'
import type { Clock } from '../core/clock.ts'
import type { Logger } from '../observability/logger.ts'
import { loadDriver } from '../store/open-db.ts'

/**
 * Runs the service until SIGTERM/SIGINT. Shutdown flushes what is buffered
 * and must finish within SHUTDOWN_TIMEOUT_MS: exit 0 when it does, 1 when not.
 * A signal that arrives while the service is still starting ends a wait for
 * the database at once, or else waits for the start to settle (within the
 * same bound), then stops it.
 */
export async function runService(config: Config, logger: Logger, clock: Clock): Promise<number> {
  // The database driver is loaded with the rest of the code, before the service opens a socket or
  // measures its event loop: loading blocks the loop in one piece (pg's ≈ 30 ms, undici included on Node 20).
  await loadDriver(dbOptions(config).kind)
  const app = createApp({ config, clock, logger })
  const signalled = new Promise<string>((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolve(sig))
  })
  const started = app.start().then(
    () => null,
    (err: unknown) => ({ err }),
  )
  const first = await Promise.race([started, signalled])
  if (first !== null && typeof first === 'object') {
    await app.stop('start failed').catch(() => false)
    throw first.err
  }
  const reason = typeof first === 'string' ? first : await signalled
  // A start still waiting for the database gives up now; one further along finishes first.
  app.cancelStart()
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), config.shutdownTimeoutMs)
  })
  const stopped = started.then(() => app.stop(reason))
  const outcome = await Promise.race([stopped, timedOut])
  clearTimeout(timer)
  if (outcome === 'timeout') {
    logger.error(
      { code: 'SHUTDOWN_TIMEOUT', timeout_ms: config.shutdownTimeoutMs },
      'shutdown did not finish in time',
    )
    return 1
  }
  return outcome ? 0 : 1
}
