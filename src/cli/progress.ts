/**
 * Progress for long commands: a bar redrawn in place on a terminal, a log line
 * every few seconds otherwise (CI, files, pipes).
 */
import type { Logger } from '../observability/logger.ts'

export interface Progress {
  advance(n: number): void
  /** A step after the candles (the feature rewrite): shown instead of a bar sitting at 100 %. */
  phase(text: string): void
  done(): void
}

export function createProgress(opts: {
  total: number
  logger: Logger
  label: string
  stream?: NodeJS.WriteStream
  everyMs?: number
  /** What is counted (default candles) and the log line's message (default backfill progress). */
  unit?: string
  message?: string
}): Progress {
  const unit = opts.unit ?? 'candles'
  const message = opts.message ?? 'backfill progress'
  const stream = opts.stream ?? process.stderr
  const tty = stream.isTTY === true
  const everyMs = opts.everyMs ?? 5_000
  let done = 0
  let lastLog = 0
  let phased = false
  const started = Date.now()

  function draw(): void {
    const total = Math.max(opts.total, done, 1)
    const pct = Math.floor((done / total) * 100)
    const width = 30
    const full = Math.round((done / total) * width)
    const rate = done / Math.max(0.001, (Date.now() - started) / 1000)
    stream.write(
      `\r${opts.label} [${'#'.repeat(full)}${' '.repeat(width - full)}] ${pct}% ${done}/${total} ${unit} ${rate.toFixed(0)}/s`,
    )
  }

  return {
    advance(n) {
      done += n
      if (tty) return draw()
      const now = Date.now()
      if (now - lastLog >= everyMs) {
        lastLog = now
        opts.logger.info({ symbol: opts.label, done, total: opts.total }, message)
      }
    },
    phase(text) {
      if (tty) {
        if (!phased) {
          draw()
          stream.write('\n')
        }
        stream.write(`\r\x1b[K${opts.label} ${text}`)
      } else opts.logger.info({ symbol: opts.label, phase: text }, message)
      phased = true
    },
    done() {
      if (!tty) return
      if (!phased) draw()
      stream.write('\n')
    },
  }
}
