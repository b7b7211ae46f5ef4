/**
 * Command-line parsing: subcommand, flags, and the time expressions of the
 * contract (ISO-8601 or relative like -6h, -30d). Pure; errors are typed.
 */
import { parseArgs } from 'node:util'

export class UsageError extends Error {
  readonly code = 'USAGE'
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

export const COMMANDS = ['run', 'migrate', 'backfill', 'gaps', 'simulate', 'sql'] as const
export type CommandName = (typeof COMMANDS)[number]

export type Command =
  | { readonly name: 'help' }
  | { readonly name: 'version' }
  | { readonly name: 'run' }
  | { readonly name: 'migrate' }
  | {
      readonly name: 'backfill'
      readonly symbol: string
      readonly from: number | null
      readonly to: number | null
    }
  | {
      readonly name: 'gaps'
      readonly symbol: string
      readonly from: number | null
      readonly to: number | null
      readonly json: boolean
    }
  | { readonly name: 'simulate'; readonly port: number; readonly host: string; readonly speed: number }
  /** `statement` null: read it from stdin. */
  | { readonly name: 'sql'; readonly statement: string | null; readonly json: boolean }

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

/** `2024-01-01`, `2024-01-01T12:00Z`, or relative to now: `-6h`, `-30d`, `-90m`. */
export function parseTime(text: string, now: number, flag: string): number {
  const rel = /^-(\d{1,6})([mhdw])$/.exec(text)
  if (rel) return now - Number(rel[1]) * (UNIT_MS[rel[2] as string] as number)
  if (/^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) {
    // A date or a time without a zone is read as UTC, as Binance's own times are.
    const withZone = /T|\s/.test(text) && !/(?:Z|[+-]\d{2}:?\d{2})$/.test(text) ? `${text}Z` : text
    const t = Date.parse(withZone.replace(' ', 'T'))
    if (Number.isFinite(t)) return t
  }
  throw new UsageError(
    `${flag}: "${text.slice(0, 40)}" is not a time (examples: 2024-01-01, 2024-01-01T12:00Z, -6h, -30d)`,
  )
}

function symbolFlag(v: string | undefined, command: string): string {
  if (v === undefined) throw new UsageError(`${command} needs --symbol (example: --symbol BTCUSDT)`)
  const s = v.trim().toUpperCase()
  if (!/^[A-Z0-9]{2,30}$/.test(s))
    throw new UsageError(`--symbol: "${v.slice(0, 40)}" is not a symbol (example: BTCUSDT)`)
  return s
}

function range(values: { from?: string | undefined; to?: string | undefined }, now: number) {
  const from = values.from === undefined ? null : parseTime(values.from, now, '--from')
  const to = values.to === undefined ? null : parseTime(values.to, now, '--to')
  if (from !== null && to !== null && from > to) throw new UsageError('--from is after --to')
  return { from, to }
}

/** `--from -6h` would read as two options; bind a relative time to its flag. */
function joinRelativeTimes(args: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string
    const next = args[i + 1]
    if ((a === '--from' || a === '--to') && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`)
      i++
    } else out.push(a)
  }
  return out
}

export function parseCommand(argv: readonly string[], now: number): Command {
  const first = argv[0]
  if (first === '--help' || first === '-h' || first === 'help') return { name: 'help' }
  if (first === '--version' || first === '-v') return { name: 'version' }
  const name = first === undefined || first.startsWith('-') ? 'run' : first
  const rest = first === undefined || first.startsWith('-') ? argv : argv.slice(1)
  if (!(COMMANDS as readonly string[]).includes(name)) {
    throw new UsageError(`unknown command "${name.slice(0, 40)}" (commands: ${COMMANDS.join(', ')})`)
  }
  const options = {
    help: { type: 'boolean', short: 'h' },
    symbol: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    json: { type: 'boolean' },
    port: { type: 'string' },
    host: { type: 'string' },
    speed: { type: 'string' },
  } as const
  const allowed: Record<CommandName, readonly string[]> = {
    run: [],
    migrate: [],
    backfill: ['symbol', 'from', 'to'],
    gaps: ['symbol', 'from', 'to', 'json'],
    simulate: ['port', 'host', 'speed'],
    sql: ['json'],
  }
  let values: Record<string, string | boolean | undefined>
  let positionals: string[]
  try {
    ;({ values, positionals } = parseArgs({
      args: joinRelativeTimes(rest),
      options,
      strict: true,
      allowPositionals: name === 'sql',
    }))
  } catch (e) {
    throw new UsageError(`${name}: ${(e as Error).message.split('\n')[0]}`)
  }
  if (values.help) return { name: 'help' }
  for (const key of Object.keys(values)) {
    if (!allowed[name as CommandName].includes(key)) throw new UsageError(`${name} does not take --${key}`)
  }
  const str = (k: string) => values[k] as string | undefined
  switch (name as CommandName) {
    case 'run':
      return { name: 'run' }
    case 'migrate':
      return { name: 'migrate' }
    case 'backfill':
      return {
        name: 'backfill',
        symbol: symbolFlag(str('symbol'), name),
        ...range({ from: str('from'), to: str('to') }, now),
      }
    case 'gaps':
      return {
        name: 'gaps',
        symbol: symbolFlag(str('symbol'), name),
        ...range({ from: str('from'), to: str('to') }, now),
        json: values.json === true,
      }
    case 'sql':
      return {
        name: 'sql',
        statement: positionals.length > 0 ? positionals.join(' ') : null,
        json: values.json === true,
      }
    case 'simulate': {
      const port = str('port') ?? '0'
      if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) {
        throw new UsageError(`--port: "${port.slice(0, 20)}" is not a port (example: --port 9443)`)
      }
      const speed = str('speed') ?? '1'
      if (!/^\d{1,4}(\.\d+)?$/.test(speed) || Number(speed) <= 0) {
        throw new UsageError(
          `--speed: "${speed.slice(0, 20)}" is not a positive number (example: --speed 60)`,
        )
      }
      return { name: 'simulate', port: Number(port), host: str('host') ?? '127.0.0.1', speed: Number(speed) }
    }
  }
}

export const USAGE = `data-feeder — Binance 1-minute klines and bookTicker into PostgreSQL, complete and exact

Usage:
  data-feeder [run]                      run the service (default)
  data-feeder migrate                    create or update the schema, then exit
  data-feeder backfill --symbol S [--from T] [--to T]
                                         fill every missing closed minute in the range from REST
  data-feeder gaps --symbol S [--from T] [--to T] [--json]
                                         report missing minutes; exit 0 when none are unexplained, 3 otherwise
  data-feeder simulate [--port N] [--host H] [--speed X]
                                         run the offline Binance-compatible server (WS + REST)
  data-feeder sql ["STATEMENT"] [--json]
                                         run one read-only SQL statement (or read it from stdin) and
                                         print the rows; works while the service runs
  data-feeder --help | --version

Times T: ISO-8601 (2024-01-01, 2024-01-01T12:00Z) or relative (-6h, -30d).
Configuration comes from the environment or a .env file; see docs/OPERATIONS.md.
Exit codes: 0 ok, 1 fatal error, 2 configuration or usage error, 3 gaps found.
`
