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

export function createLogger(opts: LoggerOptions): Logger {
  const base = {
    level: opts.level,
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
  }
  return opts.destination ? pino(base, opts.destination as pino.DestinationStream) : pino(base)
}

/**
 * Lets the first occurrence of each kind through per window and counts the
 * rest, so a flood of bad frames becomes one line a minute per kind.
 */
export class LogRateLimiter {
  private readonly seen = new Map<string, { windowStart: number; suppressed: number }>()
  private readonly windowMs: number

  constructor(windowMs = 60_000) {
    this.windowMs = windowMs
  }

  /** Returns null to stay quiet, or the number of lines suppressed since the last one let through. */
  admit(kind: string, now: number): number | null {
    const s = this.seen.get(kind)
    if (s === undefined || now - s.windowStart >= this.windowMs) {
      this.seen.set(kind, { windowStart: now, suppressed: 0 })
      return s?.suppressed ?? 0
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
