/**
 * `data-feeder sql "SELECT …"`: one read-only statement, rows printed as a table
 * (or one JSON object a line with --json). With the embedded database it asks the
 * running service through DATA_DIR's socket, and opens the database itself when no
 * service runs; with DATABASE_URL it connects like any client.
 */
import { join, resolve } from 'node:path'
import { text } from 'node:stream/consumers'
import { dbOptions } from '../app/db-supervisor.ts'
import type { Config } from '../config/config.ts'
import { openDb } from '../store/open-db.ts'
import { askService, MAX_ROWS, readOnlyQuery, SQL_SOCKET_NAME, type SqlAnswer } from '../store/sql-access.ts'
import type { Command } from './args.ts'
import { UsageError } from './args.ts'

type SqlCommand = Extract<Command, { name: 'sql' }>

export async function runSql(
  command: SqlCommand,
  config: Config,
  out: NodeJS.WritableStream,
): Promise<number> {
  const statement = (command.statement ?? (process.stdin.isTTY ? '' : await text(process.stdin))).trim()
  if (statement === '')
    throw new UsageError('sql needs a statement (example: data-feeder sql "SELECT count(*) FROM candles_1m")')
  const answer = await query(config, statement)
  out.write(command.json ? answer.rows.map((r) => `${JSON.stringify(r)}\n`).join('') : table(answer.rows))
  if (answer.truncated)
    process.stderr.write(`data-feeder: only the first ${MAX_ROWS} rows are shown; add a LIMIT\n`)
  return 0
}

async function query(config: Config, statement: string): Promise<SqlAnswer> {
  if (config.database.kind === 'pglite') {
    const viaService = await askService(join(resolve(config.database.dataDir), SQL_SOCKET_NAME), statement)
    if (viaService !== null) return viaService
  }
  const db = await openDb(dbOptions(config))
  try {
    return await readOnlyQuery(db, statement)
  } finally {
    await db.close()
  }
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return ''
  if (v instanceof Date) return v.toISOString()
  return typeof v === 'object' ? JSON.stringify(v) : String(v)
}

/** psql's aligned format, roughly: a header, a rule, the rows, and their count. */
export function table(rows: readonly Record<string, unknown>[]): string {
  const n = `(${rows.length} row${rows.length === 1 ? '' : 's'})\n`
  const first = rows[0]
  if (first === undefined) return n
  const cols = Object.keys(first)
  const cells = rows.map((r) => cols.map((c) => cell(r[c])))
  const width = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] as string).length)))
  const line = (vals: readonly string[]) =>
    `${vals.map((v, i) => v.padEnd(width[i] as number)).join(' | ')}`.trimEnd()
  return [line(cols), width.map((w) => '-'.repeat(w)).join('-+-'), ...cells.map(line), n].join('\n')
}
