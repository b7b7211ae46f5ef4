import { Writable } from 'node:stream'
import { createLogger, type Logger } from '../../src/observability/logger.ts'

/** A real pino logger whose JSON lines are kept for assertions. */
export function capturedLogger(level = 'debug'): {
  logger: Logger
  lines: Record<string, unknown>[]
  text: () => string
} {
  const lines: Record<string, unknown>[] = []
  const raw: string[] = []
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) {
        if (l.trim() === '') continue
        raw.push(l)
        lines.push(JSON.parse(l) as Record<string, unknown>)
      }
      cb()
    },
  })
  return { logger: createLogger({ level, format: 'json', destination }), lines, text: () => raw.join('\n') }
}
