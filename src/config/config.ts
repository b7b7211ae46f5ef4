/**
 * Configuration: every variable of the product contract, parsed once,
 * validated, frozen. Nothing else in the code reads process.env.
 */
import { z } from 'zod'
import { MARKET_MODULES } from '../markets/markets.ts'
import { type MarketConfig, type MarketHosts, marketConfigs, SYMBOLS_EXAMPLE, symbolList } from './symbols.ts'
import { ALL_UNITS, bool, type Field, int, interval, retention, url } from './values.ts'

export type { MarketConfig, SymbolEntry } from './symbols.ts'

export type LogFormat = 'json' | 'pretty'
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full'

export type DatabaseConfig =
  | { readonly kind: 'pglite'; readonly dataDir: string }
  | {
      readonly kind: 'postgres'
      readonly connectionString?: string
      readonly host?: string
      /** Absent with DATABASE_URL unless DB_PORT is set: the URL's own port applies. */
      readonly port?: number
      readonly database?: string
      readonly user?: string
      readonly password?: string
      /** Absent with DATABASE_URL unless DB_SSLMODE is set: the URL's `sslmode` (or prefer) applies. */
      readonly sslmode?: SslMode
      readonly poolMin: number
      readonly poolMax: number
      readonly idleTimeoutMs: number
    }

export type TimescaleMode = 'auto' | 'on' | 'off'

/** TimescaleDB settings; intervals are canonical PostgreSQL interval text ('7 days'). */
export interface TimescaleConfig {
  readonly mode: TimescaleMode
  readonly compressAfter: string
  readonly chunkInterval: string
  /** null: keep everything (the default). */
  readonly retention1m: string | null
  readonly retentionAggregates: string | null
  /** The TimescaleDB variables the environment set (to report them as not applicable elsewhere). */
  readonly explicit: readonly string[]
}

export interface Config {
  /** Spot's stream and REST base (BINANCE_STREAM_URL, BINANCE_REST_URL). */
  readonly streamUrl: string
  readonly restUrl: string
  /** The spot symbols (entries without a market prefix), uppercase, de-duplicated. */
  readonly symbols: readonly string[]
  /** Every market with at least one configured symbol, spot first. */
  readonly markets: readonly MarketConfig[]
  /** Every market's stream and REST host (configured or default), for the commands. */
  readonly hosts: MarketHosts
  readonly database: DatabaseConfig
  readonly dataDir: string
  readonly batchMaxCandles: number
  readonly batchMaxWaitMs: number
  readonly dbMaxRetries: number
  readonly initialBackfillMinutes: number
  readonly gapDetectionThresholdS: number
  readonly gapHandlerUrl: string | null
  readonly backfillEnabled: boolean
  readonly featureUpdateIntervalS: number
  readonly featureWindows: readonly number[]
  readonly healthPort: number
  readonly healthHost: string
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  readonly logFormat: LogFormat
  readonly shutdownTimeoutMs: number
  readonly spoolMaxBytes: number
  readonly timescale: TimescaleConfig
}

/** One line, naming the variable, the problem and a valid example. Never the value of a secret. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID'
  readonly variable: string
  readonly problem: string
  readonly example: string
  constructor(variable: string, problem: string, example: string) {
    super(`${variable}: ${problem} (example: ${variable}=${example})`)
    this.name = 'ConfigError'
    this.variable = variable
    this.problem = problem
    this.example = example
  }
}

const SECRET_VARIABLES = new Set(['DB_PASSWORD', 'DATABASE_URL'])

type Env = Readonly<Record<string, string | undefined>>

const FIELDS = {
  BINANCE_STREAM_URL: { schema: url(['ws:', 'wss:']), example: 'wss://stream.binance.com:9443/ws' },
  BINANCE_REST_URL: { schema: url(['http:', 'https:']), example: 'https://api.binance.com' },
  TRADING_SYMBOL: { schema: symbolList, example: 'btcusdt' },
  TRADING_SYMBOLS: { schema: symbolList, example: SYMBOLS_EXAMPLE },
  BINANCE_USDM_STREAM_URL: { schema: url(['ws:', 'wss:']), example: 'wss://fstream.binance.com' },
  BINANCE_USDM_REST_URL: { schema: url(['http:', 'https:']), example: 'https://fapi.binance.com' },
  BINANCE_COINM_STREAM_URL: { schema: url(['ws:', 'wss:']), example: 'wss://dstream.binance.com' },
  BINANCE_COINM_REST_URL: { schema: url(['http:', 'https:']), example: 'https://dapi.binance.com' },
  DATABASE_URL: {
    schema: url(['postgres:', 'postgresql:']),
    example: 'postgres://feeder:secret@db:5432/market',
  },
  DB_HOST: { schema: z.string().trim().min(1, 'must not be empty'), example: 'localhost' },
  DB_PORT: { schema: int(1, 65535), example: '5432' },
  DB_NAME: { schema: z.string().trim().min(1, 'must not be empty'), example: 'market' },
  DB_USER: { schema: z.string().trim().min(1, 'must not be empty'), example: 'feeder' },
  DB_PASSWORD: { schema: z.string(), example: '<password>' },
  DB_SSLMODE: {
    schema: z.enum(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'], {
      error: 'must be one of disable, allow, prefer, require, verify-ca, verify-full',
    }),
    example: 'require',
  },
  DB_POOL_MIN: { schema: int(0, 100), example: '2' },
  DB_POOL_MAX: { schema: int(1, 100), example: '5' },
  DB_IDLE_TIMEOUT: { schema: int(1, 86_400), example: '60' },
  DATA_DIR: { schema: z.string().trim().min(1, 'must not be empty'), example: './data' },
  BATCH_MAX_CANDLES: { schema: int(1, 100_000), example: '10' },
  BATCH_MAX_WAIT_MS: { schema: int(1, 600_000), example: '1000' },
  DB_MAX_RETRIES: { schema: int(0, 100), example: '3' },
  INITIAL_BACKFILL_MINUTES: { schema: int(0, 10_000_000), example: '1440' },
  GAP_DETECTION_THRESHOLD: { schema: int(1, 86_400), example: '70' },
  GAP_HANDLER_URL: { schema: url(['http:', 'https:']), example: 'http://localhost:9000/gaps' },
  BACKFILL_ENABLED: { schema: bool, example: 'true' },
  FEATURE_UPDATE_INTERVAL: { schema: int(1, 86_400), example: '60' },
  FEATURE_WINDOWS: {
    schema: z
      .string()
      .transform((v) => v.split(',').map((s) => s.trim()))
      .refine((l) => l.length > 0 && l.every((s) => /^\d+$/.test(s)), 'must be comma-separated whole numbers')
      .transform((l) => [...new Set(l.map(Number))].sort((a, b) => a - b))
      .refine(
        (l) => l.every((n) => n >= 2 && n <= 100_000),
        'each window must be between 2 and 100000 candles',
      ),
    example: '60,1440',
  },
  HEALTH_CHECK_PORT: { schema: int(0, 65535), example: '8080' },
  HEALTH_CHECK_HOST: { schema: z.string().trim().min(1, 'must not be empty'), example: '0.0.0.0' },
  LOG_LEVEL: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    }),
    example: 'info',
  },
  LOG_FORMAT: { schema: z.enum(['json', 'pretty'], { error: 'must be json or pretty' }), example: 'json' },
  SHUTDOWN_TIMEOUT_MS: { schema: int(100, 600_000), example: '10000' },
  SPOOL_MAX_BYTES: { schema: int(1_048_576, Number.MAX_SAFE_INTEGER), example: '536870912' },
  TIMESCALEDB: {
    schema: z.enum(['auto', 'on', 'off'], { error: 'must be auto, on or off' }),
    example: 'auto',
  },
  TIMESCALE_COMPRESS_AFTER: { schema: interval(ALL_UNITS), example: '7 days' },
  TIMESCALE_CHUNK_INTERVAL: { schema: interval(['minutes', 'hours', 'days', 'weeks']), example: '1 day' },
  RETENTION_1M: { schema: retention, example: '400 days' },
  RETENTION_AGGREGATES: { schema: retention, example: '5 years' },
} as const satisfies Record<string, Field<unknown>>

type Name = keyof typeof FIELDS
type Value<N extends Name> = (typeof FIELDS)[N] extends Field<infer T> ? T : never

const TIMESCALE_VARIABLES = [
  'TIMESCALEDB',
  'TIMESCALE_COMPRESS_AFTER',
  'TIMESCALE_CHUNK_INTERVAL',
  'RETENTION_1M',
  'RETENTION_AGGREGATES',
] as const satisfies readonly Name[]

export const CONFIG_VARIABLES: readonly Name[] = Object.keys(FIELDS) as Name[]

function read<N extends Name>(env: Env, name: N): Value<N> | undefined {
  const raw = env[name]
  if (raw === undefined || raw === '') return undefined
  const field: Field<unknown> = FIELDS[name]
  const r = field.schema.safeParse(raw)
  if (r.success) return r.data as Value<N>
  const problem = r.error.issues[0]?.message ?? 'is invalid'
  const shown = SECRET_VARIABLES.has(name) ? '' : ` "${raw.length > 60 ? `${raw.slice(0, 60)}…` : raw}"`
  throw new ConfigError(name, `value${shown} ${problem}`, field.example)
}

function readOr<N extends Name>(env: Env, name: N, fallback: Value<N>): Value<N> {
  return read(env, name) ?? fallback
}

export interface ConfigContext {
  /** True when stdout is a terminal: the default log format becomes `pretty`. */
  readonly isTty?: boolean
}

/** Parses and validates the environment. Throws ConfigError on the first bad variable. */
export function loadConfig(env: Env, ctx: ConfigContext = {}): Config {
  const dataDir = readOr(env, 'DATA_DIR', './data')
  const databaseUrl = read(env, 'DATABASE_URL')
  const dbHost = read(env, 'DB_HOST')
  const poolMin = readOr(env, 'DB_POOL_MIN', 2)
  const poolMax = readOr(env, 'DB_POOL_MAX', 5)
  if (poolMin > poolMax)
    throw new ConfigError('DB_POOL_MIN', `${poolMin} is above DB_POOL_MAX (${poolMax})`, '2')
  const sslmode = readOr(env, 'DB_SSLMODE', 'prefer')
  const port = readOr(env, 'DB_PORT', 5432)
  const idleTimeoutMs = readOr(env, 'DB_IDLE_TIMEOUT', 60) * 1000
  let database: DatabaseConfig
  if (databaseUrl !== undefined) {
    // The URL's own port and sslmode apply unless DB_PORT / DB_SSLMODE say otherwise.
    const explicitPort = read(env, 'DB_PORT')
    const explicitSsl = read(env, 'DB_SSLMODE')
    database = {
      kind: 'postgres',
      connectionString: databaseUrl,
      ...(explicitPort !== undefined ? { port: explicitPort } : {}),
      ...(explicitSsl !== undefined ? { sslmode: explicitSsl } : {}),
      poolMin,
      poolMax,
      idleTimeoutMs,
    }
  } else if (dbHost !== undefined) {
    const name = read(env, 'DB_NAME')
    const user = read(env, 'DB_USER')
    const password = read(env, 'DB_PASSWORD')
    database = {
      kind: 'postgres',
      host: dbHost,
      port,
      sslmode,
      poolMin,
      poolMax,
      idleTimeoutMs,
      ...(name !== undefined ? { database: name } : {}),
      ...(user !== undefined ? { user } : {}),
      ...(password !== undefined ? { password } : {}),
    }
  } else {
    database = { kind: 'pglite', dataDir }
  }
  const entries =
    read(env, 'TRADING_SYMBOLS') ?? readOr(env, 'TRADING_SYMBOL', [{ market: 'spot', symbol: 'BTCUSDT' }])
  // Each market's host roots: its variables (named by its module), else its module's defaults.
  const host = (m: keyof MarketHosts) => {
    const { env: names, stream, rest } = MARKET_MODULES[m]
    return {
      streamUrl: readOr(env, names.streamUrl as Name, stream.defaultUrl) as string,
      restUrl: readOr(env, names.restUrl as Name, rest.defaultUrl) as string,
    }
  }
  const hosts: MarketHosts = { spot: host('spot'), usdm: host('usdm'), coinm: host('coinm') }
  const config: Config = {
    streamUrl: hosts.spot.streamUrl,
    restUrl: hosts.spot.restUrl,
    symbols: entries.filter((e) => e.market === 'spot').map((e) => e.symbol),
    markets: marketConfigs(entries, hosts),
    hosts,
    database,
    dataDir,
    batchMaxCandles: readOr(env, 'BATCH_MAX_CANDLES', 10),
    batchMaxWaitMs: readOr(env, 'BATCH_MAX_WAIT_MS', 1000),
    dbMaxRetries: readOr(env, 'DB_MAX_RETRIES', 3),
    initialBackfillMinutes: readOr(env, 'INITIAL_BACKFILL_MINUTES', 1440),
    gapDetectionThresholdS: readOr(env, 'GAP_DETECTION_THRESHOLD', 70),
    gapHandlerUrl: read(env, 'GAP_HANDLER_URL') ?? null,
    backfillEnabled: readOr(env, 'BACKFILL_ENABLED', true),
    featureUpdateIntervalS: readOr(env, 'FEATURE_UPDATE_INTERVAL', 60),
    featureWindows: readOr(env, 'FEATURE_WINDOWS', [60]),
    healthPort: readOr(env, 'HEALTH_CHECK_PORT', 8080),
    healthHost: readOr(env, 'HEALTH_CHECK_HOST', '0.0.0.0'),
    logLevel: readOr(env, 'LOG_LEVEL', 'info'),
    logFormat: readOr(env, 'LOG_FORMAT', ctx.isTty ? 'pretty' : 'json'),
    shutdownTimeoutMs: readOr(env, 'SHUTDOWN_TIMEOUT_MS', 10_000),
    spoolMaxBytes: readOr(env, 'SPOOL_MAX_BYTES', 512 * 1024 * 1024),
    timescale: {
      mode: readOr(env, 'TIMESCALEDB', 'auto'),
      compressAfter: readOr(env, 'TIMESCALE_COMPRESS_AFTER', '7 days'),
      chunkInterval: readOr(env, 'TIMESCALE_CHUNK_INTERVAL', '1 day'),
      retention1m: read(env, 'RETENTION_1M') ?? null,
      retentionAggregates: read(env, 'RETENTION_AGGREGATES') ?? null,
      explicit: TIMESCALE_VARIABLES.filter((n) => env[n] !== undefined && env[n] !== ''),
    },
  }
  return deepFreeze(config)
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v)
    Object.freeze(o)
  }
  return o
}

/** The database target as it may be shown in logs and endpoints: never the password. */
export function describeDatabase(db: DatabaseConfig): string {
  if (db.kind === 'pglite') return `embedded PostgreSQL in ${db.dataDir}`
  if (db.connectionString !== undefined) {
    const u = new URL(db.connectionString)
    return `postgres://${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`
  }
  return `postgres://${db.user ? `${db.user}@` : ''}${db.host}:${db.port ?? 5432}/${db.database ?? ''}`
}
