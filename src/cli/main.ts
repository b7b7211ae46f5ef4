/**
 * The CLI edge: reads the environment (and .env), parses arguments, runs one
 * command, maps failures to the contract's exit codes.
 * 0 ok · 1 fatal · 2 configuration or usage · 3 gaps found (export: incomplete; features --verify: rows differ).
 */
import { existsSync, readFileSync } from 'node:fs'
import { parseEnv } from 'node:util'
import { ConfigError, loadConfig } from '../config/config.ts'
import { systemClock } from '../core/clock.ts'
import { createLogger } from '../observability/logger.ts'
import { parseCommand, UsageError } from './args.ts'
import { COMMAND_HELP, USAGE } from './help-text.ts'

export const EXIT = { ok: 0, fatal: 1, config: 2, gaps: 3 } as const

/** `.env` in the working directory, under the real environment (which wins). */
function environment(): Record<string, string | undefined> {
  const file = '.env'
  if (!existsSync(file)) return { ...process.env }
  let fromFile: Record<string, string> = {}
  try {
    fromFile = parseEnv(readFileSync(file, 'utf8')) as Record<string, string>
  } catch (e) {
    throw new ConfigError(
      '.env',
      `could not be read (${(e as Error).message.split('\n')[0]})`,
      'TRADING_SYMBOL=btcusdt',
    )
  }
  return { ...fromFile, ...process.env }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
  return pkg.version
}

async function main(argv: readonly string[]): Promise<number> {
  let command: ReturnType<typeof parseCommand>
  try {
    command = parseCommand(argv, Date.now())
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`data-feeder: ${e.message}\nRun 'data-feeder --help' for usage.\n`)
      return EXIT.config
    }
    throw e
  }
  if (command.name === 'help') {
    process.stdout.write(command.topic === undefined ? USAGE : COMMAND_HELP[command.topic])
    return EXIT.ok
  }
  if (command.name === 'version') {
    process.stdout.write(`data-feeder ${version()}\n`)
    return EXIT.ok
  }
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig(environment(), { isTty: process.stdout.isTTY === true })
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`data-feeder: configuration error: ${e.message}\n`)
      return EXIT.config
    }
    throw e
  }
  const logger = createLogger({ level: config.logLevel, format: config.logFormat })
  try {
    switch (command.name) {
      case 'run':
        // Each command is loaded when run: the service never holds the simulator or the commands in memory.
        return await (await import('./run-command.ts')).runService(config, logger, systemClock)
      case 'migrate':
        return await (await import('./migrate-command.ts')).runMigrate(config, logger)
      case 'simulate':
        return await (await import('./simulate-command.ts')).runSimulate(command, logger)
      case 'backfill':
        return await (await import('./backfill-command.ts')).runBackfill(command, config, logger, systemClock)
      case 'gaps':
        return await (await import('./gaps-command.ts')).runGaps(command, config, systemClock)
      case 'features':
        return await (await import('./features-command.ts')).runFeatures(command, config, logger, systemClock)
      case 'export':
        return await (await import('./export-command.ts')).runExport(command, config, logger, systemClock)
      case 'sql':
        return await (await import('./sql-command.ts')).runSql(command, config, process.stdout)
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`data-feeder: ${e.message}\nRun 'data-feeder ${command.name} --help' for usage.\n`)
      return EXIT.config
    }
    if (e instanceof ConfigError) {
      logger.fatal({ code: e.code, variable: e.variable }, e.message)
      process.stderr.write(`data-feeder: configuration error: ${e.message}\n`)
      return EXIT.config
    }
    const err = e as { code?: string; message?: string }
    logger.fatal({ code: err.code ?? 'FATAL', err: e }, err.message ?? String(e))
    process.stderr.write(`data-feeder: ${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}\n`)
    return EXIT.fatal
  }
}

const code = await main(process.argv.slice(2))
// Open handles (a socket being torn down, a pool's timer) must not keep a finished command alive.
process.stdout.write('', () => process.exit(code))
