/**
 * Logging edge: JSON lines (pino) by default, a pretty format for people.
 * Secrets are redacted by key; the config never hands one to a log call.
 */
import { createRequire } from 'node:module'
import pino, { type Logger } from 'pino'
import type { LogFormat } from '../config/config.ts'

export type { Logger }

export interface LoggerOptions {
  readonly level: string
  readonly format: LogFormat
  /** Where JSON lines go; defaults to stdout. Tests pass a stream to capture them. */
  readonly destination?: NodeJS.WritableStream
}

/** Warnings and errors with the same code (and symbol): this many lines a minute, then a count. */
const REPEATS_PER_MINUTE = 10

/** An error as one line: its type, code and message; the stack only where debugging. */
function withoutStack(err: unknown): unknown {
  if (!(err instanceof Error)) return err
  const code = (err as { code?: unknown }).code
  const cause = err.cause instanceof Error ? { cause: `${err.cause.name}: ${err.cause.message}` } : {}
  return { type: err.name, message: err.message, ...(code !== undefined ? { code } : {}), ...cause }
}

export function createLogger(opts: LoggerOptions): Logger {
  const repeats = new LogRateLimiter(60_000, REPEATS_PER_MINUTE)
  const stacks = opts.level === 'debug' || opts.level === 'trace'
  const base = {
    level: opts.level,
    hooks: {
      // One line per event, but a flood of the same event (a database away, a REST
      // endpoint failing) becomes ten lines a minute and a count on the next one.
      logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void, level: number) {
        const first = args[0] as { code?: unknown; symbol?: unknown; err?: unknown } | null
        // Warnings and below are one line: an error's stack only at debug (errors and fatals keep it).
        if (
          !stacks &&
          level <= 40 &&
          typeof first === 'object' &&
          first !== null &&
          first.err !== undefined
        ) {
          args[0] = { ...first, err: withoutStack(first.err) }
        }
        if (level >= 40 && typeof first === 'object' && first !== null && typeof first.code === 'string') {
          const suppressed = repeats.admit(`${first.code}|${String(first.symbol ?? '')}`, Date.now())
          if (suppressed === null) return
          if (suppressed > 0) args[0] = { ...first, repeats_suppressed: suppressed }
        }
        method.apply(this, args)
      },
    },
    base: { service: 'data-feeder' },
    redact: {
      paths: ['password', '*.password', 'connectionString', '*.connectionString'],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  }
  if (opts.format === 'pretty' && opts.destination === undefined) {
    // pino-pretty is a development dependency: fall back to JSON where it is not installed.
    if (canResolve('pino-pretty')) {
      return pino({
        ...base,
        transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } },
      })
    }
    const json = pino(base)
    json.warn(
      { code: 'LOG_PRETTY_UNAVAILABLE' },
      'LOG_FORMAT=pretty needs pino-pretty, which is not installed here (production images leave it out); writing JSON lines',
    )
    return json
  }
  return opts.destination ? pino(base, opts.destination as pino.DestinationStream) : pino(base)
}

/**
 * Lets the first `burst` occurrences of each kind through per window and counts
 * the rest, so a flood of bad frames becomes one line a minute per kind.
 */
export class LogRateLimiter {
  private readonly seen = new Map<string, { windowStart: number; admitted: number; suppressed: number }>()
  private readonly windowMs: number
  private readonly burst: number

  constructor(windowMs = 60_000, burst = 1) {
    this.windowMs = windowMs
    this.burst = burst
  }

  /** Returns null to stay quiet, or the number of lines suppressed since the last one let through. */
  admit(kind: string, now: number): number | null {
    const s = this.seen.get(kind)
    if (s === undefined || now - s.windowStart >= this.windowMs) {
      if (this.seen.size > 10_000) this.seen.clear() // kinds keyed by symbol: never unbounded
      this.seen.set(kind, { windowStart: now, admitted: 1, suppressed: 0 })
      return s?.suppressed ?? 0
    }
    if (s.admitted < this.burst) {
      s.admitted++
      const n = s.suppressed
      s.suppressed = 0
      return n
    }
    s.suppressed++
    return null
  }
}

function canResolve(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name)
    return true
  } catch {
    return false
  }
}
