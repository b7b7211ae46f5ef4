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

export const COMMANDS = [
  'run',
  'migrate',
  'backfill',
  'gaps',
  'features',
  'export',
  'simulate',
  'sql',
] as const
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
  | {
      readonly name: 'features'
      /** verify: compare the rows with the SQL oracle; rebuild: recompute and rewrite them. */
      readonly mode: 'verify' | 'rebuild'
      readonly market: Market | null
      readonly symbol: string | null
      readonly from: number
      readonly to: number
    }
  | {
      readonly name: 'export'
      readonly market: Market
      readonly symbol: string
      /** First and last minute (open times), inclusive. */
      readonly from: number
      readonly to: number
      readonly format: ExportFormat
      /** null: FEATURE_WINDOWS. */
      readonly windows: readonly number[] | null
      /** '-': stdout; null: a file named for the symbol and range in the working directory. */
      readonly out: string | null
      readonly requireComplete: boolean
    }
  | { readonly name: 'simulate'; readonly port: number; readonly host: string; readonly speed: number }
  /** `statement` null: read it from stdin. */
  | { readonly name: 'sql'; readonly statement: string | null; readonly json: boolean }

export const EXPORT_FORMATS = ['parquet', 'csv'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

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
    verify: { type: 'boolean' },
    rebuild: { type: 'boolean' },
    port: { type: 'string' },
    host: { type: 'string' },
    speed: { type: 'string' },
    format: { type: 'string' },
    windows: { type: 'string' },
    out: { type: 'string' },
    'require-complete': { type: 'boolean' },
  } as const
  const allowed: Record<CommandName, readonly string[]> = {
    run: [],
    migrate: [],
    backfill: ['symbol', 'market', 'from', 'to'],
    gaps: ['symbol', 'market', 'from', 'to', 'json'],
    features: ['verify', 'rebuild', 'symbol', 'market', 'from', 'to'],
    export: ['symbol', 'market', 'from', 'to', 'format', 'windows', 'out', 'require-complete'],
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
    case 'features': {
      if ((values.verify === true) === (values.rebuild === true))
        throw new UsageError('features: give one of --verify or --rebuild')
      const market = marketFlag(str('market'))
      const { from, to } = range({ from: str('from'), to: str('to') }, now)
      if (from === null || to === null)
        throw new UsageError('features: --from and --to are required (example: --from -1d --to -1m)')
      const mode = values.verify === true ? 'verify' : 'rebuild'
      return { name: 'features', mode, market, symbol: symbolFlag(str('symbol'), market), from, to }
    }
    case 'export':
      return exportCommand(str, values['require-complete'] === true, now)
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

/** `--from`/`--to` are required: an export names its range (a year is 525 600 rows). */
function exportCommand(
  str: (k: string) => string | undefined,
  requireComplete: boolean,
  now: number,
): Extract<Command, { name: 'export' }> {
  const market = marketFlag(str('market')) ?? 'spot'
  const symbol = symbolFlag(str('symbol'), market)
  if (symbol === null) throw new UsageError('export needs --symbol (example: --symbol BTCUSDT)')
  for (const k of ['from', 'to'])
    if (str(k) === undefined) throw new UsageError(`export needs --${k} (examples: 2024-01-01, -30d)`)
  const { from, to } = range({ from: str('from'), to: str('to') }, now) as { from: number; to: number }
  const out = str('out') ?? null
  const given = str('format')?.toLowerCase()
  const format = given ?? (out?.toLowerCase().endsWith('.csv') ? 'csv' : 'parquet')
  if (!(EXPORT_FORMATS as readonly string[]).includes(format))
    throw new UsageError(
      `--format: "${given?.slice(0, 20)}" is not a format (formats: ${EXPORT_FORMATS.join(', ')})`,
    )
  const w = str('windows')
  const windows = w === undefined ? null : w.split(',').map((x) => windowFlag(x.trim()))
  if (out === '') throw new UsageError('--out: empty (a file name, or - for stdout)')
  return {
    name: 'export',
    market,
    symbol,
    from,
    to,
    format: format as ExportFormat,
    windows,
    out,
    requireComplete,
  }
}

function windowFlag(text: string): number {
  if (!/^\d{1,6}$/.test(text) || Number(text) < 2 || Number(text) > 100_000)
    throw new UsageError(
      `--windows: "${text.slice(0, 20)}" is not a window (2 to 100000 candles; example: --windows 60,1440)`,
    )
  return Number(text)
}
