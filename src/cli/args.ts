/**
 * Command-line parsing: subcommand, flags, and the time expressions of the
 * contract (ISO-8601 or relative like -6h, -30d). Pure; errors are typed.
 */
import { parseArgs } from 'node:util'
import { isMarket, MARKETS, type Market } from '../core/records.ts'
import { MARKET_MODULES } from '../markets/markets.ts'

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
  /** `topic`: the command whose help was asked for (`data-feeder backfill --help`). */
  | { readonly name: 'help'; readonly topic?: CommandName }
  | { readonly name: 'version' }
  | { readonly name: 'run' }
  | { readonly name: 'migrate' }
  | {
      readonly name: 'backfill'
      /** null: every configured market (spot unless --symbol names one of another market). */
      readonly market: Market | null
      /** null: every configured symbol (of the market, when given). */
      readonly symbol: string | null
      readonly from: number | null
      readonly to: number | null
    }
  | {
      readonly name: 'gaps'
      /** null: every configured market (spot unless --symbol names one of another market). */
      readonly market: Market | null
      /** null: every configured symbol (of the market, when given). */
      readonly symbol: string | null
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

function marketFlag(v: string | undefined): Market | null {
  const m = v?.trim().toLowerCase()
  if (m === undefined || isMarket(m)) return m ?? null
  throw new UsageError(`--market: "${v?.slice(0, 20)}" is not a market (markets: ${MARKETS.join(', ')})`)
}

/** A symbol of the market (spot when none is given), or null when the flag is absent. */
function symbolFlag(v: string | undefined, given: Market | null): string | null {
  if (v === undefined) return null
  const market = given ?? 'spot'
  const s = v.trim().toUpperCase()
  const example = MARKET_MODULES[market].exampleSymbol.replace(/^\w+:/, '').toUpperCase()
  if (!MARKET_MODULES[market].symbolPattern.test(s))
    throw new UsageError(`--symbol: "${v.slice(0, 40)}" is not a symbol of ${market} (example: ${example})`)
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
  if (first === '--help' || first === '-h') return { name: 'help' }
  if (first === 'help') {
    const topic = argv[1]
    if (topic === undefined) return { name: 'help' }
    if (!(COMMANDS as readonly string[]).includes(topic))
      throw new UsageError(`no help for "${topic.slice(0, 40)}" (commands: ${COMMANDS.join(', ')})`)
    return { name: 'help', topic: topic as CommandName }
  }
  if (first === '--version' || first === '-v') return { name: 'version' }
  const name = first === undefined || first.startsWith('-') ? 'run' : first
  const rest = first === undefined || first.startsWith('-') ? argv : argv.slice(1)
  if (!(COMMANDS as readonly string[]).includes(name)) {
    throw new UsageError(`unknown command "${name.slice(0, 40)}" (commands: ${COMMANDS.join(', ')})`)
  }
  const options = {
    help: { type: 'boolean', short: 'h' },
    symbol: { type: 'string' },
    market: { type: 'string' },
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
    backfill: ['symbol', 'market', 'from', 'to'],
    gaps: ['symbol', 'market', 'from', 'to', 'json'],
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
  if (values.help) return { name: 'help', topic: name as CommandName }
  for (const key of Object.keys(values)) {
    if (!allowed[name as CommandName].includes(key)) throw new UsageError(`${name} does not take --${key}`)
  }
  const str = (k: string) => values[k] as string | undefined
  switch (name as CommandName) {
    case 'run':
      return { name: 'run' }
    case 'migrate':
      return { name: 'migrate' }
    case 'backfill': {
      const market = marketFlag(str('market'))
      return {
        name: 'backfill',
        market,
        symbol: symbolFlag(str('symbol'), market),
        ...range({ from: str('from'), to: str('to') }, now),
      }
    }
    case 'gaps': {
      const market = marketFlag(str('market'))
      return {
        name: 'gaps',
        market,
        symbol: symbolFlag(str('symbol'), market),
        ...range({ from: str('from'), to: str('to') }, now),
        json: values.json === true,
      }
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
  data-feeder backfill [--symbol S] [--market M] [--from T] [--to T]
                                         fill every missing closed minute in the range from REST
  data-feeder gaps [--symbol S] [--market M] [--from T] [--to T] [--json]
                                         report missing minutes; exit 0 when none are unexplained, 3 otherwise
  data-feeder simulate [--port N] [--host H] [--speed X]
                                         run the offline Binance-compatible server (WS + REST)
  data-feeder sql ["STATEMENT"] [--json]
                                         run one read-only SQL statement (or read it from stdin) and
                                         print the rows; works while the service runs
  data-feeder --help | --version
  data-feeder COMMAND --help             what one command does

Markets M: spot, usdm, coinm (futures); with --symbol the default is spot, without it all (of M).
Times T: ISO-8601 (2024-01-01, 2024-01-01T12:00Z) or relative (-6h, -30d).
Configuration comes from the environment or a .env file; see docs/OPERATIONS.md.
Exit codes: 0 ok, 1 fatal error, 2 configuration or usage error, 3 gaps found.
`

const TIMES = `Times T: ISO-8601 (2024-01-01, 2024-01-01T12:00Z, read as UTC without a zone) or relative
to now (-90m, -6h, -30d, -2w). The range defaults to the last INITIAL_BACKFILL_MINUTES closed
minutes, and never reaches past the newest closed one.`

/** `data-feeder COMMAND --help`: what that command does, its flags, exit codes. */
export const COMMAND_HELP: Readonly<Record<CommandName, string>> = {
  run: `Usage: data-feeder [run]

Runs the service: streams Binance 1-minute klines and bookTicker for TRADING_SYMBOLS into the
database, repairs gaps from REST, computes features, and serves /health /ready /live /metrics
and a status page on HEALTH_CHECK_PORT. Stops cleanly on SIGTERM or SIGINT, writing (or
spooling) what is buffered. Configuration: environment or .env (docs/OPERATIONS.md).

Exit codes: 0 stopped cleanly, 1 fatal error or shutdown past SHUTDOWN_TIMEOUT_MS,
2 configuration error (including a symbol Binance does not list).
`,
  migrate: `Usage: data-feeder migrate

Creates or updates the schema of the configured database (DATABASE_URL / DB_*, else the
embedded database in DATA_DIR), with TimescaleDB where TIMESCALEDB allows it and the server
has it, then exits. Safe to run again and beside a running service.

Exit codes: 0 schema up to date, 1 a migration failed (MIGRATION_FAILED, with the cause),
2 configuration error.
`,
  backfill: `Usage: data-feeder backfill [--symbol S] [--market M] [--from T] [--to T]

Fills every missing closed minute in the range from Binance REST, for one symbol or (without
--symbol) every configured one, then rewrites the feature rows the new minutes touch.
Idempotent and resumable: only missing minutes are fetched, each page is committed as it
arrives. Shows a progress bar on a terminal, progress lines otherwise.

  --symbol S   one symbol (e.g. BTCUSDT); default: TRADING_SYMBOLS
  --market M   spot, usdm or coinm: the symbol's market (spot), else all its configured symbols
  --from T     first minute; --to T  last minute

${TIMES}

Exit codes: 0 done (minutes Binance has no data for are reported, not an error), 1 fatal
error, 2 usage or configuration error (including a symbol Binance does not list).
`,
  gaps: `Usage: data-feeder gaps [--symbol S] [--market M] [--from T] [--to T] [--json]

Reports the missing minutes of the range in the database, for one symbol or (without
--symbol) every configured one, marking those Binance confirmed it has no data for.

  --symbol S   one symbol (e.g. BTCUSDT); default: TRADING_SYMBOLS
  --market M   spot, usdm or coinm: the symbol's market (spot), else all its configured symbols
  --from T     first minute; --to T  last minute
  --json       machine-readable: one report object (an array of them without --symbol)

${TIMES}

Exit codes: 0 no unexplained missing minute, 3 some are missing, 1 fatal error,
2 usage or configuration error (including a symbol Binance does not list).
`,
  simulate: `Usage: data-feeder simulate [--port N] [--host H] [--speed X]

Runs the offline Binance-compatible server: the WebSocket streams (/ws, /stream) and the REST
endpoints the feeder uses (/api/v3/klines, exchangeInfo, time, ping), with Binance's limits
and error answers; USD-M (/fapi, /usdm) and COIN-M (/dapi, /coinm) on the same port. Point the feeder at it with BINANCE_STREAM_URL=ws://127.0.0.1:N/ws and
BINANCE_REST_URL=http://127.0.0.1:N.

  --port N     default 0 (any free port, printed at start)
  --host H     default 127.0.0.1
  --speed X    X simulated minutes per real minute (60: a minute a second); default 1

Runs until SIGTERM or SIGINT. Exit codes: 0 stopped, 2 usage error.
`,
  sql: `Usage: data-feeder sql ["STATEMENT"] [--json]

Runs one SQL statement in a read-only transaction (a write is refused) and prints the rows as
a table, or one JSON object a line with --json; at most 10 000 rows. Without a STATEMENT it is
read from stdin. With the embedded database the running service answers it through the
socket DATA_DIR/sql.sock (its writes wait meanwhile); with no service running the command
opens the database in DATA_DIR itself. With DATABASE_URL it connects to that server.

  --json       one JSON object per row

Example: data-feeder sql "SELECT symbol, count(*) FROM candles_1m GROUP BY symbol"

Exit codes: 0 rows printed, 1 the statement failed (the database's error), 2 usage or
configuration error (no statement).
`,
}
